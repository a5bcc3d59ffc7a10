"""Whole-simulation predictions of a checkpoint on a dataset, streamed file by file from the cache.

A model folder's checkpoint predicts every simulation of a set of dataset files, either in one causal
pass over the whole trace (the default: our models and the authors' rebuilt ``.h5`` models both take
inputs of any length) or with the original's overlapping windows (docs/evaluation.md). The inputs are
built from each file's compact cache (``cache.load_cached``) ``batch_size`` simulations at a time, so a
1000-simulation test set never sits in memory as a dense input tensor.

The result is saved in the model folder as ``predictions/<checkpoint name>__<split>.npz``
(``ModelFolder.predictions_path``) with the ground truth beside it (``Predictions``), so that figures never have
to run a model again.

Mistakes that would only show after minutes of prediction (no data, a different number of input
channels, data of another synapse type than the model) are ``UserError``s raised before it starts.
"""
from __future__ import annotations

import dataclasses
import logging
import os
import re
from pathlib import Path
from typing import Sequence

import numpy as np

from neuron_as_dnn import errors, utils
from neuron_as_dnn.data import cache, dataset
from neuron_as_dnn.evaluation import metrics
from neuron_as_dnn.learning import models

log = logging.getLogger(__name__)

# single_pass_sparse: the single pass with the first layer computed from the input events
# (sparse_prediction; the same numbers, 2.5x less CPU for the paper's 7 x 128 network, benchmarks/bench_surrogate.py)
PREDICTION_MODES = ("single_pass", "overlapping_windows", "single_pass_sparse")
SINGLE_PASS_MODES = ("single_pass", "single_pass_sparse")
DEFAULT_BATCH_SIZE = 16   # simulations per model call: 16 x 6000 x 1278 float32 inputs are 0.5 GB

_DATA_FOLDER_NAME = re.compile(r"^L5PC_(?P<synapse_type>.+)_(?P<split>train|valid|test)$")


# ---------------------------------------------------------------------------------------------------------
# How whole traces are predicted
# ---------------------------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class PredictionSettings:
    """``mode`` with the window and overlap it used; a single pass is one window of the whole trace."""
    mode: str
    window_ms: int
    overlap_ms: int

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def prediction_settings(mode: str, architecture: dict, duration_ms: int) -> PredictionSettings:
    if mode in SINGLE_PASS_MODES:
        return PredictionSettings(mode, int(duration_ms), 0)
    if mode == "overlapping_windows":
        window = int(architecture["input_window_size"])
        return PredictionSettings(mode, window,
                                  metrics.evaluation_overlap(window, models.receptive_field_ms(architecture)))
    raise errors.bad_parameter("prediction_mode", f"unknown mode {mode!r}; choose one of {list(PREDICTION_MODES)}")


def model_predict_fn(model) -> metrics.PredictFn:
    """The model called directly in inference mode. ``predict_on_batch`` would trace a new graph for every
    model and input shape, and an evaluation goes through many checkpoints; the convolutions dominate anyway."""
    import keras

    def predict(inputs: np.ndarray) -> list[np.ndarray]:
        return [keras.ops.convert_to_numpy(output) for output in model(inputs, training=False)]

    return predict


def predict_fn_for(model, mode: str) -> metrics.PredictFn:
    """The model called directly, or with its first layer computed from the input events (the latter also takes
    a list of per-simulation sparse matrices, ``dataset.SparseInputs.csr``)."""
    if mode != "single_pass_sparse":
        return model_predict_fn(model)
    from neuron_as_dnn.evaluation.sparse_prediction import SparseFirstLayerPredictor
    return SparseFirstLayerPredictor(model).predict_fn()  # refuses a first layer it cannot compute (UserError)


def predict_traces(predict_fn: metrics.PredictFn, inputs: np.ndarray,
                   settings: PredictionSettings) -> list[np.ndarray]:
    """The model's outputs (one array (sims, time, k) per head) for whole traces ``inputs`` (sims, time, C)."""
    if settings.mode in SINGLE_PASS_MODES:
        return metrics.predict_single_causal_pass(predict_fn, inputs)
    return metrics.predict_with_overlapping_windows(predict_fn, inputs, settings.window_ms, settings.overlap_ms)


# ---------------------------------------------------------------------------------------------------------
# The predictions file
# ---------------------------------------------------------------------------------------------------------

@dataclasses.dataclass
class Predictions:
    """Predictions and ground truth of a set of simulations, one row per simulation.

    Row r is simulation ``simulation_index[r]`` of ``files[file_index[r]]``."""
    spike_probability: np.ndarray            # float32 (n, T)
    soma_prediction_mV: np.ndarray           # float32 (n, T): the network's output + (-67.7)
    dendritic_prediction: np.ndarray | None  # float16 (n, T, k) PCA components, None without a dendritic head
    y_spike: np.ndarray                      # bool (n, T)
    y_soma_mV: np.ndarray                    # float32 (n, T), clipped at -55 mV
    files: np.ndarray                        # str (num files,)
    file_index: np.ndarray                   # int64 (n,)
    simulation_index: np.ndarray             # int64 (n,)
    settings: PredictionSettings

    @property
    def num_simulations(self) -> int:
        return len(self.y_spike)

    def save(self, path: str | os.PathLike) -> Path:
        path = Path(path)
        arrays = {field.name: getattr(self, field.name) for field in dataclasses.fields(self)
                  if field.name not in ("settings", "dendritic_prediction")}
        if self.dendritic_prediction is not None:
            arrays["dendritic_prediction"] = self.dendritic_prediction
        arrays.update(prediction_mode=np.str_(self.settings.mode), window_ms=np.int64(self.settings.window_ms),
                      overlap_ms=np.int64(self.settings.overlap_ms))
        with utils.atomic_write(path, "wb") as handle:
            np.savez(handle, **arrays)
        log.info("saved the predictions of %d simulations in %s", self.num_simulations, path)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Predictions":
        with np.load(path, allow_pickle=False) as npz:
            settings = PredictionSettings(str(npz["prediction_mode"]), int(npz["window_ms"]), int(npz["overlap_ms"]))
            return cls(**{field.name: npz[field.name] for field in dataclasses.fields(cls)
                          if field.name not in ("settings", "dendritic_prediction")},
                       dendritic_prediction=npz["dendritic_prediction"] if "dendritic_prediction" in npz else None,
                       settings=settings)


# ---------------------------------------------------------------------------------------------------------
# The data, checked before any prediction
# ---------------------------------------------------------------------------------------------------------

@dataclasses.dataclass
class EvaluationData:
    """What the caches say about a set of dataset files: enough to check a model against it and size
    the outputs, without holding any file's inputs."""
    folder: Path
    files: list[Path]
    num_simulations_per_file: list[int]
    duration_ms: int
    num_channels: int
    has_dvt: bool
    cache_dir: Path | None
    y_spike: np.ndarray            # bool (simulations, T): the ground truth, to check the filters up front

    @property
    def num_simulations(self) -> int:
        return int(sum(self.num_simulations_per_file))

    @property
    def synapse_type(self) -> str | None:
        return data_synapse_type(self.folder)


def data_synapse_type(folder: str | os.PathLike) -> str | None:
    """The type in a data folder's name ``L5PC_<TYPE>_<split>``; None for a folder named otherwise."""
    match = _DATA_FOLDER_NAME.match(Path(folder).name)
    return match["synapse_type"] if match else None


def check_synapse_type(model_folder, data_folder: str | os.PathLike) -> None:
    """UserError when the data folder's name says another synapse type than the model's (checked before
    any cache is built, so a wrong folder costs nothing)."""
    synapse_type = data_synapse_type(data_folder)
    if synapse_type is not None and synapse_type != model_folder.synapse_type:
        raise errors.UserError(f"{data_folder} holds {synapse_type} data but the model {model_folder.path.name} "
                               f"is a {model_folder.synapse_type} model; evaluate it on "
                               f"data/L5PC_{model_folder.synapse_type}_<split>/ (--data-dir)")


def open_evaluation_data(folder: str | os.PathLike, files: Sequence[Path] | None = None,
                         cache_dir: str | os.PathLike | None = None, what: str = "evaluation",
                         progress: bool = True) -> EvaluationData:
    """The dataset files of ``folder`` (any number of simulations and duration), cached and described.

    Raises ``MissingFileError`` for a missing or empty folder and ``UserError`` for files of different
    durations, channel counts, or too short to be evaluated."""
    folder = Path(folder)
    if files is None:
        if not folder.is_dir():
            raise errors.MissingFileError(f"the {what} data folder {folder} does not exist; write it with "
                                          "simulate_L5PC_and_create_dataset.py or point --data-dir at one")
        files = dataset.find_dataset_files(folder, None, None)
    if not files:
        raise errors.MissingFileError(f"no dataset files (*_simulationRuns*_secDuration_*) in {folder}")
    cache_dir = Path(cache_dir) if cache_dir else None
    cache.prepare_caches(files, cache_dir, progress=progress)
    counts, durations, channels, dvts, spike_times = [], set(), set(), [], []
    for path in files:
        # only the small members: the input events are read when the file is predicted
        with np.load(cache.cache_paths(path, cache_dir)[0], allow_pickle=False) as npz:
            counts.append(int(npz["events_per_ms"].shape[0]))
            durations.add(int(npz["events_per_ms"].shape[1]))
            channels.add(int(npz["num_channels"]))
            dvts.append(bool(npz["has_dvt"]))
            spike_times += np.split(npz["spike_times"], np.cumsum(npz["spike_counts"])[:-1])
    if len(durations) > 1 or len(channels) > 1:
        raise errors.UserError(f"the files of {folder} differ in duration ({sorted(durations)} ms) or input "
                               f"channels ({sorted(channels)}); evaluate them separately")
    duration_ms = durations.pop()
    if duration_ms <= metrics.IGNORE_TIME_BEFORE_MS:
        raise errors.UserError(f"the simulations of {folder} last {duration_ms} ms; evaluation ignores the first "
                               f"{metrics.IGNORE_TIME_BEFORE_MS} ms, so they need to be longer")
    return EvaluationData(folder, list(files), counts, duration_ms, channels.pop(), all(dvts), cache_dir,
                          dataset.spike_matrix(spike_times, duration_ms))


def check_model_against_data(model_folder, model, data: EvaluationData) -> None:
    """UserError for a model that cannot be evaluated on ``data``; notes what does not matter."""
    check_synapse_type(model_folder, data.folder)
    width = int(model.input_shape[-1])
    if width != data.num_channels:
        raise errors.UserError(f"the model {model_folder.path.name} takes {width} input channels but the files of "
                               f"{data.folder} have {data.num_channels}")
    head = models.num_dvt_components_of(model)
    if head != model_folder.num_dvt_components or (head and not data.has_dvt):
        # dendritic outputs are saved, never scored, so neither mismatch changes the evaluation
        log.info("%s: dendritic head of %d component(s), %d in the folder's PCA, data %s dendritic voltages; "
                 "dendritic predictions are saved, not evaluated", model_folder.path.name, head,
                 model_folder.num_dvt_components, "with" if data.has_dvt else "without")


# ---------------------------------------------------------------------------------------------------------
# Prediction
# ---------------------------------------------------------------------------------------------------------

def predict_data(model, data: EvaluationData, settings: PredictionSettings, batch_size: int = DEFAULT_BATCH_SIZE,
                 progress: bool = True, description: str = "predicting") -> Predictions:
    """``model``'s predictions for every simulation of ``data``, ``batch_size`` simulations per call."""
    from tqdm.auto import tqdm

    if batch_size < 1:
        raise errors.bad_parameter("batch_size", f"must be at least 1, got {batch_size}")
    n, duration = data.num_simulations, data.duration_ms
    num_dvt = models.num_dvt_components_of(model)
    spike_probability = np.zeros((n, duration), np.float32)
    soma = np.zeros((n, duration), np.float32)
    dendritic = np.zeros((n, duration, num_dvt), np.float16) if num_dvt else None
    y_soma = np.zeros((n, duration), np.float32)
    file_index = np.repeat(np.arange(len(data.files)), data.num_simulations_per_file)
    simulation_index = np.concatenate([np.arange(count) for count in data.num_simulations_per_file])
    predict_fn = predict_fn_for(model, settings.mode)
    row = 0
    with tqdm(total=n, unit="sim", desc=description, disable=not progress) as bar:
        for path in data.files:
            cached = cache.load_cached(path, data.cache_dir)
            y_soma[row:row + cached.num_simulations] = np.minimum(cached.soma_mv.astype(np.float32),
                                                                  dataset.SOMA_CLIP_MV)
            for start in range(0, cached.num_simulations, batch_size):
                sims = list(range(start, min(start + batch_size, cached.num_simulations)))
                if settings.mode == "single_pass_sparse":  # the first layer reads the events: no dense input
                    inputs = [cached.inputs.csr(sim) for sim in sims]
                else:
                    inputs = cached.inputs.fill_windows(
                        np.zeros((len(sims), duration, data.num_channels), np.float32), sims, [duration] * len(sims))
                outputs = predict_traces(predict_fn, inputs, settings)
                rows = slice(row + start, row + start + len(sims))
                spike_probability[rows] = outputs[0][..., 0]
                soma[rows] = outputs[1][..., 0] + np.float32(dataset.SOMA_BIAS_MV)
                if dendritic is not None:
                    dendritic[rows] = outputs[2]
                bar.update(len(sims))
            row += cached.num_simulations
    return Predictions(spike_probability, soma, dendritic, data.y_spike.copy(), y_soma,
                       np.array([str(path.resolve()) for path in data.files]), file_index, simulation_index, settings)


def predict_checkpoint(model_folder, checkpoint, data: EvaluationData, split: str, mode: str = "single_pass",
                       batch_size: int = DEFAULT_BATCH_SIZE, progress: bool = True,
                       save: bool = True) -> tuple[Predictions, object]:
    """Predict ``data`` with one checkpoint of a model folder; returns the predictions and the model.

    With ``save`` the predictions go to the folder's ``predictions_path`` (``predictions/<name>__<split>.npz``)."""
    settings = prediction_settings(mode, model_folder.architecture, data.duration_ms)
    model = model_folder.load_model(checkpoint)
    check_model_against_data(model_folder, model, data)
    log.info("predicting %d simulations of %s with %s (%s)", data.num_simulations, data.folder, checkpoint.name,
             mode)
    predictions = predict_data(model, data, settings, batch_size, progress, description=f"predicting {split}")
    if save:
        predictions.save(model_folder.predictions_path(checkpoint.name, split))
    return predictions, model
