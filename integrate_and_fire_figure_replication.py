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
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ start-up chatter, before keras loads

from neuron_as_dnn import cli, errors, paths  # noqa: E402

PARAMS = dict(
    # --- scale: None = from the preset, SMALL_SCALE or (paper_scale=True) PAPER_SCALE --------------------
    paper_scale=False,
    num_train_simulations=None,
    num_test_simulations=None,
    num_training_subsets=None,  # training iterations: each draws one window start and fits one epoch on it
    learning_rate=None,
    seed=1234,  # None: a random seed, recorded in run.json
    # --- synapses and cell (docs/integrate_and_fire.md) ----------------------------------------------------
    num_exc_synapses=80,
    num_inh_synapses=20,
    exc_synaptic_weight=1.0,
    inh_synaptic_weight=-1.0,
    v_reset=-75.0,
    v_threshold=-55.0,
    current_to_voltage_mult_factor=2.0,
    membrane_time_const_ms=20.0,
    duration_sec=6,
    # --- input statistics ----------------------------------------------------------------------------------
    inst_rate_sampling_time_interval_options_ms=[25, 30, 35, 40, 50, 60, 70, 80, 90, 100],
    inst_rate_sampling_time_interval_jitter_range=20,
    temporal_inst_rate_smoothing_sigma_options_ms=[40, 60, 80, 100],
    temporal_inst_rate_smoothing_sigma_jitter_range=20,
    num_exc_spikes_per_100ms_range=[0, 50],
    num_exc_inh_spike_diff_per_100ms_range=[-50, -15],
    # --- network: 1 layer x 1 filter x 80 ms, causal, stride 1 ---------------------------------------------
    input_window_size_ms=500,
    num_layers=1,
    filter_size_ms=80,
    num_filters=1,
    dilation_rate=1,
    activation="linear",
    initializer_std=0.25,
    l2_regularization=1e-8,
    first_layer_bias=0.1,
    head_initializer_std=0.05,
    spike_head_bias=-2.5,
    # --- optimisation --------------------------------------------------------------------------------------
    batch_size=16,
    loss_weights=[1.0, 0.003],
    validation_fraction=0.05,
    # --- evaluation and figures (docs/evaluation.md) -------------------------------------------------------
    prediction_mode="overlapping_windows",
    prediction_overlap_ms=120,
    desired_fp_rate=0.002,
    xcorr_half_window_ms=50,
    xcorr_area_half_width_ms=10,
    num_scatter_points=60000,
    example_test_trace=937,
    zoom_fraction=[0.295, 0.53],
    # --- files and running ---------------------------------------------------------------------------------
    out_dir=None,  # None: figures/IF
    data_dir=None,  # None: data/IF
    cache_data=True,
    data_chunk_size=100,
    redraw=False,
    show=False,
    progress=True,
    log_level="INFO",
)

# The small default: 30x the paper's learning rate, so that ~3,000 steps of batch 16 do what the paper's
# ~71,000 steps at 3e-4 do (the spike head has to change sign, see docs/integrate_and_fire.md).
SMALL_SCALE = dict(num_train_simulations=400, num_test_simulations=200, num_training_subsets=120, learning_rate=1e-2)
# The paper's run: 100 subsets x 713 steps of batch 16.
PAPER_SCALE = dict(num_train_simulations=12000, num_test_simulations=1000, num_training_subsets=100,
                   learning_rate=3e-4)

HELP = dict(
    paper_scale="the paper's sizes and learning rate (PAPER_SCALE) for the entries left unset",
    num_training_subsets="training iterations: each draws one random window start and fits one epoch on it",
    duration_sec="length of every simulation (s; whole milliseconds)",
    prediction_mode="full-trace prediction: 'overlapping_windows' (the original) or 'single_pass'",
    example_test_trace="test trace shown in Fig. 1 (the paper's 937); another is chosen if it does not exist",
    out_dir="folder for the network, predictions, results, run record and figures (default: figures/IF)",
    data_dir="folder for the generated data sets (default: data/IF)",
    cache_data="keep the generated data as memory-mapped files in data_dir and reuse them (else in memory)",
    data_chunk_size="simulations generated together (memory ~ 60 MB per 100 simulations of 6 s)",
    redraw="draw the figures again from the saved run in out_dir (no data, no training); "
           "--zoom-fraction, --num-scatter-points and --xcorr-area-half-width-ms may be changed",
    show="also show the figures in a window (an interactive matplotlib backend)",
)
SCRIPT = cli.Script(__file__, PARAMS, description=__doc__, help=HELP,
                    presets={"paper_scale": {False: SMALL_SCALE, True: PAPER_SCALE}},
                    choices=dict(prediction_mode=["overlapping_windows", "single_pass"]),
                    types=dict(duration_sec=float, out_dir=str, data_dir=str))

log = logging.getLogger("integrate_and_fire_figure_replication")


def run(params: dict):
    import matplotlib
    if not params["show"]:
        matplotlib.use("Agg")  # only files are written: no display needed, before pyplot is imported
    out_dir = Path(params["out_dir"] or paths.FIGURES_DIR / "IF")
    if params["redraw"]:
        return redraw(out_dir, params)
    from neuron_as_dnn import integrate_and_fire_experiment as experiment  # Keras: only when training

    data_root = Path(params["data_dir"] or paths.DATA_DIR / "IF") if params["cache_data"] else None
    results = experiment.run_experiment(params, out_dir, data_root, progress=params["progress"], show=params["show"])

    print(f"\nIntegrate-and-fire results ({params['num_train_simulations']} train / "
          f"{params['num_test_simulations']} test simulations, seed {params['seed']}), written to {out_dir}:")
    for key, value in {**results["metrics"], **results["timings_s"]}.items():
        print(f"  {key:<40s} {value:.4f}" if key in results["metrics"] else f"  {key:<40s} {value:.1f}")
    return results


def redraw(out_dir: Path, params: dict):
    from neuron_as_dnn.figures import integrate_and_fire as figures

    changed = {key: params[key] for key in SCRIPT.explicit if key in figures.FIGURE_OPTIONS}
    ignored = SCRIPT.explicit - set(figures.FIGURE_OPTIONS) - {"redraw", "out_dir", "show", "progress", "log_level"}
    if ignored:
        log.warning("--redraw draws the saved run; ignoring %s", ", ".join(map(errors.flag, sorted(ignored))))
    files = figures.redraw(out_dir, changed, show=params["show"])
    print(f"Redrew {len(files)} figure files in {out_dir}")
    return files


def main(argv=None):
    return SCRIPT.run(run, argv)


if __name__ == "__main__":
    main()
