"""Evaluation speed: whole-simulation prediction in one causal pass against the original's overlapping windows.

The paper's 7 x 128 TCN (NMDA_TCN_7x128x153: kernels [45] + [19] x 6, window 400 ms, 20 DVT components) with
random weights predicts `num_simulations` synthetic simulations of `duration_sec` s (Poisson inputs at the
paper's rates, about 1 % of the 1278 channels active per ms) on CPU, through the evaluation's own path
(``prediction.predict_data``: dataset cache -> input batches -> model), both ways in the same run; then the
scoring of the predictions (five filters, both voltage variants, 12 subsets) is timed once.

    python benchmarks/bench_evaluation.py                        # 128 x 6 s, as one dataset file
    python benchmarks/bench_evaluation.py --num-simulations 8    # a quick look
"""
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")  # a CPU measurement, whatever the machine has

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from neuron_as_dnn import cli
from neuron_as_dnn.data import cache, dataset, synthetic_data
from neuron_as_dnn.evaluation import metrics, prediction
from neuron_as_dnn.learning import models  # noqa: E402

PARAMS = dict(
    num_simulations=128,
    duration_sec=6,
    batch_size=16,        # simulations per model call, the evaluation scripts' default
    num_subsets=12,       # scored with the test script's subsets
    repeats=1,            # each method is timed this many times, the best kept
    workdir=None,         # keep the synthetic file and its cache here between runs; None: a temporary folder
    seed=0,
    progress=False,
    log_level="WARNING",
)
SCRIPT = cli.Script(__file__, PARAMS, description=__doc__)

# The paper's best NMDA network (Fig. 2)
FILTER_SIZES, NUM_FILTERS, WINDOW_MS, NUM_DVT_COMPONENTS = [45] + [19] * 6, 128, 400, 20


def synthetic_data_folder(params, workdir: Path) -> Path:
    folder = workdir / f"bench_{params['num_simulations']}x{params['duration_sec']}s"
    if not any(folder.glob("*.p")):
        experiment_params, simulations = synthetic_data.make_synthetic_experiment(
            params["num_simulations"], params["duration_sec"] * 1000, with_dvt=False, seed=params["seed"])
        dataset.write_experiment_file(folder / dataset.dataset_file_name(experiment_params), experiment_params,
                                      simulations)
    return folder


def randomise(model, input_density: float, seed: int):
    """Weights that keep the activations near unit scale (He's gain, the first layer's fan-in counted in
    active inputs), so that every output varies with the input; the builder's small initial weights leave
    the spike head nearly constant, which would hide a disagreement between the methods."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        kernel = getattr(layer, "kernel", None)
        if kernel is not None:
            shape = tuple(kernel.shape)
            fan_in = np.prod(shape[:-1]) * (input_density if layer.name == "layer_1" else 1.0)
            layer.kernel.assign(rng.normal(0.0, np.sqrt(2.0 / fan_in), shape).astype(np.float32))
    return model


def timed(function, *args, **kwargs):
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - start


def run(params):
    import keras

    keras.utils.set_random_seed(params["seed"])
    workdir = Path(params["workdir"] or tempfile.mkdtemp(prefix="bench_evaluation_"))
    data = prediction.open_evaluation_data(synthetic_data_folder(params, workdir))
    density = np.mean([cache.load_cached(path).inputs.events_per_ms.mean() for path in data.files]) / data.num_channels
    architecture = models.make_architecture_dict(FILTER_SIZES, NUM_FILTERS, input_window_size=WINDOW_MS)
    model = randomise(models.build_model(architecture, num_dvt_components=NUM_DVT_COMPONENTS), density,
                      params["seed"])
    settings = {mode: prediction.prediction_settings(mode, architecture, data.duration_ms)
                for mode in prediction.PREDICTION_MODES}
    for mode in settings:
        # untimed calls with every batch shape of the run, so that neither method pays the graph tracing
        for size in {min(params["batch_size"], count) for count in data.num_simulations_per_file} | \
                {count % params["batch_size"] for count in data.num_simulations_per_file} - {0}:
            prediction.predict_traces(prediction.model_predict_fn(model),
                                      np.zeros((size, data.duration_ms, data.num_channels), np.float32), settings[mode])
    outputs, best = {}, {mode: np.inf for mode in settings}
    for _ in range(params["repeats"]):  # interleaved, so that a busy spell on shared cores hits both methods
        for mode in settings:
            outputs[mode], seconds = timed(prediction.predict_data, model, data, settings[mode], params["batch_size"],
                                           params["progress"])
            best[mode] = min(best[mode], seconds)
    rows = [(mode, settings[mode], best[mode]) for mode in settings]
    single, windowed = outputs["single_pass"], outputs["overlapping_windows"]
    cut = models.receptive_field_ms(architecture)
    difference = float(np.max(np.abs(single.spike_probability[:, cut:] - windowed.spike_probability[:, cut:])))
    spread = float(np.std(single.spike_probability))
    _, scoring_seconds = timed(metrics.evaluate_predictions, single.y_spike, single.spike_probability,
                               single.y_soma_mV, single.soma_prediction_mV, num_subsets=params["num_subsets"])

    n = data.num_simulations
    print(f"\n{n} simulations x {data.duration_ms / 1000:g} s, input density {100 * density:.2f} %, "
          f"NMDA_TCN 7x128x153 ({models.count_trainable_parameters(model):,} parameters), random weights, CPU, "
          f"batch {params['batch_size']}, keras {keras.__version__} ({keras.backend.backend()})")
    print(f"best of {params['repeats']} run(s) per method")
    print("| method | windows per trace | seconds | s per simulation | relative to one pass |")
    print("|---|---|---|---|---|")
    baseline = rows[0][2]
    for mode, settings, seconds in rows:
        windows = 1 if mode == "single_pass" else metrics.num_overlapping_windows(
            data.duration_ms, settings.window_ms, settings.overlap_ms)
        label = mode if mode == "single_pass" else f"{mode} (W {settings.window_ms}, O {settings.overlap_ms} ms)"
        print(f"| {label} | {windows} | {seconds:.1f} | {seconds / n:.2f} | {seconds / baseline:.2f} |")
    print(f"| scoring: 5 filters x 2 voltage variants + {params['num_subsets']} subsets | | {scoring_seconds:.1f} "
          f"| {scoring_seconds / n:.3f} | |")
    print(f"largest spike-probability difference between the methods after the first {cut} ms: {difference:.2e} "
          f"(spike probability std {spread:.2f})")
    return rows


def main(argv=None):
    return SCRIPT.run(run, argv)


if __name__ == "__main__":
    main()
