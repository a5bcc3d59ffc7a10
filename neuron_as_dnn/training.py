"""Training the TCN/FCN on the simulation files: DVT PCA, window sampler, learning schedule, checkpoints, resume.

What follows the original (ORIGINAL_IMPLEMENTATION.md §5, §14.1):
- random (simulation, end time) windows of 400 ms ending at or after 500 ms; ``int(file_load * sims * T /
  (batch * W))`` batches from a file before moving to the next; a new random subset of files every epoch;
- dendritic targets: voltages clipped at +2 mV, whitened PCA (20 components for NMDA, 30 for AMPA), ±3;
- the learning schedule (250 "schedule epochs" of ``num_steps_multiplier`` Keras epochs, each with its batch
  size, learning rate and loss weights), Nadam re-created at every schedule epoch;
- a checkpoint (``.h5`` + companion ``.pickle`` of the four original dicts) after every schedule epoch whose
  recent validation spike loss is below 0.03, named as §14.1.

What differs, on purpose:
- files are read through the compact cache of ``dataset`` (built once), so switching files costs
  milliseconds, and at most ``max_files_in_memory`` files are held whatever the dataset size;
- the fitted PCA is saved in the companion pickle (key ``dvt_pca``) and the checkpoints also exist as
  ``.keras``; models take inputs of any length;
- the validation batches are the same at every epoch (``fixed_validation_batches``), so that validation
  curves and the checkpoint rule are not driven by sampling noise; set it False for the original's draws;
- the optimiser can keep its state across schedule epochs (``reset_optimizer_each_schedule_epoch=False``);
- every schedule epoch also writes a run state under ``<models_dir>/runs/``, so that a run can be resumed
  even before its first checkpoint; the run's configuration is recorded there as JSON.
"""
from __future__ import annotations

import collections
import copy
import datetime
import hashlib
import logging
import os
import pickle
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import keras
import numpy as np

from neuron_as_dnn import cache, dataset, models, paths, utils

log = logging.getLogger(__name__)

DEFAULT_DVT_COMPONENTS = {"NMDA": 20, "AMPA": 30, "AMPA_SK": 30}
CHECKPOINT_WINDOW_EPOCHS = 3      # checkpoint rule: mean of the last 3 val spike losses ...
LOGLOSS_NAME_WINDOW_EPOCHS = 7    # ... and the name's LogLoss fields: mean of the last 7
SHORT_HISTORY = 10                # below this many Keras epochs, both average the whole history

ARCHITECTURE_PRESETS = {
    # name: (filter sizes per layer, filters per layer)
    "original_3x64x100": ([54, 24, 24], [64]),                # the active architecture of the original script
    "NMDA_TCN_7x128x153": ([45] + [19] * 6, [128]),           # the paper's best NMDA network (Fig. 2)
    "FCN_1x128x43": ([43], [128]),                            # the paper's AMPA network (Fig. 3)
}

HISTORY_LOSS_KEYS = ("loss", "spikes_loss", "somatic_loss", "dendritic_loss")


# ---------------------------------------------------------------------------------------------------------
# Dendritic-voltage PCA
# ---------------------------------------------------------------------------------------------------------

@dataclass
class DVTPCA:
    """Whitened PCA of the dendritic voltages (sklearn's ``PCA(whiten=True)`` in plain numpy).

    Fitted from streamed sums (mean and covariance over every (simulation, ms) sample), so a whole
    128 x 6000 x 639 file never has to sit in memory as float64."""
    mean: np.ndarray                      # (n_segments,)
    components: np.ndarray                # (k, n_segments), rows of unit length
    explained_variance: np.ndarray        # (k,), sample variance along each component
    explained_variance_ratio: np.ndarray  # (k,)
    input_clip_mv: float = 2.0
    output_clip: float = 3.0
    num_samples: int = 0
    fitted_on: list = field(default_factory=list)

    @classmethod
    def fit(cls, dvt_matrices: Iterable[np.ndarray], num_components: int, input_clip_mv: float = 2.0,
            output_clip: float = 3.0, fitted_on: Sequence[str] = ()) -> "DVTPCA":
        """``dvt_matrices``: (n_segments, T) arrays, one per simulation, in mV."""
        shift = total = outer = None
        count = 0
        for matrix in dvt_matrices:
            samples = np.minimum(np.asarray(matrix, dtype=np.float64), input_clip_mv)
            if shift is None:
                # centring on a first estimate keeps the one-pass covariance accurate (voltages sit near -70 mV)
                shift = samples.mean(axis=1)
                total = np.zeros_like(shift)
                outer = np.zeros((len(shift), len(shift)))
            samples -= shift[:, None]
            total += samples.sum(axis=1)
            outer += samples @ samples.T
            count += samples.shape[1]
        if count < 2:
            raise ValueError("the DVT PCA needs at least two samples")
        if num_components > len(shift):
            raise ValueError(f"{num_components} PCA components requested from {len(shift)} segments")
        covariance = (outer - np.outer(total, total) / count) / (count - 1)
        eigenvalues, eigenvectors = np.linalg.eigh(covariance)
        order = np.argsort(eigenvalues)[::-1][:num_components]
        components = eigenvectors[:, order].T
        # a fixed sign per component makes refits of the same data give the same targets
        signs = np.sign(components[np.arange(num_components), np.argmax(np.abs(components), axis=1)])
        components *= signs[:, None]
        variance = np.maximum(eigenvalues[order], np.finfo(np.float64).tiny)
        return cls(mean=shift + total / count, components=components, explained_variance=variance,
                   explained_variance_ratio=variance / max(np.trace(covariance), np.finfo(np.float64).tiny),
                   input_clip_mv=float(input_clip_mv), output_clip=float(output_clip), num_samples=int(count),
                   fitted_on=[str(f) for f in fitted_on])

    @property
    def num_components(self) -> int:
        return len(self.explained_variance)

    def transform(self, dvt: np.ndarray) -> np.ndarray:
        """(..., n_segments) voltages in mV -> (..., k) whitened components clipped to ±output_clip (float32)."""
        projection = self.components.T / np.sqrt(self.explained_variance)[None, :]
        centred = np.minimum(np.asarray(dvt, dtype=np.float32), np.float32(self.input_clip_mv)) - self.mean
        return np.clip(centred @ projection, -self.output_clip, self.output_clip).astype(np.float32)

    @property
    def fingerprint(self) -> str:
        digest = hashlib.sha1()
        for array in (self.mean, self.components, self.explained_variance):
            digest.update(np.ascontiguousarray(array, dtype=np.float64).tobytes())
        digest.update(f"{self.input_clip_mv}/{self.output_clip}".encode())
        return digest.hexdigest()[:12]

    def to_dict(self) -> dict:
        return {"mean": self.mean, "components": self.components, "explained_variance": self.explained_variance,
                "explained_variance_ratio": self.explained_variance_ratio, "input_clip_mv": self.input_clip_mv,
                "output_clip": self.output_clip, "num_samples": self.num_samples, "fitted_on": list(self.fitted_on)}

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> "DVTPCA":
        return cls(**{key: values[key] for key in cls.__dataclass_fields__ if key in values})


def fit_dvt_pca_on_files(files: Sequence[Path], num_components: int, input_clip_mv: float = 2.0,
                         output_clip: float = 3.0, cache_dir: str | os.PathLike | None = None) -> DVTPCA:
    """Fit the PCA on every simulation of ``files`` (the original used the first training file) and build
    those files' caches from the same parse."""
    experiments = []

    def dvt_stream():
        for path in files:
            experiment = dataset.read_experiment_file(path)
            simulations = experiment["Results"]["listOfSingleSimulationDicts"]
            if not all("dendriticVoltagesLowRes" in sim for sim in simulations):
                raise dataset.DatasetFormatError(path, "has no dendriticVoltagesLowRes, needed to fit the DVT PCA "
                                                       "(train without dendritic targets: --num-dvt-components 0)")
            experiments.append((path, experiment))
            for sim in simulations:
                yield sim["dendriticVoltagesLowRes"]
            if len(experiments) > 1:
                experiments.pop(0)  # keep one parsed file at a time (~1 GB each)

    pca = DVTPCA.fit(dvt_stream(), num_components, input_clip_mv, output_clip, fitted_on=files)
    log.info("DVT PCA: %d components explain %.1f%% of the variance of %d samples from %d file(s)",
             num_components, 100 * pca.explained_variance_ratio.sum(), pca.num_samples, len(files))
    for path, experiment in experiments:
        cache.build_cache(path, cache_dir, pca, experiment=experiment)
    return pca


# ---------------------------------------------------------------------------------------------------------
# Window sampler
# ---------------------------------------------------------------------------------------------------------

def batches_per_file(file_load: float, num_simulations: int, duration_ms: int, batch_size: int,
                     window_size: int) -> int:
    """How many batches the sampler draws from one file before moving on (the original's formula)."""
    return max(1, int(file_load * num_simulations * duration_ms / (batch_size * window_size)))


class WindowSampler(keras.utils.PyDataset):
    """Random (simulation, end time) windows from a rotating subset of dataset files.

    Batch ``i`` of an epoch comes from file ``epoch_files[i // batches_per_file]``: consecutive batches share a
    file, as in the original, and the few files in use are held in a small LRU of cached files, so memory
    stays bounded whatever the number of files. The draws of batch ``i`` depend only on (seed, epoch, i),
    which makes batches reproducible and safe to build in several workers (threads or processes).

    Returns ``X`` float32 (batch, window, channels) and the targets ``(spikes, somatic[, dendritic])``, each
    (batch, window, ·) float32."""

    def __init__(self, files: Sequence[str | os.PathLike], batch_size: int, window_size: int,
                 batches_per_file: int, files_per_epoch: int, cache_dir: str | os.PathLike | None = None,
                 dvt_pca: DVTPCA | None = None, ignore_first_ms: int = dataset.IGNORE_FIRST_MS,
                 fixed: bool = False, seed: int = 0, max_files_in_memory: int = 2, workers: int = 1,
                 use_multiprocessing: bool = False, max_queue_size: int = 10):
        super().__init__(workers=workers, use_multiprocessing=use_multiprocessing, max_queue_size=max_queue_size)
        if not files:
            raise ValueError("WindowSampler needs at least one file")
        self.files = [Path(f) for f in files]
        self.batch_size = int(batch_size)
        self.window_size = int(window_size)
        self.batches_per_file = int(batches_per_file)
        self.files_per_epoch = min(int(files_per_epoch), len(self.files))
        self.cache_dir = cache_dir
        self.dvt_pca = dvt_pca
        self.ignore_first_ms = int(ignore_first_ms)
        self.fixed = fixed
        self.seed = int(seed)
        self.max_files_in_memory = max(1, int(max_files_in_memory))
        self.epoch = 0
        self.batches_drawn: collections.Counter = collections.Counter()
        self._lock = threading.Lock()
        self._loaded: collections.OrderedDict = collections.OrderedDict()
        self._draw_epoch_files()

    def __getstate__(self):  # for process workers: no lock, no loaded files
        state = self.__dict__.copy()
        state["_lock"] = None
        state["_loaded"] = collections.OrderedDict()
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def _draw_epoch_files(self) -> None:
        rng = np.random.default_rng([self.seed, 0 if self.fixed else self.epoch, 2**31 - 1])
        chosen = rng.choice(len(self.files), size=self.files_per_epoch, replace=False)
        self.epoch_files = [self.files[i] for i in chosen]

    def __len__(self) -> int:
        return self.batches_per_file * self.files_per_epoch

    def on_epoch_end(self) -> None:
        if not self.fixed:
            self.epoch += 1
            self._draw_epoch_files()

    def load(self, path: Path) -> cache.CachedFile:
        with self._lock:
            if path in self._loaded:
                self._loaded.move_to_end(path)
                return self._loaded[path]
        cached = cache.load_cached(path, self.cache_dir, self.dvt_pca)
        if self.dvt_pca is not None and cached.dvt_targets is None:
            raise dataset.DatasetFormatError(path, "no dendritic targets could be built for this file")
        if cached.duration_ms - max(self.ignore_first_ms, self.window_size) < self.batch_size:
            raise dataset.DatasetFormatError(
                path, f"simulations of {cached.duration_ms} ms leave fewer than {self.batch_size} window end times "
                      f"after the first max({self.ignore_first_ms}, {self.window_size}) ms")
        with self._lock:
            self._loaded[path] = cached
            while len(self._loaded) > self.max_files_in_memory:
                self._loaded.popitem(last=False)
        return cached

    def window_positions(self, index: int) -> tuple[Path, np.ndarray, np.ndarray]:
        """(file, simulation indices, window end times) of batch ``index`` in the current epoch."""
        path = self.epoch_files[index // self.batches_per_file]
        data = self.load(path)
        rng = np.random.default_rng([self.seed, 0 if self.fixed else self.epoch, index])
        sims = rng.integers(data.num_simulations, size=self.batch_size)
        first_end = max(self.ignore_first_ms, self.window_size)
        # distinct end times as the original; windows [t_end - W, t_end) never reach back before 0
        end_times = first_end + rng.choice(data.duration_ms - first_end, size=self.batch_size, replace=False)
        return path, sims, end_times

    def __getitem__(self, index: int):
        if not 0 <= index < len(self):
            raise IndexError(index)
        path, sims, end_times = self.window_positions(index)
        data = self.load(path)
        X = np.zeros((self.batch_size, self.window_size, data.inputs.num_channels), dtype=np.float32)
        data.inputs.fill_windows(X, sims, end_times)
        rows = sims[:, None]
        columns = end_times[:, None] + np.arange(-self.window_size, 0)[None, :]
        targets = [data.y_spike[rows, columns][..., None].astype(np.float32),
                   data.y_soma[rows, columns][..., None]]
        if self.dvt_pca is not None:
            targets.append(data.dvt_targets[rows, columns].astype(np.float32))
        with self._lock:
            self.batches_drawn[str(path)] += 1
        return X, tuple(targets)

    def pop_histogram(self) -> dict:
        """Batches drawn per file since the last call (exact with thread workers)."""
        with self._lock:
            histogram, self.batches_drawn = dict(self.batches_drawn), collections.Counter()
        return histogram


# ---------------------------------------------------------------------------------------------------------
# Configuration
# ---------------------------------------------------------------------------------------------------------

def expand_learning_schedule(config: Mapping[str, Any], train_steps_per_epoch: Sequence[int] | None = None) -> dict:
    """The original's ``learning_schedule_dict`` (one entry per schedule epoch) from the compact stage lists
    ``schedule_stage_epochs``, ``schedule_learning_rates``, ``schedule_*_loss_weights`` and
    ``schedule_batch_sizes`` (a one-element list applies to every stage)."""
    stages = list(config["schedule_stage_epochs"])

    def per_stage(key):
        values = list(config[key])
        if len(values) == 1:
            values = values * len(stages)
        if len(values) != len(stages):
            raise ValueError(f"{key} has {len(values)} values for {len(stages)} schedule stages")
        return values

    rates, batches = per_stage("schedule_learning_rates"), per_stage("schedule_batch_sizes")
    weights = list(zip(per_stage("schedule_spike_loss_weights"), per_stage("schedule_somatic_loss_weights"),
                       per_stage("schedule_dendritic_loss_weights")))
    expand = lambda values: [v for v, n in zip(values, stages) for _ in range(int(n))]  # noqa: E731
    num_epochs = int(sum(stages))
    return {
        "train_file_load": float(config["train_file_load"]),
        "valid_file_load": float(config["valid_file_load"]),
        "validation_fraction": float(config["validation_fraction"]),
        "num_epochs": num_epochs,
        "num_steps_multiplier": int(config["num_steps_multiplier"]),
        "batch_size_per_epoch": [int(b) for b in expand(batches)],
        "loss_weights_per_epoch": [[float(w) for w in ws] for ws in expand(weights)],
        "learning_rate_per_epoch": [float(r) for r in expand(rates)],
        "num_train_steps_per_epoch": list(train_steps_per_epoch) if train_steps_per_epoch else [0] * num_epochs,
    }


def architecture_from_config(config: Mapping[str, Any], defaults: Mapping[str, Any] | None = None) -> dict:
    """``architecture_dict`` from ``architecture_preset`` plus the explicit architecture options; an option
    whose value differs from ``defaults`` (the script's parameter block) wins over the preset."""
    defaults = defaults or {}
    filter_sizes = list(config["filter_sizes_per_layer"])
    filters = list(config["num_filters_per_layer"])
    preset = config.get("architecture_preset") or "custom"
    if preset != "custom":
        if preset not in ARCHITECTURE_PRESETS:
            raise ValueError(f"unknown architecture_preset {preset!r}; choose one of "
                             f"{sorted(ARCHITECTURE_PRESETS)} or 'custom'")
        preset_sizes, preset_filters = ARCHITECTURE_PRESETS[preset]
        if filter_sizes == list(defaults.get("filter_sizes_per_layer", [])):
            filter_sizes = list(preset_sizes)
        if filters == list(defaults.get("num_filters_per_layer", [])):
            filters = list(preset_filters)
    return models.make_architecture_dict(
        filter_sizes, filters, input_window_size=config["input_window_size"],
        initializer_std=config["initializer_std"], l2_regularization=config["l2_regularization"],
        activation=config["activation_function"], strides=config["strides_per_layer"],
        dilation_rates=config["dilation_rates_per_layer"])


def resolve_config(config: Mapping[str, Any]) -> dict:
    """Fill the derived defaults: data and model folders from the synapse type, DVT components."""
    resolved = dict(config)
    synapse = resolved["synapse_type"]
    for split in ("train", "valid", "test"):
        key = f"{split}_data_dir"
        resolved[key] = Path(resolved[key]) if resolved.get(key) else paths.DATA_DIR / f"L5PC_{synapse}_{split}"
    resolved["models_dir"] = (Path(resolved["models_dir"]) if resolved.get("models_dir")
                              else paths.MODELS_DIR / synapse)
    resolved["cache_dir"] = Path(resolved["cache_dir"]) if resolved.get("cache_dir") else None
    if resolved.get("num_dvt_components") is None or resolved["num_dvt_components"] < 0:
        resolved["num_dvt_components"] = DEFAULT_DVT_COMPONENTS.get(synapse, 20)
    return resolved


def discover_files(folder: Path, config: Mapping[str, Any], purpose: str, required: bool = True) -> list[Path]:
    fix = ("run simulate_L5PC_and_create_dataset.py to create simulation files, or download the authors' "
           f"Kaggle data into {folder} (or point --{purpose}-data-dir at the folder that holds them)")
    if not folder.is_dir():
        if required:
            raise FileNotFoundError(f"{purpose} data folder {folder} does not exist: {fix}")
        return []
    pattern = dataset.dataset_glob_pattern(config["num_simulations_per_file"] or None,
                                           config["sim_duration_sec"] or None)
    files = dataset.find_dataset_files(folder, pattern=pattern)
    if not files and required:
        raise FileNotFoundError(f"no dataset files matching {pattern} in {purpose} data folder {folder}: {fix} "
                                "(--num-simulations-per-file / --sim-duration-sec 0 accept any count / duration)")
    return files


# ---------------------------------------------------------------------------------------------------------
# Checkpoints and run state
# ---------------------------------------------------------------------------------------------------------

def _recent_mean(values: Sequence[float], window: int) -> float:
    values = [v for v in values if v is not None and np.isfinite(v)]
    if not values:
        return float("nan")
    return float(np.mean(values if len(values) < SHORT_HISTORY else values[-window:]))


def write_companion_pickle(path: Path, data_dict: dict, architecture_dict: dict, learning_schedule_dict: dict,
                           training_history_dict: dict, dvt_pca: DVTPCA | None) -> None:
    contents = {"data_dict": data_dict, "architecture_dict": architecture_dict,
                "learning_schedule_dict": learning_schedule_dict, "training_history_dict": training_history_dict,
                "dvt_pca": None if dvt_pca is None else dvt_pca.to_dict()}
    with utils.atomic_write(path, "wb") as handle:
        pickle.dump(contents, handle, protocol=2)


def save_checkpoint(model, base_path: Path, formats: Sequence[str], **dicts) -> list[Path]:
    """``<base>.keras`` / ``<base>.h5`` then ``<base>.pickle`` (last, so a pickle implies its model)."""
    written = models.save_model_files(model, base_path, dicts["architecture_dict"], formats)
    pickle_path = base_path.with_name(base_path.name + ".pickle")
    write_companion_pickle(pickle_path, **dicts)
    return written + [pickle_path]


def load_training_state(path: str | os.PathLike) -> tuple[dict, Path]:
    """(companion dict, model file) of a checkpoint or run state, given any of its files or its base name."""
    path = Path(path)
    base = path.with_suffix("") if path.suffix in (".pickle", ".keras", ".h5") else path
    pickle_path = base.with_name(base.name + ".pickle")
    if not pickle_path.is_file():
        raise FileNotFoundError(f"cannot resume from {path}: {pickle_path} does not exist")
    with open(pickle_path, "rb") as handle:
        state = pickle.load(handle, encoding="latin1")
    missing = {"data_dict", "architecture_dict", "learning_schedule_dict", "training_history_dict"} - set(state)
    if missing:
        raise ValueError(f"cannot resume from {pickle_path}: it lacks {sorted(missing)}")
    for suffix in (".keras", ".h5"):
        model_path = base.with_name(base.name + suffix)
        if model_path.is_file():
            return state, model_path
    raise FileNotFoundError(f"cannot resume from {path}: neither {base.name}.keras nor {base.name}.h5 exists")


# ---------------------------------------------------------------------------------------------------------
# Training loop
# ---------------------------------------------------------------------------------------------------------

def _progress_callback(bar):
    class Progress(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            bar.update(1)
            if logs and batch % 10 == 0 and "spikes_loss" in logs:
                bar.set_postfix(spikes_loss=f"{float(logs['spikes_loss']):.4f}", refresh=False)

    return Progress()


@dataclass
class TrainingResult:
    checkpoints: list            # base paths (without suffix) of the checkpoints written by this run
    run_state: Path              # base path of the run state (resumable)
    history: dict                # training_history_dict
    model: Any


def train(config: Mapping[str, Any], defaults: Mapping[str, Any] | None = None) -> TrainingResult:
    """Train (or resume) as configured by the parameter block of ``fit_CNN.py``."""
    from tqdm.auto import tqdm

    config = resolve_config(config)
    seed = config.get("seed")
    if seed is None or seed < 0:
        seed = int(np.random.SeedSequence().entropy % (2**31))
    config["seed"] = seed
    keras.utils.set_random_seed(seed)
    synapse_type = config["synapse_type"]
    cache_dir = config["cache_dir"]

    resume_state = model_path = None
    if config.get("resume_from"):
        resume_state, model_path = load_training_state(config["resume_from"])
        log.info("resuming from %s", model_path)
    else:  # option mistakes surface now, not after minutes of caching
        architecture = architecture_from_config(config, defaults)
        expand_learning_schedule(config)

    # ---- data
    if resume_state and all(Path(f).is_file() for f in resume_state["data_dict"]["train_files"]
                            + resume_state["data_dict"]["valid_files"]):
        data_dict = resume_state["data_dict"]
    else:
        if resume_state:
            log.warning("the files recorded in the checkpoint are missing; using the data folders instead")
        data_dict = {
            "train_files": [str(f) for f in discover_files(config["train_data_dir"], config, "train")],
            "valid_files": [str(f) for f in discover_files(config["valid_data_dir"], config, "valid")],
            "test_files": [str(f) for f in discover_files(config["test_data_dir"], config, "test", required=False)],
        }
    train_files = [Path(f) for f in data_dict["train_files"]]
    valid_files = [Path(f) for f in data_dict["valid_files"]]
    log.info("%d training and %d validation files", len(train_files), len(valid_files))

    # ---- dendritic targets
    if resume_state:
        dvt_pca = DVTPCA.from_dict(resume_state["dvt_pca"]) if resume_state.get("dvt_pca") else None
    elif config["num_dvt_components"] > 0:
        dvt_pca = fit_dvt_pca_on_files(train_files[:max(1, config["dvt_pca_num_files"])],
                                       config["num_dvt_components"], config["dvt_clip_mv"],
                                       config["dvt_target_clip"], cache_dir)
    else:
        dvt_pca = None
    num_dvt = dvt_pca.num_components if dvt_pca else 0
    cache.prepare_caches(train_files + valid_files, cache_dir, dvt_pca)
    first = cache.load_cached(train_files[0], cache_dir)
    sims_per_file, duration_ms = first.num_simulations, first.duration_ms
    del first

    # ---- architecture, schedule, model
    if resume_state:
        architecture = resume_state["architecture_dict"]
        schedule = resume_state["learning_schedule_dict"]
        history = copy.deepcopy(resume_state["training_history_dict"])
        start_epoch = (max(history["learning_schedule"]) + 1) if history.get("learning_schedule") else 0
        model = None
        if not config["reset_optimizer_each_schedule_epoch"] and model_path.suffix == ".keras":
            try:
                model = keras.models.load_model(model_path)  # with its optimiser state
                if not isinstance(model.optimizer, keras.optimizers.Nadam):
                    raise TypeError(f"the saved optimiser is a {type(model.optimizer).__name__}, not Nadam")
            except Exception as error:  # noqa: BLE001 - any failure just means starting the optimiser afresh
                log.warning("could not restore the optimiser state (%s); it starts afresh", error)
                model = None
        if model is None:
            model = models.load_model_file(model_path, architecture=architecture, num_dvt_components=num_dvt)
    else:
        window = architecture["input_window_size"]
        steps = [batches_per_file(config["train_file_load"], sims_per_file, duration_ms, b, window)
                 * min(config["train_files_per_epoch"], len(train_files))
                 for b in expand_learning_schedule(config)["batch_size_per_epoch"]]
        schedule = expand_learning_schedule(config, steps)
        history = {}
        start_epoch = 0
        model = models.build_model(architecture, num_dvt_components=num_dvt)
    window = architecture["input_window_size"]
    prefix = models.architecture_prefix(synapse_type, architecture)
    log.info("%s: %d trainable parameters, %d DVT components, window %d ms",
             prefix, models.count_trainable_parameters(model), num_dvt, window)

    models_dir = config["models_dir"]
    run_id = int(np.random.default_rng().integers(100000))  # unseeded: a resumed run never reuses a name
    run_state_base = models_dir / "runs" / f"{prefix}__run_{datetime.datetime.now():%Y-%m-%d__%H_%M}_{run_id}"
    run_record = {"config": {k: (str(v) if isinstance(v, Path) else v) for k, v in config.items()},
                  "environment": utils.environment_info(), "run_state": str(run_state_base),
                  "resumed_from": str(model_path) if model_path else None, "checkpoints": []}
    utils.write_json(run_state_base.with_name(run_state_base.name + ".config.json"), run_record)

    end_epoch = schedule["num_epochs"]
    if config.get("stop_after_schedule_epochs"):
        end_epoch = min(end_epoch, start_epoch + config["stop_after_schedule_epochs"])
    if start_epoch >= end_epoch:
        log.warning("nothing to train: the schedule has %d epochs and %d are done", schedule["num_epochs"],
                    start_epoch)
    multiplier = schedule["num_steps_multiplier"]
    valid_files_per_epoch = max(1, int(schedule["validation_fraction"] * config["train_files_per_epoch"]))
    sampler_options = dict(cache_dir=cache_dir, dvt_pca=dvt_pca, ignore_first_ms=config["ignore_first_ms"],
                           max_files_in_memory=config["max_files_in_memory"], workers=config["sampler_workers"],
                           use_multiprocessing=config["sampler_use_multiprocessing"])
    losses = ["binary_crossentropy", "mse", "mse"][:2 + (num_dvt > 0)]

    def make_samplers(batch_size, epoch):
        train_sampler = WindowSampler(
            train_files, batch_size, window,
            batches_per_file(schedule["train_file_load"], sims_per_file, duration_ms, batch_size, window),
            config["train_files_per_epoch"], seed=seed + 1000 * epoch, **sampler_options)  # fresh draws on resume
        valid_sampler = WindowSampler(
            valid_files, batch_size, window,
            batches_per_file(schedule["valid_file_load"], sims_per_file, duration_ms, batch_size, window),
            valid_files_per_epoch, fixed=config["fixed_validation_batches"], seed=seed + 1, **sampler_options)
        return train_sampler, valid_sampler

    checkpoints = []
    train_sampler = valid_sampler = optimizer = None
    total_steps = sum(len_steps for len_steps in (
        batches_per_file(schedule["train_file_load"], sims_per_file, duration_ms, b, window)
        * min(config["train_files_per_epoch"], len(train_files)) * multiplier
        for b in schedule["batch_size_per_epoch"][start_epoch:end_epoch]))
    started = time.monotonic()
    with tqdm(total=total_steps, desc="training", unit="step", disable=not config["progress_bar"] or None,
              dynamic_ncols=True) as bar:
        for epoch in range(start_epoch, end_epoch):
            batch_size = schedule["batch_size_per_epoch"][epoch]
            learning_rate = schedule["learning_rate_per_epoch"][epoch]
            loss_weights = list(schedule["loss_weights_per_epoch"][epoch])[:len(losses)]
            if train_sampler is None or train_sampler.batch_size != batch_size:
                train_sampler, valid_sampler = make_samplers(batch_size, epoch)
            if config["reset_optimizer_each_schedule_epoch"]:
                optimizer = keras.optimizers.Nadam(learning_rate=learning_rate)  # the original's behaviour
            elif optimizer is None:
                # keep the moments across schedule epochs; a resumed .keras brings them back
                optimizer = getattr(model, "optimizer", None) or keras.optimizers.Nadam(learning_rate=learning_rate)
            optimizer.learning_rate = learning_rate
            model.compile(optimizer=optimizer, loss=losses, loss_weights=loss_weights)
            fit_history = model.fit(train_sampler, epochs=multiplier, validation_data=valid_sampler, verbose=0,
                                    callbacks=[_progress_callback(bar)])
            steps = len(train_sampler)
            for key, values in fit_history.history.items():
                history.setdefault(key, []).extend(float(v) for v in values)
            for key, value in (("learning_schedule", epoch), ("batch_size", batch_size),
                               ("learning_rate", learning_rate), ("loss_weights", loss_weights),
                               ("num_train_samples", batch_size * steps), ("num_train_steps", steps)):
                history.setdefault(key, []).extend(copy.deepcopy(value) for _ in range(multiplier))
            history.setdefault("train_files_histogram", []).append(train_sampler.pop_histogram())
            history.setdefault("valid_files_histogram", []).append(valid_sampler.pop_histogram())

            dicts = dict(data_dict=data_dict, architecture_dict=architecture, learning_schedule_dict=schedule,
                         training_history_dict=history, dvt_pca=dvt_pca)
            train_loss = _recent_mean(history.get("spikes_loss", []), LOGLOSS_NAME_WINDOW_EPOCHS)
            valid_loss = _recent_mean(history.get("val_spikes_loss", []), LOGLOSS_NAME_WINDOW_EPOCHS)
            if _recent_mean(history.get("val_spikes_loss", []), CHECKPOINT_WINDOW_EPOCHS) < \
                    config["checkpoint_val_spike_loss_threshold"]:
                name = models.checkpoint_name(synapse_type, architecture, sum(history["num_train_samples"]),
                                              train_loss, valid_loss, int(np.random.default_rng().integers(100000)))
                save_checkpoint(model, models_dir / name, config["save_formats"], **dicts)
                checkpoints.append(models_dir / name)
                run_record["checkpoints"].append(name)
                log.info("saved checkpoint %s", name)
            save_checkpoint(model, run_state_base, ("keras",), **dicts)
            run_record["next_schedule_epoch"] = epoch + 1
            utils.write_json(run_state_base.with_name(run_state_base.name + ".config.json"), run_record)

            elapsed = time.monotonic() - started
            done = epoch + 1 - start_epoch
            log.info("schedule epoch %d/%d: lr %.1e, loss weights %s, spikes loss train %.4f valid %.4f; "
                     "elapsed %s, ETA %s", epoch + 1, schedule["num_epochs"], learning_rate, loss_weights,
                     train_loss, valid_loss, datetime.timedelta(seconds=round(elapsed)),
                     datetime.timedelta(seconds=round(elapsed / done * (end_epoch - epoch - 1))))
    return TrainingResult(checkpoints=checkpoints, run_state=run_state_base, history=history, model=model)
