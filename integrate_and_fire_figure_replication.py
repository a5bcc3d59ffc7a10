"""Fig. 1 of Beniaguev, Segev & London (2021), from simulation to figure.

An integrate-and-fire neuron (80 excitatory, 20 inhibitory synapses, τ = 20 ms) is driven by the paper's doubly
stochastic inputs; a causal one-layer network with a single 80-ms filter and two heads (spike probability,
somatic voltage) is trained on windows of its inputs and evaluated on held-out simulations (ROC/AUC, TP rate at
0.2 % FP, spike-timing cross-correlation, voltage explained variance, RMSE, MAE). Results go to
figures/IF/results.json and the figures (PNG + PDF) beside it.

The defaults are a small run (a few minutes on 2 cores). --paper-scale switches to the paper's sizes
(12,000 training and 1,000 test simulations of 6 s, learning rate 3e-4); any other option still overrides.
"""
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ start-up chatter, before keras loads

from neuron_as_dnn import cli, integrate_and_fire, paths, utils  # noqa: E402

PARAMS = dict(
    # --- scale (small default; see PAPER_SCALE) -------------------------------------------------------------
    paper_scale=False,
    num_train_simulations=400,
    num_test_simulations=200,
    num_training_subsets=120,
    # 30x the paper's rate: ~3,000 steps of batch 16 then do what the paper's ~71,000 steps at 3e-4 do.
    learning_rate=1e-2,
    random_seed=1234,
    # --- synapses and cell (§4.2) --------------------------------------------------------------------------
    num_exc_synapses=80,
    num_inh_synapses=20,
    exc_synaptic_weight=1.0,
    inh_synaptic_weight=-1.0,
    v_reset=-75.0,
    v_threshold=-55.0,
    current_to_voltage_mult_factor=2.0,
    membrane_time_const_ms=20.0,
    sim_duration_ms=6000,
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
    # --- evaluation and figures ----------------------------------------------------------------------------
    prediction_mode="overlapping_windows",
    prediction_overlap_ms=120,
    desired_fp_rate=0.002,
    xcorr_half_window_ms=50,
    xcorr_area_half_width_ms=10,
    num_scatter_points=60000,
    example_test_trace=937,
    zoom_fraction=[0.295, 0.53],
    # --- files ---------------------------------------------------------------------------------------------
    output_dir="",
    data_dir="",
    cache_data=True,
    data_chunk_size=100,
    progress=True,
)

# The paper's run (§4.2, §4.4): 100 subsets x 713 steps of batch 16.
PAPER_SCALE = dict(num_train_simulations=12000, num_test_simulations=1000, num_training_subsets=100,
                   learning_rate=3e-4)

HELP = dict(
    paper_scale="use the paper's sizes and learning rate (PAPER_SCALE); explicit options still win",
    num_training_subsets="training iterations: each draws one random window start and fits one epoch on it",
    prediction_mode="full-trace prediction: 'overlapping_windows' (the original) or 'single_pass'",
    example_test_trace="test trace shown in Fig. 1 (the paper's 937); another is chosen if it does not exist",
    output_dir="folder for results.json and the figures (default: figures/IF)",
    data_dir="folder for the generated data sets (default: data/IF)",
    cache_data="keep the generated data as memory-mapped files in data_dir and reuse them (else in memory)",
    data_chunk_size="simulations generated together (memory ~ 60 MB per 100 simulations of 6 s)",
)


def main(argv=None) -> dict:
    argv = sys.argv[1:] if argv is None else list(argv)
    defaults = dict(PARAMS, **PAPER_SCALE) if "--paper-scale" in argv else PARAMS
    params = cli.parse_overrides(defaults, argv, description=__doc__, help=HELP,
                                 choices=dict(prediction_mode=["overlapping_windows", "single_pass"]))
    utils.setup_logging()
    output_dir = Path(params["output_dir"] or paths.FIGURES_DIR / "IF")
    data_root = Path(params["data_dir"] or paths.DATA_DIR / "IF") if params["cache_data"] else None
    results = integrate_and_fire.run_experiment(params, output_dir, data_root, progress=params["progress"])

    print(f"\nIntegrate-and-fire results ({params['num_train_simulations']} train / "
          f"{params['num_test_simulations']} test simulations), written to {output_dir / 'results.json'}:")
    for key, value in results["metrics"].items():
        print(f"  {key:<40s} {value:.4f}")
    for key, value in results["timings_s"].items():
        print(f"  {key:<40s} {value:.1f}")
    return results


if __name__ == "__main__":
    main()
