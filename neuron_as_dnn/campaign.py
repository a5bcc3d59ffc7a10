"""``make campaign``: the paper's finding (Figs. 3 and S5) reproduced as one resumable command.

With AMPA synapses a shallow network fits the layer-5 pyramidal cell; with NMDA synapses the accuracy keeps
rising with depth. The campaign tests this with the project's own scripts, as a user would run them:

1. simulate NMDA and AMPA datasets with the presets (train, valid, test; the same sizes for both types);
2. train a grid of networks per synapse type: depths 1, 2, 3, 5 and 7 at one width, plus a one-hidden-layer
   FCN of 128 filters (the paper's Fig. 3 network); every point with the same data and the same steps;
3. evaluate every checkpoint of every point on validation (``evaluate_CNN_valid.py``);
4. test each point's checkpoint that is best on validation, with subset error bars (``evaluate_CNN_test.py``);
5. the validation scatters (``valid_fitting_results_exploration.py``), Fig. S5
   (``test_accuracy_vs_complexity.py``) and Fig. 3 for the AMPA network best on validation
   (``main_figure_replication.py``);
6. the campaign's table (``campaign_results.csv`` / ``.md``: per point the test spike AUC with its subset
   error bars, TP at 0.25 % FP, soma RMSE, parameters, multiply-adds per output ms, training cost), the
   accuracy-against-depth figure, and the cost of every stage (``campaign_costs.json``).

Every step prints its command and is skipped when its output is there, so a rerun after an interruption
continues where it stopped (a training cut short resumes from its model folder). Outputs:
``data/campaign/<scale>/``, ``models/campaign/<scale>/``, ``figures/campaign/<scale>/``.

Each grid point (train, validate, test) is an independent job: ``--jobs 2`` runs two at a time, and
``--grid-point I`` runs point I alone (``$SLURM_ARRAY_TASK_ID`` when set), for a Slurm job array:

    python -m neuron_as_dnn.campaign                        # the CPU scale: everything, one step at a time
    python -m neuron_as_dnn.campaign --list                 # the grid points and their indices
    python -m neuron_as_dnn.campaign --only simulate        # then: sbatch --array=0-11 ... --grid-point
    python -m neuron_as_dnn.campaign --grid-point 3         # one point: train, validate, test
    python -m neuron_as_dnn.campaign --scale paper          # the paper's scale (days of CPU; docs/depth.md)
"""
from __future__ import annotations

import argparse
import concurrent.futures
import dataclasses
import datetime
import math
import os
import shlex
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Sequence

from neuron_as_dnn import cli, errors, paths, utils
from neuron_as_dnn.data import dataset
from neuron_as_dnn.learning import models
from neuron_as_dnn.learning.model_folder import ModelFolder


SYNAPSE_TYPES = ("NMDA", "AMPA")
STAGES = ("simulate", "grid", "figures")
COSTS_FILE = "campaign_costs.json"
RESULTS_NAME = "campaign_results"
DEPTH_FIGURE_NAME = "accuracy_vs_depth"
TRAINING_SEED = 1
NUM_SUBSETS = 12


@dataclasses.dataclass(frozen=True)
class GridPoint:
    """One network of the grid: its synapse type and architecture (the input projection is a linear 1x1
    convolution of the 1278 inputs to this many channels, 0 for none)."""

    synapse_type: str
    filter_sizes: tuple[int, ...]
    width: int
    projection: int

    @property
    def depth(self) -> int:
        return len(self.filter_sizes)

    def architecture(self, window_ms: int) -> dict:
        return models.make_architecture_dict(list(self.filter_sizes), self.width, input_window_size=window_ms,
                                             input_projection_channels=self.projection)

    @property
    def name(self) -> str:
        """The project's architecture prefix, e.g. ``NMDA_TCN__DxWxT_3x32x71``: the point's folder name."""
        return models.architecture_prefix(self.synapse_type, self.architecture(window_ms=10_000))


@dataclasses.dataclass(frozen=True)
class Scale:
    """How big the campaign is: the data (one training file per seed), the grid and the training steps."""

    name: str
    description: str
    duration_sec: int
    simulations_per_train_file: int
    valid_simulations: int
    test_simulations: int
    seeds: dict          # synapse type -> {"train": (seed per file, ...), "valid": seed, "test": seed}
    depths: tuple[int, ...]
    width: int
    first_filter_ms: int
    later_filter_ms: int
    projection: int
    fcn: tuple[int, int] | None  # (filters, filter size) of the extra one-hidden-layer FCN point of every type
    window_ms: int
    training: tuple[str, ...]  # fit_CNN.py's schedule and sampling options, the same for every point
    keras_epochs: int          # what the training options above amount to (a finished run has this many)
    figure3_options: tuple[str, ...] = ()  # main_figure_replication.py's options for Fig. 3 beyond the defaults

    def grid(self) -> list[GridPoint]:
        points = []
        for synapse_type in SYNAPSE_TYPES:
            for depth in self.depths:
                sizes = (self.first_filter_ms,) + (self.later_filter_ms,) * (depth - 1)
                points.append(GridPoint(synapse_type, sizes, self.width, self.projection))
            if self.fcn:
                points.append(GridPoint(synapse_type, (self.fcn[1],), self.fcn[0], self.projection))
        return points

    def num_train_files(self) -> int:
        return len(self.seeds[SYNAPSE_TYPES[0]]["train"])


def _schedule(stage_epochs: Sequence[int], multiplier: int, learning_rates: Sequence[float],
              spike_weights: Sequence[float], somatic_weights: Sequence[float], batch_size: int,
              train_files_per_epoch: int, train_file_load: float, valid_file_load: float = 1.0
              ) -> tuple[tuple[str, ...], int]:
    options = ("--schedule-stage-epochs", *map(str, stage_epochs), "--num-steps-multiplier", str(multiplier),
               "--schedule-learning-rates", *map(str, learning_rates),
               "--schedule-spike-loss-weights", *map(str, spike_weights),
               "--schedule-somatic-loss-weights", *map(str, somatic_weights),
               "--schedule-dendritic-loss-weights", "0",  # no dendritic targets: the data has no DVTs
               "--schedule-batch-sizes", str(batch_size), "--train-files-per-epoch", str(train_files_per_epoch),
               "--train-file-load", str(train_file_load), "--valid-file-load", str(valid_file_load),
               "--checkpoint-val-spike-loss-threshold", "1", "--save-formats", "keras")
    return options, sum(stage_epochs) * multiplier


def _seeds(train: Sequence[int], valid: int, test: int) -> dict:
    return {"train": tuple(train), "valid": valid, "test": test}


# The CPU scale: 256 training simulations per type (2 files of 128 x 6 s), 64 validation and 64 test; the
# shipped network's recipe (projection to 16 channels, 32 filters, first layer 35 ms then 19 ms) at depths
# 1-7, and 576 steps of 16 windows of 500 ms for every point (the shipped network's short schedule on windows
# half as long, which halves the cost of a step; the longest receptive field is 143 ms). The NMDA seeds are
# those of the README's data, so the NMDA test set is the one the shipped network was tested on.
_CPU_TRAINING, _CPU_EPOCHS = _schedule((3, 2, 1), 2, (0.003, 0.001, 0.0003), (1, 2, 4), (0.02, 0.01, 0.01),
                                       batch_size=16, train_files_per_epoch=2, train_file_load=0.25,
                                       valid_file_load=0.5)
# The paper's scale: its widths and kernels without a projection, the original's schedule (fit_CNN.py's
# defaults), a training set in the range of the authors' published data.
_PAPER_TRAINING, _PAPER_EPOCHS = _schedule((40, 40, 40, 40, 90), 10, (1e-4, 3e-5, 1e-5, 3e-6, 1e-6),
                                           (1, 2, 4, 8, 9), (0.02, 0.01, 0.01, 0.01, 0.003),
                                           batch_size=8, train_files_per_epoch=6, train_file_load=0.2)
# The test scale: seconds of simulation and a few steps, every stage's output (tests/test_campaign.py).
_TINY_TRAINING, _TINY_EPOCHS = _schedule((1, 1), 1, (0.003, 0.001), (1, 2), (0.02, 0.01),
                                         batch_size=4, train_files_per_epoch=1, train_file_load=1.0)

SCALES = {
    "cpu": Scale("cpu", "CPU scale: 256 + 64 + 64 simulations of 6 s per type, depths 1-7 at width 32, 576 steps "
                 "of 16 x 500 ms",
                 duration_sec=6, simulations_per_train_file=128, valid_simulations=64, test_simulations=64,
                 seeds={"NMDA": _seeds((101, 102), 201, 301), "AMPA": _seeds((111, 112), 211, 311)},
                 depths=(1, 2, 3, 5, 7), width=32, first_filter_ms=35, later_filter_ms=19, projection=16,
                 fcn=(128, 43), window_ms=500, training=_CPU_TRAINING, keras_epochs=_CPU_EPOCHS),
    "paper": Scale("paper", "the paper's scale: 64 training files of 128 x 6 s per type, width 128, the original "
                   "schedule", duration_sec=6, simulations_per_train_file=128, valid_simulations=384,
                   test_simulations=1536,
                   seeds={"NMDA": _seeds(range(1001, 1065), 1201, 1301),
                          "AMPA": _seeds(range(2001, 2065), 2201, 2301)},
                   depths=(1, 2, 3, 5, 7), width=128, first_filter_ms=45, later_filter_ms=19, projection=0,
                   fcn=(128, 43), window_ms=400, training=_PAPER_TRAINING, keras_epochs=_PAPER_EPOCHS),
    "tiny": Scale("tiny", "test scale: 2 + 2 + 2 simulations of 2 s per type, depths 1 and 2, a few steps",
                  duration_sec=2, simulations_per_train_file=2, valid_simulations=2, test_simulations=2,
                  seeds={"NMDA": _seeds((1,), 2, 3), "AMPA": _seeds((5,), 4, 6)},  # seeds with spikes to score
                  depths=(1, 2), width=4, first_filter_ms=9, later_filter_ms=5, projection=4,
                  fcn=None, window_ms=200, training=_TINY_TRAINING, keras_epochs=_TINY_EPOCHS,
                  figure3_options=("--num-single-traces", "1", "--filters", "0")),
}


# ---------------------------------------------------------------------------------------------------------
# Where things go
# ---------------------------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Layout:
    data: Path
    models: Path
    figures: Path

    @classmethod
    def of(cls, scale: Scale, root: Path = paths.REPO_ROOT) -> "Layout":
        return cls(root / "data" / "campaign" / scale.name, root / "models" / "campaign" / scale.name,
                   root / "figures" / "campaign" / scale.name)

    def dataset(self, synapse_type: str, split: str) -> Path:
        return paths.dataset_dir(synapse_type, split, self.data)

    def point(self, point: GridPoint) -> Path:
        return self.models / point.name


def _dataset_file(folder: Path, simulations: int, duration_sec: int, seed: int) -> Path | None:
    """The dataset file of this seed in ``folder`` (its name also holds the spike count), or None."""
    pattern = f"{dataset.dataset_glob_pattern(simulations, duration_sec)}randomSeed_{seed}.p"
    found = sorted(folder.glob(pattern)) if folder.is_dir() else []
    return found[0] if found else None


def _run_folder(folder: Path) -> ModelFolder | None:
    """The point's model folder (one training run), or None before its training started."""
    found = ModelFolder.find_all(folder) if folder.is_dir() else []
    return found[0] if found else None


def _trained(scale: Scale, folder: Path) -> bool:
    run = _run_folder(folder)
    return run is not None and len(run.history.get("val_spikes_auc", [])) >= scale.keras_epochs


def _evaluated(folder: Path, split: str, every_checkpoint: bool) -> bool:
    run = _run_folder(folder)
    if run is None or not run.checkpoints():
        return False
    found = [run.results_path(checkpoint.name, split).is_file() for checkpoint in run.checkpoints()]
    return all(found) if every_checkpoint else any(found)


# ---------------------------------------------------------------------------------------------------------
# The steps
# ---------------------------------------------------------------------------------------------------------

@dataclasses.dataclass
class Step:
    key: str                        # its entry in the costs record
    title: str
    command: Callable[[], list[str]]  # built when it runs (a resumed training names its folder)
    done: Callable[[], bool]


def _relative(path: Path) -> str:
    try:
        return str(path.relative_to(paths.REPO_ROOT))
    except ValueError:
        return str(path)


def dataset_files(scale: Scale):
    """(synapse type, split, seed, simulations) of every dataset file of the scale, in the order simulated:
    one type's files first, so that its grid can start while the other type is simulated."""
    for synapse_type in SYNAPSE_TYPES:
        for split in ("train", "valid", "test"):
            seeds = scale.seeds[synapse_type][split]
            count = {"train": scale.simulations_per_train_file, "valid": scale.valid_simulations,
                     "test": scale.test_simulations}[split]
            for seed in seeds if split == "train" else (seeds,):
                yield synapse_type, split, seed, count


def simulation_steps(scale: Scale, layout: Layout, python: str, workers: int) -> list[Step]:
    steps = []
    for synapse_type, split, seed, count in dataset_files(scale):
        folder = layout.dataset(synapse_type, split)
        command = [python, "simulate_L5PC_and_create_dataset.py", "--synapse-type", synapse_type,
                   "--split", split, "--num-simulations", str(count), "--duration-sec",
                   str(scale.duration_sec), "--seed", str(seed), "--no-dvt", "--workers", str(workers),
                   "--out-dir", _relative(folder)]
        steps.append(Step(f"simulate {synapse_type} {split} seed {seed}",
                          f"simulate {synapse_type} {split}: {count} x {scale.duration_sec} s, seed {seed}",
                          lambda command=command: command,
                          lambda f=folder, n=count, s=seed: _dataset_file(f, n, scale.duration_sec, s) is not None))
    return steps


def training_command(scale: Scale, layout: Layout, point: GridPoint, python: str) -> list[str]:
    folder = layout.point(point)
    run = _run_folder(folder)
    if run is not None:  # cut short before: continue it with its saved configuration
        return [python, "fit_CNN.py", "--resume-from", _relative(run.path)]
    filters = [str(size) for size in point.filter_sizes]
    return [python, "fit_CNN.py", "--synapse-type", point.synapse_type,
            "--train-data-dir", _relative(layout.dataset(point.synapse_type, "train")),
            "--valid-data-dir", _relative(layout.dataset(point.synapse_type, "valid")),
            "--test-data-dir", _relative(layout.dataset(point.synapse_type, "test")),
            "--out-dir", _relative(folder), "--architecture-preset", "custom",
            "--input-projection-channels", str(point.projection), "--filter-sizes-per-layer", *filters,
            "--num-filters-per-layer", str(point.width), "--input-window-size", str(scale.window_ms),
            "--num-simulations-per-file", "any", "--duration-sec", str(scale.duration_sec),
            "--num-dvt-components", "0", *scale.training, "--seed", str(TRAINING_SEED), "--no-progress"]


def point_steps(scale: Scale, layout: Layout, point: GridPoint, python: str) -> list[Step]:
    folder = layout.point(point)
    return [
        Step(f"train {point.name}", f"train {point.name}",
             lambda: training_command(scale, layout, point, python), lambda: _trained(scale, folder)),
        Step(f"validate {point.name}", f"evaluate every checkpoint of {point.name} on validation",
             lambda: [python, "evaluate_CNN_valid.py", "--models-dir", _relative(folder), "--data-dir",
                      _relative(layout.dataset(point.synapse_type, "valid")), "--no-progress"],
             lambda: _evaluated(folder, "valid", every_checkpoint=True)),
        Step(f"test {point.name}", f"test the checkpoint of {point.name} best on validation",
             lambda: [python, "evaluate_CNN_test.py", "--models-dir", _relative(folder), "--data-dir",
                      _relative(layout.dataset(point.synapse_type, "test")), "--num-subsets", str(NUM_SUBSETS),
                      "--no-progress"],
             lambda: _evaluated(folder, "test", every_checkpoint=False)),
    ]


def figure_steps(scale: Scale, layout: Layout, python: str) -> list[Step]:
    selection = layout.models / "selection"
    return [
        Step("validation scatters", "the validation results of every checkpoint (model selection figures)",
             lambda: [python, "valid_fitting_results_exploration.py", "--models-dir", _relative(layout.models),
                      "--out-dir", _relative(selection), "--figures-dir", _relative(layout.figures / "selection"),
                      # every network of the grid is shown: the original's bounds sift a search of
                      # hundreds of networks trained for far longer
                      "--min-train-samples", "0", "--plot-min-train-samples", "0", "--min-auc", "0",
                      "--min-d-prime", "-100", "--min-explained-variance", "-1000", "--no-export",
                      "--seed", "1", "--no-progress"],
             lambda: (selection / "best_results_valid.csv").is_file()),
        Step("Fig. S5", "Fig. S5: the best test accuracy against depth, width and receptive field",
             lambda: [python, "test_accuracy_vs_complexity.py", "--models-dir", _relative(layout.models),
                      "--out-dir", _relative(selection), "--figures-dir", _relative(layout.figures),
                      "--min-time-window", "0"],
             lambda: (layout.figures / "figureS5_accuracy_vs_complexity.png").is_file()),
        Step("Fig. 3", "Fig. 3: the AMPA network best on validation, on the AMPA test set",
             lambda: [python, "main_figure_replication.py", "--model-dir",
                      _relative(best_point_folder(scale, layout, "AMPA")), "--out-dir",
                      _relative(layout.figures / "figure3_AMPA"), "--seed", "1", *scale.figure3_options,
                      "--no-progress"],
             lambda: any((layout.figures / "figure3_AMPA").glob("*.png"))),
    ]


# ---------------------------------------------------------------------------------------------------------
# Running steps, recording their cost
# ---------------------------------------------------------------------------------------------------------

class Costs:
    """``campaign_costs.json``: per step its wall and CPU seconds (the step's processes, children included) and
    command; written after every step, so an interrupted campaign keeps what it measured."""

    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()
        self.entries = utils.read_json(path) if path.is_file() else {}

    def record(self, key: str, command: Sequence[str], wall: float, cpu: float) -> None:
        with self._lock:
            self.entries[key] = {"wall_seconds": round(wall, 1), "cpu_seconds": round(cpu, 1),
                                 "command": shlex.join(command),
                                 "finished": datetime.datetime.now().isoformat(timespec="seconds")}
            utils.write_json(self.path, self.entries)


class StepFailed(Exception):
    pass


def _printable(command: Sequence[str], python: str) -> str:
    return shlex.join(["python" if part == python else part for part in command])


def run_step(step: Step, costs: Costs, python: str, log_file: Path | None = None,
             env: dict | None = None, prefix: str = "[campaign]") -> None:
    if step.done():
        print(f"{prefix} {step.title}: done before, skipped", flush=True)
        return
    command = step.command()
    print(f"{prefix} {step.title}\n$ {_printable(command, python)}", flush=True)
    started = time.monotonic()
    output = open(log_file, "a") if log_file else None
    try:
        process = subprocess.Popen(command, cwd=paths.REPO_ROOT, env=env, stdout=output,
                                   stderr=subprocess.STDOUT if output else None)
        _, status, usage = os.wait4(process.pid, 0)  # the CPU time of the step's whole process tree
        process.returncode = os.waitstatus_to_exitcode(status)
    finally:
        if output:
            output.close()
    wall = time.monotonic() - started
    if process.returncode != 0:
        where = f" (its output: {_relative(log_file)})" if log_file else ""
        raise StepFailed(f"{step.title} failed with exit status {process.returncode}{where}; fix the cause and "
                         "rerun the campaign (finished steps are skipped)")
    if not step.done():
        raise StepFailed(f"{step.title} finished without its output; rerun the campaign")
    costs.record(step.key, command, wall, usage.ru_utime + usage.ru_stime)
    print(f"{prefix} {step.title}: finished in {datetime.timedelta(seconds=round(wall))}", flush=True)


def run_points(points: Sequence[GridPoint], scale: Scale, layout: Layout, python: str, costs: Costs,
               jobs: int) -> None:
    """Train, validate and test each point; ``jobs`` points at a time, each with its share of the cores and
    its output in ``models/campaign/<scale>/logs/<point>.log``."""
    if jobs <= 1:
        for point in points:
            for step in point_steps(scale, layout, point, python):
                run_step(step, costs, python)
        return
    logs = layout.models / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    threads = str(max(1, (os.cpu_count() or 1) // jobs))
    env = dict(os.environ, TF_NUM_INTRAOP_THREADS=threads, TF_NUM_INTEROP_THREADS="1", OMP_NUM_THREADS=threads)

    def one(point: GridPoint) -> None:
        for step in point_steps(scale, layout, point, python):
            run_step(step, costs, python, log_file=logs / f"{point.name}.log", env=env,
                     prefix=f"[campaign {point.name}]")

    with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
        failures = [f.exception() for f in [pool.submit(one, point) for point in points] if f.exception()]
    if failures:
        raise failures[0]


# ---------------------------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------------------------

RESULT_COLUMNS = ["synapse type", "network", "depth", "width", "T (ms)", "parameters", "multiply-adds per ms",
                  "test spike AUC", "AUC mean of subsets", "AUC std of subsets", "TP @ 0.25% FP",
                  "soma RMSE (mV)", "soma explained variance %", "validation spike AUC", "checkpoint",
                  "training steps", "training CPU s", "model folder"]


def results(scale: Scale, layout: Layout, costs: Costs | None = None) -> list[dict]:
    """One row per tested grid point: its checkpoint that is best on validation (the one
    ``evaluate_CNN_test.py`` tested), that checkpoint's test and validation numbers, its size and training cost."""
    from neuron_as_dnn.evaluation import model_selection

    costs = costs or Costs(layout.models / COSTS_FILE)
    rows = []
    for point in scale.grid():
        run = _run_folder(layout.point(point))
        if run is None or not run.result_files("test"):
            continue
        tests = model_selection.collect_results(run.path, "test")
        valid = {row["full model filename"]: row for row in model_selection.collect_results(run.path, "valid")} \
            if run.result_files("valid") else {}
        test = max(tests, key=lambda row: valid.get(row["full model filename"], {}).get("spikes AUC", -1.0))
        architecture = run.architecture
        training = costs.entries.get(f"train {point.name}", {})
        rows.append({
            "synapse type": point.synapse_type, "network": models.network_type(architecture),
            "depth": point.depth, "width": point.width, "T (ms)": models.receptive_field_ms(architecture),
            "parameters": models.count_parameters(architecture, 0),
            "multiply-adds per ms": models.count_multiply_adds(architecture, 0),
            "test spike AUC": test["spikes AUC"], "AUC mean of subsets": test["spikes AUC mean of subsets"],
            "AUC std of subsets": test["spikes AUC std of subsets"],
            "TP @ 0.25% FP": test["spikes TP @ 0.25% FP"],
            "soma RMSE (mV)": test["soma RMSE (uncalibrated)"],
            "soma explained variance %": test["soma explained variance % (uncalibrated)"],
            "validation spike AUC": valid.get(test["full model filename"], {}).get("spikes AUC"),
            "checkpoint": test["full model filename"],
            "training steps": int(sum(run.history.get("num_train_steps", []))),
            "training CPU s": training.get("cpu_seconds"), "model folder": _relative(run.path)})
    return rows


def best_point_folder(scale: Scale, layout: Layout, synapse_type: str) -> Path:
    """The model folder of the type's network best on validation (chosen without looking at the test set)."""
    rows = [row for row in results(scale, layout) if row["synapse type"] == synapse_type]
    if not rows:
        raise StepFailed(f"no tested {synapse_type} network yet; run the grid first")
    best = max(rows, key=lambda row: -1.0 if row["validation spike AUC"] is None else row["validation spike AUC"])
    return paths.REPO_ROOT / best["model folder"]


def smallest_within_one_std(rows: Sequence[dict], synapse_type: str) -> dict | None:
    """The network with the fewest parameters whose test AUC is within one subset standard deviation of the
    type's best (the one to ship: as good as the best, as far as the test set can tell)."""
    rows = [row for row in rows if row["synapse type"] == synapse_type]
    if not rows:
        return None
    best = max(rows, key=lambda row: row["test spike AUC"])
    margin = best["AUC std of subsets"] or 0.0
    close = [row for row in rows if row["test spike AUC"] >= best["test spike AUC"] - margin]
    return min(close, key=lambda row: (row["parameters"], -row["test spike AUC"]))


def simulation_costs(scale: Scale, layout: Layout) -> dict:
    """CPU seconds of the simulations per synapse type and split, from the dataset files' provenance records
    (whoever ran them)."""
    from neuron_as_dnn.data.dataset_generation import config_path_for

    totals: dict = {}
    for synapse_type, split, seed, count in dataset_files(scale):
        path = _dataset_file(layout.dataset(synapse_type, split), count, scale.duration_sec, seed)
        record_path = config_path_for(path) if path else None
        if record_path is None or not record_path.is_file():
            continue
        record = utils.read_json(record_path)
        entry = totals.setdefault(f"{synapse_type} {split}", {"simulations": 0, "cpu_seconds": 0.0,
                                                              "wall_seconds": 0.0})
        entry["simulations"] += count
        entry["cpu_seconds"] += record.get("cpu_seconds_total", math.nan)
        entry["wall_seconds"] += record.get("wall_seconds", math.nan)
    return totals


def _format(value, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def markdown_table(rows: Sequence[dict]) -> str:
    lines = ["| type | network | D × W, T | parameters | multiply-adds / ms | test spike AUC (subsets) | "
             "TP @ 0.25 % FP | soma RMSE | validation AUC | training CPU |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        cpu = row["training CPU s"]
        lines.append(
            f"| {row['synapse type']} | {row['network']} | {row['depth']} × {row['width']}, {row['T (ms)']} ms | "
            f"{_format(row['parameters'])} | {_format(row['multiply-adds per ms'])} | "
            f"{_format(row['test spike AUC'])} ({_format(row['AUC mean of subsets'])} ± "
            f"{_format(row['AUC std of subsets'])}) | {_format(row['TP @ 0.25% FP'], 3)} | "
            f"{_format(row['soma RMSE (mV)'], 2)} mV | {_format(row['validation spike AUC'])} | "
            f"{'–' if cpu is None else f'{cpu / 60:.1f} min'} |")
    return "\n".join(lines)


def write_results(scale: Scale, layout: Layout) -> list[dict]:
    """The campaign's table (CSV and Markdown), its accuracy-against-depth figure and its costs summary."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from neuron_as_dnn.figures import model_selection as figures

    costs = Costs(layout.models / COSTS_FILE)
    rows = results(scale, layout, costs)
    utils.write_csv(layout.models / f"{RESULTS_NAME}.csv", rows, RESULT_COLUMNS)
    shipped = {kind: smallest_within_one_std(rows, kind) for kind in SYNAPSE_TYPES}
    simulations = simulation_costs(scale, layout)
    with utils.atomic_write(layout.models / f"{RESULTS_NAME}.md", "w") as handle:
        handle.write(f"# {scale.description}\n\n{markdown_table(rows)}\n\n")
        for kind, row in shipped.items():
            if row:
                handle.write(f"- smallest {kind} network within one subset standard deviation of the best: "
                             f"{row['model folder']}\n")
        handle.write("\nSimulation cost (from the dataset files' provenance records):\n\n")
        for key, entry in simulations.items():
            handle.write(f"- {key}: {entry['simulations']} simulations, {entry['cpu_seconds'] / 3600:.2f} "
                         f"CPU-hours ({entry['cpu_seconds'] / entry['simulations']:.1f} CPU s each), "
                         f"{entry['wall_seconds'] / 60:.1f} min wall\n")
        handle.write("\nCost of the other steps (campaign_costs.json: CPU time of each step's processes):\n\n")
        for title, prefixes in (("training", ("train ",)), ("validation of every checkpoint", ("validate ",)),
                                ("tests", ("test ",)), ("figures", ("validation scatters", "Fig. "))):
            cpu = sum(entry["cpu_seconds"] for key, entry in costs.entries.items() if key.startswith(prefixes))
            wall = sum(entry["wall_seconds"] for key, entry in costs.entries.items() if key.startswith(prefixes))
            handle.write(f"- {title}: {cpu / 60:.1f} CPU-minutes, {wall / 60:.1f} min wall\n")
    utils.write_json(layout.models / f"{RESULTS_NAME}.json",
                     {"scale": dataclasses.asdict(SCALES[scale.name]), "results": rows,
                      "shipping_candidates": shipped, "simulation_costs": simulations, "step_costs": costs.entries,
                      "environment": utils.environment_info(), "commit": utils.git_commit()})
    if rows:
        fig = figures.accuracy_against_depth(rows)
        utils.save_figure(fig, layout.figures, DEPTH_FIGURE_NAME)
        plt.close(fig)
    return rows


# ---------------------------------------------------------------------------------------------------------
# The command
# ---------------------------------------------------------------------------------------------------------

def _print_grid(scale: Scale) -> None:
    print(f"{scale.name}: {scale.description}")
    for index, point in enumerate(scale.grid()):
        architecture = point.architecture(scale.window_ms)
        print(f"  {index:2d}  {point.name:32s} {models.count_parameters(architecture, 0):>10,} parameters "
              f"{models.count_multiply_adds(architecture, 0):>10,} multiply-adds per ms")


def _grid_point_from_environment() -> int | None:
    value = os.environ.get("SLURM_ARRAY_TASK_ID")
    return int(value) if value not in (None, "") else None


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = cli.OneLineErrorParser(prog="python -m neuron_as_dnn.campaign", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", choices=sorted(SCALES), default="cpu", help="how big (default: cpu)")
    parser.add_argument("--only", choices=STAGES, help="run one stage: simulate, grid (train, validate, test "
                        "every point) or figures (tables and figures of what is tested)")
    parser.add_argument("--grid-point", type=int, default=None, help="train, validate and test this point alone "
                        "(its index in --list; default: $SLURM_ARRAY_TASK_ID when set)")
    parser.add_argument("--jobs", type=int, default=1, help="grid points run at a time (default 1)")
    parser.add_argument("--workers", type=int, default=2, help="simulation worker processes (default 2)")
    parser.add_argument("--root", type=Path, default=paths.REPO_ROOT, help="the folder whose data/, models/ and "
                        "figures/ receive the campaign's outputs (default: the repository)")
    parser.add_argument("--list", action="store_true", help="print the grid points and their indices")
    args = parser.parse_args(argv)
    if args.grid_point is None and args.only is None:
        args.grid_point = _grid_point_from_environment()
    grid = SCALES[args.scale].grid()
    if args.grid_point is not None and not 0 <= args.grid_point < len(grid):
        parser.error(f"--grid-point {args.grid_point}: the {args.scale} grid has points 0-{len(grid) - 1} "
                     "(see --list)")
    if args.jobs < 1 or args.workers < 1:
        parser.error("--jobs and --workers are at least 1")
    try:
        cli.writable_folder("root", str(args.root))
    except errors.UserError as error:
        parser.error(str(error))
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_arguments(argv)
    utils.setup_logging("INFO")
    scale = SCALES[args.scale]
    if args.list:
        _print_grid(scale)
        return
    layout = Layout.of(scale, args.root.resolve())
    layout.models.mkdir(parents=True, exist_ok=True)
    costs = Costs(layout.models / COSTS_FILE)
    python = sys.executable
    started = time.monotonic()
    try:
        if args.grid_point is not None:
            point = scale.grid()[args.grid_point]
            print(f"[campaign] grid point {args.grid_point}: {point.name}", flush=True)
            run_points([point], scale, layout, python, costs, jobs=1)
            return
        if args.only in (None, "simulate"):
            for step in simulation_steps(scale, layout, python, args.workers):
                run_step(step, costs, python)
        if args.only in (None, "grid"):
            run_points(scale.grid(), scale, layout, python, costs, args.jobs)
        if args.only in (None, "figures"):
            for step in figure_steps(scale, layout, python):
                run_step(step, costs, python)
            rows = write_results(scale, layout)
            print(f"\n{markdown_table(rows)}\n\ntables: {_relative(layout.models)}/{RESULTS_NAME}.{{csv,md,json}}; "
                  f"figures: {_relative(layout.figures)}/")
    except StepFailed as failure:
        sys.exit(f"campaign: error: {failure}")
    print(f"[campaign] wall time this run: {datetime.timedelta(seconds=round(time.monotonic() - started))}")


if __name__ == "__main__":
    main()
