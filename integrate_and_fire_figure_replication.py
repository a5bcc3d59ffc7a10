"""Fig. 1 of Beniaguev, Segev & London (2021), from simulation to figure.

An integrate-and-fire neuron (80 excitatory, 20 inhibitory synapses, τ = 20 ms) is driven by the paper's doubly
stochastic inputs; a causal one-layer network with a single 80-ms filter and two heads (spike probability,
somatic voltage) is trained on windows of its inputs and evaluated on held-out simulations (ROC/AUC, TP rate at
0.2 % FP, spike-timing cross-correlation, voltage explained variance, RMSE, MAE). Edit the parameter block
below or override any entry from the command line (`--help` lists them all). Examples:

    python integrate_and_fire_figure_replication.py                  # small default, a few minutes on 2 cores
    python integrate_and_fire_figure_replication.py --paper-scale    # 12,000 train / 1,000 test x 6 s, lr 3e-4
    python integrate_and_fire_figure_replication.py --redraw         # the figures again from figures/IF/, seconds

The run writes into out_dir (figures/IF/): network.keras, predictions.npz (everything the figures draw),
results.json (metrics), run.json (parameters and provenance) and the figures (PNG + PDF). Data sets are
generated in chunks, stored bit-packed in data_dir (data/IF/) and reused.
"""
import logging
from pathlib import Path

from neuron_as_dnn import cli, errors, paths

PARAMS = dict(
    # --- scale: None = from the preset, SMALL_SCALE or (paper_scale=True) PAPER_SCALE --------------------
    paper_scale=False,  # the paper's sizes and learning rate (PAPER_SCALE) for the entries left unset;
                        # --no-paper-scale: the small default (SMALL_SCALE)
    num_train_simulations=None,  # training simulations, validation ones included; None: 400 (12,000 at paper scale)
    num_test_simulations=None,  # held-out test simulations; None: 200 (1,000 at paper scale)
    num_training_subsets=None,  # training iterations: each draws one random window start and fits one epoch on it;
                                # None: 120 (100 at paper scale)
    learning_rate=None,  # Nadam learning rate; None: 1e-2 (3e-4 at paper scale)
    seed=1234,  # seed of the data sets, validation split, training windows and network; None: a random seed,
                # recorded in run.json
    # --- synapses and cell (docs/integrate_and_fire.md) ----------------------------------------------------
    num_exc_synapses=80,  # excitatory synapses (the first input rows)
    num_inh_synapses=20,  # inhibitory synapses (the rows after the excitatory ones; 0 allowed)
    exc_synaptic_weight=1.0,  # weight of every excitatory synapse in the somatic current
    inh_synaptic_weight=-1.0,  # weight of every inhibitory synapse in the somatic current
    v_reset=-75.0,  # resting and reset voltage (mV): V = v_reset + c * I
    v_threshold=-55.0,  # spike threshold (mV); the voltage target holds v_threshold + 0.1 at spikes
    current_to_voltage_mult_factor=2.0,  # c in V = v_reset + c * I (mV per unit of synaptic current)
    membrane_time_const_ms=20.0,  # τ of the exponential synaptic current and of the reset's decay (ms; cut at 7τ)
    duration_sec=6,  # length of every simulation (s; whole milliseconds)
    # --- input statistics ----------------------------------------------------------------------------------
    inst_rate_sampling_time_interval_options_ms=[25, 30, 35, 40, 50, 60, 70, 80, 90, 100],
        # lengths of the intervals of constant input rate (ms); one is drawn per simulation
    inst_rate_sampling_time_interval_jitter_range=20,  # the drawn interval is shifted by int(U(-j, j)) ms
    temporal_inst_rate_smoothing_sigma_options_ms=[40, 60, 80, 100],
        # widths σ of the Gaussian that smooths the input rates in time (ms); one is drawn per simulation
    temporal_inst_rate_smoothing_sigma_jitter_range=20,  # the drawn σ is shifted by int(U(-j, j)) ms
    num_exc_spikes_per_100ms_range=[0, 50],
        # low high: excitatory spike count per 100 ms over all excitatory synapses, uniform per interval
    num_exc_inh_spike_diff_per_100ms_range=[-50, -15],
        # low high: inhibitory minus excitatory spike count per 100 ms (negative counts become 1e-4)
    # --- network: 1 layer x 1 filter x 80 ms, causal, stride 1 ---------------------------------------------
    input_window_size_ms=500,  # training window W (ms), also the window of overlapping-window prediction
    num_layers=1,  # causal Conv1D layers
    filter_size_ms=80,  # temporal length of every layer's filters (ms)
    num_filters=1,  # filters per layer
    dilation_rate=1,  # dilation of every layer's filters
    activation="linear",  # activation of the convolutional layers (a Keras activation name)
    initializer_std=0.25,  # std of the TruncatedNormal initialiser of the convolutional kernels
    l2_regularization=1e-8,  # L2 penalty on every kernel (layers and heads)
    first_layer_bias=0.1,  # initial bias of the convolutional layers
    head_initializer_std=0.05,  # std of the TruncatedNormal initialiser of the two 1x1 heads
    spike_head_bias=-2.5,  # initial bias of the sigmoid spike head
    # --- optimisation --------------------------------------------------------------------------------------
    batch_size=16,  # simulations per training step (validation batches: 4x this)
    loss_weights=[1.0, 0.003],  # spikes soma: weights of the binary cross-entropy and of the voltage MSE
    validation_fraction=0.05,  # random fraction of the training simulations held out for validation (0: none)
    # --- evaluation and figures (docs/evaluation.md) -------------------------------------------------------
    prediction_mode="overlapping_windows",  # full-trace prediction: overlapping_windows (the original) or
                                            # single_pass (one causal pass)
    prediction_overlap_ms=120,  # overlap of consecutive prediction windows (ms; >= receptive field - 1 for exact
                                # traces)
    desired_fp_rate=0.002,  # false-positive rate of the operating point that binarises the spike predictions
    xcorr_half_window_ms=50,  # spike-timing cross-correlation over offsets of ±this many ms
    xcorr_area_half_width_ms=10,  # the cross-correlation mass reported within ±this many ms
    num_scatter_points=60000,  # random (truth, prediction) voltage samples drawn in the scatter
    example_test_trace=937,  # test trace shown in Fig. 1 (the paper's 937); if it does not exist, the one whose
                             # spike count is nearest the 75th percentile
    zoom_fraction=[0.295, 0.53],  # start stop of the zoomed part of the example trace, as fractions of its length
    # --- files and running ---------------------------------------------------------------------------------
    out_dir=None,  # folder for the network, predictions, results, run record and figures; None: figures/IF/
    data_dir=None,  # folder for the generated data sets; None: data/IF/
    cache_data=True,  # keep the generated data as memory-mapped files in data_dir and reuse them (else in memory)
    data_chunk_size=100,  # simulations generated together (memory ~ 60 MB per 100 simulations of 6 s)
    redraw=False,  # draw the figures again from the saved run in out_dir (no data, no training);
                   # --zoom-fraction, --num-scatter-points and --xcorr-area-half-width-ms may be changed
    show=False,  # also show the figures in a window (an interactive matplotlib backend)
    progress=True,  # show progress bars (data generation, training, prediction)
    log_level="INFO",  # logging level: DEBUG | INFO | WARNING | ERROR
)

# The small default: 30x the paper's learning rate, so that ~3,000 steps of batch 16 do what the paper's
# ~71,000 steps at 3e-4 do (the spike head has to change sign, see docs/integrate_and_fire.md).
SMALL_SCALE = dict(num_train_simulations=400, num_test_simulations=200, num_training_subsets=120, learning_rate=1e-2)
# The paper's run: 100 subsets x 713 steps of batch 16.
PAPER_SCALE = dict(num_train_simulations=12000, num_test_simulations=1000, num_training_subsets=100,
                   learning_rate=3e-4)

SCRIPT = cli.Script(__file__, PARAMS, description=__doc__,
                    presets={"paper_scale": {False: SMALL_SCALE, True: PAPER_SCALE}},
                    choices=dict(prediction_mode=["overlapping_windows", "single_pass"]),
                    types=dict(duration_sec=float, out_dir=str, data_dir=str),
                    # the numbers are checked with the rest of the run's parameters (parameters.validate_params)
                    checks=dict(out_dir=cli.writable_folder, data_dir=cli.writable_folder))

log = logging.getLogger("integrate_and_fire_figure_replication")


def run(params: dict):
    import matplotlib
    if not params["show"]:
        matplotlib.use("Agg")  # only files are written: no display needed, before pyplot is imported
    out_dir = Path(params["out_dir"] or paths.FIGURES_DIR / "IF")
    if params["redraw"]:
        return redraw(out_dir, params)
    from neuron_as_dnn.integrate_and_fire import parameters
    parameters.validate_params(params)  # before Keras loads
    from neuron_as_dnn.integrate_and_fire import experiment  # Keras: only when training

    data_root = Path(params["data_dir"] or paths.DATA_DIR / "IF") if params["cache_data"] else None
    results = experiment.run_experiment(params, out_dir, data_root, progress=params["progress"], show=params["show"])

    print(f"\nIntegrate-and-fire results ({params['num_train_simulations']} train / "
          f"{params['num_test_simulations']} test simulations, seed {params['seed']}), written to {out_dir}:")
    for key, value in {**results["metrics"], **results["timings_s"]}.items():
        print(f"  {key:<40s} {value:.4f}" if key in results["metrics"] else f"  {key:<40s} {value:.1f}")
    return results


def redraw(out_dir: Path, params: dict):
    from neuron_as_dnn.integrate_and_fire import figures

    changed = {key: params[key] for key in params.explicit if key in figures.FIGURE_OPTIONS}
    ignored = params.explicit - set(figures.FIGURE_OPTIONS) - {"redraw", "out_dir", "show", "progress", "log_level"}
    if ignored:
        log.warning("--redraw draws the saved run; ignoring %s", ", ".join(map(errors.flag, sorted(ignored))))
    files = figures.redraw(out_dir, changed, show=params["show"])
    print(f"Redrew {len(files)} figure files in {out_dir}")
    return files


def main(argv=None):
    return SCRIPT.run(run, argv)


if __name__ == "__main__":
    main()
