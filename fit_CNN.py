"""Train a temporally convolutional (TCN) or fully connected (FCN) network to predict the L5PC's output
spikes, somatic voltage and dendritic voltages (PCA) at 1 ms from its 1278 synaptic inputs.

Reads the simulation files of `data/L5PC_<type>_{train,valid}/` (ours from
simulate_L5PC_and_create_dataset.py, or the authors' Kaggle files) and writes one model folder per run,
`<out_dir>/<TYPE>_<TCN|FCN>__DxWxT_<D>x<W>x<T>__<date>__<HH>_<MM>__run_<id>/`: its configuration,
architecture, learning schedule, history, file lists and DVT PCA, the resumable state (`state.keras`) and the
checkpoints under the original's names (`checkpoints/<name>.{keras,h5,pickle}`); `<out_dir>/summary.csv`
lists every model folder there. See docs/training.md and docs/model_folder.md.

Edit the parameter block below or override any entry from the command line (`--help` lists them all), e.g.

    python fit_CNN.py --architecture-preset NMDA_TCN_7x128x153
    python fit_CNN.py --synapse-type AMPA --architecture-preset FCN_1x128x43
    python fit_CNN.py --architecture-preset custom --filter-sizes-per-layer 35 19 --num-filters-per-layer 16
    python fit_CNN.py --resume-from models/NMDA/<model folder>
"""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before anything imports TensorFlow: no C++ info lines

from neuron_as_dnn import cli, training  # noqa: E402

PARAMS = dict(
    # ---- data and outputs
    synapse_type="NMDA",         # preset: NMDA | AMPA | AMPA_SK (the data folders and num_dvt_components)
    train_data_dir=None,         # None: data/L5PC_<synapse_type>_train/
    valid_data_dir=None,         # None: data/L5PC_<synapse_type>_valid/
    test_data_dir=None,          # None: data/L5PC_<synapse_type>_test/ (only recorded with the model, as the original)
    out_dir=None,                # None: models/<synapse_type>/; each run writes its own model folder in it
    cache_dir=None,              # None: a .cache folder beside each data folder
    num_simulations_per_file=128,  # files *_128_simulationRuns*_6_secDuration_*; None ('any'): any count
    duration_sec=6,              # None ('any'): any duration
    # ---- architecture: a preset fills the two entries below when they are unset ('custom' fills nothing)
    architecture_preset="original_3x64x100",  # original_3x64x100 | NMDA_TCN_7x128x153 | FCN_1x128x43 | custom
    filter_sizes_per_layer=None,  # depth = number of entries
    num_filters_per_layer=None,   # one value for all layers, or one per layer
    input_projection_channels=0,  # > 0: a linear 1x1 convolution of the 1278 inputs to this many channels first
    activation_function="relu",   # or 'lrelu' (LeakyReLU 0.25)
    initializer_std=0.002,
    l2_regularization=1e-8,
    strides_per_layer=[1],
    dilation_rates_per_layer=[1],
    input_window_size=400,
    # ---- dendritic targets: min(V, 2 mV) -> whitened PCA -> clip ±3
    num_dvt_components=None,     # None: from the synapse type (20 NMDA, 30 AMPA / AMPA_SK); 0: no dendritic targets
    dvt_clip_mv=2.0,
    dvt_target_clip=3.0,
    dvt_pca_num_files=1,
    # ---- sampling: windows end at >= 500 ms; int(load * sims * ms / (batch * window)) batches per file
    ignore_first_ms=500,
    train_files_per_epoch=6,
    validation_fraction=0.5,     # validation files per epoch = max(1, int(0.5 * 6))
    train_file_load=0.2,
    valid_file_load=0.2,
    fixed_validation_batches=True,   # False: the original's fresh random validation batches every epoch
    max_files_in_memory=2,
    sampler_workers=1,
    sampler_use_multiprocessing=False,
    # ---- learning schedule: stages of schedule epochs, each = num_steps_multiplier Keras epochs (Nadam)
    num_steps_multiplier=10,
    schedule_stage_epochs=[40, 40, 40, 40, 90],
    schedule_learning_rates=[1e-4, 3e-5, 1e-5, 3e-6, 1e-6],
    schedule_spike_loss_weights=[1.0, 2.0, 4.0, 8.0, 9.0],
    schedule_somatic_loss_weights=[0.02, 0.01, 0.01, 0.01, 0.003],
    schedule_dendritic_loss_weights=[5e-6, 3e-6, 1e-6, 1e-8, 1e-9],
    schedule_batch_sizes=[8],
    reset_optimizer_each_schedule_epoch=True,   # the original re-creates Nadam every schedule epoch
    # ---- checkpoints and resuming
    checkpoint_val_spike_loss_threshold=0.03,   # save when the mean of the last 3 val spike losses is below
    save_formats=["keras", "h5"],
    resume_from=None,            # a model folder (or a checkpoint file in one, or an older .pickle / _model.h5)
    stop_after_schedule_epochs=None,  # None: run the whole schedule
    seed=None,                   # None: a random seed, recorded in the model folder's config.json
    progress=True,
    log_level="INFO",
)

HELP = {
    "synapse_type": "dataset preset: NMDA, AMPA or AMPA_SK",
    "architecture_preset": "filter sizes and widths of a known network, or 'custom'",
    "num_simulations_per_file": "simulations per file in the file names to read ('any': all)",
    "duration_sec": "simulation duration in the file names to read ('any': all)",
    "resume_from": "continue the training of this model folder in it (or of an older checkpoint, in a new folder)",
    "stop_after_schedule_epochs": "stop after this many schedule epochs (resume later with --resume-from)",
}
SCRIPT = cli.Script(__file__, PARAMS, description=__doc__, help=HELP,
                    presets={"synapse_type": training.SYNAPSE_PRESETS,
                             "architecture_preset": training.ARCHITECTURE_PRESETS},
                    types={"num_simulations_per_file": training.count_or_any,
                           "duration_sec": training.count_or_any, "stop_after_schedule_epochs": int})


def run(params: dict):
    result = training.train(params, explicit=SCRIPT.explicit)
    if result.folder is not None:
        print(f"fit_CNN.py: {len(result.checkpoints)} new checkpoint(s) in {result.folder.path}")
    return result


def main(argv=None):
    return SCRIPT.run(run, argv)


if __name__ == "__main__":
    main()
