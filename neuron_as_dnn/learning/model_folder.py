"""A trained model is a folder: everything one training run wrote, and the one class that opens it.

Our layout (``fit_CNN.py``), one folder per run, ``<out_dir>/<prefix>__<YYYY-MM-DD>__<HH>_<MM>__run_<id>/``::

    config.json             how the run was made (``utils.provenance_record``: parameters, seed, command line,
                            commit, versions), with ``resumed_from`` and the records of earlier invocations
    architecture.json       architecture_dict
    learning_schedule.json  learning_schedule_dict
    history.json            training_history_dict, rewritten after every schedule epoch
    data.json               data_dict: train / valid / test file lists
    dvt_pca.npz             the whitened PCA of the dendritic targets (absent without them)
    state.keras             the latest model with its optimiser state: where a resumed run starts
    random_state.json       the random states and sampler positions at that point, so that a resumed run
                            draws what the uninterrupted run would have drawn
    checkpoints/<name>.keras, <name>.h5, <name>.pickle
                            the original's checkpoint names and companion pickle (its four dicts + dvt_pca)
    evaluation/<name>__<split>.json, .pickle    written later by the evaluation scripts
    predictions/<name>__<split>.npz

and ``<out_dir>/summary.csv``, one row per model folder, rewritten whenever a run saves.

The authors' layout (their ``best_models/<prefix>/``): ``<name>_model.h5`` (Keras 2) with its companion
``<name>_training.pickle`` (and, in their export and ours, ``<name>_weights.h5``, ``<name>_json.json``,
``<name>_evaluation.pickle``). ``ModelFolder`` reads both, so evaluation and figures need not care which.

This module is the one place that knows these names: every other module asks ``ModelFolder`` (its paths,
``checkpoints``, ``results_path``, ``predictions_path``, ``result_files``), ``checkpoint_of`` /
``checkpoint_name`` (a file's checkpoint), ``find_result_files`` (results below a folder) and
``authors_file`` (the authors' layout). See ``docs/model_folder.md``.
"""
from __future__ import annotations

import datetime
import logging
import math
import os
import pickle
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from neuron_as_dnn import errors, safe_pickle, utils
from neuron_as_dnn.learning import models
from neuron_as_dnn.learning.dendritic_targets import DVTPCA

log = logging.getLogger(__name__)

CONFIG_FILE = "config.json"
ARCHITECTURE_FILE = "architecture.json"
LEARNING_SCHEDULE_FILE = "learning_schedule.json"
HISTORY_FILE = "history.json"
DATA_FILE = "data.json"
DVT_PCA_FILE = "dvt_pca.npz"
STATE_FILE = "state.keras"
RANDOM_STATE_FILE = "random_state.json"     # belongs to state.keras: written with it, read only with it
CHECKPOINTS_DIR = "checkpoints"
EVALUATION_DIR = "evaluation"               # <name>__<split>.json (the results) and .pickle (the original's)
PREDICTIONS_DIR = "predictions"             # <name>__<split>.npz
RESULTS_SUFFIX, EVALUATION_PICKLE_SUFFIX, PREDICTIONS_SUFFIX = ".json", ".pickle", ".npz"
SUMMARY_FILE = "summary.csv"

COMPANION_KEYS = ("data_dict", "architecture_dict", "learning_schedule_dict", "training_history_dict")
SUMMARY_COLUMNS = ("folder", "synapse_type", "network_type", "depth", "width", "receptive_field_ms",
                   "num_parameters", "num_train_samples", "num_checkpoints", "best_val_spike_loss",
                   "last_val_spike_loss", "best_val_spike_auc", "last_val_spike_auc", "created", "git_commit")
NO_MODEL_HINT = ("no model in this folder (expected config.json + checkpoints/ from fit_CNN.py, or the authors' "
                 "<name>_model.h5 + <name>_training.pickle)")

# The one place that knows how a model file and its companion pickle are named: (model file suffixes in order
# of preference, companion suffix). The authors' export comes first: "_model.h5" also ends in ".h5".
MODEL_SUFFIXES = (".keras", ".h5")          # .keras first: it also holds the optimiser state
COMPANION_SUFFIX = ".pickle"
# the files of checkpoint <name> in the authors' layout: <name><suffix>
AUTHORS_SUFFIXES = {"model": "_model.h5", "weights": "_weights.h5", "json": "_json.json",
                    "training": "_training.pickle", "evaluation": "_evaluation.pickle"}
AUTHORS_MODEL_SUFFIX = AUTHORS_SUFFIXES["model"]
NAMING_CONVENTIONS = (((AUTHORS_MODEL_SUFFIX,), AUTHORS_SUFFIXES["training"]),   # the authors' best_models export
                      (MODEL_SUFFIXES, COMPANION_SUFFIX))                       # fit_CNN's checkpoints, theirs and ours
_DATE_IN_NAME = re.compile(r"__(\d{4}-\d\d-\d\d)__(\d\d)_(\d\d)(?:__|$)")
_SAMPLES_IN_NAME = re.compile(r"__samples_(\d+)__")


@dataclass(frozen=True)
class Checkpoint:
    name: str                      # file stem; the authors' without "_model"
    model_path: Path               # .keras (ours) or .h5 (the authors' "<name>_model.h5")
    companion_path: Path | None    # the companion pickle, if there is one

    @property
    def h5_path(self) -> Path | None:
        """The Keras-2 style ``.h5`` model file: the authors' ``<name>_model.h5``, or ours beside the ``.keras``
        when it was saved too."""
        if self.model_path.suffix == ".h5":
            return self.model_path
        h5 = self.model_path.with_name(self.name + ".h5")
        return h5 if h5.is_file() else None


def _split_file_name(file_name: str) -> tuple[str, tuple[str, ...], str]:
    """(checkpoint name, its model file suffixes, its companion suffix); a name without suffix is fit_CNN's."""
    for model_suffixes, companion_suffix in NAMING_CONVENTIONS:
        for suffix in (*model_suffixes, companion_suffix):
            if file_name.endswith(suffix):
                return file_name[:-len(suffix)], model_suffixes, companion_suffix
    return file_name, MODEL_SUFFIXES, COMPANION_SUFFIX


def checkpoint_of(path: str | os.PathLike) -> Checkpoint | None:
    """The checkpoint that ``path`` (any of its files, or its name without suffix) belongs to, following
    ``NAMING_CONVENTIONS``; None when it has no model file."""
    path = Path(path)
    name, model_suffixes, companion_suffix = _split_file_name(path.name)
    model_path = next((p for p in (path.with_name(name + s) for s in model_suffixes) if p.is_file()), None)
    if model_path is None:
        return None
    companion = path.with_name(name + companion_suffix)
    return Checkpoint(name, model_path, companion if companion.is_file() else None)


def checkpoint_name(path: str | os.PathLike, split: str | None = None) -> str:
    """The name of the checkpoint that ``path`` (a file name, a path, or a result's ``checkpoint`` entry) is
    about: a result or predictions file of ``split`` (``<name>__<split>.json`` / ``.pickle`` / ``.npz``), a
    model file or companion pickle of either layout, or a bare name (returned as is)."""
    file_name = Path(path).name
    if split is not None:
        for suffix in (RESULTS_SUFFIX, EVALUATION_PICKLE_SUFFIX, PREDICTIONS_SUFFIX):
            ending = _result_file_name("", split, suffix)
            if file_name.endswith(ending):
                return file_name[:-len(ending)]
    return _split_file_name(file_name)[0]


def _result_file_name(checkpoint: str, split: str, suffix: str) -> str:
    """``<checkpoint>__<split><suffix>``: the name of a checkpoint's results or predictions on ``split``."""
    return f"{checkpoint}__{split}{suffix}"


def result_pattern(split: str) -> str:
    """``evaluation/*__<split>.json``: the results files of ``split``, relative to a model folder."""
    return f"{EVALUATION_DIR}/{_result_file_name('*', split, RESULTS_SUFFIX)}"


def find_result_files(root: str | os.PathLike, split: str) -> list[Path]:
    """Every ``evaluation/<checkpoint>__<split>.json`` below ``root`` (any folder that holds one, model files or
    not), sorted (so every run sees one order); [] when ``root`` does not exist."""
    root = Path(root)
    if not root.is_dir():
        return []
    return sorted(path for path in root.rglob(result_pattern(split)) if not path.name.startswith("."))


def folder_of_result(path: str | os.PathLike) -> Path:
    """The (model) folder holding the results file ``path`` (``<folder>/evaluation/<name>__<split>.json``)."""
    return Path(path).parent.parent


def authors_file(folder: str | os.PathLike, name: str, kind: str) -> Path:
    """The authors' layout: ``<folder>/<name><suffix>`` of ``kind`` (``AUTHORS_SUFFIXES``: model, weights,
    json, training, evaluation)."""
    return Path(folder) / (name + AUTHORS_SUFFIXES[kind])


def read_companion(path: str | os.PathLike) -> dict:
    """A companion pickle (ours or the authors'), read without running code, with the original's four dicts."""
    companion = safe_pickle.load(path, "model companion")
    if not isinstance(companion, dict):
        raise errors.FileContentError(path, f"holds a {type(companion).__name__}, not a model companion dict")
    missing = [key for key in COMPANION_KEYS if key not in companion]
    if missing:
        raise errors.FileContentError(path, f"lacks {missing}, which a model companion pickle holds")
    return companion


def write_companion(path: Path, data_dict: Mapping, architecture: Mapping, learning_schedule: Mapping,
                    history: Mapping, dvt_pca: DVTPCA | None) -> None:
    # protocol 2 and plain containers, so that the authors' Python-2-era tools read it too
    contents = {"data_dict": dict(data_dict), "architecture_dict": dict(architecture),
                "learning_schedule_dict": dict(learning_schedule), "training_history_dict": dict(history),
                "dvt_pca": None if dvt_pca is None else dvt_pca.to_dict()}
    with utils.atomic_write(path, "wb") as handle:
        pickle.dump(contents, handle, protocol=2)


def _read_json_dict(path: Path) -> dict:
    """One of the folder's JSON files; a damaged or foreign one is the user's to replace, so it is named."""
    try:
        contents = utils.read_json(path)
    except (ValueError, UnicodeDecodeError) as error:
        raise errors.FileContentError(path, f"is not valid JSON ({error}); restore it from a copy of the model "
                                            "folder, or train a new run") from None
    if not isinstance(contents, dict):
        raise errors.FileContentError(path, f"holds a JSON {type(contents).__name__}, not the object fit_CNN.py "
                                            "writes; restore it from a copy of the model folder")
    return contents


def _synapse_type_from_name(name: str) -> str:
    """``AMPA_SK_TCN__DxWxT_...`` -> ``AMPA_SK``: the text before the network type."""
    return name.split("__")[0].rsplit("_", 1)[0]


def _samples_in_name(name: str) -> int:
    found = _SAMPLES_IN_NAME.search(name)
    return int(found.group(1)) if found else -1


def run_folder_name(prefix: str, when: datetime.datetime, run_id: int) -> str:
    """``<prefix>__<YYYY-MM-DD>__<HH>_<MM>__run_<id>``,
    e.g. ``NMDA_TCN__DxWxT_3x64x100__2024-03-05__14_07__run_4242``."""
    return f"{prefix}__{when:%Y-%m-%d__%H_%M}__run_{int(run_id)}"


def new_run_folder(out_dir: str | os.PathLike, prefix: str) -> Path:
    """Create an empty, uniquely named run folder in ``out_dir`` (a new random id on a name clash)."""
    rng = np.random.default_rng()  # unseeded: runs with the same seed still get distinct folders
    while True:
        path = Path(out_dir) / run_folder_name(prefix, datetime.datetime.now(), int(rng.integers(100000)))
        try:
            path.mkdir(parents=True)
            return path
        except FileExistsError:
            continue


def _model_folders_below(root: str | os.PathLike, missing: str | None = None) -> list[tuple[Path, str]]:
    """(path, layout) of ``root`` if it is a model folder, else of every model folder below it, sorted by path;
    ``missing``: the message when ``root`` does not exist."""
    root = Path(root)
    if not root.is_dir():
        raise errors.MissingFileError(missing or f"{root}: no such folder")
    found = []
    for folder, subfolders, _ in os.walk(root):
        layout = _layout_of(Path(folder))
        if layout:
            found.append((Path(folder), layout))
            subfolders.clear()
        else:
            subfolders[:] = [name for name in subfolders if not name.startswith(".")]
    if not found:
        raise errors.FileContentError(root, NO_MODEL_HINT.replace("in this folder", "in this folder or below"))
    return sorted(found)


def _layout_of(path: Path) -> str | None:
    if (path / CONFIG_FILE).is_file() and ((path / CHECKPOINTS_DIR).is_dir() or (path / STATE_FILE).is_file()):
        return "ours"
    if any(path.glob("*" + AUTHORS_MODEL_SUFFIX)):
        return "authors"
    return None


def _path_in_folder(name: str, what: str) -> property:
    """A read-only ``ModelFolder`` property: ``<folder>/<name>``, which holds ``what``."""
    return property(lambda folder: folder.path / name, doc=f"``<folder>/{name}``: {what}.")


# ---------------------------------------------------------------------------------------------------------

class ModelFolder:
    """One trained model: our run folder, or the authors' ``best_models/<prefix>/`` folder (``layout``)."""

    def __init__(self, path: Path, layout: str):
        self.path = Path(path)
        self.layout = layout

    def __repr__(self) -> str:
        return f"ModelFolder({str(self.path)!r}, layout={self.layout!r})"

    # ---- finding and creating ------------------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | os.PathLike) -> "ModelFolder":
        path = Path(path)
        if not path.is_dir():
            raise errors.MissingFileError(f"{path}: no such model folder")
        layout = _layout_of(path)
        if layout is None:
            raise errors.FileContentError(path, NO_MODEL_HINT)
        return cls._checked(path, layout)

    @classmethod
    def _checked(cls, path: Path, layout: str) -> "ModelFolder":
        """The folder at ``path``, known to hold a model in ``layout``."""
        folder = cls(path, layout)
        if layout == "authors":
            folder._companion  # a foreign or broken companion pickle is reported now, not mid-evaluation
        return folder

    @classmethod
    def at(cls, path: str | os.PathLike) -> "ModelFolder":
        """The folder at ``path`` for its paths and checkpoint files, unchecked: its layout as found (None when it
        holds no model, e.g. a folder with results but without its model files)."""
        path = Path(path)
        return cls(path, _layout_of(path))

    @classmethod
    def find_all(cls, root: str | os.PathLike, missing: str | None = None) -> list["ModelFolder"]:
        """``root`` itself if it is a model folder, else every model folder below it (hidden folders and the
        insides of model folders are not searched), sorted by path. ``missing``: the message of the
        ``MissingFileError`` when ``root`` does not exist."""
        return [cls._checked(path, layout) for path, layout in _model_folders_below(root, missing)]

    @classmethod
    def open_one(cls, root: str | os.PathLike, option: str = "model_dir") -> "ModelFolder":
        """``root`` if it is a model folder, else the only model folder below it; several are a user error
        that lists them, so that a folder like ``models/demo/`` with one run in it can be given as is."""
        found = cls.find_all(root)
        if len(found) > 1:  # e.g. pretrained/, one network per synapse type
            names = ", ".join(str(folder.path.relative_to(root)) for folder in found[:5]) + \
                (", ..." if len(found) > 5 else "")
            raise errors.bad_parameter(option, f"{root} holds {len(found)} model folders ({names}); name one of them: "
                                               f"{errors.flag(option)} {Path(root) / '<run folder>'}")
        return found[0]

    @classmethod
    def create(cls, path: str | os.PathLike, config: Mapping[str, Any], architecture: Mapping[str, Any],
               learning_schedule: Mapping[str, Any], data_dict: Mapping[str, Any],
               dvt_pca: DVTPCA | None) -> "ModelFolder":
        """Write a new run's description into ``path`` (created if needed); ``config`` is its provenance record."""
        folder = cls(Path(path), "ours")
        folder.checkpoints_dir.mkdir(parents=True, exist_ok=True)
        folder._write_json(ARCHITECTURE_FILE, architecture, "architecture")
        folder._write_json(LEARNING_SCHEDULE_FILE, learning_schedule, "learning_schedule")
        folder.write_data_dict(data_dict)
        if dvt_pca is not None:
            with utils.atomic_write(folder.path / DVT_PCA_FILE, "wb") as handle:
                np.savez(handle, **dvt_pca.to_dict())
            folder.__dict__.pop("dvt_pca", None)
        folder.write_config(config)  # last: config.json is what makes the folder a model folder
        return folder

    # ---- what the model is ---------------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.path.name

    @cached_property
    def _companion(self) -> dict:
        """The authors' layout: the companion pickle of the latest model ({} when it has none)."""
        checkpoint = self.latest_checkpoint()
        return read_companion(checkpoint.companion_path) if checkpoint.companion_path else {}

    def _read(self, file: str, companion_key: str, default: Any = None) -> Any:
        if self.layout == "ours":
            path = self.path / file
            return _read_json_dict(path) if path.is_file() else default
        return self._companion.get(companion_key, default)

    # The description is read once per ModelFolder (cached properties); the writers below drop what they replace.
    # The dicts returned are the cached ones: a caller that changes one writes it back or copies it first.
    def _write_json(self, file: str, contents: Mapping[str, Any], cached: str) -> None:
        utils.write_json(self.path / file, dict(contents))
        self.__dict__.pop(cached, None)

    @cached_property
    def config(self) -> dict | None:
        return _read_json_dict(self.path / CONFIG_FILE) if self.layout == "ours" else None

    @property
    def synapse_type(self) -> str:
        params = (self.config or {}).get("params", {})
        if params.get("synapse_type"):
            return params["synapse_type"]
        return _synapse_type_from_name(self.name if self.layout == "ours" else self.latest_checkpoint().name)

    @cached_property
    def architecture(self) -> dict:
        architecture = self._read(ARCHITECTURE_FILE, "architecture_dict")
        if architecture is None:  # an authors' model without its companion pickle
            architecture = models.architecture_of_file(self.latest_checkpoint().model_path)
        return architecture

    @property
    def network_type(self) -> str:
        return models.network_type(self.architecture)

    @cached_property
    def learning_schedule(self) -> dict | None:
        return self._read(LEARNING_SCHEDULE_FILE, "learning_schedule_dict")

    @cached_property
    def history(self) -> dict:
        return self._read(HISTORY_FILE, "training_history_dict", {})

    @cached_property
    def data_dict(self) -> dict:
        return self._read(DATA_FILE, "data_dict", {})

    @cached_property
    def random_state(self) -> dict | None:
        """``random_state.json`` (ours; None when the folder has none, e.g. one written before it existed)."""
        return self._read(RANDOM_STATE_FILE, "random_state") if self.layout == "ours" else None

    @cached_property
    def dvt_pca(self) -> DVTPCA | None:
        if self.layout == "authors":
            stored = self._companion.get("dvt_pca")  # our exports in this layout carry it; the authors' never
            return DVTPCA.from_dict(stored) if stored else None
        path = self.path / DVT_PCA_FILE
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as npz:
                return DVTPCA.from_dict({key: npz[key] for key in npz.files})
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise errors.FileContentError(path, f"not a DVT PCA ({error})") from None

    @property
    def num_dvt_components(self) -> int:
        if self.layout == "ours":
            pca = self.dvt_pca
            return pca.num_components if pca else 0
        return models.model_file_channels(self.latest_checkpoint().model_path)[1]

    @property
    def num_input_channels(self) -> int:
        model_path = self._newest_model_path()
        return models.model_file_channels(model_path)[0] if model_path else models.NUM_INPUT_CHANNELS

    # ---- model files ---------------------------------------------------------------------------------------
    checkpoints_dir = _path_in_folder(CHECKPOINTS_DIR, "the checkpoints (ours)")
    state_path = _path_in_folder(STATE_FILE, "the latest model with its optimiser state (ours)")
    random_state_path = _path_in_folder(RANDOM_STATE_FILE, "the random states that belong to ``state.keras`` (ours)")
    evaluation_dir = _path_in_folder(EVALUATION_DIR, "the evaluation scripts' results (``results_path``)")
    predictions_dir = _path_in_folder(PREDICTIONS_DIR, "the evaluation scripts' predictions (``predictions_path``)")

    def results_path(self, checkpoint_name: str, split: str, suffix: str = RESULTS_SUFFIX) -> Path:
        """``evaluation/<checkpoint>__<split>.json`` (the results), or with ``EVALUATION_PICKLE_SUFFIX``
        (``.pickle``) the original's evaluation pickle."""
        return self.evaluation_dir / _result_file_name(checkpoint_name, split, suffix)

    def predictions_path(self, checkpoint_name: str, split: str) -> Path:
        """``predictions/<checkpoint>__<split>.npz``."""
        return self.predictions_dir / _result_file_name(checkpoint_name, split, PREDICTIONS_SUFFIX)

    def result_files(self, split: str) -> list[Path]:
        """The folder's ``evaluation/*__<split>.json``, sorted (``checkpoint_name(path, split)`` names each)."""
        return self._split_files(self.evaluation_dir, split, RESULTS_SUFFIX)

    def prediction_files(self, split: str) -> list[Path]:
        """The folder's ``predictions/*__<split>.npz``, sorted."""
        return self._split_files(self.predictions_dir, split, PREDICTIONS_SUFFIX)

    @staticmethod
    def _split_files(directory: Path, split: str, suffix: str) -> list[Path]:
        pattern = _result_file_name("*", split, suffix)
        return sorted(path for path in directory.glob(pattern) if not path.name.startswith("."))

    def checkpoints(self) -> list[Checkpoint]:
        """Sorted by name. Ours: a checkpoint counts once its companion pickle (written last) exists."""
        if self.layout == "ours":
            files = self.checkpoints_dir.glob("*" + COMPANION_SUFFIX) if self.checkpoints_dir.is_dir() else []
        else:
            files = self.path.glob("*" + AUTHORS_MODEL_SUFFIX)
        found = {checkpoint_of(path) for path in files if not path.name.startswith(".")}
        return sorted((c for c in found if c is not None), key=lambda c: c.name)

    def latest_checkpoint(self) -> Checkpoint:
        """The checkpoint trained on the most samples (names sort samples_192 before samples_96)."""
        checkpoints = self.checkpoints()
        if not checkpoints:
            raise errors.MissingFileError(
                f"{self.path}: no checkpoint yet (one is saved after every schedule epoch whose recent validation "
                f"spike loss is below --checkpoint-val-spike-loss-threshold; {STATE_FILE} holds the latest weights)")
        return max(checkpoints, key=lambda c: (_samples_in_name(c.name), c.name))

    def _newest_model_path(self) -> Path | None:
        if self.layout == "ours" and self.state_path.is_file():
            return self.state_path
        return self.latest_checkpoint().model_path if self.checkpoints() else None

    def checkpoint(self, name: str) -> Checkpoint:
        found = next((c for c in self.checkpoints() if c.name == name), None)
        if found is None:
            names = [c.name for c in self.checkpoints()]
            raise errors.MissingFileError(f"{self.path}: no checkpoint named {name!r} (it has {names})")
        return found

    def checkpoint_files(self, name: str) -> Checkpoint | None:
        """The files of checkpoint ``name`` in either layout (ours ``checkpoints/<name>.*``, the authors'
        ``<name>_model.h5``), with or without its companion pickle; None without a model file."""
        return checkpoint_of(self.checkpoints_dir / name) or checkpoint_of(authors_file(self.path, name, "model"))

    def companion_of(self, checkpoint: Checkpoint) -> dict:
        """The four dicts as they were when ``checkpoint`` was saved (its history stops there); the folder's when
        the checkpoint has no companion pickle."""
        if checkpoint.companion_path is not None:
            companion = read_companion(checkpoint.companion_path)
            return {key: companion[key] for key in COMPANION_KEYS}
        return {"data_dict": self.data_dict, "architecture_dict": self.architecture,
                "learning_schedule_dict": self.learning_schedule, "training_history_dict": self.history}

    def load_model(self, checkpoint: Checkpoint | str | None = None):
        """The network of ``checkpoint`` (None: the latest; a str: its name), not compiled."""
        if checkpoint is None:
            checkpoint = self.latest_checkpoint()
        elif isinstance(checkpoint, str):
            checkpoint = self.checkpoint(checkpoint)
        if checkpoint.model_path.suffix == ".keras":
            return models.load_model_file(checkpoint.model_path)
        # a Keras-2 .h5 is rebuilt from the architecture, which only the companion knows for sure (activations)
        companion = read_companion(checkpoint.companion_path) if checkpoint.companion_path else {}
        return models.load_model_file(checkpoint.model_path, architecture=companion.get("architecture_dict"))

    # ---- writing (our layout) ------------------------------------------------------------------------------
    def write_config(self, config: Mapping[str, Any]) -> None:
        self._write_json(CONFIG_FILE, config, "config")

    def write_data_dict(self, data_dict: Mapping[str, Any]) -> None:
        self._write_json(DATA_FILE, data_dict, "data_dict")

    def save_state(self, model, history: Mapping[str, Any], random_state: Mapping[str, Any]) -> None:
        """The resume point: the model (with its optimiser) and the random states first, then the history that
        says how far it got (``random_state`` records that point too, so that a stale one is recognised)."""
        models.save_model_files(model, self.state_path.with_suffix(""), formats=("keras",))
        self._write_json(RANDOM_STATE_FILE, random_state, "random_state")
        self._write_json(HISTORY_FILE, history, "history")

    def save_checkpoint(self, model, name: str, history: Mapping[str, Any],
                        formats: Sequence[str] = ("keras", "h5")) -> Checkpoint:
        """``checkpoints/<name>.keras`` / ``.h5``, then the companion ``<name>.pickle`` (so a pickle implies its
        model files)."""
        architecture = self.architecture
        base = self.checkpoints_dir / name
        models.save_model_files(model, base, architecture, formats)
        write_companion(base.with_name(name + COMPANION_SUFFIX), self.data_dict, architecture,
                        self.learning_schedule, history, self.dvt_pca)
        return checkpoint_of(base)

    # ---- tables --------------------------------------------------------------------------------------------
    def summary_row(self) -> dict:
        """One row of ``summary.csv`` (``SUMMARY_COLUMNS``; ``folder`` is the folder's name)."""
        architecture, history = self.architecture, self.history
        val_losses = [v for v in history.get("val_spikes_loss", []) if v is not None and math.isfinite(v)]
        val_aucs = [v for v in history.get("val_spikes_auc", []) if v is not None and math.isfinite(v)]
        config = self.config or {}
        dated = self.name if self.layout == "ours" else self.latest_checkpoint().name
        date = _DATE_IN_NAME.search(dated)
        return {
            "folder": self.name, "synapse_type": self.synapse_type, "network_type": self.network_type,
            "depth": architecture["network_depth"], "width": int(np.mean(architecture["num_filters_per_layer"])),
            "receptive_field_ms": models.receptive_field_ms(architecture),
            "num_parameters": models.count_parameters(architecture, self.num_dvt_components, self.num_input_channels),
            "num_train_samples": int(sum(history.get("num_train_samples", []))),
            "num_checkpoints": len(self.checkpoints()),
            "best_val_spike_loss": min(val_losses) if val_losses else "",
            "last_val_spike_loss": val_losses[-1] if val_losses else "",
            "best_val_spike_auc": max(val_aucs) if val_aucs else "",
            "last_val_spike_auc": val_aucs[-1] if val_aucs else "",
            "created": f"{date.group(1)}T{date.group(2)}:{date.group(3)}" if date else "",
            "git_commit": config.get("git_commit") or "",
        }


def write_summary(out_dir: str | os.PathLike) -> Path:
    """Rewrite ``<out_dir>/summary.csv`` whole (atomically): one row per model folder below ``out_dir``, sorted by
    folder (its path relative to ``out_dir``). A folder that cannot be read is left out with a warning, so that
    a foreign folder never stops a training run."""
    out_dir = Path(out_dir)
    rows = []
    for path, layout in _model_folders_below(out_dir):
        try:
            row = ModelFolder._checked(path, layout).summary_row()
        except errors.UserError as error:
            log.warning("%s is left out of %s: %s", path, SUMMARY_FILE, error)
            continue
        rows.append(dict(row, folder=path.relative_to(out_dir).as_posix()))
    return utils.write_csv(out_dir / SUMMARY_FILE, sorted(rows, key=lambda row: row["folder"]), SUMMARY_COLUMNS)


# ---------------------------------------------------------------------------------------------------------
# Resuming
# ---------------------------------------------------------------------------------------------------------

@dataclass
class ResumePoint:
    """Where a resumed run starts: the saved weights and the four dicts, the folder to continue in, and the
    random states saved with the weights (None when there are none for them: a checkpoint, an older folder)."""
    source: Path
    folder: ModelFolder | None     # our layout: training continues in this folder; else a new one is made
    model_path: Path | None        # None: the run stopped before finishing its first schedule epoch
    synapse_type: str
    architecture: dict
    learning_schedule: dict
    history: dict
    data_dict: dict
    dvt_pca: DVTPCA | None
    num_dvt_components: int        # of the saved network (an authors' model has a head but no PCA)
    random_state: dict | None = None  # random_state.json of a resume from state.keras


def _our_folder_holding(path: Path) -> ModelFolder | None:
    """Our model folder that ``path`` is, or whose ``state.keras`` or ``checkpoints/`` file it is."""
    if path.is_dir():
        holder = path
    elif path.name == STATE_FILE:
        holder = path.parent
    elif path.parent.name == CHECKPOINTS_DIR:
        holder = path.parent.parent
    else:
        return None
    return ModelFolder(holder, "ours") if _layout_of(holder) == "ours" else None


def _checkpoint_to_resume(path: Path) -> Checkpoint:
    if path.is_dir():
        return ModelFolder.open(path).latest_checkpoint()
    checkpoint = checkpoint_of(path)
    if checkpoint is None and not path.exists():
        raise errors.MissingFileError(f"--resume-from: {path} does not exist")
    if checkpoint is None:
        raise errors.FileContentError(path, "is not a model folder, model file or companion pickle to resume from")
    if checkpoint.companion_path is None:
        raise errors.FileContentError(checkpoint.model_path, "has no companion pickle (<name>.pickle or "
                                      "<name>_training.pickle), which holds the schedule and history to resume")
    return checkpoint


def resume_point(path: str | os.PathLike) -> ResumePoint:
    """The resume point of ``path``: one of our model folders (its ``state.keras``), a checkpoint file in one
    (training continues in that folder from the checkpoint), an authors' model folder, or a model file /
    companion pickle of the older flat layouts (these two continue in a new folder)."""
    path = Path(path)
    folder = _our_folder_holding(path)
    if folder is not None and path.parent.name != CHECKPOINTS_DIR:
        model_path = folder._newest_model_path()
        if model_path is not None:
            models.model_file_channels(model_path)  # a damaged state.keras is reported now, not after the caches
        # the random states describe the point of state.keras only; a run resumed from a checkpoint draws afresh
        random_state = folder.random_state if model_path == folder.state_path else None
        return ResumePoint(source=path, folder=folder, model_path=model_path,
                           synapse_type=folder.synapse_type, architecture=folder.architecture,
                           learning_schedule=folder.learning_schedule, history=folder.history,
                           data_dict=folder.data_dict, dvt_pca=folder.dvt_pca,
                           num_dvt_components=folder.num_dvt_components, random_state=random_state)
    checkpoint = _checkpoint_to_resume(path)
    companion = read_companion(checkpoint.companion_path)
    stored_pca = companion.get("dvt_pca")
    return ResumePoint(source=path, folder=folder, model_path=checkpoint.model_path,
                       synapse_type=folder.synapse_type if folder else _synapse_type_from_name(checkpoint.name),
                       architecture=companion["architecture_dict"],
                       learning_schedule=companion["learning_schedule_dict"],
                       history=companion["training_history_dict"], data_dict=companion["data_dict"],
                       dvt_pca=DVTPCA.from_dict(stored_pca) if stored_pca else None,
                       num_dvt_components=models.model_file_channels(checkpoint.model_path)[1])
