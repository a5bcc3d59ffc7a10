"""Training of ``fit_CNN.py``: its configuration (presets, option checks, learning schedule, data files) and
the training loop, one function per step (plan, prepare data, build or restore the model, open the model
folder, one schedule epoch, save).

What follows the original (``docs/training.md``): the learning schedule of "schedule epochs" of
``num_steps_multiplier`` Keras epochs, each with its batch size, learning rate and loss weights, Nadam
re-created at every schedule epoch; a checkpoint, named as the original, after every schedule epoch whose
recent validation spike loss is below 0.03. The window sampler is in ``sampler``, the dendritic targets in
``dendritic_targets``, and everything a run writes in its model folder (``model_folder``, described in
``docs/model_folder.md``), from which a run resumes: with the random states saved beside ``state.keras``
(``capture_random_state``, ``restore_random_state``), to the same losses as the uninterrupted run.
"""
from __future__ import annotations

import copy
import datetime
import logging
import os
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Collection, Mapping, Sequence

import numpy as np

from neuron_as_dnn import errors, paths, utils
from neuron_as_dnn.data import cache, dataset
from neuron_as_dnn.learning import model_folder, models
from neuron_as_dnn.learning.dendritic_targets import DVTPCA, fit_dvt_pca_on_files
from neuron_as_dnn.learning.model_folder import Checkpoint, ModelFolder

log = logging.getLogger(__name__)

# Presets of fit_CNN.py's parameter block (cli.Script): each fills the entries still unset (None).
SYNAPSE_PRESETS = {"NMDA": {"num_dvt_components": 20}, "AMPA": {"num_dvt_components": 30},
                   "AMPA_SK": {"num_dvt_components": 30}}
ARCHITECTURE_PRESETS = {
    "original_3x64x100": {"filter_sizes_per_layer": [54, 24, 24], "num_filters_per_layer": [64]},  # original script
    "NMDA_TCN_7x128x153": {"filter_sizes_per_layer": [45] + [19] * 6, "num_filters_per_layer": [128]},  # Fig. 2
    "FCN_1x128x43": {"filter_sizes_per_layer": [43], "num_filters_per_layer": [128]},  # Fig. 3
    "custom": {},  # the architecture entries of the block or the command line
}
# fit_CNN parameter -> the architecture_dict entry it sets
ARCHITECTURE_ENTRY_OF = {"filter_sizes_per_layer": "filter_sizes_per_layer",
                         "num_filters_per_layer": "num_filters_per_layer",
                         "activation_function": "activation_function_per_layer",
                         "initializer_std": "initializer_per_layer",
                         "l2_regularization": "l2_regularization_per_layer",
                         "strides_per_layer": "strides_per_layer",
                         "dilation_rates_per_layer": "dilation_rates_per_layer",
                         "input_window_size": "input_window_size",
                         "input_projection_channels": models.INPUT_PROJECTION}
# learning_schedule_dict entry -> the fit_CNN parameters that set it
SCHEDULE_PARAMS_OF = {
    "train_file_load": ("train_file_load",), "valid_file_load": ("valid_file_load",),
    "validation_fraction": ("validation_fraction",), "num_steps_multiplier": ("num_steps_multiplier",),
    "num_epochs": ("schedule_stage_epochs",),
    "batch_size_per_epoch": ("schedule_batch_sizes", "schedule_stage_epochs"),
    "learning_rate_per_epoch": ("schedule_learning_rates", "schedule_stage_epochs"),
    "loss_weights_per_epoch": ("schedule_spike_loss_weights", "schedule_somatic_loss_weights",
                               "schedule_dendritic_loss_weights", "schedule_stage_epochs"),
}
DATA_DIR_PARAMS = ("train_data_dir", "valid_data_dir", "test_data_dir")
SAVE_FORMATS = ("keras", "h5")
POSITIVE_INTEGERS = ("input_window_size", "dvt_pca_num_files", "train_files_per_epoch", "max_files_in_memory",
                     "sampler_workers", "num_steps_multiplier")
POSITIVE_INTEGERS_OR_UNSET = ("num_simulations_per_file", "duration_sec", "stop_after_schedule_epochs")
# the file loads scale the windows drawn from each file: above 1 draws more windows than the file's time holds
# (the demo trains on a small set with 2.0), so they are only positive
POSITIVE_NUMBERS = ("initializer_std", "dvt_target_clip", "train_file_load", "valid_file_load")
FRACTIONS = ("validation_fraction",)   # in (0, 1]
POSITIVE_INTEGER_LISTS = ("filter_sizes_per_layer", "num_filters_per_layer", "strides_per_layer",
                          "dilation_rates_per_layer")
# A resumed run of our model folder takes every other entry from its config.json: these only say how this
# invocation runs (where the data now lie, how much to train now, how verbosely), not what is trained.
FREE_ON_RESUME = ("resume_from", "stop_after_schedule_epochs", "out_dir", "cache_dir", "max_files_in_memory",
                  "sampler_workers", "sampler_use_multiprocessing", "progress", "log_level", *DATA_DIR_PARAMS)

CHECKPOINT_WINDOW_EPOCHS = 3      # checkpoint rule: mean of the last 3 val spike losses ...
LOGLOSS_NAME_WINDOW_EPOCHS = 7    # ... and the name's LogLoss fields: mean of the last 7
SHORT_HISTORY = 10                # below this many Keras epochs, both average the whole history
LOSSES = ("binary_crossentropy", "mse", "mse")


def count_or_any(text: str) -> int | None:
    """Command-line type of the file filters ``--num-simulations-per-file`` / ``--duration-sec``: 'any' is None."""
    return None if text.strip().lower() == "any" else int(text)


# ---------------------------------------------------------------------------------------------------------
# Configuration
# ---------------------------------------------------------------------------------------------------------

def expand_learning_schedule(params: Mapping[str, Any]) -> dict:
    """The original's ``learning_schedule_dict`` (one entry per schedule epoch) from the compact stage lists
    ``schedule_stage_epochs``, ``schedule_learning_rates``, ``schedule_*_loss_weights`` and
    ``schedule_batch_sizes`` (a one-element list applies to every stage). ``num_train_steps_per_epoch`` is
    left at 0 until the data are known."""
    stages = [int(n) for n in params["schedule_stage_epochs"]]
    if not stages or min(stages) < 1:
        raise errors.bad_parameter("schedule_stage_epochs", f"needs positive numbers of epochs, got {stages}")

    def per_stage(key, positive=True):
        values = list(params[key])
        if len(values) == 1:
            values = values * len(stages)
        if len(values) != len(stages):
            raise errors.bad_parameter(key, f"has {len(values)} values for {len(stages)} schedule stages "
                                            "(give one, or one per stage)")
        if not all(np.isfinite(values)) or min(values) < 0 or (positive and min(values) <= 0):
            raise errors.bad_parameter(key, f"values must be finite and {'positive' if positive else '>= 0'}, "
                                            f"got {values}")
        return values

    rates, batches = per_stage("schedule_learning_rates"), per_stage("schedule_batch_sizes")
    weights = list(zip(*(per_stage(f"schedule_{head}_loss_weights", positive=False)
                         for head in ("spike", "somatic", "dendritic"))))

    def expand(values):
        return [value for value, count in zip(values, stages) for _ in range(count)]

    return {
        "train_file_load": float(params["train_file_load"]),
        "valid_file_load": float(params["valid_file_load"]),
        "validation_fraction": float(params["validation_fraction"]),
        "num_epochs": sum(stages),
        "num_steps_multiplier": int(params["num_steps_multiplier"]),
        "batch_size_per_epoch": [int(b) for b in expand(batches)],
        "loss_weights_per_epoch": [[float(w) for w in ws] for ws in expand(weights)],
        "learning_rate_per_epoch": [float(r) for r in expand(rates)],
        "num_train_steps_per_epoch": [0] * sum(stages),
    }


def architecture_from_params(params: Mapping[str, Any]) -> dict:
    """``architecture_dict`` from the architecture entries (after the preset has filled the unset ones)."""
    for key in ("filter_sizes_per_layer", "num_filters_per_layer"):
        if params.get(key) is None:
            raise errors.bad_parameter(key, f"is needed with --architecture-preset {params.get('architecture_preset')} "
                                            f"(give it, or choose a preset: {list(ARCHITECTURE_PRESETS)[:-1]})")
    try:
        return models.make_architecture_dict(
            params["filter_sizes_per_layer"], params["num_filters_per_layer"],
            input_window_size=params["input_window_size"], initializer_std=params["initializer_std"],
            l2_regularization=params["l2_regularization"], activation=params["activation_function"],
            strides=params["strides_per_layer"], dilation_rates=params["dilation_rates_per_layer"],
            input_projection_channels=params.get("input_projection_channels") or 0)
    except ValueError as error:
        raise errors.ConfigError(f"architecture options: {error}") from None


def check_params(params: Mapping[str, Any]) -> None:
    """Every option mistake, before any long work starts."""
    def is_count(value):
        return isinstance(value, int) and not isinstance(value, bool) and value >= 1

    def is_finite(value):
        return isinstance(value, (int, float)) and not isinstance(value, bool) and np.isfinite(value)

    for key in POSITIVE_INTEGERS:
        if not is_count(params[key]):
            raise errors.bad_parameter(key, f"must be a positive integer, got {params[key]!r}")
    for key in POSITIVE_INTEGERS_OR_UNSET:
        if params[key] is not None and not is_count(params[key]):
            raise errors.bad_parameter(key, f"must be a positive integer (or unset), got {params[key]!r}")
    for key in POSITIVE_INTEGER_LISTS:
        if params[key] is not None and not all(is_count(value) for value in params[key]):
            raise errors.bad_parameter(key, f"must be positive integers, got {params[key]}")
    for key in ("num_dvt_components", "ignore_first_ms", "seed", "input_projection_channels"):
        unset_allowed = key == "seed"  # the DVT components are unset only until the synapse preset fills them
        if not (params[key] is None and unset_allowed) and not (isinstance(params[key], int) and params[key] >= 0):
            raise errors.bad_parameter(key, f"must be an integer >= 0, got {params[key]!r}")
    for key in POSITIVE_NUMBERS:
        if not (is_finite(params[key]) and params[key] > 0):
            raise errors.bad_parameter(key, f"must be a positive number, got {params[key]!r}")
    for key in FRACTIONS:
        if not (is_finite(params[key]) and 0 < params[key] <= 1):
            raise errors.bad_parameter(key, f"is a fraction in (0, 1], got {params[key]!r}")
    if not (is_finite(params["l2_regularization"]) and params["l2_regularization"] >= 0):
        raise errors.bad_parameter("l2_regularization", f"must be a number >= 0, got {params['l2_regularization']!r}")
    for key in ("dvt_clip_mv", "checkpoint_val_spike_loss_threshold"):
        if not is_finite(params[key]):
            raise errors.bad_parameter(key, f"must be a finite number, got {params[key]!r}")
    if not params["save_formats"] or set(params["save_formats"]) - set(SAVE_FORMATS):
        raise errors.bad_parameter("save_formats", f"choose from {list(SAVE_FORMATS)}, got {params['save_formats']}")
    expand_learning_schedule(params)
    if not params["resume_from"]:  # a resumed run keeps its saved architecture
        architecture = architecture_from_params(params)
        if params["duration_sec"] is not None:  # known from the file filter: checked before any file is read
            check_window_fits(params, architecture, 1000 * params["duration_sec"])


def check_window_fits(params: Mapping[str, Any], architecture: Mapping[str, Any], duration_ms: int) -> None:
    """Every batch needs as many distinct window end times after max(--ignore-first-ms, W) as it has windows."""
    window, ignored = architecture["input_window_size"], params["ignore_first_ms"]
    batch_size = max(params["schedule_batch_sizes"])
    if duration_ms - max(ignored, window) < batch_size:
        raise errors.bad_parameter(
            "input_window_size" if window >= ignored else "ignore_first_ms",
            f"windows of {window} ms that end after max(--ignore-first-ms {ignored}, {window}) ms leave fewer than "
            f"{batch_size} (the batch size) end times in simulations of {duration_ms} ms; give at most "
            f"{duration_ms - batch_size} ms")


def resolve_folders(params: Mapping[str, Any]) -> dict:
    """Absolute folders (so that the recorded file lists stay valid from any working directory); the unset
    ones from the synapse type: ``data/L5PC_<TYPE>_<split>/`` and ``models/<TYPE>/``."""
    resolved = copy.copy(params)  # a copy that keeps what cli.Parameters carries (the invocation)
    synapse_type = params["synapse_type"]
    for split in ("train", "valid", "test"):
        key = f"{split}_data_dir"
        resolved[key] = os.path.abspath(params[key] or paths.dataset_dir(synapse_type, split))
    resolved["out_dir"] = os.path.abspath(params["out_dir"] or paths.models_dir(synapse_type))
    if params["cache_dir"]:
        resolved["cache_dir"] = os.path.abspath(params["cache_dir"])
    return resolved


def discover_files(params: Mapping[str, Any], split: str, required: bool = True) -> list[Path]:
    """The dataset files of ``<split>_data_dir`` that match the file filters, sorted by name."""
    folder = Path(params[f"{split}_data_dir"])
    fix = ("run simulate_L5PC_and_create_dataset.py to create simulation files, or download the authors' "
           f"Kaggle data into {folder} (or point --{split}-data-dir at the folder that holds them)")
    if not folder.is_dir():
        if required:
            raise errors.MissingFileError(f"{split} data folder {folder} does not exist: {fix}")
        return []
    pattern = dataset.dataset_glob_pattern(params["num_simulations_per_file"], params["duration_sec"])
    files = dataset.find_dataset_files(folder, pattern=pattern)
    if not files and required:
        raise errors.MissingFileError(f"no dataset files matching {pattern} in {split} data folder {folder}: {fix} "
                                      "(--num-simulations-per-file any / --duration-sec any accept any count / "
                                      "duration)")
    return files


def discover_data(params: Mapping[str, Any]) -> dict:
    """The original's ``data_dict``; the test files are only recorded, as the original."""
    return {f"{split}_files": [str(f) for f in discover_files(params, split, required=split != "test")]
            for split in ("train", "valid", "test")}


def requested_entries(params: Mapping[str, Any], explicit: Collection[str]) -> set[str]:
    """The entries the user asked for on the command line, directly or through a preset chosen there."""
    requested = set(explicit)
    for selector, table in (("architecture_preset", ARCHITECTURE_PRESETS), ("synapse_type", SYNAPSE_PRESETS)):
        if selector in explicit:
            requested |= set(table.get(params[selector], {}))
    return requested


def check_resume_compatible(params: Mapping[str, Any], requested: set[str],
                            resume: model_folder.ResumePoint) -> None:
    """A resumed run keeps its synapse type, architecture, DVT components and schedule: an option that asks for
    other values is a mistake, named here (repeating the original command with --resume-from is fine)."""
    def conflict(key, what):
        return errors.bad_parameter(key, f"the run resumed from {resume.source} has {what}; leave the option out "
                                         "to continue it, or start a new run without --resume-from")

    for key, saved in (("synapse_type", resume.synapse_type), ("num_dvt_components", resume.num_dvt_components)):
        if key in requested and params[key] != saved:
            raise conflict(key, f"{saved}, not {params[key]}")
    saved = {models.INPUT_PROJECTION: 0, **resume.architecture}  # the one optional entry
    saved_as_params = {param: saved[entry] for param, entry in ARCHITECTURE_ENTRY_OF.items()}
    asked = architecture_from_params({**saved_as_params, **{k: params[k] for k in saved_as_params if k in requested}})
    asked.setdefault(models.INPUT_PROJECTION, 0)
    for param, entry in ARCHITECTURE_ENTRY_OF.items():
        if param in requested and asked[entry] != saved[entry]:
            raise conflict(param, f"{entry} {saved[entry]}, not {asked[entry]}")
    if requested & {param for params_of in SCHEDULE_PARAMS_OF.values() for param in params_of}:
        asked = expand_learning_schedule(params)
        for entry, params_of in SCHEDULE_PARAMS_OF.items():
            if asked[entry] != resume.learning_schedule.get(entry):
                raise conflict(next((p for p in params_of if p in requested), params_of[0]),
                               f"another {entry} in its learning schedule")


def _check_writable(folder: Path) -> None:
    """Checked without creating anything: a run that stops on a mistake leaves no empty folders behind."""
    existing = next(parent for parent in (folder, *folder.parents) if parent.exists())
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise errors.bad_parameter("out_dir", f"{folder} cannot be created or written ({existing} is not a writable "
                                              "folder)")


# ---------------------------------------------------------------------------------------------------------
# The training loop
# ---------------------------------------------------------------------------------------------------------

@dataclass
class TrainingRun:
    """What one call of ``train`` works with, filled in step by step."""
    params: dict                         # resolved parameters: folders, seed, synapse type and DVT of a resume
    architecture: dict
    data_dict: dict
    resume: model_folder.ResumePoint | None = None
    dvt_pca: DVTPCA | None = None
    sims_per_file: int = 0
    duration_ms: int = 0
    num_input_channels: int = 0
    schedule: dict = field(default_factory=dict)
    history: dict = field(default_factory=dict)
    model: Any = None
    folder: ModelFolder | None = None
    checkpoints: list = field(default_factory=list)
    samplers: tuple | None = None       # (train, valid), rebuilt when the batch size changes
    optimizer: Any = None
    saved_random_state: dict | None = None  # of the resume point: where its draws continue

    @property
    def train_files(self) -> list[Path]:
        return [Path(f) for f in self.data_dict["train_files"]]

    @property
    def valid_files(self) -> list[Path]:
        return [Path(f) for f in self.data_dict["valid_files"]]

    @property
    def num_dvt_components(self) -> int:
        return self.params["num_dvt_components"]

    @property
    def start_epoch(self) -> int:
        return max(self.history["learning_schedule"]) + 1 if self.history.get("learning_schedule") else 0

    @property
    def end_epoch(self) -> int:
        stop_after = self.params["stop_after_schedule_epochs"]
        end = self.schedule["num_epochs"]
        return end if stop_after is None else min(end, self.start_epoch + stop_after)

    def batches_per_file(self, file_load: float, batch_size: int) -> int:
        from neuron_as_dnn.learning.sampler import batches_per_file  # the sampler imports Keras: only once training starts
        return batches_per_file(file_load, self.sims_per_file, self.duration_ms, batch_size,
                                self.architecture["input_window_size"])

    def train_steps(self, batch_size: int) -> int:
        """Training steps of one Keras epoch."""
        return (self.batches_per_file(self.schedule["train_file_load"], batch_size)
                * min(self.params["train_files_per_epoch"], len(self.train_files)))


@dataclass
class TrainingResult:
    folder: ModelFolder | None      # None only when a finished older checkpoint had nothing left to train
    checkpoints: list[Checkpoint]   # written by this call
    history: dict                   # training_history_dict, all of it (a resumed run's included)
    model: Any


def plan_run(params: Mapping[str, Any], explicit: Collection[str] = ()) -> TrainingRun:
    """Check the options, find the resume point and the data files: everything that can fail quickly."""
    params = copy.copy(params)
    check_params(params)
    resume = None
    if params["resume_from"]:
        resume = model_folder.resume_point(params["resume_from"])
        if resume.folder is not None:
            params = continue_saved_run(params, explicit, resume)
        check_resume_compatible(params, requested_entries(params, explicit), resume)
        params.update(synapse_type=resume.synapse_type, num_dvt_components=resume.num_dvt_components)
        if resume.folder is not None:
            params["out_dir"] = str(resume.folder.path.parent)  # the run continues in its own folder
    params = resolve_folders(params)
    data_dict = discover_data(params) if resume is None else _resumed_data_dict(params, explicit, resume)
    check_files_per_epoch(params, explicit, data_dict)
    _check_writable(Path(params["out_dir"]))
    if resume is None:
        return TrainingRun(params, architecture_from_params(params), data_dict)
    return TrainingRun(params, resume.architecture, data_dict, resume,
                       history=copy.deepcopy(resume.history), schedule=copy.deepcopy(resume.learning_schedule),
                       saved_random_state=saved_random_state(resume, resume.history))


def continue_saved_run(params: Mapping[str, Any], explicit: Collection[str],
                       resume: model_folder.ResumePoint) -> dict:
    """The parameters of the run saved in ``resume.folder``'s config.json, with this invocation's
    ``FREE_ON_RESUME`` entries: an option given again must repeat its saved value (or it asks for another run)."""
    saved = (resume.folder.config or {}).get("params")
    if not isinstance(saved, dict):
        raise errors.FileContentError(resume.folder.path / model_folder.CONFIG_FILE,
                                      "holds no 'params' of the run to continue (not written by fit_CNN.py)")
    continued = copy.copy(params)
    for key in set(params) - set(FREE_ON_RESUME):
        if key not in saved:
            continue  # an option newer than the saved run: its value here
        if key in explicit and params[key] != saved[key]:
            raise errors.bad_parameter(key, f"the run resumed from {resume.source} was made with {saved[key]!r}, "
                                            f"not {params[key]!r}; leave the option out to continue it with its "
                                            "saved value, or start a new run without --resume-from")
        continued[key] = copy.deepcopy(saved[key])
    return continued


def check_files_per_epoch(params: Mapping[str, Any], explicit: Collection[str], data_dict: Mapping) -> None:
    """Files are drawn without replacement: more files per epoch than there are cannot be honoured. Asked for on
    the command line, that is a mistake; the block's default is reduced, saying what the run does instead."""
    asked, available = params["train_files_per_epoch"], len(data_dict["train_files"])
    if asked <= available:
        return
    if "train_files_per_epoch" in explicit:
        raise errors.bad_parameter("train_files_per_epoch", f"{asked} files per epoch, but there are only "
                                                            f"{available} training files in "
                                                            f"{params['train_data_dir']}; give at most {available}, or "
                                                            "raise --num-steps-multiplier for more steps")
    log.warning("--train-files-per-epoch %d, but there are only %d training files: every Keras epoch uses all %d, "
                "i.e. %d/%d of the steps that %d files would give (--train-files-per-epoch %d says so; raise "
                "--num-steps-multiplier for more steps)", asked, available, available, available, asked, asked,
                available)


def _resumed_data_dict(params: Mapping[str, Any], explicit: Collection[str],
                       resume: model_folder.ResumePoint) -> dict:
    """The recorded files, unless data folders are given on the command line or the files have gone."""
    if set(DATA_DIR_PARAMS) & set(explicit):
        return discover_data(params)
    recorded = resume.data_dict.get("train_files", []) + resume.data_dict.get("valid_files", [])
    if recorded and all(Path(f).is_file() for f in recorded):
        return resume.data_dict
    log.warning("the data files recorded in %s are missing; using the data folders instead", resume.source)
    return discover_data(params)


def prepare_data(run: TrainingRun) -> None:
    """The dendritic-target PCA (saved, or fitted now), the caches of every file, the files' shape."""
    params = run.params
    run.dvt_pca = run.resume.dvt_pca if run.resume else None
    if run.dvt_pca is None and run.num_dvt_components > 0:
        if run.resume:
            log.warning("%s has a dendritic head but no saved PCA; fitting one on the training files, whose "
                        "components need not match the ones it was trained on", run.resume.source)
        run.dvt_pca = fit_dvt_pca_on_files(run.train_files[:params["dvt_pca_num_files"]], run.num_dvt_components,
                                           params["dvt_clip_mv"], params["dvt_target_clip"], params["cache_dir"])
    log.info("%d training and %d validation files", len(run.train_files), len(run.valid_files))
    cache.prepare_caches(run.train_files + run.valid_files, params["cache_dir"], run.dvt_pca, params["progress"])
    first = cache.load_cached(run.train_files[0], params["cache_dir"])
    run.sims_per_file, run.duration_ms = first.num_simulations, first.duration_ms
    check_window_fits(params, run.architecture, run.duration_ms)  # the files of --duration-sec any, or moved ones
    run.num_input_channels = first.inputs.num_channels
    if not run.schedule:
        run.schedule = expand_learning_schedule(params)
        run.schedule["num_train_steps_per_epoch"] = [run.train_steps(b) for b in run.schedule["batch_size_per_epoch"]]


def _load_with_optimizer(path: Path):
    """A saved model with its Nadam state, or None (the optimiser then starts afresh)."""
    import keras

    try:
        model = keras.models.load_model(path)
        if isinstance(model.optimizer, keras.optimizers.Nadam):
            return model
        log.warning("the optimiser saved in %s is a %s, not Nadam; it starts afresh", path,
                    type(model.optimizer).__name__)
    except Exception as error:  # noqa: BLE001 - any failure just means starting the optimiser afresh
        log.warning("could not restore the optimiser state of %s (%s); it starts afresh", path, error)
    return None


def build_or_restore_model(run: TrainingRun) -> None:
    """A new network, or the saved one of the resume point (with its optimiser when that is kept)."""
    model_path = run.resume.model_path if run.resume else None
    if model_path is None:
        run.model = models.build_model(run.architecture, num_dvt_components=run.num_dvt_components,
                                       num_input_channels=run.num_input_channels)
    else:
        log.info("resuming from %s at schedule epoch %d", model_path, run.start_epoch + 1)
        keep_optimizer = not run.params["reset_optimizer_each_schedule_epoch"] and model_path.suffix == ".keras"
        run.model = _load_with_optimizer(model_path) if keep_optimizer else None
        if run.model is None:
            run.model = models.load_model_file(model_path, architecture=run.architecture)
        model_channels = run.model.input_shape[-1]
        if model_channels != run.num_input_channels:
            raise errors.FileContentError(run.train_files[0], f"has {run.num_input_channels} input channels; the "
                                          f"model resumed from {run.resume.source} takes {model_channels}")
    log.info("%s: %d trainable parameters, %d DVT components, window %d ms",
             models.architecture_prefix(run.params["synapse_type"], run.architecture),
             models.count_trainable_parameters(run.model), run.num_dvt_components,
             run.architecture["input_window_size"])


def open_model_folder(run: TrainingRun) -> None:
    """Our resumed folder (its config records this invocation too), or a new one with the starting state."""
    record = utils.provenance_record(run.params, resumed_from=str(run.resume.source) if run.resume else None)
    if run.resume and run.resume.folder:
        run.folder = run.resume.folder
        previous = run.folder.config or {}
        record["previous_runs"] = previous.pop("previous_runs", []) + [previous]
        run.folder.write_config(record)
        run.folder.write_data_dict(run.data_dict)
        return
    prefix = models.architecture_prefix(run.params["synapse_type"], run.architecture)
    path = model_folder.new_run_folder(run.params["out_dir"], prefix)
    run.folder = ModelFolder.create(path, record, run.architecture, run.schedule, run.data_dict, run.dvt_pca)
    # resumable (and openable) from the start
    run.folder.save_state(run.model, run.history, capture_random_state(run))
    log.info("model folder %s", path)


def _make_samplers(run: TrainingRun, batch_size: int, epoch: int) -> tuple:
    from neuron_as_dnn.learning.sampler import WindowSampler

    params, window = run.params, run.architecture["input_window_size"]
    options = dict(cache_dir=params["cache_dir"], dvt_pca=run.dvt_pca, ignore_first_ms=params["ignore_first_ms"],
                   max_files_in_memory=params["max_files_in_memory"], workers=params["sampler_workers"],
                   use_multiprocessing=params["sampler_use_multiprocessing"])
    valid_files_per_epoch = max(1, int(run.schedule["validation_fraction"] * params["train_files_per_epoch"]))
    train = WindowSampler(run.train_files, batch_size, window,
                          run.batches_per_file(run.schedule["train_file_load"], batch_size),
                          params["train_files_per_epoch"], seed=params["seed"] + 1000 * epoch,  # a resume moves it on
                          **options)
    valid = WindowSampler(run.valid_files, batch_size, window,
                          run.batches_per_file(run.schedule["valid_file_load"], batch_size), valid_files_per_epoch,
                          fixed=params["fixed_validation_batches"], seed=params["seed"] + 1, **options)
    return train, valid


def _progress_callback(bar):
    import keras

    class Progress(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            bar.update(1)
            if logs and batch % 10 == 0 and "spikes_loss" in logs:
                bar.set_postfix(spikes_loss=f"{float(logs['spikes_loss']):.4f}", refresh=False)

    return Progress()


def run_schedule_epoch(run: TrainingRun, epoch: int, bar) -> None:
    """``num_steps_multiplier`` Keras epochs at this schedule epoch's batch size, learning rate and loss weights,
    appended to the history as the original's ``training_history_dict``."""
    import keras

    schedule, multiplier = run.schedule, run.schedule["num_steps_multiplier"]
    batch_size = schedule["batch_size_per_epoch"][epoch]
    learning_rate = schedule["learning_rate_per_epoch"][epoch]
    num_outputs = 2 + (run.num_dvt_components > 0)
    loss_weights = list(schedule["loss_weights_per_epoch"][epoch])[:num_outputs]
    if run.samplers is None or run.samplers[0].batch_size != batch_size:
        run.samplers = _make_samplers(run, batch_size, epoch)
    train_sampler, valid_sampler = run.samplers
    if run.params["reset_optimizer_each_schedule_epoch"]:
        run.optimizer = keras.optimizers.Nadam(learning_rate=learning_rate)  # the original's behaviour
    elif run.optimizer is None:  # kept across schedule epochs; a model restored from .keras brings its moments
        run.optimizer = getattr(run.model, "optimizer", None) or keras.optimizers.Nadam(learning_rate=learning_rate)
    run.optimizer.learning_rate = learning_rate
    run.model.compile(optimizer=run.optimizer, loss=list(LOSSES[:num_outputs]), loss_weights=loss_weights)
    fitted = run.model.fit(train_sampler, epochs=multiplier, validation_data=valid_sampler, verbose=0,
                           callbacks=[_progress_callback(bar)])
    history, steps = run.history, len(train_sampler)
    for key, values in fitted.history.items():
        history.setdefault(key, []).extend(float(v) for v in values)
    for key, value in (("learning_schedule", epoch), ("batch_size", batch_size), ("learning_rate", learning_rate),
                       ("loss_weights", loss_weights), ("num_train_samples", batch_size * steps),
                       ("num_train_steps", steps)):
        history.setdefault(key, []).extend(copy.deepcopy(value) for _ in range(multiplier))
    auc = validation_spike_auc(run.model, valid_sampler, models.receptive_field_ms(run.architecture))
    history.setdefault("val_spikes_auc", []).extend(auc for _ in range(multiplier))
    history.setdefault("train_files_histogram", []).append(train_sampler.pop_histogram())
    history.setdefault("valid_files_histogram", []).append(valid_sampler.pop_histogram())


def validation_spike_auc(model, valid_sampler, receptive_field_ms: int) -> float | None:
    """ROC AUC of the spike head on the validation batches (the same ones every schedule epoch when they are
    fixed), counting only the time points that see a whole receptive field. A falling loss can mean that
    only the base rate was learned; this tells it at once (0.5: no better than chance)."""
    from sklearn.metrics import roc_auc_score

    predicted, target = [], []
    for index in range(len(valid_sampler)):
        X, targets = valid_sampler[index]
        spikes = model.predict_on_batch(X)[0]
        predicted.append(np.asarray(spikes)[:, receptive_field_ms:, 0].ravel())
        target.append(targets[0][:, receptive_field_ms:, 0].ravel())
    predicted, target = np.concatenate(predicted), np.concatenate(target) > 0.5
    if target.all() or not target.any():
        return None  # AUC undefined: no spike (or only spikes) in the validation windows
    return float(roc_auc_score(target, predicted))


def _recent_mean(values: Sequence[float], window: int) -> float:
    values = [v for v in values if v is not None and np.isfinite(v)]
    if not values:
        return float("nan")
    return float(np.mean(values if len(values) < SHORT_HISTORY else values[-window:]))


def checkpoint_id(seed: int, keras_epochs: int) -> int:
    """The name's ID field (random in the original): drawn from the seed and the point of the run, so that a
    resumed run names its checkpoints as the uninterrupted one does."""
    return int(np.random.default_rng([seed, keras_epochs]).integers(100000))


def save_schedule_epoch(run: TrainingRun) -> None:
    """A checkpoint if the rule says so, then the resume point, then the out_dir's summary.csv."""
    history = run.history
    random_state = capture_random_state(run)  # where the uninterrupted run's next draws start
    if _recent_mean(history.get("val_spikes_loss", []), CHECKPOINT_WINDOW_EPOCHS) < \
            run.params["checkpoint_val_spike_loss_threshold"]:
        name = models.checkpoint_name(run.params["synapse_type"], run.architecture, sum(history["num_train_samples"]),
                                      _recent_mean(history.get("spikes_loss", []), LOGLOSS_NAME_WINDOW_EPOCHS),
                                      _recent_mean(history.get("val_spikes_loss", []), LOGLOSS_NAME_WINDOW_EPOCHS),
                                      checkpoint_id(run.params["seed"], len(history["loss"])))
        run.checkpoints.append(run.folder.save_checkpoint(run.model, name, history, run.params["save_formats"]))
        log.info("saved checkpoint %s", name)
    run.folder.save_state(run.model, history, random_state)
    model_folder.write_summary(run.folder.path.parent)


def capture_random_state(run: TrainingRun) -> dict:
    """What decides the draws still to come, for ``random_state.json``: Python's global ``random`` (Keras
    shuffles the batches of every Keras epoch with it), NumPy's global generator, and the samplers' positions
    (the training sampler is made anew only when the batch size changes, so a resumed run continues it). Keyed
    by the Keras epochs done, so that a file that does not belong to the saved history is recognised."""
    version, internal, gauss_next = random.getstate()
    numpy_state = np.random.get_state(legacy=False)
    samplers = None
    if run.samplers is not None:
        train_sampler, valid_sampler = run.samplers
        samplers = {"batch_size": train_sampler.batch_size, "train": train_sampler.position(),
                    "valid": valid_sampler.position()}
    return {"keras_epochs": len(run.history.get("loss", [])),
            "python_random": {"version": version, "internal": list(internal), "gauss_next": gauss_next},
            "numpy_random": {"bit_generator": numpy_state["bit_generator"],
                             "key": numpy_state["state"]["key"].tolist(), "pos": int(numpy_state["state"]["pos"]),
                             "has_gauss": int(numpy_state["has_gauss"]), "gauss": float(numpy_state["gauss"])},
            "samplers": samplers}


def saved_random_state(resume: model_folder.ResumePoint, history: Mapping[str, Any]) -> dict | None:
    """The random states saved with the resumed ``state.keras``, checked (a damaged ``random_state.json`` is
    named before any work); None when there are none for this point (a checkpoint, a folder saved before they
    were, a file left from a later schedule epoch), and the run then continues with fresh draws."""
    saved, done = resume.random_state, len(history.get("loss", []))
    if saved is None:
        log.info("no random state saved with %s: the training windows and batch order are drawn afresh, so the "
                 "losses will differ from an uninterrupted run's", resume.model_path or resume.source)
        return None
    path = resume.folder.random_state_path
    if saved.get("keras_epochs") != done:
        log.warning("%s belongs to %s Keras epochs, history.json to %d; the training windows and batch order are "
                    "drawn afresh", path, saved.get("keras_epochs"), done)
        return None
    try:
        python_random = saved["python_random"]
        python_state = (int(python_random["version"]), tuple(int(v) for v in python_random["internal"]),
                        python_random["gauss_next"])
        random.Random().setstate(python_state)  # checked on a scratch generator
        numpy_random = saved["numpy_random"]
        numpy_state = {"bit_generator": numpy_random["bit_generator"],
                       "state": {"key": np.asarray(numpy_random["key"], dtype=np.uint32),
                                 "pos": int(numpy_random["pos"])},
                       "has_gauss": int(numpy_random["has_gauss"]), "gauss": float(numpy_random["gauss"])}
        np.random.RandomState().set_state(numpy_state)
        positions = saved["samplers"]
        if positions is not None:
            positions = {"batch_size": int(positions["batch_size"]),
                         **{which: {key: int(positions[which][key]) for key in ("seed", "epoch")}
                            for which in ("train", "valid")}}
    except (KeyError, TypeError, ValueError) as error:
        raise errors.FileContentError(path, f"is not the random state fit_CNN.py writes ({type(error).__name__}: "
                                            f"{error}); restore it from a copy of the model folder, or delete it to "
                                            "resume with fresh draws") from None
    return {"python_random": python_state, "numpy_random": numpy_state, "samplers": positions}


def restore_random_state(run: TrainingRun) -> None:
    """Put back the states of ``saved_random_state`` after everything that draws its own (the seed, the model's
    loading), so that the next schedule epoch draws as in the uninterrupted run."""
    saved = run.saved_random_state
    if saved is None:
        return
    random.setstate(saved["python_random"])
    np.random.set_state(saved["numpy_random"])
    positions = saved["samplers"]
    if positions is not None:  # replaced at the next schedule epoch if its batch size is another, as uninterrupted
        run.samplers = _make_samplers(run, positions["batch_size"], run.start_epoch)
        for sampler, which in zip(run.samplers, ("train", "valid")):
            sampler.move_to(positions[which])


def train(params: Mapping[str, Any], explicit: Collection[str] = ()) -> TrainingResult:
    """Train (or resume) as configured by ``fit_CNN.py``'s resolved parameters; ``explicit``: the entries given
    on its command line (a resumed run refuses those that contradict it)."""
    run = plan_run(params, explicit)
    if run.resume and run.start_epoch >= run.schedule["num_epochs"]:
        log.warning("nothing to train: the %d schedule epochs of %s are done", run.start_epoch, run.resume.source)
        return TrainingResult(folder=run.resume.folder, checkpoints=[], history=run.history, model=None)
    # imported only now, so that option mistakes are reported without TensorFlow's start-up time
    import keras
    from tqdm.auto import tqdm

    keras.utils.set_random_seed(run.params["seed"])
    prepare_data(run)
    build_or_restore_model(run)
    open_model_folder(run)
    restore_random_state(run)  # last before training: loading the model draws from Python's random
    start, end = run.start_epoch, run.end_epoch
    total_steps = sum(run.train_steps(b) * run.schedule["num_steps_multiplier"]
                      for b in run.schedule["batch_size_per_epoch"][start:end])
    started = time.monotonic()
    with tqdm(total=total_steps, desc="training", unit="step", disable=not run.params["progress"] or None,
              dynamic_ncols=True) as bar:
        for epoch in range(start, end):
            run_schedule_epoch(run, epoch, bar)
            save_schedule_epoch(run)
            elapsed = time.monotonic() - started
            auc = run.history["val_spikes_auc"][-1]
            log.info("schedule epoch %d/%d: lr %.1e, spikes loss train %.4f valid %.4f, valid spike AUC %s; "
                     "elapsed %s, ETA %s",
                     epoch + 1, run.schedule["num_epochs"], run.schedule["learning_rate_per_epoch"][epoch],
                     run.history["spikes_loss"][-1], run.history.get("val_spikes_loss", [np.nan])[-1],
                     "n/a" if auc is None else f"{auc:.3f}",
                     datetime.timedelta(seconds=round(elapsed)),
                     datetime.timedelta(seconds=round(elapsed / (epoch + 1 - start) * (end - epoch - 1))))
    return TrainingResult(folder=run.folder, checkpoints=run.checkpoints, history=run.history, model=run.model)
