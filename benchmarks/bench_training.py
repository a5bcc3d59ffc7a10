"""Training-data loader and training-step speed.

1. Loader: windows per second of our cache + PyDataset sampler against a re-implementation of the original
   parse path (pickle -> per-spike Python loops into dense matrices -> DVT PCA -> windows), measured in the
   same run on the same synthetic 128 x 6 s file. Both pay one file load per 48 batches of 8 windows, as the
   original generator does with its default file load.
2. Training: seconds per step of the paper's 7 x 128 TCN (kernels [45] + [19] * 6, 20 DVT components),
   batch 8, window 400, on CPU, for each Keras backend (each in its own process).

    python benchmarks/bench_training.py                       # the full benchmark (~5 min)
    python benchmarks/bench_training.py --num-simulations 16 --backends tensorflow   # quick look
"""
import json
import os
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path


import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from neuron_as_dnn import cli, utils
from neuron_as_dnn.data import cache, dataset, synthetic_data  # noqa: E402
from neuron_as_dnn.learning.dendritic_targets import DVTPCA  # noqa: E402

PARAMS = dict(
    num_simulations=128,
    duration_sec=6,
    with_dvt=True,
    num_dvt_components=20,
    batch_size=8,
    window_size=400,
    batches_per_file=48,          # the original: int(0.2 * 128 * 6000 / (8 * 400))
    sampler_seconds=3.0,          # how long to draw windows from our sampler
    backends=["tensorflow", "jax", "torch"],
    train_steps=3,                # timed steps per backend, after one warm-up step
    workdir=None,                 # keep the synthetic file (and its cache) here between runs; None: a temp dir
    output_json=None,             # also write the results here
    worker_backend=None,          # internal: run the training measurement for this backend and print JSON
    seed=0,                       # of the synthetic file
    progress=False,
    log_level="WARNING",
)
SCRIPT = cli.Script(__file__, PARAMS, description=__doc__,
                    types={"workdir": str, "output_json": str, "worker_backend": str})


# ---- the original parse path, re-implemented from its description (docs/training.md, Window sampler) ----

def original_style_load(path, dvt_pca, num_segments=639):
    """X (sims, T, 1278) bool, y_spike, y_soma, y_DVT as the original generator holds them per file."""
    with open(path, "rb") as handle:
        experiment = pickle.load(handle, encoding="latin1")
    X, y_spike, y_soma, y_dvt = [], [], [], []
    for sim in experiment["Results"]["listOfSingleSimulationDicts"]:
        duration = len(sim["somaVoltageLowRes"])
        ex = np.zeros((num_segments, duration), dtype=bool)
        inh = np.zeros((num_segments, duration), dtype=bool)
        for matrix, spikes in ((ex, sim["exInputSpikeTimes"]), (inh, sim["inhInputSpikeTimes"])):
            for segment in spikes.keys():
                for t in spikes[segment]:
                    matrix[segment, t] = 1.0
        X.append(np.vstack((ex, inh)))
        spike_row = np.zeros(duration)
        for t in sim["outputSpikeTimes"]:
            spike_row[int(t - 0.5)] = 1.0
        y_spike.append(spike_row)
        y_soma.append(sim["somaVoltageLowRes"].astype(np.float64))
        if dvt_pca is not None:
            # projected per simulation: stacking 128 float64 DVT matrices first needs > 20 GB
            y_dvt.append(dvt_pca.transform(np.minimum(sim["dendriticVoltagesLowRes"].astype(np.float64), 2.0).T))
    X = np.transpose(np.array(X), (0, 2, 1))
    y_spike = np.array(y_spike)
    y_soma = np.minimum(np.array(y_soma), -55.0) + 67.7
    return X, y_spike, y_soma, np.array(y_dvt)


def original_style_batch(tensors, batch_size, window, rng):
    X, y_spike, y_soma, y_dvt = tensors
    sims = rng.integers(X.shape[0], size=batch_size)
    ends = rng.choice(np.arange(max(500, window), X.shape[1]), size=batch_size, replace=False)
    windows = [slice(end - window, end) for end in ends]
    X_batch = np.array([X[s, w] for s, w in zip(sims, windows)], dtype=np.float64)
    targets = [np.array([y_spike[s, w] for s, w in zip(sims, windows)])[..., None],
               np.array([y_soma[s, w] for s, w in zip(sims, windows)])[..., None]]
    if len(y_dvt):
        targets.append(np.array([y_dvt[s, w] for s, w in zip(sims, windows)]))
    return X_batch, targets


# ---- training-step measurement (one backend per process) ----

def measure_training(params):
    import keras

    from neuron_as_dnn.learning import models
    from neuron_as_dnn.learning.sampler import WindowSampler

    path = Path(params["workdir"]) / "bench.p"
    pca = DVTPCA.from_dict(dict(np.load(Path(params["workdir"]) / "pca.npz")))
    sampler = WindowSampler([path], params["batch_size"], params["window_size"], 10, 1, dvt_pca=pca)
    architecture = models.make_architecture_dict([45] + [19] * 6, 128, input_window_size=params["window_size"])
    model = models.build_model(architecture, num_dvt_components=pca.num_components)
    model.compile(optimizer=keras.optimizers.Nadam(1e-4), loss=["binary_crossentropy", "mse", "mse"],
                  loss_weights=[1.0, 0.02, 5e-6])
    X, y = sampler[0]
    start = time.perf_counter()
    model.train_on_batch(X, y)
    warmup = time.perf_counter() - start
    times = []
    for step in range(params["train_steps"]):
        X, y = sampler[1 + step]
        start = time.perf_counter()
        model.train_on_batch(X, y)
        times.append(time.perf_counter() - start)
    print(json.dumps({"backend": keras.backend.backend(), "first_step_s": warmup,
                      "step_s": float(np.median(times)), "parameters": models.count_trainable_parameters(model)}))


def run(params):
    if params["worker_backend"]:
        return measure_training(params)
    if params["workdir"]:
        return benchmark(params, Path(params["workdir"]))
    with tempfile.TemporaryDirectory(prefix="bench_training_") as workdir:
        return benchmark(params, Path(workdir))


def benchmark(params, workdir: Path):
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / "bench.p"
    results = {"environment": utils.environment_info(), "params": params}

    if not path.exists():
        start = time.perf_counter()
        experiment_params, simulations = synthetic_data.make_synthetic_experiment(
            params["num_simulations"], params["duration_sec"] * 1000, with_dvt=params["with_dvt"], seed=params["seed"])
        dataset.write_experiment_file(path, experiment_params, simulations)
        del simulations
        print(f"wrote a synthetic {params['num_simulations']} x {params['duration_sec']} s file "
              f"({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - start:.0f} s")
    for stale in (workdir / ".cache").glob("*"):
        stale.unlink()

    from neuron_as_dnn.learning.sampler import WindowSampler

    pca = None
    if params["with_dvt"]:
        experiment = dataset.read_experiment_file(path)
        dvts = (sim["dendriticVoltagesLowRes"] for sim in experiment["Results"]["listOfSingleSimulationDicts"][:8])
        pca = DVTPCA.fit(dvts, params["num_dvt_components"])
        np.savez(workdir / "pca.npz", **pca.to_dict())
        del experiment, dvts

    batch, window, per_file = params["batch_size"], params["window_size"], params["batches_per_file"]
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    tensors = original_style_load(path, pca)
    original_load = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(per_file):
        original_style_batch(tensors, batch, window, rng)
    original_batch = (time.perf_counter() - start) / per_file
    del tensors

    start = time.perf_counter()
    cache.build_cache(path, dvt_transform=pca)
    cache_build = time.perf_counter() - start
    loads = []
    for _ in range(3):
        start = time.perf_counter()
        cache.load_cached(path, dvt_transform=pca)
        loads.append(time.perf_counter() - start)
    cache_load = float(np.median(loads))
    sampler = WindowSampler([path], batch, window, per_file, 1, dvt_pca=pca, max_files_in_memory=1)
    sampler[0]
    drawn, start = 0, time.perf_counter()
    while time.perf_counter() - start < params["sampler_seconds"]:
        sampler[drawn % len(sampler)]
        drawn += 1
    our_batch = (time.perf_counter() - start) / drawn

    windows_per_file = per_file * batch
    original_rate = windows_per_file / (original_load + per_file * original_batch)
    our_rate = windows_per_file / (cache_load + per_file * our_batch)
    results["loader"] = {"original_file_load_s": original_load, "original_batch_s": original_batch,
                         "cache_build_s": cache_build, "cache_load_s": cache_load, "our_batch_s": our_batch,
                         "original_windows_per_s": original_rate, "our_windows_per_s": our_rate,
                         "file_load_speedup": original_load / cache_load, "windows_speedup": our_rate / original_rate}

    results["training"] = []
    for backend in params["backends"]:
        command = [sys.executable, __file__, "--worker-backend", backend, "--workdir", str(workdir),
                   "--batch-size", str(batch), "--window-size", str(window),
                   "--train-steps", str(params["train_steps"])]
        completed = subprocess.run(command, env=dict(os.environ, KERAS_BACKEND=backend), capture_output=True,
                                   text=True)
        lines = [line for line in completed.stdout.splitlines() if line.startswith("{")]
        if completed.returncode != 0 or not lines:
            results["training"].append({"backend": backend, "error": completed.stderr.strip().splitlines()[-1:]})
        else:
            results["training"].append(json.loads(lines[-1]))

    sims, seconds = params["num_simulations"], params["duration_sec"]
    print(f"\nLoader, one {sims} x {seconds} s file{' with DVTs' if params['with_dvt'] else ''}, "
          f"{per_file} batches of {batch} x {window} ms per file load:")
    print("| path | file load (s) | per batch (ms) | windows/s |")
    print("|---|---|---|---|")
    print(f"| original (pickle + Python loops) | {original_load:.2f} | {1000 * original_batch:.1f} | "
          f"{original_rate:.0f} |")
    print(f"| ours (npz cache + PyDataset) | {cache_load:.3f} | {1000 * our_batch:.1f} | {our_rate:.0f} |")
    print(f"file load {original_load / cache_load:.0f}x faster, windows/s {our_rate / original_rate:.0f}x; "
          f"building the cache once took {cache_build:.1f} s")
    print(f"\nTraining, 7 x 128 TCN (kernels [45] + [19] x 6), batch {batch}, window {window}, CPU:")
    print("| backend | s/step | steps/s | first step (s) |")
    print("|---|---|---|---|")
    for row in results["training"]:
        if "error" in row:
            print(f"| {row['backend']} | failed: {' '.join(row['error'])} | | |")
        else:
            print(f"| {row['backend']} | {row['step_s']:.2f} | {1 / row['step_s']:.2f} | {row['first_step_s']:.1f} |")
    if params["output_json"]:
        utils.write_json(params["output_json"], results)
    return results


def main(argv=None):
    return SCRIPT.run(run, argv)


if __name__ == "__main__":
    main()
