"""The authors' simulation pickles, both directions, and a compact cache for training.

File format (ORIGINAL_IMPLEMENTATION.md §13): one pickle (protocol 2) of
``{'Params': {...}, 'Results': {'listOfSingleSimulationDicts': [sim, ...]}}``. Each ``sim`` holds float16
voltage traces, float32 time vectors, the input spike times as ``{numpy.int64 segment: [numpy.int64 ms]}``
and the output spike times (float16 in the authors' files, float32 in ours, which removes the up-to-2-ms
quantisation of float16 late in the trace). ``dendriticVoltagesLowRes`` (segments x ms, float16) is optional.

Canonical tensors (§13.4), time-major because that is the model's input layout:

- ``X[sim, t, c]`` (bool, ``(n_sims, T, 2 * n_segments)``): c = segment for excitatory events,
  ``n_segments + segment`` for inhibitory ones;
- ``y_spike[sim, t]`` = 1 at ``t = int(t_spike - 0.5)``;
- ``y_soma[sim, t]`` = ``min(somaVoltageLowRes, -55) - (-67.7)``;
- ``y_DVT`` (raw dendritic voltages; the training module whitens them with a PCA).

Parsing a 128-simulation pickle costs tens of seconds, mostly unpickling ~10 million numpy integer scalars.
``load_cached`` therefore parses each file once into an ``.npz`` beside it (sparse input events, raw soma
voltage, output spike times) and reads that afterwards; a cache remembers the source's size and
modification time and is rebuilt when they change. PCA-projected dendritic targets are cached in a second
file keyed by the PCA's fingerprint, so a new PCA never reuses stale targets.

Reading is restricted to the objects these files contain (numpy arrays and scalars, builtin containers):
unpickling an arbitrary file could otherwise run code.
"""
from __future__ import annotations

import hashlib
import itertools
import logging
import os
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Protocol, Sequence

import numpy as np

from neuron_as_dnn import paths, utils

log = logging.getLogger(__name__)

NUM_SEGMENTS = 639                      # L5PC: 262 basal + 377 apical segments
NUM_INPUT_CHANNELS = 2 * NUM_SEGMENTS   # excitatory then inhibitory
SOMA_CLIP_MV = -55.0                    # clips the (rare, under-sampled) action potentials out of the soma target
SOMA_BIAS_MV = -67.7                    # subtracted from the clipped soma voltage: the network predicts V + 67.7
HIGH_RES_SAMPLES_PER_MS = 8
IGNORE_FIRST_MS = 500                   # initial transient and input-rate edge effects (§11.5)
CACHE_FORMAT_VERSION = 1
CACHE_FOLDER_NAME = ".cache"
DEFAULT_NUM_SIMULATIONS = 128
DEFAULT_SIM_DURATION_SEC = 6

REQUIRED_SIMULATION_KEYS = ("somaVoltageLowRes", "exInputSpikeTimes", "inhInputSpikeTimes", "outputSpikeTimes")
FLOAT16_TRACE_KEYS = ("somaVoltageHighRes", "nexusVoltageHighRes", "somaVoltageLowRes", "nexusVoltageLowRes")


class DatasetFormatError(ValueError):
    """A file is not a simulation dataset of the expected format; the message names the file and the problem."""

    def __init__(self, path: str | os.PathLike, problem: str):
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


# ---------------------------------------------------------------------------------------------------------
# File names and discovery
# ---------------------------------------------------------------------------------------------------------

def dataset_file_name(params: Mapping[str, Any]) -> str:
    """The original file name (§2.1) built from a ``Params`` dict, e.g.
    ``exBas_0_800_inhBasDiff_-600_200__exApic_0_800_inhApicDiff_-600_200__saved_InputSpikes_DVTs__
    1234_outSpikes__128_simulationRuns__6_secDuration__randomSeed_42.p`` (one line)."""
    needed = ("num_bas_ex_spikes_per_100ms_range", "num_bas_ex_inh_spike_diff_per_100ms_range",
              "num_apic_ex_spikes_per_100ms_range", "num_apic_ex_inh_spike_diff_per_100ms_range",
              "collectAndSaveDVTs", "totalNumOutputSpikes", "numSimulations", "totalSimDurationInSec",
              "randomSeed")
    missing = [key for key in needed if key not in params]
    if missing:
        raise KeyError(f"dataset_file_name needs these Params keys: {missing}")

    def pair(key):
        low, high = params[key]
        return f"{int(low)}_{int(high)}"

    dvts = "DVTs" if params["collectAndSaveDVTs"] else ""
    return (f"exBas_{pair('num_bas_ex_spikes_per_100ms_range')}"
            f"_inhBasDiff_{pair('num_bas_ex_inh_spike_diff_per_100ms_range')}"
            f"__exApic_{pair('num_apic_ex_spikes_per_100ms_range')}"
            f"_inhApicDiff_{pair('num_apic_ex_inh_spike_diff_per_100ms_range')}"
            f"__saved_InputSpikes_{dvts}__{int(params['totalNumOutputSpikes'])}_outSpikes"
            f"__{int(params['numSimulations'])}_simulationRuns__{int(params['totalSimDurationInSec'])}_secDuration"
            f"__randomSeed_{int(params['randomSeed'])}.p")


def dataset_glob_pattern(num_simulations: int | None = DEFAULT_NUM_SIMULATIONS,
                         sim_duration_sec: int | None = DEFAULT_SIM_DURATION_SEC) -> str:
    """The original loaders' glob, ``*_128_simulationRuns*_6_secDuration_*``; ``None`` accepts any value."""
    runs = f"_{num_simulations}_simulationRuns" if num_simulations is not None else "_simulationRuns"
    duration = f"_{sim_duration_sec}_secDuration_" if sim_duration_sec is not None else "_secDuration_"
    return f"*{runs}*{duration}*"


def find_dataset_files(folder: str | os.PathLike, num_simulations: int | None = DEFAULT_NUM_SIMULATIONS,
                       sim_duration_sec: int | None = DEFAULT_SIM_DURATION_SEC,
                       pattern: str | None = None) -> list[Path]:
    """Dataset files in ``folder`` (not recursive), sorted by name so every run sees the same order."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"dataset folder {folder} does not exist")
    pattern = pattern or dataset_glob_pattern(num_simulations, sim_duration_sec)
    return sorted(p for p in folder.glob(pattern) if p.is_file() and not p.name.startswith("."))


# ---------------------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------------------

def _spike_times_dict(spikes: Any, num_segments: int, duration_ms: int) -> dict:
    """``{numpy.int64 segment: [numpy.int64 ms, ...]}`` from a dict or a boolean (segments x ms) matrix,
    keeping only segments that fired, times ascending: the authors' layout."""
    if isinstance(spikes, np.ndarray):
        if spikes.shape != (num_segments, duration_ms):
            raise ValueError(f"input spike matrix has shape {spikes.shape}, expected {(num_segments, duration_ms)}")
        segments, times = np.nonzero(spikes)
        split_at = np.flatnonzero(np.diff(segments)) + 1
        return {np.int64(seg_times[0][0]): list(seg_times[1].astype(np.int64))
                for seg_times in zip(np.split(segments, split_at), np.split(times, split_at)) if len(seg_times[0])}
    result = {}
    for segment, times in sorted(((int(s), t) for s, t in spikes.items()), key=lambda item: item[0]):
        times = np.unique(np.asarray(times, dtype=np.float64))
        if times.size == 0:
            continue
        if not np.all(times == np.round(times)):
            raise ValueError(f"segment {segment}: input spike times must be whole milliseconds")
        if not 0 <= segment < num_segments or times[0] < 0 or times[-1] >= duration_ms:
            raise ValueError(f"segment {segment}: index or spike times outside [0, {num_segments}) x "
                             f"[0, {duration_ms}) ms")
        result[np.int64(segment)] = list(times.astype(np.int64))
    return result


def write_experiment_file(path: str | os.PathLike, params: Mapping[str, Any],
                          simulations: Sequence[Mapping[str, Any]],
                          output_spike_dtype: Any = np.float32) -> Path:
    """Write one dataset file in the authors' format (§13), atomically.

    ``params``: the ``Params`` dict (§13.2). ``numSimulations`` and ``collectAndSaveDVTs`` are filled in when
    absent and checked when present; ``allSegmentsType`` (if given) sets the number of segments (else 639).

    ``simulations``: one dict per simulation with at least
      - ``somaVoltageLowRes``: soma voltage at every ms (length T), mV;
      - ``exInputSpikeTimes`` / ``inhInputSpikeTimes``: a dict {segment: spike times in whole ms} or a bool
        matrix (segments x T);
      - ``outputSpikeTimes``: somatic spike times, ms;
    and optionally ``nexusVoltageLowRes``, ``somaVoltageHighRes``, ``nexusVoltageHighRes`` (8 samples/ms),
    ``dendriticVoltagesLowRes`` (segments x T), ``recordingTimeLowRes``/``recordingTimeHighRes`` (made from T
    when absent). Everything is converted to the format's dtypes: float16 voltages, float32 times, numpy
    int64 spike dicts; output spike times as ``output_spike_dtype`` (float32 here; the authors used float16).

    Returns the path written. Use ``dataset_file_name(params)`` for the original's file name.
    """
    path = Path(path)
    params = dict(params)
    num_segments = len(params["allSegmentsType"]) if "allSegmentsType" in params else NUM_SEGMENTS
    if not simulations:
        raise ValueError("write_experiment_file needs at least one simulation")
    if params.setdefault("numSimulations", len(simulations)) != len(simulations):
        raise ValueError(f"Params['numSimulations'] = {params['numSimulations']} but {len(simulations)} "
                         "simulations were given")
    has_dvt = ["dendriticVoltagesLowRes" in sim for sim in simulations]
    if any(has_dvt) and not all(has_dvt):
        raise ValueError("dendriticVoltagesLowRes must be given for all simulations or for none")
    if params.setdefault("collectAndSaveDVTs", all(has_dvt)) != all(has_dvt):
        raise ValueError(f"Params['collectAndSaveDVTs'] = {params['collectAndSaveDVTs']} disagrees with the "
                         "presence of dendriticVoltagesLowRes in the simulations")

    converted = []
    for index, sim in enumerate(simulations):
        missing = [key for key in REQUIRED_SIMULATION_KEYS if key not in sim]
        if missing:
            raise ValueError(f"simulation {index} lacks {missing}")
        out = {key: np.asarray(sim[key], dtype=np.float16) for key in FLOAT16_TRACE_KEYS if key in sim}
        duration_ms = len(out["somaVoltageLowRes"])
        out["recordingTimeLowRes"] = np.asarray(sim.get("recordingTimeLowRes", np.arange(duration_ms)),
                                                dtype=np.float32)
        if "somaVoltageHighRes" in out or "recordingTimeHighRes" in sim:
            out["recordingTimeHighRes"] = np.asarray(
                sim.get("recordingTimeHighRes",
                        np.arange(duration_ms * HIGH_RES_SAMPLES_PER_MS) / HIGH_RES_SAMPLES_PER_MS),
                dtype=np.float32)
        for key in ("exInputSpikeTimes", "inhInputSpikeTimes"):
            try:
                out[key] = _spike_times_dict(sim[key], num_segments, duration_ms)
            except ValueError as error:
                raise ValueError(f"simulation {index}, {key}: {error}") from None
        out["outputSpikeTimes"] = np.sort(np.asarray(sim["outputSpikeTimes"], dtype=np.float64)).astype(
            output_spike_dtype)
        if "dendriticVoltagesLowRes" in sim:
            dvt = np.asarray(sim["dendriticVoltagesLowRes"], dtype=np.float16)
            if dvt.shape != (num_segments, duration_ms):
                raise ValueError(f"simulation {index}: dendriticVoltagesLowRes has shape {dvt.shape}, "
                                 f"expected {(num_segments, duration_ms)}")
            out["dendriticVoltagesLowRes"] = dvt
        converted.append(out)

    experiment = {"Params": params, "Results": {"listOfSingleSimulationDicts": converted}}
    with utils.atomic_write(path, "wb") as handle:
        pickle.dump(experiment, handle, protocol=2)
    log.info("wrote %d simulations to %s", len(converted), path)
    return path


# ---------------------------------------------------------------------------------------------------------
# Reading and validation
# ---------------------------------------------------------------------------------------------------------

_ALLOWED_GLOBALS = {
    "numpy": {"ndarray", "dtype"},
    "numpy.core.multiarray": {"_reconstruct", "scalar"},
    "numpy._core.multiarray": {"_reconstruct", "scalar"},
    "numpy.core.numeric": {"_frombuffer"},
    "numpy._core.numeric": {"_frombuffer"},
    "_codecs": {"encode"},
    "copy_reg": {"_reconstructor"},
    "copyreg": {"_reconstructor"},
    # protocol 2 from Python 3 names builtins "__builtin__"; an empty array's data is __builtin__.bytes()
    "__builtin__": {"set", "frozenset", "object", "list", "dict", "tuple", "long", "int", "float", "complex",
                    "bool", "str", "unicode", "bytes", "bytearray"},
    "builtins": {"set", "frozenset", "object", "list", "dict", "tuple", "int", "float", "complex", "bool",
                 "str", "bytes", "bytearray"},
}


class _DatasetUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if name in _ALLOWED_GLOBALS.get(module, ()):
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"it refers to {module}.{name}, which a simulation dataset never contains")


def _load_pickle(path: Path) -> Any:
    try:
        with open(path, "rb") as handle:
            # latin1 decodes the Python-2 str payloads of numpy arrays and scalars byte for byte
            return _DatasetUnpickler(handle, encoding="latin1").load()
    except FileNotFoundError:
        raise FileNotFoundError(f"dataset file {path} does not exist") from None
    except EOFError:
        raise DatasetFormatError(path, "the pickle ends early (truncated or still being written)") from None
    except (pickle.UnpicklingError, ValueError, TypeError, AttributeError, ImportError, KeyError,
            IndexError, UnicodeDecodeError, MemoryError) as error:
        if "truncated" in str(error):
            raise DatasetFormatError(path, "the pickle ends early (truncated or still being written)") from None
        raise DatasetFormatError(path, f"not a simulation dataset pickle ({type(error).__name__}: {error})") from None


def read_experiment_file(path: str | os.PathLike) -> dict:
    """Load and validate one dataset file; returns the ``experimentDict``.

    Raises ``DatasetFormatError`` (naming the file and the problem) for a file that is not a pickle, is
    truncated, holds something else, lacks a key or has arrays of the wrong shape."""
    path = Path(path)
    experiment = _load_pickle(path)
    validate_experiment(experiment, path)
    return experiment


def num_segments_of(experiment: Mapping[str, Any]) -> int:
    params = experiment.get("Params", {})
    return len(params["allSegmentsType"]) if "allSegmentsType" in params else NUM_SEGMENTS


def validate_experiment(experiment: Any, path: str | os.PathLike = "<memory>") -> None:
    if not isinstance(experiment, dict) or not {"Params", "Results"} <= set(experiment):
        found = sorted(map(str, experiment))[:8] if isinstance(experiment, dict) else type(experiment).__name__
        raise DatasetFormatError(path, f"expected a dict with keys 'Params' and 'Results', found {found}")
    results = experiment["Results"]
    if not isinstance(results, dict) or "listOfSingleSimulationDicts" not in results:
        raise DatasetFormatError(path, "'Results' lacks 'listOfSingleSimulationDicts'")
    simulations = results["listOfSingleSimulationDicts"]
    if not isinstance(simulations, list) or not simulations:
        raise DatasetFormatError(path, "'listOfSingleSimulationDicts' is empty or not a list")
    num_segments = num_segments_of(experiment)
    duration_ms = None
    for index, sim in enumerate(simulations):
        if not isinstance(sim, dict):
            raise DatasetFormatError(path, f"simulation {index} is a {type(sim).__name__}, not a dict")
        missing = [key for key in REQUIRED_SIMULATION_KEYS if key not in sim]
        if missing:
            raise DatasetFormatError(path, f"simulation {index} lacks the keys {missing}")
        soma = sim["somaVoltageLowRes"]
        if not isinstance(soma, np.ndarray) or soma.ndim != 1:
            raise DatasetFormatError(path, f"simulation {index}: somaVoltageLowRes is not a 1-D array")
        duration_ms = duration_ms or len(soma)
        if len(soma) != duration_ms:
            raise DatasetFormatError(path, f"simulation {index}: somaVoltageLowRes has {len(soma)} samples, "
                                           f"simulation 0 has {duration_ms}")
        for key in ("exInputSpikeTimes", "inhInputSpikeTimes"):
            if not isinstance(sim[key], dict):
                raise DatasetFormatError(path, f"simulation {index}: {key} is a {type(sim[key]).__name__}, "
                                               "expected a dict {segment: spike times}")
        if "dendriticVoltagesLowRes" in sim:
            dvt = sim["dendriticVoltagesLowRes"]
            if not isinstance(dvt, np.ndarray) or dvt.shape != (num_segments, duration_ms):
                shape = getattr(dvt, "shape", type(dvt).__name__)
                raise DatasetFormatError(path, f"simulation {index}: dendriticVoltagesLowRes has shape {shape}, "
                                               f"expected {(num_segments, duration_ms)}")


# ---------------------------------------------------------------------------------------------------------
# Canonical tensors, vectorised
# ---------------------------------------------------------------------------------------------------------

def _flatten_spike_dict(spikes: Mapping, path, index: int, key: str, num_segments: int,
                        duration_ms: int) -> tuple[np.ndarray, np.ndarray]:
    lengths = np.fromiter((len(times) for times in spikes.values()), dtype=np.int64, count=len(spikes))
    segments = np.repeat(np.fromiter(spikes.keys(), dtype=np.int64, count=len(spikes)), lengths)
    times = np.fromiter(itertools.chain.from_iterable(spikes.values()), dtype=np.float64, count=int(lengths.sum()))
    if segments.size and (segments.min() < 0 or segments.max() >= num_segments):
        raise DatasetFormatError(path, f"simulation {index}: {key} has segment indices outside [0, {num_segments})")
    if times.size and (times.min() < 0 or times.max() >= duration_ms or np.any(times != np.floor(times))):
        raise DatasetFormatError(path, f"simulation {index}: {key} has spike times that are not whole ms "
                                       f"in [0, {duration_ms})")
    return segments, times.astype(np.int64)


@dataclass
class SparseInputs:
    """Input events of one file in compressed-row form over (simulation, ms): the channels active in ms ``t``
    of simulation ``s`` are ``channels[row_ptr[s*T + t] : row_ptr[s*T + t + 1]]``."""
    events_per_ms: np.ndarray   # (n_sims, T) uint16
    channels: np.ndarray        # (n_events,) int16, sorted by (simulation, ms, channel)
    num_channels: int

    @property
    def num_simulations(self) -> int:
        return self.events_per_ms.shape[0]

    @property
    def duration_ms(self) -> int:
        return self.events_per_ms.shape[1]

    @property
    def row_ptr(self) -> np.ndarray:
        if getattr(self, "_row_ptr", None) is None:
            self._row_ptr = np.concatenate([[0], np.cumsum(self.events_per_ms.ravel(), dtype=np.int64)])
        return self._row_ptr

    def fill_windows(self, out: np.ndarray, sim_indices: Sequence[int], end_times: Sequence[int]) -> np.ndarray:
        """Write the windows ``[t_end - W, t_end)`` of the given simulations into ``out`` (batch, W, channels),
        which must be zeroed by the caller (so that its dtype is the caller's choice)."""
        window = out.shape[1]
        row_ptr = self.row_ptr
        for row, (sim, t_end) in enumerate(zip(sim_indices, end_times)):
            first_row = sim * self.duration_ms + t_end - window
            start, stop = row_ptr[first_row], row_ptr[first_row + window]
            counts = self.events_per_ms[sim, t_end - window:t_end]
            out[row, np.repeat(np.arange(window), counts), self.channels[start:stop]] = 1
        return out

    def dense(self, sim_indices: Sequence[int] | None = None) -> np.ndarray:
        """Boolean X of shape (n, T, channels) for the chosen simulations (all by default)."""
        sims = range(self.num_simulations) if sim_indices is None else sim_indices
        X = np.zeros((len(sims), self.duration_ms, self.num_channels), dtype=bool)
        return self.fill_windows(X, list(sims), [self.duration_ms] * len(sims))


def sparse_inputs(experiment: Mapping[str, Any], path: str | os.PathLike = "<memory>") -> SparseInputs:
    """Input events of every simulation, without ever building the dense matrix."""
    simulations = experiment["Results"]["listOfSingleSimulationDicts"]
    num_segments = num_segments_of(experiment)
    num_channels = 2 * num_segments
    duration_ms = len(simulations[0]["somaVoltageLowRes"])
    events_per_ms = np.zeros((len(simulations), duration_ms), dtype=np.int64)
    channel_chunks = []
    for index, sim in enumerate(simulations):
        ex_segments, ex_times = _flatten_spike_dict(sim["exInputSpikeTimes"], path, index, "exInputSpikeTimes",
                                                    num_segments, duration_ms)
        inh_segments, inh_times = _flatten_spike_dict(sim["inhInputSpikeTimes"], path, index,
                                                      "inhInputSpikeTimes", num_segments, duration_ms)
        keys = np.concatenate([ex_times * num_channels + ex_segments,
                               inh_times * num_channels + num_segments + inh_segments])
        keys = np.unique(keys)  # sorts by (ms, channel) and drops duplicate events: X is binary
        events_per_ms[index] = np.bincount(keys // num_channels, minlength=duration_ms)
        channel_chunks.append((keys % num_channels).astype(np.int16))
    if events_per_ms.max(initial=0) > np.iinfo(np.uint16).max:
        raise DatasetFormatError(path, "more than 65535 input events in one ms")
    return SparseInputs(events_per_ms.astype(np.uint16),
                        np.concatenate(channel_chunks) if channel_chunks else np.zeros(0, np.int16), num_channels)


def spike_bins(spike_times: np.ndarray, duration_ms: int) -> np.ndarray:
    """Indices of the 1-ms bins of output spikes, ``int(t - 0.5)`` as the original (truncation toward 0)."""
    bins = np.trunc(np.asarray(spike_times, dtype=np.float64) - 0.5).astype(np.int64)
    return np.clip(bins, 0, duration_ms - 1)


def spike_matrix(spike_times_per_sim: Sequence[np.ndarray], duration_ms: int) -> np.ndarray:
    y = np.zeros((len(spike_times_per_sim), duration_ms), dtype=bool)
    for index, times in enumerate(spike_times_per_sim):
        y[index, spike_bins(times, duration_ms)] = True
    return y


def soma_target(soma_mv: np.ndarray) -> np.ndarray:
    """The network's somatic target: voltage clipped at -55 mV, minus -67.7 mV (float32)."""
    return np.minimum(np.asarray(soma_mv, dtype=np.float32), SOMA_CLIP_MV) - np.float32(SOMA_BIAS_MV)


@dataclass
class CanonicalTensors:
    X: np.ndarray              # bool (n_sims, T, 2 * n_segments)
    y_spike: np.ndarray        # bool (n_sims, T)
    y_soma: np.ndarray         # float32 (n_sims, T): clipped at -55 mV, minus -67.7
    y_DVT: np.ndarray | None   # float16 (n_sims, T, n_segments): raw dendritic voltages, or None
    output_spike_times: list   # per simulation, ms


def canonical_tensors(experiment: Mapping[str, Any], path: str | os.PathLike = "<memory>",
                      with_dvt: bool = True) -> CanonicalTensors:
    """The §13.4 tensors of a whole file (dense: ~1 GB of X for 128 x 6 s; training uses the sparse cache)."""
    simulations = experiment["Results"]["listOfSingleSimulationDicts"]
    inputs = sparse_inputs(experiment, path)
    spikes = [np.asarray(sim["outputSpikeTimes"], dtype=np.float64) for sim in simulations]
    dvt = None
    if with_dvt and all("dendriticVoltagesLowRes" in sim for sim in simulations):
        dvt = np.stack([sim["dendriticVoltagesLowRes"].T for sim in simulations])
    return CanonicalTensors(X=inputs.dense(), y_spike=spike_matrix(spikes, inputs.duration_ms),
                            y_soma=soma_target(np.stack([sim["somaVoltageLowRes"] for sim in simulations])),
                            y_DVT=dvt, output_spike_times=spikes)


# ---------------------------------------------------------------------------------------------------------
# Compact cache
# ---------------------------------------------------------------------------------------------------------

class DVTTransform(Protocol):
    """What the cache needs from a dendritic-target transform (the training module's PCA)."""
    fingerprint: str

    def transform(self, dvt: np.ndarray) -> np.ndarray:
        """(T, n_segments) raw voltages -> (T, k) targets."""


@dataclass
class CachedFile:
    """One dataset file as training reads it."""
    source: Path
    inputs: SparseInputs
    soma_mv: np.ndarray                 # float16 (n_sims, T), raw somaVoltageLowRes
    output_spike_times: list            # float64 arrays per simulation
    has_dvt: bool
    dvt_targets: np.ndarray | None      # float16 (n_sims, T, k), transformed dendritic targets

    @property
    def num_simulations(self) -> int:
        return self.inputs.num_simulations

    @property
    def duration_ms(self) -> int:
        return self.inputs.duration_ms

    @property
    def y_spike(self) -> np.ndarray:
        if getattr(self, "_y_spike", None) is None:
            self._y_spike = spike_matrix(self.output_spike_times, self.duration_ms)
        return self._y_spike

    @property
    def y_soma(self) -> np.ndarray:
        if getattr(self, "_y_soma", None) is None:
            self._y_soma = soma_target(self.soma_mv)
        return self._y_soma


def _source_stamp(path: Path) -> np.ndarray:
    stat = path.stat()
    return np.array([CACHE_FORMAT_VERSION, stat.st_size, stat.st_mtime_ns], dtype=np.int64)


def default_cache_dir(source: Path) -> Path:
    """``.cache`` beside the data; a per-folder directory under ``data/cache`` when that folder is read-only
    (e.g. a mounted copy of the authors' data)."""
    folder = source.resolve().parent
    if os.access(folder, os.W_OK):
        return folder / CACHE_FOLDER_NAME
    digest = hashlib.sha1(str(folder).encode()).hexdigest()[:12]
    return paths.DATA_DIR / "cache" / f"{folder.name}_{digest}"


def cache_paths(source: str | os.PathLike, cache_dir: str | os.PathLike | None = None,
                dvt_fingerprint: str | None = None) -> tuple[Path, Path | None]:
    source = Path(source)
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir(source)
    base = folder / f"{source.name}.npz"
    dvt = folder / f"{source.name}.dvt_{dvt_fingerprint}.npz" if dvt_fingerprint else None
    return base, dvt


def _read_npz_if_fresh(path: Path, stamp: np.ndarray) -> dict | None:
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as npz:
            if not np.array_equal(npz["source_stamp"], stamp):
                return None
            return {key: npz[key] for key in npz.files}
    except (OSError, ValueError, KeyError, EOFError) as error:
        log.warning("ignoring unreadable cache %s (%s); it will be rebuilt", path, error)
        return None


def _write_npz(path: Path, **arrays) -> None:
    with utils.atomic_write(path, "wb") as handle:
        np.savez(handle, **arrays)


def _dvt_targets(experiment: Mapping[str, Any], dvt_transform: DVTTransform) -> np.ndarray:
    simulations = experiment["Results"]["listOfSingleSimulationDicts"]
    return np.stack([np.asarray(dvt_transform.transform(sim["dendriticVoltagesLowRes"].T), dtype=np.float16)
                     for sim in simulations])


def build_cache(source: str | os.PathLike, cache_dir: str | os.PathLike | None = None,
                dvt_transform: DVTTransform | None = None, experiment: Mapping[str, Any] | None = None) -> Path:
    """Parse ``source`` (or use the already-read ``experiment``) and write its cache file(s)."""
    source = Path(source)
    if experiment is None:
        experiment = read_experiment_file(source)
    stamp = _source_stamp(source)
    base_path, dvt_path = cache_paths(source, cache_dir, dvt_transform.fingerprint if dvt_transform else None)
    simulations = experiment["Results"]["listOfSingleSimulationDicts"]
    inputs = sparse_inputs(experiment, source)
    spike_times = [np.asarray(sim["outputSpikeTimes"], dtype=np.float64) for sim in simulations]
    has_dvt = all("dendriticVoltagesLowRes" in sim for sim in simulations)
    _write_npz(base_path, source_stamp=stamp, events_per_ms=inputs.events_per_ms, channels=inputs.channels,
               num_channels=np.int64(inputs.num_channels),
               soma_mv=np.stack([np.asarray(sim["somaVoltageLowRes"], dtype=np.float16) for sim in simulations]),
               spike_counts=np.array([len(t) for t in spike_times], dtype=np.int64),
               spike_times=np.concatenate(spike_times) if spike_times else np.zeros(0),
               has_dvt=np.bool_(has_dvt))
    if dvt_path is not None:
        if not has_dvt:
            raise DatasetFormatError(source, "has no dendriticVoltagesLowRes, so dendritic targets cannot be "
                                             "built (train without them: --num-dvt-components 0)")
        _write_npz(dvt_path, source_stamp=stamp, dvt_targets=_dvt_targets(experiment, dvt_transform))
    log.debug("cached %s in %s", source.name, base_path.parent)
    return base_path


def _is_fresh(path: Path | None, stamp: np.ndarray) -> bool:
    try:
        with np.load(path, allow_pickle=False) as npz:
            return np.array_equal(npz["source_stamp"], stamp)  # reads only this member
    except (OSError, ValueError, KeyError, EOFError):
        return False


def is_cached(source: str | os.PathLike, cache_dir: str | os.PathLike | None = None,
              dvt_fingerprint: str | None = None) -> bool:
    source = Path(source)
    stamp = _source_stamp(source)
    base_path, dvt_path = cache_paths(source, cache_dir, dvt_fingerprint)
    return _is_fresh(base_path, stamp) and (dvt_path is None or _is_fresh(dvt_path, stamp))


def load_cached(source: str | os.PathLike, cache_dir: str | os.PathLike | None = None,
                dvt_transform: DVTTransform | None = None) -> CachedFile:
    """The file's training arrays, from its cache (built first if missing or stale)."""
    source = Path(source)
    stamp = _source_stamp(source)
    base_path, dvt_path = cache_paths(source, cache_dir, dvt_transform.fingerprint if dvt_transform else None)
    base = _read_npz_if_fresh(base_path, stamp)
    dvt = _read_npz_if_fresh(dvt_path, stamp) if dvt_path is not None else None
    if base is None or (dvt_path is not None and dvt is None):
        build_cache(source, cache_dir, dvt_transform)
        base = _read_npz_if_fresh(base_path, stamp)
        dvt = _read_npz_if_fresh(dvt_path, stamp) if dvt_path is not None else None
        if base is None:
            raise DatasetFormatError(source, f"its cache {base_path} could not be read back after writing it")
    split_at = np.cumsum(base["spike_counts"])[:-1]
    return CachedFile(source=source,
                      inputs=SparseInputs(base["events_per_ms"], base["channels"], int(base["num_channels"])),
                      soma_mv=base["soma_mv"], output_spike_times=np.split(base["spike_times"], split_at),
                      has_dvt=bool(base["has_dvt"]), dvt_targets=None if dvt is None else dvt["dvt_targets"])


def prepare_caches(sources: Iterable[str | os.PathLike], cache_dir: str | os.PathLike | None = None,
                   dvt_transform: DVTTransform | None = None) -> None:
    """Build every missing or stale cache up front, with a progress bar (parsing is the slow part)."""
    from tqdm.auto import tqdm

    fingerprint = dvt_transform.fingerprint if dvt_transform else None
    todo = [Path(s) for s in sources if not is_cached(s, cache_dir, fingerprint)]
    if not todo:
        return
    log.info("building the cache of %d dataset file(s) (once per file)", len(todo))
    for source in tqdm(todo, desc="caching dataset files", unit="file"):
        build_cache(source, cache_dir, dvt_transform)


# ---------------------------------------------------------------------------------------------------------
# Synthetic data (tests, benchmarks, smoke runs; not physiology)
# ---------------------------------------------------------------------------------------------------------

def make_synthetic_experiment(num_simulations: int = 4, duration_ms: int = 2000, num_segments: int = NUM_SEGMENTS,
                              with_dvt: bool = True, seed: int = 0, excitatory_rate_hz: float = 12.5,
                              inhibitory_rate_hz: float = 9.7) -> tuple[dict, list[dict]]:
    """``(params, simulations)`` for ``write_experiment_file``: Poisson inputs at the paper's typical rates and
    a leaky integrator standing in for the neuron, so that a network has something learnable. Output spikes
    are the local maxima of the drive above its 99.7th percentile (at least 10 ms apart)."""
    from scipy.signal import lfilter

    rng = np.random.default_rng(seed)
    decay = np.exp(-1.0 / 15.0)  # 15-ms membrane-like time constant
    segment_gain = rng.uniform(0.5, 1.5, num_segments)
    simulations = []
    for _ in range(num_simulations):
        ex = rng.random((num_segments, duration_ms)) < excitatory_rate_hz / 1000.0
        inh = rng.random((num_segments, duration_ms)) < inhibitory_rate_hz / 1000.0
        local_drive = segment_gain[:, None] * (ex.astype(np.float32) - 0.8 * inh)
        local = lfilter([1.0 - decay], [1.0, -decay], local_drive, axis=1).astype(np.float32)
        soma = -72.0 + 1.5 * local.sum(axis=0) + rng.normal(0.0, 0.3, duration_ms)
        threshold = np.quantile(soma, 0.997)
        peaks = np.flatnonzero((soma[1:-1] > soma[:-2]) & (soma[1:-1] >= soma[2:]) & (soma[1:-1] > threshold)) + 1
        kept = []
        for peak in peaks:
            if not kept or peak - kept[-1] >= 10:
                kept.append(peak)
        spike_times = np.asarray(kept, dtype=np.float64) + 0.625  # AP peak a little after the bin start
        sim = {"somaVoltageLowRes": soma, "nexusVoltageLowRes": soma + 2.0,
               "exInputSpikeTimes": ex, "inhInputSpikeTimes": inh, "outputSpikeTimes": spike_times}
        if with_dvt:
            sim["dendriticVoltagesLowRes"] = (soma[None, :] + 40.0 * local).astype(np.float16)
        simulations.append(sim)
    total_spikes = int(sum(len(sim["outputSpikeTimes"]) for sim in simulations))
    num_basal = int(round(num_segments * 262 / NUM_SEGMENTS))
    params = {
        "randomSeed": seed, "numSimulations": num_simulations,
        "totalSimDurationInSec": max(1, duration_ms // 1000), "collectAndSaveDVTs": with_dvt,
        "numSamplesPerMS_HighRes": HIGH_RES_SAMPLES_PER_MS, "excitatorySynapseType": "synthetic",
        "inhibitorySynapseType": "synthetic", "useActiveDendrites": True, "Ih_vshift": 0,
        "num_bas_ex_spikes_per_100ms_range": [0, 800], "num_bas_ex_inh_spike_diff_per_100ms_range": [-600, 200],
        "num_apic_ex_spikes_per_100ms_range": [0, 800], "num_apic_ex_inh_spike_diff_per_100ms_range": [-600, 200],
        "allSegmentsType": ["basal"] * num_basal + ["apical"] * (num_segments - num_basal),
        "numOutputSpikesPerSim": [len(sim["outputSpikeTimes"]) for sim in simulations],
        "totalNumOutputSpikes": total_spikes,
        "totalNumSimulationSeconds": num_simulations * duration_ms // 1000,
        "averageOutputFrequency": total_spikes / (num_simulations * duration_ms / 1000.0),
    }
    return params, simulations
