"""The per-model evaluation job behind ``evaluate_CNN_valid.py`` and ``evaluate_CNN_test.py``.

For each chosen checkpoint of each model folder: predict every simulation of the split's data
(``prediction``), score the predictions (``metrics.evaluate_predictions``: five spike-count filters,
voltage metrics calibrated and uncalibrated, the spike-timing cross-correlation, random subsets for the test
set) and write, in the model folder:

- ``evaluation/<checkpoint>__<split>.json``: a provenance record (``utils.write_provenance``) with the
  entries ``model_folder``, ``checkpoint``, ``split``, ``model``, ``data``, ``prediction``, ``results``,
  ``cross_correlation`` and, with subsets, ``subsets``, ``subset_fraction``, ``subset_seed``;
- ``evaluation/<checkpoint>__<split>.pickle``: the original's evaluation pickle (protocol 2): the four
  companion dicts + ``evaluations_results_dict`` {filter: calibrated key results}
  (+ ``list_of_subset_eval_results_dict`` with subsets);
- ``predictions/<checkpoint>__<split>.npz`` (``prediction.Predictions``).

(The paths are ``ModelFolder``'s: ``results_path``, ``predictions_path``.) Then
``<models dir>/evaluation_<split>.csv`` is rewritten from every JSON of that split in the model folders
below the models folder, one row per checkpoint (``csv_columns``). See docs/evaluation.md.
"""
from __future__ import annotations

import logging
import math
import os
import pickle
import shutil
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from neuron_as_dnn import cli, errors, paths, utils
from neuron_as_dnn.data import dataset
from neuron_as_dnn.evaluation import metrics, prediction
from neuron_as_dnn.learning import models
from neuron_as_dnn.learning.model_folder import Checkpoint, EVALUATION_PICKLE_SUFFIX, ModelFolder

log = logging.getLogger(__name__)

SPLITS = ("valid", "test")
HEADLINE = metrics.MAIN_FILTER

# CSV column -> key of the headline filter's key results, as the original's exploration scripts name them
METRIC_COLUMNS = {
    "spikes AUC": "AUC",
    "spikes D prime": "D_prime",
    "spikes TP @ 0.25% FP": "TP @ 0.0025 FP",
    "spikes TP @ 0.1% FP": "TP @ 0.0010 FP",
    "spikes AUC @ 1% FP": "AUC @ 0.0100 FP",
    "soma explained variance %": "soma_explained_variance_percent",
    "soma RMSE": "soma_RMSE",
    "soma MAE": "soma_MAE",
}
UNCALIBRATED_COLUMNS = {f"{column} (uncalibrated)": METRIC_COLUMNS[column]
                        for column in ("soma explained variance %", "soma RMSE", "soma MAE")}
SUBSET_COLUMNS = {"spikes AUC": "AUC", "soma explained variance %": "soma_explained_variance_percent"}
SUBSET_STATISTICS = ("mean", "std")  # columns "<SUBSET_COLUMNS column> <statistic> of subsets"
MODEL_COLUMNS = ("model_folder", "checkpoint", "synapse_type", "network_type", "depth", "width", "T",
                 "num_parameters", "num_train_samples")


# ---------------------------------------------------------------------------------------------------------
# Files of one checkpoint
# ---------------------------------------------------------------------------------------------------------

def model_description(folder: ModelFolder, model, companion: Mapping[str, Any]) -> dict:
    architecture, history = companion["architecture_dict"] or folder.architecture, companion["training_history_dict"]
    histograms = history.get("train_files_histogram") or []
    return {"synapse_type": folder.synapse_type, "network_type": models.network_type(architecture),
            "depth": int(architecture["network_depth"]),
            "width": int(np.mean(architecture["num_filters_per_layer"])),
            "receptive_field_ms": models.receptive_field_ms(architecture),
            "num_parameters": models.count_trainable_parameters(model),
            "num_train_samples": int(np.sum(history.get("num_train_samples", []))),
            "num_unique_train_files": len(histograms[-1]) if histograms else 0}


def _calibrated(results_by_filter: Mapping[str, Mapping]) -> dict:
    """{filter: calibrated key results}, the original's shape; empty filters are left out."""
    return {key: outcome["calibrated"] for key, outcome in results_by_filter.items()
            if outcome["calibrated"] is not None}


def write_original_pickle(path: Path, companion: Mapping[str, Any], scores: Mapping[str, Any]) -> None:
    contents = {**companion, "evaluations_results_dict": _calibrated(scores["results"])}
    if "subsets" in scores:
        contents["list_of_subset_eval_results_dict"] = [_calibrated(subset) for subset in scores["subsets"]]
    with utils.atomic_write(path, "wb") as handle:
        pickle.dump(contents, handle, protocol=2)  # the original's readers are Python-2 era


def evaluate_checkpoint(folder: ModelFolder, checkpoint: Checkpoint, data: prediction.EvaluationData, split: str,
                        params: Mapping[str, Any]) -> dict:
    """Predict, score and write the results of one checkpoint; returns the JSON record."""
    predictions, model = prediction.predict_checkpoint(
        folder, checkpoint, data, split, mode=params["prediction_mode"], batch_size=params["batch_size"],
        progress=params["progress"], save=params["save_predictions"])
    log.info("scoring %d simulations: %d filters%s", predictions.num_simulations, len(metrics.SPIKE_COUNT_FILTERS),
             f", {params['num_subsets']} subsets" if params["num_subsets"] else "")
    scores = metrics.evaluate_predictions(
        predictions.y_spike, predictions.spike_probability, predictions.y_soma_mV, predictions.soma_prediction_mV,
        num_subsets=params["num_subsets"], subset_seed=params["seed"])
    companion = folder.companion_of(checkpoint)
    record = utils.write_provenance(
        folder.results_path(checkpoint.name, split), params, model_folder=str(folder.path.resolve()),
        checkpoint=checkpoint.name, split=split, model=model_description(folder, model, companion),
        data={"files": [str(path.resolve()) for path in data.files], "num_simulations": data.num_simulations},
        prediction=predictions.settings.to_dict(), **scores)
    write_original_pickle(folder.results_path(checkpoint.name, split, EVALUATION_PICKLE_SUFFIX), companion, scores)
    log.info("%s: headline AUC %.4f, explained variance %.1f %% (calibrated) / %.1f %% (uncalibrated)",
             checkpoint.name, *(headline_value(record, key, variant) for key, variant in
                                (("AUC", "calibrated"), ("soma_explained_variance_percent", "calibrated"),
                                 ("soma_explained_variance_percent", "uncalibrated"))))
    return record


# ---------------------------------------------------------------------------------------------------------
# Choosing models and checkpoints
# ---------------------------------------------------------------------------------------------------------

def models_root(params: dict) -> Path:
    """The models folder (default ``models/<synapse_type>/``, NMDA when unset), written back into ``params`` so
    that every record holds the folder used."""
    if not params["models_dir"]:
        params["models_dir"] = str(paths.MODELS_DIR / (params["synapse_type"] or "NMDA"))
    return Path(params["models_dir"])


def working_path(path: Path) -> Path:
    """``path``, or for one inside the shipped ``pretrained/`` (part of the checkout, which the code never writes)
    the same place among the working copies, ``models/pretrained/``."""
    resolved, shipped = Path(path).resolve(), paths.PRETRAINED_DIR.resolve()
    return paths.PRETRAINED_COPIES_DIR / resolved.relative_to(shipped) if resolved.is_relative_to(shipped) else path


def working_folder(folder: ModelFolder) -> ModelFolder:
    """``folder``, or for a network shipped in ``pretrained/`` its working copy ``models/pretrained/<run>/``,
    copied whole on first use (a few MB): its results and predictions are written there, and the shipped
    evaluation travels with the copy, so it stays readable."""
    copy = working_path(folder.path)
    if copy == folder.path:
        return folder
    if not copy.is_dir():
        log.info("%s is shipped with the repository: its results and predictions go to the copy %s", folder.path,
                 copy)
        staging = copy.with_name(f".{copy.name}.partial-{os.getpid()}")
        shutil.rmtree(staging, ignore_errors=True)
        shutil.copytree(folder.path, staging)
        try:
            staging.rename(copy)
        except OSError:  # another run made the copy meanwhile
            shutil.rmtree(staging)
    return ModelFolder(copy, folder.layout)


def find_model_folders(root: Path) -> list[ModelFolder]:
    """Every model folder at or below ``root``."""
    return ModelFolder.find_all(root, missing=f"{root} does not exist: train a model into it with fit_CNN.py, or "
                                              "point --models-dir at a model folder (or a folder of them)")


def select_model_folders(folders: Sequence[ModelFolder], root: Path, synapse_type: str | None) -> list[ModelFolder]:
    """The ``folders`` (found at or below ``root``) of ``synapse_type`` when given (AMPA excludes AMPA_SK)."""
    if synapse_type is None:
        return list(folders)
    chosen = [folder for folder in folders if folder.synapse_type == synapse_type]
    if not chosen:
        found = sorted({folder.synapse_type for folder in folders})
        raise errors.UserError(f"no {synapse_type} model in {root} (it has {', '.join(found)} models); "
                               f"choose one with --synapse-type")
    return chosen


def data_folder(params: Mapping[str, Any], folder: ModelFolder, split: str) -> Path:
    return Path(params["data_dir"]) if params["data_dir"] else paths.dataset_dir(folder.synapse_type, split)


def headline_value(record: Mapping[str, Any], key: str, variant: str = "calibrated") -> float:
    results = record["results"][HEADLINE][variant]
    return float("nan") if results is None else results[key]


def best_validation_checkpoint(folder: ModelFolder) -> Checkpoint:
    """The checkpoint with the best headline validation AUC, or the latest when none was evaluated."""
    scored = []
    for checkpoint in folder.checkpoints():
        path = folder.results_path(checkpoint.name, "valid")
        if path.is_file():
            auc = headline_value(utils.read_json(path), "AUC")
            if math.isfinite(auc):
                scored.append((auc, checkpoint.name, checkpoint))
    if scored:
        auc, _, checkpoint = max(scored)
        log.info("%s: best validation checkpoint %s (headline AUC %.4f)", folder.name, checkpoint.name, auc)
        return checkpoint
    checkpoint = folder.latest_checkpoint()
    log.info("%s: no validation results, taking the latest checkpoint %s", folder.name, checkpoint.name)
    return checkpoint


def choose_checkpoints(folders: Sequence[ModelFolder], split: str,
                       params: Mapping[str, Any]) -> list[tuple[ModelFolder, Checkpoint]]:
    """valid: every checkpoint; test: the ``checkpoint`` option, else each folder's best on validation."""
    if split == "valid":
        chosen = []
        for folder in folders:
            checkpoints = folder.checkpoints()
            if not checkpoints:
                log.warning("%s: no checkpoint yet, skipped", folder.path)
            chosen += [(folder, checkpoint) for checkpoint in checkpoints]
    elif params.get("checkpoint"):
        chosen = [(folder, checkpoint) for folder in folders for checkpoint in folder.checkpoints()
                  if checkpoint.name == params["checkpoint"]]
        if not chosen:
            raise errors.MissingFileError(f"--checkpoint: no model folder among {len(folders)} has a checkpoint "
                                          f"named {params['checkpoint']!r}")
    else:
        chosen = [(folder, best_validation_checkpoint(folder)) for folder in folders if folder.checkpoints()]
    if not chosen:
        raise errors.MissingFileError(f"no checkpoint in the {len(folders)} model folder(s) chosen")
    return chosen


def not_yet_evaluated(chosen: Sequence[tuple[ModelFolder, Checkpoint]], split: str,
                      params: Mapping[str, Any]) -> list[tuple[ModelFolder, Checkpoint]]:
    """The checkpoints without results on the current data of ``split``: results computed on other files
    (another data folder, or a folder that has grown) are redone, so that they always describe that data."""
    todo, done = [], 0
    for folder, checkpoint in chosen:
        path = folder.results_path(checkpoint.name, split)
        if params["re_evaluate"] or not path.is_file():
            todo.append((folder, checkpoint))
        elif sorted(utils.read_json(path)["data"]["files"]) != _current_files(data_folder(params, folder, split)):
            log.info("%s: its %s results were computed on other data files; evaluating it again",
                     checkpoint.name, split)
            todo.append((folder, checkpoint))
        else:
            done += 1
    if done:
        log.info("%d of %d checkpoint(s) already have %s results on these data (--re-evaluate redoes them)",
                 done, len(chosen), split)
    return todo


def _current_files(location: Path) -> list[str]:
    try:
        return sorted(str(path.resolve()) for path in dataset.find_dataset_files(location, None, None))
    except errors.MissingFileError:
        return []  # reported by check_before_work, before any work


def check_before_work(todo: Iterable[tuple[ModelFolder, Checkpoint]], split: str,
                      params: Mapping[str, Any]) -> dict[Path, prediction.EvaluationData]:
    """Every cheap check, for all models, before the first prediction; returns the data by folder."""
    folders = {folder.path: folder for folder, _ in todo}
    for folder in folders.values():
        prediction.check_synapse_type(folder, data_folder(params, folder, split))
    data = {}
    for folder in folders.values():
        location = data_folder(params, folder, split)
        if location not in data:
            data[location] = prediction.open_evaluation_data(location, cache_dir=params["cache_dir"], what=split,
                                                             progress=params["progress"])
            metrics.check_main_filter(data[location].y_spike, what=str(location))
        if folder.num_input_channels != data[location].num_channels:
            raise errors.UserError(f"the model {folder.name} takes {folder.num_input_channels} input channels but "
                                   f"the files of {location} have {data[location].num_channels}")
    return data


# ---------------------------------------------------------------------------------------------------------
# The table of all results of a split
# ---------------------------------------------------------------------------------------------------------

def csv_columns(split: str) -> list[str]:
    columns = [*MODEL_COLUMNS, *METRIC_COLUMNS, *UNCALIBRATED_COLUMNS]
    if split == "test":
        columns += [f"{column} {statistic} of subsets" for column in SUBSET_COLUMNS for statistic in SUBSET_STATISTICS]
    return columns


def csv_row(record: Mapping[str, Any], root: Path) -> dict:
    model = record["model"]
    folder = Path(record["model_folder"])
    row = {"model_folder": folder.relative_to(root).as_posix() if folder.is_relative_to(root) else str(folder),
           "checkpoint": record["checkpoint"], "synapse_type": model["synapse_type"],
           "network_type": model["network_type"], "depth": model["depth"], "width": model["width"],
           "T": model["receptive_field_ms"], "num_parameters": model["num_parameters"],
           "num_train_samples": model["num_train_samples"]}
    row.update({column: headline_value(record, key) for column, key in METRIC_COLUMNS.items()})
    row.update({column: headline_value(record, key, "uncalibrated") for column, key in UNCALIBRATED_COLUMNS.items()})
    row.update(subset_statistics(record.get("subsets") or []))
    return row


def _number(value: Any) -> float:
    return math.nan if value is None else float(value)


def subset_statistics(subsets: Sequence[Mapping[str, Any]], filter_key: str = HEADLINE) -> dict:
    """``"<column> mean of subsets"`` and ``"<column> std of subsets"`` (population, numpy's, as the original)
    of the ``SUBSET_COLUMNS`` over the subsets' calibrated results of ``filter_key`` (a missing value is NaN);
    {} when no subset has results for that filter."""
    scored = [subset[filter_key]["calibrated"] for subset in subsets
              if (subset.get(filter_key) or {}).get("calibrated") is not None]
    statistics = {}
    for column, key in SUBSET_COLUMNS.items() if scored else ():
        values = np.asarray([_number(results.get(key)) for results in scored], dtype=float)
        statistics[f"{column} mean of subsets"] = float(values.mean())
        statistics[f"{column} std of subsets"] = float(values.std())
    return statistics


def read_records(folders: Iterable[ModelFolder], split: str) -> list[dict]:
    """Every ``__<split>.json`` of the model ``folders``; unreadable ones are skipped."""
    records = []
    for folder in folders:
        for path in folder.result_files(split):
            try:
                record = utils.read_json(path)
                record["model_folder"] = str(folder.path)  # the folder may have moved since
                records.append(record)
            except (OSError, ValueError) as error:
                log.warning("skipping unreadable results %s (%s)", path, error)
    return records


def write_results_csv(root: Path, split: str, folders: Iterable[ModelFolder]) -> tuple[Path, list[dict]]:
    """Rewrite ``<root>/evaluation_<split>.csv`` whole (atomically) from the JSON results of ``folders``: every
    model folder at or below ``root`` (``find_model_folders``), so that it lists every evaluated checkpoint."""
    rows = [csv_row(record, root) for record in read_records(folders, split)]
    rows.sort(key=lambda row: (row["model_folder"], row["checkpoint"]))
    path = utils.write_csv(root / f"evaluation_{split}.csv", rows, csv_columns(split))
    log.info("%d checkpoint(s) in %s", len(rows), path)
    return path, rows


def format_table(rows: Sequence[Mapping[str, Any]], columns: Mapping[str, str]) -> str:
    """A plain text table: ``columns`` maps a heading to a row key; floats with 4 significant digits."""
    def cell(value):
        return f"{value:.4g}" if isinstance(value, (float, np.floating)) else str(value)

    cells = [[cell(row.get(key, "")) for key in columns.values()] for row in rows]
    widths = [max([len(heading), *(len(line[i]) for line in cells)]) for i, heading in enumerate(columns)]
    lines = ["  ".join(heading.ljust(width) for heading, width in zip(columns, widths))]
    lines += ["  ".join(value.ljust(width) for value, width in zip(line, widths)) for line in cells]
    return "\n".join(lines)


# the validation printout, one line per checkpoint (heading -> CSV column)
PRINTED_CHECKPOINT_COLUMNS = {"checkpoint": "checkpoint", "AUC": "spikes AUC", "D'": "spikes D prime",
                 "TP@0.25%FP": "spikes TP @ 0.25% FP", "expl.var.%": "soma explained variance %",
                 "(uncal.)": "soma explained variance % (uncalibrated)", "RMSE": "soma RMSE",
                 "RMSE (uncal.)": "soma RMSE (uncalibrated)"}
MAX_TABLE_ROWS = 20


def print_valid_table(rows: list[dict], csv_path: Path) -> None:
    best = sorted(rows, key=lambda row: -np.nan_to_num(row["spikes AUC"], nan=-1.0))[:MAX_TABLE_ROWS]
    print(f"validation, spikes in [0,24] (best {len(best)} of {len(rows)} checkpoints, all in {csv_path}):")
    print(format_table(best, PRINTED_CHECKPOINT_COLUMNS))


def print_test_headline(records: Sequence[Mapping[str, Any]]) -> None:
    keys = {"AUC": "AUC", "D'": "D_prime", "TP@0.25%FP": "TP @ 0.0025 FP", "TP@0.1%FP": "TP @ 0.0010 FP",
            "expl.var.%": "soma_explained_variance_percent", "RMSE mV": "soma_RMSE", "MAE mV": "soma_MAE"}
    for record in records:
        rows = [{"voltage": variant, **record["results"][HEADLINE][variant]} for variant in metrics.VOLTAGE_VARIANTS
                if record["results"][HEADLINE][variant] is not None]
        kept = record["results"][HEADLINE]["num_simulations"]
        print(f"\ntest, spikes in [0,24] ({kept} of {record['data']['num_simulations']} simulations): "
              f"{record['checkpoint']}")
        print(format_table(rows, {"voltage": "voltage", **keys}))
        statistics = subset_statistics(record.get("subsets") or [])
        if statistics:
            print(f"{len(record['subsets'])} subsets of {record['subset_fraction']:.0%}: AUC "
                  f"{statistics['spikes AUC mean of subsets']:.4f} ± {statistics['spikes AUC std of subsets']:.4f}, "
                  f"explained variance {statistics['soma explained variance % mean of subsets']:.2f} ± "
                  f"{statistics['soma explained variance % std of subsets']:.2f} % (calibrated)")


# ---------------------------------------------------------------------------------------------------------
# The scripts
# ---------------------------------------------------------------------------------------------------------

def run(params: dict, split: str) -> dict:
    """Evaluate the chosen checkpoints on ``split`` and rewrite the split's CSV; returns
    ``{"records": [JSON records written now], "csv": path, "rows": all CSV rows}``."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    if params["num_subsets"] < 0:
        raise errors.bad_parameter("num_subsets", f"must be 0 or more, got {params['num_subsets']}")
    root = models_root(params)
    found = [working_folder(folder) for folder in find_model_folders(root)]
    root = working_path(root)
    folders = select_model_folders(found, root, params["synapse_type"])
    chosen = choose_checkpoints(folders, split, params)
    todo = not_yet_evaluated(chosen, split, params)
    data = check_before_work(todo, split, params)
    if todo:
        log.info("evaluating %d checkpoint(s) of %d model folder(s) on the %s data", len(todo),
                 len({folder.path for folder, _ in todo}), split)
    records = [evaluate_checkpoint(folder, checkpoint, data[data_folder(params, folder, split)], split, params)
               for folder, checkpoint in todo]
    csv_path, rows = write_results_csv(root, split, found)
    if split == "valid":
        print_valid_table(rows, csv_path)
    else:
        print_test_headline([utils.read_json(folder.results_path(checkpoint.name, split))
                             for folder, checkpoint in chosen])
    return {"records": records, "csv": csv_path, "rows": rows}


PARAMS_CHOICES = {"synapse_type": list(dataset.SYNAPSE_TYPES), "prediction_mode": list(prediction.PREDICTION_MODES)}
PARAMS_CHECKS = {"models_dir": cli.existing_folder, "data_dir": cli.existing_folder, "cache_dir": cli.writable_folder,
                 "batch_size": cli.positive_int, "num_subsets": cli.non_negative}
