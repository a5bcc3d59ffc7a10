"""Train a temporally convolutional (TCN) or fully connected (FCN) network to predict the L5PC's output
spikes, somatic voltage and dendritic voltages (PCA) at 1 ms from its 1278 synaptic inputs.

Reads the simulation files of `data/L5PC_<type>_{train,valid}/` (ours from
simulate_L5PC_and_create_dataset.py, or the authors' Kaggle files) and writes one model folder per run,
`<out_dir>/<TYPE>_<TCN|FCN>__DxWxT_<D>x<W>x<T>__<date>__<HH>_<MM>__run_<id>/`: its configuration,
architecture, learning schedule, history, file lists and DVT PCA, the resumable state (`state.keras`,
`random_state.json`) and the
checkpoints under the original's names (`checkpoints/<name>.{keras,h5,pickle}`); `<out_dir>/summary.csv`
lists every model folder there. See docs/training.md and docs/model_folder.md.

Edit the parameter block below or override any entry from the command line (`--help` lists them all), e.g.

    python fit_CNN.py --architecture-preset NMDA_TCN_7x128x153
    python fit_CNN.py --synapse-type AMPA --architecture-preset FCN_1x128x43
    python fit_CNN.py --architecture-preset custom --filter-sizes-per-layer 35 19 --num-filters-per-layer 16
    python fit_CNN.py --resume-from models/NMDA/<model folder>
"""
from neuron_as_dnn import cli
from neuron_as_dnn.learning import training

PARAMS = dict(
    # ---- data and outputs
    synapse_type="NMDA",         # dataset preset: NMDA | AMPA | AMPA_SK (the data folders and num_dvt_components)
    train_data_dir=None,         # folder of the training files; None: data/L5PC_<synapse_type>_train/
    valid_data_dir=None,         # folder of the validation files; None: data/L5PC_<synapse_type>_valid/
    test_data_dir=None,          # folder of the test files, only recorded with the model (as the original);
                                 # None: data/L5PC_<synapse_type>_test/
    out_dir=None,                # each run writes its own model folder (and summary.csv) in it;
                                 # None: models/<synapse_type>/
    cache_dir=None,              # where the dataset caches go; None: a .cache folder beside each data folder
    num_simulations_per_file=128,  # read only files of this many simulations (*_128_simulationRuns*); None ('any'): any
    duration_sec=6,              # read only files of this simulation length (s, *_6_secDuration_*); None ('any'): any
    # ---- architecture: a preset fills the two entries below when they are unset ('custom' fills nothing)
    architecture_preset="original_3x64x100",  # filter sizes and widths of a known network: original_3x64x100 |
                                              # NMDA_TCN_7x128x153 | FCN_1x128x43; custom: give them below
    filter_sizes_per_layer=None,  # temporal filter size of each layer (ms); depth = number of entries
    num_filters_per_layer=None,   # filters per layer: one value for all layers, or one per layer
    input_projection_channels=0,  # > 0: a linear 1x1 convolution of the 1278 inputs to this many channels first;
                                  # 0: none
    activation_function="relu",   # activation of every layer: relu, lrelu (LeakyReLU 0.25), linear, elu, tanh,
                                  # sigmoid, gelu, swish or selu
    initializer_std=0.002,        # std of the TruncatedNormal initialiser of every layer's kernel
    l2_regularization=1e-8,       # L2 penalty on every layer's kernel
    strides_per_layer=[1],        # stride of each layer: one value for all layers, or one per layer
    dilation_rates_per_layer=[1],  # dilation of each layer: one value for all layers, or one per layer
    input_window_size=400,        # training window W (ms); must exceed the sum of the filter sizes
    # ---- dendritic targets: min(V, 2 mV) -> whitened PCA -> clip ±3
    num_dvt_components=None,     # PCA components of the dendritic voltages the network predicts; None: from the
                                 # synapse type (20 NMDA, 30 AMPA / AMPA_SK); 0: no dendritic targets
    dvt_clip_mv=2.0,             # dendritic voltages are clipped from above at this value before the PCA (mV)
    dvt_target_clip=3.0,         # the whitened PCA components are clipped to ± this many standard deviations
    dvt_pca_num_files=1,         # the PCA is fitted on this many training files (the first in sorted order)
    # ---- sampling: windows end at >= 500 ms; int(load * sims * ms / (batch * window)) batches per file
    ignore_first_ms=500,         # training windows end at or after this time of the simulation (ms; and after W)
    train_files_per_epoch=6,     # training files drawn for every Keras epoch (at most the number of training files;
                                 # the block's value is reduced to it with a warning)
    validation_fraction=0.5,     # validation files per epoch = max(1, int(fraction * train_files_per_epoch)); in (0, 1]
    train_file_load=0.2,         # batches per training file = max(1, int(load * sims * ms / (batch * window))),
                                 # i.e. windows covering about this fraction of the file's time; in (0, 1]
    valid_file_load=0.2,         # the same for the validation files
    fixed_validation_batches=True,   # draw the validation files and batches once and reuse them every epoch;
                                     # False: the original's fresh random validation batches every epoch
    max_files_in_memory=2,       # cached dataset files held in memory at once (per sampler)
    sampler_workers=1,           # Keras workers that build the batches (threads, or processes with the option below)
    sampler_use_multiprocessing=False,  # build the batches in processes instead of threads
    # ---- learning schedule: stages of schedule epochs, each = num_steps_multiplier Keras epochs (Nadam)
    num_steps_multiplier=10,     # Keras epochs per schedule epoch
    schedule_stage_epochs=[40, 40, 40, 40, 90],  # the stages: schedule epochs in each
    schedule_learning_rates=[1e-4, 3e-5, 1e-5, 3e-6, 1e-6],  # Nadam learning rate of each stage (one value: all)
    schedule_spike_loss_weights=[1.0, 2.0, 4.0, 8.0, 9.0],  # weight of the spike loss in each stage (one value: all)
    schedule_somatic_loss_weights=[0.02, 0.01, 0.01, 0.01, 0.003],  # weight of the somatic voltage loss in each
                                                                    # stage (one value: all)
    schedule_dendritic_loss_weights=[5e-6, 3e-6, 1e-6, 1e-8, 1e-9],  # weight of the dendritic loss in each stage
                                                                     # (one value: all)
    schedule_batch_sizes=[8],    # windows per batch: one value for all stages, or one per stage
    reset_optimizer_each_schedule_epoch=True,   # a new Nadam every schedule epoch, as the original; --no-...:
                                                # keep its moment estimates across schedule epochs
    # ---- checkpoints and resuming
    checkpoint_val_spike_loss_threshold=0.03,   # save a checkpoint after a schedule epoch when the mean of the last
                                                # 3 validation spike losses is below this
    save_formats=["keras", "h5"],  # checkpoint file formats: keras and/or h5 (the original's)
    resume_from=None,            # continue the training of this model folder in it (or from a checkpoint file in one),
                                 # with the options saved in its config.json (given again, they must match);
                                 # an older .pickle / _model.h5 or an authors' model continues in a new folder
    stop_after_schedule_epochs=None,  # stop after this many schedule epochs (resume later with --resume-from);
                                      # None: run the whole schedule
    seed=None,                   # seed of the weights and window draws; None: a random seed, recorded in the model
                                 # folder's config.json
    progress=True,               # show a progress bar over the training steps
    log_level="INFO",            # logging level: DEBUG | INFO | WARNING | ERROR
)

SCRIPT = cli.Script(__file__, PARAMS, description=__doc__,
                    presets={"synapse_type": training.SYNAPSE_PRESETS,
                             "architecture_preset": training.ARCHITECTURE_PRESETS},
                    types={"num_simulations_per_file": training.count_or_any,
                           "duration_sec": training.count_or_any, "stop_after_schedule_epochs": int},
                    # the data folders are checked by the data stage, whose message says how to make the data
                    checks={"out_dir": cli.writable_folder, "cache_dir": cli.writable_folder})


def run(params: dict):
    result = training.train(params, explicit=params.explicit)
    if result.folder is not None:
        print(f"fit_CNN.py: {len(result.checkpoints)} new checkpoint(s) in {result.folder.path}")
    return result


def main(argv=None):
    return SCRIPT.run(run, argv)


if __name__ == "__main__":
    main()
