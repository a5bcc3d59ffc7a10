"""Model selection over evaluation results: one table row per evaluated checkpoint, the best checkpoint per
architecture, the accuracy-versus-complexity envelopes, and the export of the best models in the authors'
layout.

The protocol (thresholds, columns, sorting, envelopes) is the original's, described in docs/evaluation.md
(sections "Model selection" and "Accuracy versus complexity"); the export layout is in
docs/model_folder.md ("The authors' layout"). Tables are lists of dicts keyed by the original's column
names, written with ``utils.write_csv`` and read with the csv module. Where results and checkpoint files lie,
and how they are named, is ``learning.model_folder``'s.
"""
from __future__ import annotations

import csv
import dataclasses
import json
import logging
import math
import os
import shutil
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from neuron_as_dnn import errors, safe_pickle, utils
from neuron_as_dnn.data import dataset
from neuron_as_dnn.evaluation import evaluation_runs, metrics
from neuron_as_dnn.learning import model_folder
from neuron_as_dnn.learning.model_folder import Checkpoint, ModelFolder

log = logging.getLogger(__name__)

SYNAPSE_TYPES = dataset.SYNAPSE_TYPES  # plotting and grouping order

# ---- columns -----------------------------------------------------------------------------------------------
# The original's "right order" of columns, then ours: the raw (uncalibrated) voltage metrics and the folder.
VALID_COLUMNS = [
    "biophysical_model_type", "NN_depth", "NN_width", "NN_input_time_window", "NN_model_type",
    "spikes D prime", "spikes AUC", "spikes AUC @ 1% FP", "soma explained variance %", "soma RMSE", "soma MAE",
    "spikes TP @ 0.1% FP", "spikes TP @ 0.25% FP", "NN_num_train_samples", "NN_unique_train_files",
    "full model filename",
    "soma explained variance % (uncalibrated)", "soma RMSE (uncalibrated)", "soma MAE (uncalibrated)",
    "model folder",
]
_FIRST_EXTRA = VALID_COLUMNS.index("NN_num_train_samples")
TEST_COLUMNS = (VALID_COLUMNS[:_FIRST_EXTRA] + ["spikes AUC std of subsets", "soma explained variance % std of subsets"]
                + VALID_COLUMNS[_FIRST_EXTRA:] + ["spikes AUC mean of subsets",
                                                  "soma explained variance % mean of subsets"])

# column -> (key in the result's "model" entry, type)
MODEL_FIELDS = {
    "biophysical_model_type": ("synapse_type", str),
    "NN_model_type": ("network_type", str),
    "NN_depth": ("depth", int),
    "NN_width": ("width", int),
    "NN_input_time_window": ("receptive_field_ms", int),
    "NN_num_train_samples": ("num_train_samples", int),
    "NN_unique_train_files": ("num_unique_train_files", int),
}
# column -> key-results key: the original's names, shared with the evaluation job's CSV
METRIC_FIELDS = evaluation_runs.METRIC_COLUMNS
UNCALIBRATED_FIELDS = evaluation_runs.UNCALIBRATED_COLUMNS

INT_COLUMNS = {column for column, (_, kind) in MODEL_FIELDS.items() if kind is int}
STR_COLUMNS = {"biophysical_model_type", "NN_model_type", "full model filename", "model folder"}

# what the scripts print at the end, one line per model (heading -> column): the architecture, its training,
# the headline metrics
PRINTED_MODEL_COLUMNS = {"type": "biophysical_model_type", "NN": "NN_model_type", "D": "NN_depth", "W": "NN_width",
                 "T": "NN_input_time_window", "samples": "NN_num_train_samples", "AUC": "spikes AUC",
                 "D'": "spikes D prime", "TP@0.25%FP": "spikes TP @ 0.25% FP",
                 "expl.var.%": "soma explained variance %", "RMSE": "soma RMSE"}

ARCHITECTURE_COLUMNS = ("NN_depth", "NN_width", "NN_input_time_window", "NN_model_type", "biophysical_model_type")
VALID_SORT = ("biophysical_model_type", "NN_depth", "NN_model_type", "NN_width", "NN_input_time_window",
              "spikes D prime")
TEST_SORT = ("biophysical_model_type", "NN_depth", "NN_model_type", "NN_input_time_window", "NN_width",
             "spikes AUC")
# which direction is better, for the running-best envelopes
LOWER_IS_BETTER = {"soma RMSE", "soma MAE", "soma RMSE (uncalibrated)", "soma MAE (uncalibrated)"}
SELECT_BY = {"AUC": ("spikes AUC", True), "RMSE": ("soma RMSE", False)}  # name -> (column, maximise)


# ---------------------------------------------------------------------------------------------------------
# Reading evaluation results
# ---------------------------------------------------------------------------------------------------------

def _filter_metrics(entry: Mapping[str, Any] | None, variant: str) -> Mapping[str, Any] | None:
    """Key results of one filter, for ``calibrated`` or ``uncalibrated`` voltage metrics."""
    return None if entry is None else entry.get(variant)


def _number(value: Any) -> float:
    return math.nan if value is None else float(value)


# the test table's subset columns: NaN for a model without subset results
SUBSET_STATISTIC_COLUMNS = [f"{column} {statistic} of subsets" for column in evaluation_runs.SUBSET_COLUMNS
                            for statistic in evaluation_runs.SUBSET_STATISTICS]


def row_from_result(result: Mapping[str, Any], path: str | os.PathLike, split: str,
                    filter_key: str = metrics.MAIN_FILTER) -> dict:
    """One table row (the original's columns) from an evaluation result read from ``path``."""
    path = Path(path)
    model = result.get("model")
    entry = (result.get("results") or {}).get(filter_key)
    scores = _filter_metrics(entry, "calibrated")
    if not isinstance(model, Mapping) or scores is None:
        raise errors.FileContentError(path, f"not an evaluation result with a 'model' entry and usable {filter_key} "
                                            "results; rerun evaluate_CNN_valid.py / evaluate_CNN_test.py")
    row: dict[str, Any] = {}
    for column, (key, kind) in MODEL_FIELDS.items():
        value = model.get(key)
        if value is None and kind is str:
            raise errors.FileContentError(path, f"the 'model' entry lacks {key!r}")
        row[column] = None if value is None else kind(value)
    for column, key in METRIC_FIELDS.items():
        row[column] = _number(scores.get(key))
    if math.isnan(row["spikes D prime"]) and not math.isnan(row["spikes AUC"]):
        row["spikes D prime"] = metrics.spike_d_prime(row["spikes AUC"])
    raw = _filter_metrics(entry, "uncalibrated") or {}
    for column, key in UNCALIBRATED_FIELDS.items():
        row[column] = _number(raw.get(key))
    if split == "test":
        subsets = result.get("subsets") or []
        if not subsets:
            log.warning("%s: no subset results, so no error bars for this model", path)
        row.update(dict.fromkeys(SUBSET_STATISTIC_COLUMNS, math.nan))
        row.update(evaluation_runs.subset_statistics(subsets, filter_key))
    # the result's checkpoint entry (a name, or a file path), else the result file's name
    row["full model filename"] = model_folder.checkpoint_name(result.get("checkpoint") or path, split)
    # the folder holding evaluation/, where the result was found (the recorded path may be another machine's)
    row["model folder"] = str(model_folder.folder_of_result(path.absolute()))
    return row


def _is_inside(path: Path, folder: Path | None) -> bool:
    if folder is None:
        return False
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


def collect_results(root: str | os.PathLike, split: str, filter_key: str = metrics.MAIN_FILTER,
                    prefer_outside: str | os.PathLike | None = None) -> list[dict]:
    """One row per evaluated checkpoint below ``root``.

    A checkpoint evaluated in two places (its training folder and its export under ``best_models/``) gives
    one row, the one found outside ``prefer_outside``. Raises ``MissingFileError`` when nothing is found."""
    root = Path(root)
    paths = model_folder.find_result_files(root, split)
    if not paths:
        raise errors.MissingFileError(f"no evaluation results ({model_folder.result_pattern(split)}) under {root}: "
                                      f"run evaluate_CNN_{split}.py first, or point --models-dir at the models")
    prefer_outside = Path(prefer_outside) if prefer_outside is not None else None
    rows: dict[str, dict] = {}
    for path in paths:
        try:
            result = utils.read_json(path)
        except json.JSONDecodeError as error:
            raise errors.FileContentError(path, f"not valid JSON ({error})") from None
        row = row_from_result(result, path, split, filter_key)
        name = row["full model filename"]
        kept = rows.get(name)
        if kept is None or (_is_inside(Path(kept["model folder"]), prefer_outside)
                            and not _is_inside(path, prefer_outside)):
            rows[name] = row
    if len(rows) < len(paths):
        log.info("%d result files, %d distinct checkpoints (the others are copies, e.g. exports)", len(paths),
                 len(rows))
    log.info("read %d %s results under %s", len(rows), split, root)
    return list(rows.values())


# ---------------------------------------------------------------------------------------------------------
# Selection
# ---------------------------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Bound:
    """Keep rows whose ``column`` lies in [minimum, maximum] (None: unbounded); ``name`` is the parameter
    that sets it, for messages. A missing or NaN value fails any bound."""

    column: str
    minimum: float | None = None
    maximum: float | None = None
    name: str = ""

    def admits(self, value: Any) -> bool:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return False
        return (self.minimum is None or value >= self.minimum) and (self.maximum is None or value <= self.maximum)

    def describe(self) -> str:
        limit = f">= {self.minimum:g}" if self.maximum is None else f"<= {self.maximum:g}" if self.minimum is None \
            else f"in [{self.minimum:g}, {self.maximum:g}]"
        return f"{self.name or self.column} ({self.column} {limit})"


# parameter name -> (column, which side): the selection thresholds the scripts expose
BOUND_PARAMETERS = {
    "min_d_prime": ("spikes D prime", "min"),
    "min_auc": ("spikes AUC", "min"),
    "min_explained_variance": ("soma explained variance %", "min"),
    "max_width": ("NN_width", "max"),
    "min_time_window": ("NN_input_time_window", "min"),
    "max_time_window": ("NN_input_time_window", "max"),
    "min_train_samples": ("NN_num_train_samples", "min"),
    "max_train_samples": ("NN_num_train_samples", "max"),
    "plot_min_time_window": ("NN_input_time_window", "min"),
    "plot_min_train_samples": ("NN_num_train_samples", "min"),
}


def bounds_from_params(params: Mapping[str, Any], names: Iterable[str]) -> list[Bound]:
    """The bounds set by the parameters ``names`` (see ``BOUND_PARAMETERS``); a None parameter sets none."""
    bounds = []
    for name in names:
        value = params.get(name)
        if value is None:
            continue
        column, side = BOUND_PARAMETERS[name]
        bounds.append(Bound(column, minimum=value, name=errors.flag(name)) if side == "min"
                      else Bound(column, maximum=value, name=errors.flag(name)))
    return bounds


def apply_bounds(rows: Iterable[dict], bounds: Sequence[Bound]) -> tuple[list[dict], dict[str, int]]:
    """(kept rows, {bound description: rows it dropped}); a row is charged to the first bound it fails."""
    kept, dropped = [], {}
    for row in rows:
        failed = next((bound for bound in bounds if not bound.admits(row.get(bound.column))), None)
        if failed is None:
            kept.append(row)
        else:
            dropped[failed.describe()] = dropped.get(failed.describe(), 0) + 1
    return kept, dropped


def describe_drops(dropped: Mapping[str, int]) -> str:
    return "; ".join(f"{count} by {what}" for what, count in dropped.items()) or "none dropped"


def _sort_value(value: Any):
    # None and NaN last, numbers before strings never mix within one column
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return (1, 0)
    return (0, value)


def sort_rows(rows: Iterable[dict], columns: Sequence[str]) -> list[dict]:
    return sorted(rows, key=lambda row: tuple(_sort_value(row.get(column)) for column in columns))


def best_per_architecture(rows: Iterable[dict], select_by: str = "AUC") -> list[dict]:
    """The best row per (depth, width, T, network type, biophysical type): highest AUC or lowest RMSE.
    Ties go to the first row; the result is sorted as the original's CSV."""
    if select_by not in SELECT_BY:
        raise errors.bad_parameter("select_by", f"unknown criterion {select_by!r}; use one of {list(SELECT_BY)}")
    column, maximise = SELECT_BY[select_by]

    def score(row):
        value = row.get(column)
        if value is None or math.isnan(value):
            return -math.inf
        return value if maximise else -value

    best: dict[tuple, dict] = {}
    for row in rows:
        key = tuple(row[c] for c in ARCHITECTURE_COLUMNS)
        if key not in best or score(row) > score(best[key]):
            best[key] = row
    return sort_rows(best.values(), VALID_SORT)


def duplicate_fcn_as_tcn(rows: Iterable[dict]) -> list[dict]:
    """The rows plus a copy of every FCN row labelled TCN, so that TCN envelopes include FCN results
    (a one-layer network is also the shallowest TCN)."""
    rows = list(rows)
    return rows + [dict(row, NN_model_type="TCN") for row in rows if row["NN_model_type"] == "FCN"]


# ---------------------------------------------------------------------------------------------------------
# Envelopes
# ---------------------------------------------------------------------------------------------------------

@dataclasses.dataclass
class Envelope:
    """The best ``y`` reachable at complexity ≤ ``x``, at the distinct x values kept; ``rows[i]`` is the row
    (model) that sets ``y[i]``."""

    x: np.ndarray
    y: np.ndarray
    rows: list


def keep_changing_points(y: np.ndarray, change_threshold: float, increasing: bool = True) -> np.ndarray:
    """Mask of the points whose step from the previous point exceeds ``change_threshold`` × the span of y
    (upwards when ``increasing``), with the first and the last point always kept."""
    y = np.asarray(y, dtype=float)
    if y.size == 0:
        return np.zeros(0, dtype=bool)
    step = np.diff(y) if increasing else -np.diff(y)
    keep = np.concatenate(([True], step > change_threshold * (y.max() - y.min())))
    keep[-1] = True
    return keep


def envelope(rows: Sequence[dict], x_column: str, y_column: str, maximise: bool | None = None,
             change_threshold: float | None = None) -> Envelope:
    """Sort by x, take the running best of y (cummax, or cummin for errors), keep the best per distinct x,
    then (with ``change_threshold``) only the points where the curve really changes."""
    if maximise is None:
        maximise = y_column not in LOWER_IS_BETTER
    usable = [row for row in rows if row.get(x_column) is not None
              and row.get(y_column) is not None and not math.isnan(row[y_column])]
    xs, ys, holders = [], [], []
    best_row = None
    for row in sorted(usable, key=lambda r: r[x_column]):
        value = row[y_column]
        if best_row is None or (value > best_row[y_column] if maximise else value < best_row[y_column]):
            best_row = row
        if xs and xs[-1] == row[x_column]:
            ys[-1], holders[-1] = best_row[y_column], best_row
        else:
            xs.append(row[x_column])
            ys.append(best_row[y_column])
            holders.append(best_row)
    x, y = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
    if change_threshold is not None:
        keep = keep_changing_points(y, change_threshold, increasing=maximise)
        x, y, holders = x[keep], y[keep], [row for row, kept in zip(holders, keep) if kept]
    return Envelope(x, y, holders)


def group_rows(rows: Iterable[dict], column: str = "biophysical_model_type") -> dict[str, list[dict]]:
    """Rows per value of ``column``, the synapse types first in their usual order."""
    groups: dict[str, list[dict]] = {}
    for row in rows:
        groups.setdefault(row[column], []).append(row)
    order = [t for t in SYNAPSE_TYPES if t in groups] + sorted(set(groups) - set(SYNAPSE_TYPES))
    return {key: groups[key] for key in order}


def envelopes_by_type(rows: Iterable[dict], x_column: str, y_column: str,
                      change_threshold: float | None = None) -> dict[str, Envelope]:
    """``envelope`` per biophysical type."""
    return {kind: envelope(group, x_column, y_column, change_threshold=change_threshold)
            for kind, group in group_rows(rows).items()}


# ---------------------------------------------------------------------------------------------------------
# CSV
# ---------------------------------------------------------------------------------------------------------

def write_table(path: str | os.PathLike, rows: Iterable[dict], columns: Sequence[str]) -> Path:
    """A model table (``VALID_COLUMNS`` or ``TEST_COLUMNS``) as CSV: ``utils.write_csv``, read back by
    ``read_table``."""
    return utils.write_csv(path, rows, columns)


def _parse(column: str, text: str) -> Any:
    if column in STR_COLUMNS:
        return text
    if text == "":
        return None
    return int(text) if column in INT_COLUMNS else float(text)


def read_table(path: str | os.PathLike) -> list[dict]:
    """Rows of a table written by ``write_table`` (or the original's CSV), with numbers as numbers."""
    with open(path, newline="", encoding="utf8") as handle:
        return [{column: _parse(column, text) for column, text in row.items()} for row in csv.DictReader(handle)]


def summary_table(rows: Sequence[dict], extra: Mapping[str, str] | None = None) -> str:
    """The rows as a plain-text table of ``PRINTED_MODEL_COLUMNS`` (and ``extra``: heading -> column), for the
    terminal."""
    return evaluation_runs.format_table(rows, {**PRINTED_MODEL_COLUMNS, **(extra or {})})


# ---------------------------------------------------------------------------------------------------------
# Exporting the best models in the authors' layout
# ---------------------------------------------------------------------------------------------------------

EXPORT_RECORD = "export.json"  # written last: its presence means a complete export made by this module


def export_folder_name(row: Mapping[str, Any]) -> str:
    """``<TYPE>_<TCN|FCN>__DxWxT_<D>x<W>x<T>``, from the row's columns (not by splitting the file name)."""
    return (f"{row['biophysical_model_type']}_{row['NN_model_type']}__DxWxT_"
            f"{row['NN_depth']}x{row['NN_width']}x{row['NN_input_time_window']}")


def _copy(source: Path, destination: Path) -> None:
    with open(source, "rb") as src, utils.atomic_write(destination, "wb") as dst:
        shutil.copyfileobj(src, dst)


def write_weights_file(model_h5: str | os.PathLike, destination: str | os.PathLike) -> Path:
    """Keras 2's ``save_weights`` layout from a full-model ``.h5``: the layer groups of ``model_weights`` (and
    its attributes) at the root. Keras 3's ``save_weights`` writes another layout and insists on the
    ``.weights.h5`` suffix, so the groups are copied with h5py instead."""
    import h5py

    from neuron_as_dnn.learning import models

    destination = Path(destination)
    tmp = destination.with_name(f".{destination.name}.{os.getpid()}.tmp")
    try:
        with h5py.File(model_h5, "r") as source, h5py.File(tmp, "w") as target:
            weights = source["model_weights"] if "model_weights" in source else source
            for name in weights:
                source.copy(weights[name], target, name=name)
            for key, value in weights.attrs.items():
                target.attrs[key] = value
            if models.ARCHITECTURE_ATTRIBUTE in source.attrs:  # lets load_model_file rebuild from this file alone
                target.attrs[models.ARCHITECTURE_ATTRIBUTE] = source.attrs[models.ARCHITECTURE_ATTRIBUTE]
        os.replace(tmp, destination)
    finally:
        if tmp.exists():
            tmp.unlink()
    return destination


def _architecture_of(source: ModelFolder, checkpoint: Checkpoint) -> dict:
    """The architecture saved with ``checkpoint`` (for the ``.h5`` written from its ``.keras``)."""
    return source.companion_of(checkpoint)["architecture_dict"]


def _foreign_files(folder: Path, name: str) -> list[str]:
    """Files in an existing export folder that belong to no export of checkpoint ``name``."""
    return sorted(path.name for path in folder.iterdir()
                  if path.is_file() and not path.name.startswith((f"{name}_", ".")) and path.name != EXPORT_RECORD)


def _prepare_export_folder(target: Path, name: str) -> bool:
    """Make ``target`` ready for checkpoint ``name``: an earlier export of another checkpoint is replaced; a
    folder this module did not write (the authors' models) is left alone (returns False)."""
    if not target.exists():
        return True
    record_path = target / EXPORT_RECORD
    if record_path.is_file():
        previous = utils.read_json(record_path).get("checkpoint")
        if previous != name:
            log.warning("%s: replacing the export of %s by %s", target, previous, name)
            shutil.rmtree(target)
        return True
    foreign = _foreign_files(target, name)
    if foreign:
        log.warning("%s exists and was not written by this export (it holds %s%s); left as it is: choose another "
                    "--out-dir to export %s", target, ", ".join(foreign[:2]), ", ..." if len(foreign) > 2 else "",
                    name)
        return False
    return True  # an interrupted export of the same checkpoint


def export_best_model(row: Mapping[str, Any], out_dir: str | os.PathLike, params: Mapping[str, Any] | None = None,
                      split: str = "valid") -> Path | None:
    """Write the row's checkpoint to ``out_dir/<TYPE>_<NN>__DxWxT_<D>x<W>x<T>/`` in the authors' layout.

    Files (``model_folder.authors_file``): ``<name>_model.h5`` (the checkpoint's ``.h5``, or one written from
    the ``.keras``), ``<name>_weights.h5`` (Keras 2 ``save_weights`` layout), ``<name>_json.json`` (the
    ``to_json()`` string, JSON-encoded once more, as the original), ``<name>_training.pickle``,
    ``<name>_evaluation.pickle`` (the evaluation's pickle ``evaluation/<name>__<split>.pickle``),
    ``evaluation/<name>__<split>.json`` and ``export.json`` (provenance, written last). Returns the folder, or
    None when nothing was exported."""
    from neuron_as_dnn.learning import models

    name = row["full model filename"]
    source = ModelFolder.at(row["model folder"])  # where the result was found; its model files may be missing
    target = Path(out_dir) / export_folder_name(row)
    if _is_inside(source.path, target):
        log.info("%s is already in the export folder %s", name, target)
        return None
    checkpoint = source.checkpoint_files(name)
    if checkpoint is None:
        log.warning("%s: no model file of checkpoint %s (looked for %s.keras and .h5, and %s); not exported",
                    source.path, name, source.checkpoints_dir / name,
                    model_folder.authors_file(source.path, name, "model").name)
        return None
    evaluation_pickle = source.results_path(name, split, model_folder.EVALUATION_PICKLE_SUFFIX)
    try:  # the exported pickles are read by others' unpicklers: copy only what ours reads as plain data
        if checkpoint.companion_path is not None:
            model_folder.read_companion(checkpoint.companion_path)
        if evaluation_pickle.is_file():
            safe_pickle.load(evaluation_pickle, "model evaluation")
    except errors.FileContentError as error:
        log.warning("%s; %s not exported", error, name)
        return None
    if not _prepare_export_folder(target, name):
        return None
    target.mkdir(parents=True, exist_ok=True)

    def exported(kind: str) -> Path:
        return model_folder.authors_file(target, name, kind)

    model = models.load_model_file(checkpoint.model_path)
    if checkpoint.h5_path is not None:
        _copy(checkpoint.h5_path, exported("model"))
    else:
        models.save_model_files(model, exported("model").with_suffix(""), _architecture_of(source, checkpoint),
                                formats=("h5",))
    write_weights_file(exported("model"), exported("weights"))
    with utils.atomic_write(exported("json"), "w") as handle:
        json.dump(model.to_json(), handle)
    if checkpoint.companion_path is not None:
        _copy(checkpoint.companion_path, exported("training"))
    else:
        log.warning("%s: checkpoint %s has no companion pickle; %s not written", source.path, name,
                    exported("training").name)
    # the evaluation's own pickle; never the training pickle (the original's copy bug)
    if evaluation_pickle.is_file():
        _copy(evaluation_pickle, exported("evaluation"))
    else:
        log.warning("%s: no %s; %s not written (rerun evaluate_CNN_%s.py)", source.path,
                    evaluation_pickle.relative_to(source.path), exported("evaluation").name, split)
    result_json = source.results_path(name, split)
    if result_json.is_file():
        _copy(result_json, ModelFolder(target, "authors").results_path(name, split))
    utils.write_provenance(target / EXPORT_RECORD, params or {}, checkpoint=name, source_folder=str(source.path),
                           files=sorted(p.name for p in target.iterdir() if p.is_file()))
    log.info("exported %s to %s", name, target)
    return target


# ---------------------------------------------------------------------------------------------------------
# What the two scripts share
# ---------------------------------------------------------------------------------------------------------

def resolve_folders(params: dict) -> tuple[Path, Path, Path]:
    """(models, output, figures) folders of the exploration scripts; unset ones get their defaults
    ``models/``, ``models/best_models/`` and ``figures/model_selection/``, written back into ``params``
    so that the provenance records them."""
    from neuron_as_dnn.paths import FIGURES_DIR, MODELS_DIR

    defaults = {"models_dir": MODELS_DIR, "out_dir": MODELS_DIR / "best_models",
                "figures_dir": FIGURES_DIR / "model_selection"}
    for key, default in defaults.items():
        params[key] = str(params[key] or default)
    return Path(params["models_dir"]), Path(params["out_dir"]), Path(params["figures_dir"])


def require_rows(rows: list[dict], total: int, dropped: Mapping[str, int], what: str, hint: str = "") -> list[dict]:
    """``rows``, or a ``UserError`` that says which thresholds removed all ``total`` results."""
    if not rows:
        raise errors.UserError(f"none of the {total} {what} results passes the selection ({describe_drops(dropped)})"
                               + (f"; {hint}" if hint else ""))
    return rows
