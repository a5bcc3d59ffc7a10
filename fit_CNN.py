"""Train a temporally convolutional (TCN) or fully connected (FCN) network to predict the L5PC's output
spikes, somatic voltage and dendritic voltages (PCA) at 1 ms from its 1278 synaptic inputs.

Reads the simulation pickles of ``data/L5PC_<type>_{train,valid}/`` (ours from
simulate_L5PC_and_create_dataset.py, or the authors' Kaggle files) and writes checkpoints to
``models/<type>/``: ``<name>.keras``, ``<name>.h5`` and ``<name>.pickle`` (data, architecture, learning
schedule, training history, DVT PCA), named ``<TYPE>_<TCN|FCN>__DxWxT_<D>x<W>x<T>__<date>__samples_<N>__
LogLoss_train_<a>_valid_<b>__ID_<id>``. Every schedule epoch also updates a resumable run state in
``models/<type>/runs/``.

Edit the parameter block or override it from the command line, e.g.
    python fit_CNN.py --architecture-preset NMDA_TCN_7x128x153
    python fit_CNN.py --synapse-type AMPA --architecture-preset FCN_1x128x43
    python fit_CNN.py --resume-from models/NMDA/runs/<run>.pickle
"""
from neuron_as_dnn import cli, utils

PARAMS = dict(
    # ---- data: empty folders mean data/L5PC_<synapse_type>_{train,valid,test}/ and models/<synapse_type>/
    synapse_type="NMDA",
    train_data_dir="",
    valid_data_dir="",
    test_data_dir="",            # only recorded with the model, as the original
    models_dir="",
    cache_dir="",                # empty: a .cache folder beside each data folder
    num_simulations_per_file=128,  # file glob *_128_simulationRuns*_6_secDuration_*; 0 accepts any value
    sim_duration_sec=6,
    # ---- architecture: a preset, or 'custom' for the options below; an option changed from its default
    #      here wins over the preset
    architecture_preset="original_3x64x100",
    filter_sizes_per_layer=[54, 24, 24],   # depth = number of entries
    num_filters_per_layer=[64],            # one value for all layers, or one per layer
    activation_function="relu",            # or 'lrelu' (LeakyReLU 0.25)
    initializer_std=0.002,
    l2_regularization=1e-8,
    strides_per_layer=[1],
    dilation_rates_per_layer=[1],
    input_window_size=400,
    # ---- dendritic targets: min(V, 2 mV) -> whitened PCA -> clip ±3; -1: 20 for NMDA, 30 for AMPA; 0: none
    num_dvt_components=-1,
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
    # ---- checkpoints and runs
    checkpoint_val_spike_loss_threshold=0.03,   # save when the mean of the last 3 val spike losses is below
    save_formats=["keras", "h5"],
    resume_from="",              # a checkpoint or run state (.pickle, .keras, .h5 or the base name)
    stop_after_schedule_epochs=0,  # 0: run the whole schedule
    seed=-1,                     # -1: a random seed, recorded in the run's config
    progress_bar=True,
    log_level="INFO",
)


def main(argv=None):
    from neuron_as_dnn import training

    params = cli.parse_overrides(PARAMS, argv, description=__doc__.split("\n\n")[0],
                                 choices={"architecture_preset": [*training.ARCHITECTURE_PRESETS, "custom"],
                                          "synapse_type": ["NMDA", "AMPA", "AMPA_SK"]})
    utils.setup_logging(params["log_level"])
    return training.train(params, defaults=PARAMS)


if __name__ == "__main__":
    try:
        main()
    except (FileNotFoundError, ValueError) as error:  # bad data or options: the message says what to do
        raise SystemExit(f"fit_CNN.py: {error}") from None
