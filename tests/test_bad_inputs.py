"""The scripts' mistaken invocations and damaged files, one row each: every one ends with exit status 2, one
stderr line ``<script>: error: ...`` and no new file, in the run's folder or in the repository's.

To add a case, append a ``Row``: ``{tmp}`` in its arguments becomes the test's folder (the script runs there),
and ``setup`` (optional) makes the damaged files in it first. Rows whose script does work before it fails
pass ``--log-level WARNING``, so that its progress lines do not hide whether the error is one line.
"""
import os
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Callable, NamedTuple, Sequence

import pytest

from neuron_as_dnn.paths import REPO_ROOT

DATASET_NAME = "exp_NMDA_128_simulationRuns_6_secDuration_1.p"  # found by the scripts' dataset glob
WATCHED_REPOSITORY_FOLDERS = ("data", "models", "figures")


class Row(NamedTuple):
    id: str
    script: str
    argv: Sequence[str]
    setup: Callable[[Path], None] | None = None


# ---- damaged files and folders, made in the test's folder --------------------------------------------------
def a_file(name: str) -> Callable[[Path], None]:
    """A file where a folder is expected."""
    return lambda tmp: (tmp / name).write_text("not a folder\n")


def folders(*names: str) -> Callable[[Path], None]:
    return lambda tmp: [(tmp / name).mkdir(parents=True) for name in names]


def read_only_folder(name: str) -> Callable[[Path], None]:
    def setup(tmp: Path) -> None:
        (tmp / name).mkdir()
        (tmp / name).chmod(0o555)
    return setup


def both(*setups: Callable[[Path], None]) -> Callable[[Path], None]:
    return lambda tmp: [setup(tmp) for setup in setups]


class _Hostile:
    def __reduce__(self):
        return os.system, ("touch RAN_FOREIGN_CODE",)


def dataset_file(content: bytes) -> Callable[[Path], None]:
    def setup(tmp: Path) -> None:
        (tmp / "data").mkdir()
        (tmp / "data" / DATASET_NAME).write_bytes(content)
    return setup


def replay_file(content: bytes) -> Callable[[Path], None]:
    return lambda tmp: (tmp / "inputs.npz").write_bytes(content)


# two dataset files whose names say NMDA and AMPA (the check reads only the names)
MIXED_NAMES = ("exBas_0_800_inhBasDiff_-600_200__exApic_0_800_inhApicDiff_-600_200__saved_InputSpikes_DVTs__10_"
               "outSpikes__128_simulationRuns__6_secDuration__randomSeed_1.p",
               "exBas_0_1900_inhBasDiff_-1650_150__exApic_0_2000_inhApicDiff_-1650_150__saved_InputSpikes_DVTs__10_"
               "outSpikes__128_simulationRuns__6_secDuration__randomSeed_2.p")


def mixed_data_folder(tmp: Path) -> None:
    (tmp / "mixed").mkdir()
    for name in MIXED_NAMES:
        (tmp / "mixed" / name).write_bytes(b"")


ROWS = [
    Row("dataset_exploration: out-dir is a file", "dataset_exploration.py",
        ["--data-dir", "{tmp}/data", "--out-dir", "{tmp}/out"], both(folders("data"), a_file("out"))),
    Row("dataset_exploration: out-dir under a file", "dataset_exploration.py",
        ["--data-dir", "{tmp}/data", "--out-dir", "{tmp}/out/figures"], both(folders("data"), a_file("out"))),
    Row("dataset_exploration: read-only out-dir", "dataset_exploration.py",
        ["--data-dir", "{tmp}/data", "--out-dir", "{tmp}/out"], both(folders("data"), read_only_folder("out"))),
    Row("dataset_exploration: missing data-dir", "dataset_exploration.py", ["--data-dir", "{tmp}/no_such_folder"]),
    Row("dataset_exploration: data-dir is a file", "dataset_exploration.py", ["--data-dir", "{tmp}/data"],
        a_file("data")),
    Row("dataset_exploration: max-files 0", "dataset_exploration.py",
        ["--data-dir", "{tmp}/data", "--max-files", "0"], folders("data")),
    Row("dataset_exploration: missing morphology", "dataset_exploration.py",
        ["--data-dir", "{tmp}/data", "--morphology", "{tmp}/cell1.asc"], folders("data")),
    Row("dataset_exploration: truncated dataset pickle", "dataset_exploration.py",
        ["--data-dir", "{tmp}/data", "--out-dir", "{tmp}/out", "--log-level", "WARNING"],
        dataset_file(pickle.dumps({"Params": {}})[:7])),
    Row("dataset_exploration: hostile dataset pickle", "dataset_exploration.py",
        ["--data-dir", "{tmp}/data", "--out-dir", "{tmp}/out", "--log-level", "WARNING"],
        dataset_file(pickle.dumps(_Hostile()))),
    Row("evaluate_CNN_test: cache-dir is a file", "evaluate_CNN_test.py", ["--cache-dir", "{tmp}/cache"],
        a_file("cache")),
    Row("evaluate_CNN_test: batch-size 0", "evaluate_CNN_test.py", ["--batch-size", "0"]),
    Row("evaluate_CNN_valid: batch-size -3", "evaluate_CNN_valid.py", ["--batch-size", "-3"]),
    Row("integrate_and_fire: out-dir is a file", "integrate_and_fire_figure_replication.py",
        ["--out-dir", "{tmp}/out"], a_file("out")),
    Row("integrate_and_fire: data-dir is a file", "integrate_and_fire_figure_replication.py",
        ["--out-dir", "{tmp}/out", "--data-dir", "{tmp}/data"], a_file("data")),
    Row("integrate_and_fire: read-only out-dir", "integrate_and_fire_figure_replication.py",
        ["--out-dir", "{tmp}/out"], read_only_folder("out")),
    Row("main_figure: out-dir is a file", "main_figure_replication.py",
        ["--model-dir", "{tmp}/model", "--out-dir", "{tmp}/out"], both(folders("model"), a_file("out"))),
    Row("main_figure: zoom-fraction decreasing", "main_figure_replication.py",
        ["--model-dir", "{tmp}/model", "--zoom-fraction", "0.9", "0.1"], folders("model")),
    Row("main_figure: zoom-fraction above 1", "main_figure_replication.py",
        ["--model-dir", "{tmp}/model", "--zoom-fraction", "0.5", "1.5"], folders("model")),
    Row("main_figure: num-single-traces -2", "main_figure_replication.py",
        ["--model-dir", "{tmp}/model", "--num-single-traces", "-2"], folders("model")),
    Row("main_figure: negative filter index", "main_figure_replication.py",
        ["--model-dir", "{tmp}/model", "--filters", "3", "-1"], folders("model")),
    Row("main_figure: missing model-dir", "main_figure_replication.py", ["--model-dir", "{tmp}/no_such_folder"]),
    Row("main_figure: no model-dir", "main_figure_replication.py", []),
    Row("test_accuracy_vs_complexity: out-dir is a file", "test_accuracy_vs_complexity.py",
        ["--models-dir", "{tmp}/models", "--out-dir", "{tmp}/out"], both(folders("models"), a_file("out"))),
    Row("test_accuracy_vs_complexity: figures-dir is a file", "test_accuracy_vs_complexity.py",
        ["--models-dir", "{tmp}/models", "--figures-dir", "{tmp}/figures"], both(folders("models"), a_file("figures"))),
    Row("valid_fitting_results_exploration: out-dir is a file", "valid_fitting_results_exploration.py",
        ["--models-dir", "{tmp}/models", "--out-dir", "{tmp}/out"], both(folders("models"), a_file("out"))),
    Row("valid_fitting_results_exploration: jitter -1", "valid_fitting_results_exploration.py",
        ["--models-dir", "{tmp}/models", "--jitter", "-1"], folders("models")),
    Row("fit_CNN: out-dir is a file", "fit_CNN.py", ["--out-dir", "{tmp}/out"], a_file("out")),
    Row("fit_CNN: train-data-dir is a file", "fit_CNN.py", ["--train-data-dir", "{tmp}/train"], a_file("train")),
    Row("simulate: out-dir is a file", "simulate_L5PC_and_create_dataset.py", ["--out-dir", "{tmp}/out"],
        a_file("out")),
    Row("simulate: missing replay file", "simulate_L5PC_and_create_dataset.py", ["--replay", "{tmp}/inputs.npz"]),
    Row("simulate: empty replay file", "simulate_L5PC_and_create_dataset.py", ["--replay", "{tmp}/inputs.npz"],
        replay_file(b"")),
    Row("simulate: pickle as replay file", "simulate_L5PC_and_create_dataset.py", ["--replay", "{tmp}/inputs.npz"],
        replay_file(pickle.dumps({"ex_seg": [1]}))),
    Row("dataset_exploration: a data folder mixing NMDA and AMPA", "dataset_exploration.py",
        ["--data-dir", "{tmp}/mixed", "--out-dir", "{tmp}/out"], mixed_data_folder),
    Row("fit_CNN: a data folder mixing NMDA and AMPA", "fit_CNN.py",
        ["--train-data-dir", "{tmp}/mixed", "--valid-data-dir", "{tmp}/mixed", "--out-dir", "{tmp}/models",
         "--num-simulations-per-file", "any", "--duration-sec", "any"], mixed_data_folder),
    *(Row(f"fit_CNN: {' '.join(option)}", "fit_CNN.py", [*option, "--out-dir", "{tmp}/models"])
      for option in (["--num-filters-per-layer", "-4"], ["--filter-sizes-per-layer", "0"],
                     ["--strides-per-layer", "0"], ["--l2-regularization", "-1"], ["--train-file-load", "0"],
                     ["--schedule-learning-rates", "nan"], ["--validation-fraction", "2"])),
    Row("evaluate_CNN_valid: negative seed", "evaluate_CNN_valid.py", ["--seed", "-5"]),
    Row("fit_CNN: seed above 2**32", "fit_CNN.py", ["--seed", str(2**32), "--out-dir", "{tmp}/models"]),
    *(Row(f"integrate_and_fire: {' '.join(option)}", "integrate_and_fire_figure_replication.py",
          [*option, "--out-dir", "{tmp}/out", "--data-dir", "{tmp}/data"])
      for option in (["--num-filters", "0"], ["--learning-rate", "-1"], ["--validation-fraction", "1"])),
]


def files_under(*folders: Path) -> set[Path]:
    return {path for folder in folders if folder.exists() for path in folder.rglob("*")}


@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
def test_bad_input_is_one_line_and_leaves_no_file(row, tmp_path):
    if row.setup is not None:
        row.setup(tmp_path)
    watched = [tmp_path, *(REPO_ROOT / name for name in WATCHED_REPOSITORY_FOLDERS)]
    before = files_under(*watched)
    env = {key: value for key, value in os.environ.items() if not key.startswith("TF_")}
    argv = [argument.format(tmp=tmp_path) for argument in row.argv]
    result = subprocess.run([sys.executable, str(REPO_ROOT / row.script), *argv], cwd=tmp_path,
                            capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [result.stderr.strip()], result.stderr
    assert result.stderr.startswith(f"{row.script}: error: "), result.stderr
    assert files_under(*watched) == before
