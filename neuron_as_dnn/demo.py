"""``make demo``: the paper's pipeline end to end on a small scale, with the shipped network.

Each stage runs one of the project's scripts as a user would (the command is printed) and is skipped when
its output is already there, so a rerun after an interruption continues where it stopped. The stages:

1. Fig. 1: the integrate-and-fire neuron and its one-filter network (the script's small default);
2. a fresh NMDA test set, a small training set and a validation set, simulated with the default settings;
3. ``dataset_exploration.py`` on the test set;
4. the shipped NMDA network (``pretrained/<run folder>/``, copied to ``models/demo/pretrained/`` so that the
   evaluation writes beside a copy, never into the repository) evaluated on the fresh test set with
   ``evaluate_CNN_test.py`` and drawn with ``main_figure_replication.py``;
5. a short training run (``fit_CNN.py``) on the small training set, validated on the demo's validation set
   (never on the test set it reports), which shows the validation spike AUC rising;

and it ends with a summary of the key numbers and the paths of the figures. Everything goes under
``data/demo/``, ``models/demo/`` and ``figures/demo/``; delete those to start over.

    python -m neuron_as_dnn.demo            # what `make demo` runs
"""
from __future__ import annotations

import argparse
import datetime
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from neuron_as_dnn import errors, paths, pretrained, utils
from neuron_as_dnn.learning import model_folder

DATA = paths.DATA_DIR / "demo"
MODELS = paths.MODELS_DIR / "demo"
FIGURES = paths.FIGURES_DIR / "demo"
PRETRAINED = pretrained.PRETRAINED_DIR

TEST_SIMULATIONS, TEST_SEED = 16, 20261129  # seeds not used by the shipped network's data (docs: README)
TRAIN_SIMULATIONS, TRAIN_SEED = 32, 20261130
VALID_SIMULATIONS, VALID_SEED = 16, 20261131
WORKERS = 2

# the short training run: the shipped network's shape and first learning-rate stage on the demo's small
# training set (under a minute on 2 cores), validated on a validation set of its own. On 32
# simulations it overfits after about 200 steps (its validation AUC falls again), so it stops there.
TRAINING_STAGE_EPOCHS, TRAINING_STEPS_MULTIPLIER = (4,), 2
TRAINING_ARGS = [
    "--architecture-preset", "custom", "--input-projection-channels", "16",
    "--filter-sizes-per-layer", "35", "19", "19", "19", "--num-filters-per-layer", "32",
    "--input-window-size", "1000", "--num-simulations-per-file", "any", "--duration-sec", "6",
    "--schedule-stage-epochs", *map(str, TRAINING_STAGE_EPOCHS), "--schedule-learning-rates", "0.003",
    "--schedule-spike-loss-weights", "1", "--schedule-somatic-loss-weights", "0.02",
    "--schedule-dendritic-loss-weights", "0.00001", "--schedule-batch-sizes", "16",
    "--num-steps-multiplier", str(TRAINING_STEPS_MULTIPLIER), "--train-files-per-epoch", "1",
    "--train-file-load", "2.0", "--valid-file-load", "1.0", "--checkpoint-val-spike-loss-threshold", "1",
    "--save-formats", "keras", "--seed", "1"]


@dataclass
class Stage:
    title: str
    command: list[str]
    done: Callable[[], bool]
    prepare: Callable[[], None] | None = None


def _any(folder: Path, pattern: str) -> bool:
    return folder.is_dir() and any(folder.glob(pattern))


def shipped_model_folder() -> Path:
    """The shipped NMDA network (the demo's data are NMDA simulations); a one-line exit when it is missing."""
    try:
        return pretrained.open_shipped(PRETRAINED, synapse_type="NMDA").path
    except errors.UserError as error:
        message = str(error)
        hint = "" if "git checkout" in message else ": restore it with `git checkout -- pretrained`"
        sys.exit(f"demo: error: {message}{hint}")


def copy_shipped_model() -> None:
    source = shipped_model_folder()
    target = MODELS / "pretrained" / source.name
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(source, target)


def _demo_test_results() -> list[Path]:
    """The test results of the demo's copy of the shipped network, sorted."""
    return model_folder.find_result_files(MODELS / "pretrained", pretrained.TEST_SPLIT)


def _histories() -> list[Path]:
    """The ``history.json`` of the short training run's folder(s), sorted."""
    return sorted((MODELS / "trained").glob(f"*/{model_folder.HISTORY_FILE}"))


def evaluated_on_demo_data() -> bool:
    """A test evaluation of the demo's copy of the shipped network on the demo's test set (the copy arrives with
    the evaluation on the shipped network's own test set, which does not count)."""
    test_folder = (DATA / "test").resolve()
    for record_path in _demo_test_results():
        files = utils.read_json(record_path)["data"]["files"]
        if files and all((paths.REPO_ROOT / f).resolve().parent == test_folder for f in files):
            return True
    return False


def training_finished() -> bool:
    keras_epochs = sum(TRAINING_STAGE_EPOCHS) * TRAINING_STEPS_MULTIPLIER
    return any(len(utils.read_json(history).get("val_spikes_auc", [])) >= keras_epochs for history in _histories())


def _relative(path: Path) -> str:
    """Paths in the printed commands as a user would type them (the stages run in the repository root)."""
    return str(path.relative_to(paths.REPO_ROOT))


def stages(python: str) -> list[Stage]:
    pretrained = MODELS / "pretrained"
    return [
        Stage("Fig. 1: integrate-and-fire neuron and its one-filter network (small default)",
              [python, "integrate_and_fire_figure_replication.py", "--out-dir", _relative(FIGURES / "IF")],
              lambda: (FIGURES / "IF" / "run.json").is_file()),
        Stage(f"simulate a fresh NMDA test set: {TEST_SIMULATIONS} x 6 s, {WORKERS} workers",
              [python, "simulate_L5PC_and_create_dataset.py", "--num-simulations", str(TEST_SIMULATIONS),
               "--seed", str(TEST_SEED), "--out-dir", _relative(DATA / "test"), "--workers", str(WORKERS)],
              lambda: _any(DATA / "test", "*.p")),
        Stage(f"simulate a small NMDA training set: {TRAIN_SIMULATIONS} x 6 s, {WORKERS} workers",
              [python, "simulate_L5PC_and_create_dataset.py", "--num-simulations", str(TRAIN_SIMULATIONS),
               "--seed", str(TRAIN_SEED), "--out-dir", _relative(DATA / "train"), "--workers", str(WORKERS)],
              lambda: _any(DATA / "train", "*.p")),
        Stage(f"simulate a validation set for the training run: {VALID_SIMULATIONS} x 6 s, {WORKERS} workers",
              [python, "simulate_L5PC_and_create_dataset.py", "--num-simulations", str(VALID_SIMULATIONS),
               "--seed", str(VALID_SEED), "--out-dir", _relative(DATA / "valid"), "--workers", str(WORKERS)],
              lambda: _any(DATA / "valid", "*.p")),
        Stage("explore the test set (inputs, output spikes, dendritic voltages)",
              [python, "dataset_exploration.py", "--data-dir", _relative(DATA / "test"), "--out-dir",
               _relative(FIGURES / "dataset"), "--seed", "1"],
              lambda: _any(FIGURES / "dataset", "*.png")),
        Stage("evaluate the shipped network on the fresh test set",
              [python, "evaluate_CNN_test.py", "--models-dir", _relative(pretrained),
               "--data-dir", _relative(DATA / "test")],
              evaluated_on_demo_data, prepare=copy_shipped_model),
        Stage("Fig. 2 with the shipped network's predictions of the test set",
              [python, "main_figure_replication.py", "--model-dir", _relative(pretrained), "--out-dir",
               _relative(FIGURES / "main_figure"), "--seed", "1"],
              lambda: _any(FIGURES / "main_figure", "*.png")),
        Stage("a short training run on the small training set, validated on the validation set",
              [python, "fit_CNN.py", "--train-data-dir", _relative(DATA / "train"),
               "--valid-data-dir", _relative(DATA / "valid"), "--test-data-dir", _relative(DATA / "test"), "--out-dir", _relative(MODELS / "trained"),
               *TRAINING_ARGS],
              training_finished, prepare=lambda: shutil.rmtree(MODELS / "trained", ignore_errors=True)),
    ]


def summary() -> str:
    """The key numbers and where the figures are."""
    lines = ["", "=" * 100, "demo summary", "=" * 100]
    for record_path in _demo_test_results():
        result = pretrained.headline_results(utils.read_json(record_path))
        network = model_folder.folder_of_result(record_path).name
        lines.append(f"shipped network {network}")
        lines.append(f"  on the demo's fresh test set ({result['test_simulations']} simulations of 6 s, "
                     f"{result['test_simulations_in_filter']} with 0-24 spikes): spike AUC {result['spike_auc']:.4f}, "
                     f"TP {result['spike_tp_at_0_25_percent_fp']:.3f} at 0.25% FP; soma RMSE "
                     f"{result['soma_rmse_mV']:.2f} mV, explained variance "
                     f"{result['soma_explained_variance_percent']:.1f}% (no rescaling)")
        shipped = PRETRAINED / network / pretrained.RESULTS_FILE
        if shipped.is_file():
            reference = utils.read_json(shipped)
            lines.append(f"  README / pretrained/eval_results.json, its own test set of "
                         f"{reference['test_simulations']} simulations: spike AUC {reference['spike_auc']:.4f}, "
                         f"soma RMSE {reference['soma_rmse_mV']:.2f} mV")
    for history_path in _histories():
        aucs = [a for a in utils.read_json(history_path).get("val_spikes_auc", []) if a is not None]
        per_epoch = aucs[TRAINING_STEPS_MULTIPLIER - 1::TRAINING_STEPS_MULTIPLIER]
        if per_epoch:
            lines.append(f"short training run {history_path.parent.name}: validation spike AUC per schedule epoch "
                         + " -> ".join(f"{a:.3f}" for a in per_epoch))
    lines.append("figures:")
    for folder in ("IF", "dataset", "main_figure"):
        pngs = sorted((FIGURES / folder).glob("*.png"))
        if pngs:
            lines.append(f"  {FIGURES.relative_to(paths.REPO_ROOT) / folder}/: {len(pngs)} figures "
                         f"({', '.join(p.name for p in pngs[:4])}{', ...' if len(pngs) > 4 else ''})")
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--summary-only", action="store_true", help="print the summary of a finished demo")
    args = parser.parse_args(argv)
    if args.summary_only:
        print(summary())
        return
    shipped_model_folder()  # before any work: the demo needs the shipped network
    python = sys.executable
    started = time.monotonic()
    all_stages = stages(python)
    for number, stage in enumerate(all_stages, 1):
        header = f"[demo {number}/{len(all_stages)}] {stage.title}"
        if stage.done():
            print(f"{header}: done before, skipped", flush=True)
            continue
        print(f"\n{header}\n$ {' '.join(Path(c).name if c == python else c for c in stage.command)}", flush=True)
        if stage.prepare:
            stage.prepare()
        stage_started = time.monotonic()
        completed = subprocess.run(stage.command, cwd=paths.REPO_ROOT)
        if completed.returncode != 0:
            sys.exit(f"demo: error: stage {number} ({stage.title}) failed with exit status {completed.returncode}; "
                     "fix the cause and rerun `make demo` (finished stages are skipped)")
        elapsed = datetime.timedelta(seconds=round(time.monotonic() - stage_started))
        total = datetime.timedelta(seconds=round(time.monotonic() - started))
        print(f"[demo {number}/{len(all_stages)}] finished in {elapsed} (demo so far {total})", flush=True)
    print(summary())
    print(f"demo wall time this run: {datetime.timedelta(seconds=round(time.monotonic() - started))}")


if __name__ == "__main__":
    main()
