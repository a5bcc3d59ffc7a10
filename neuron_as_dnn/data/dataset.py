"""The authors' simulation dataset files, both directions: naming, writing, reading, validating, and the
canonical tensors every stage derives from them.

The format is described in ``docs/dataset_format.md``: one pickle (protocol 2) of
``{'Params': {...}, 'Results': {'listOfSingleSimulationDicts': [sim, ...]}}``. Each ``sim`` holds float16
voltage traces, float32 time vectors, the input spike times as ``{numpy.int64 segment: [numpy.int64 ms]}``
and the output spike times (float16 in the authors' files, float32 in ours, which removes the up-to-2-ms
quantisation of float16 late in the trace). ``dendriticVoltagesLowRes`` (segments x ms, float16) is optional.

Canonical tensors, time-major because that is the model's input layout:

- ``X[sim, t, c]`` (bool, ``(n_sims, T, 2 * n_segments)``): c = segment for excitatory events,
  ``n_segments + segment`` for inhibitory ones;
- ``y_spike[sim, t]`` = 1 at ``t = int(t_spike - 0.5)``;
- ``y_soma[sim, t]`` = ``min(somaVoltageLowRes, -55) - (-67.7)``;
- ``y_DVT`` (raw dendritic voltages; ``dendritic_targets`` whitens them with a PCA).

Files are unpickled with ``safe_pickle`` (numpy arrays and scalars in builtin containers only), so a
foreign file cannot run code. Training and evaluation read files through the compact cache of ``cache``.
"""
from __future__ import annotations

import collections
import functools
import itertools
import logging
import os
import pickle
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from neuron_as_dnn import safe_pickle, utils
from neuron_as_dnn.errors import FileContentError, MissingFileError, UserError
from neuron_as_dnn.simulation.simulator import HIGH_RES_SAMPLES_PER_MS, SOMA_CLIP_MV  # noqa: F401 (the format's)

log = logging.getLogger(__name__)

SYNAPSE_TYPES = ("NMDA", "AMPA", "AMPA_SK")  # the datasets' synapse presets (folder names), in plotting order
SPLITS = ("train", "valid", "test")
NUM_SEGMENTS = 639                      # L5PC: 262 basal + 377 apical segments
NUM_INPUT_CHANNELS = 2 * NUM_SEGMENTS   # excitatory then inhibitory
SOMA_BIAS_MV = -67.7                    # subtracted from the clipped soma voltage: the network predicts V + 67.7
IGNORE_FIRST_MS = 500                   # initial transient and input-rate edge effects (docs/evaluation.md)
DEFAULT_NUM_SIMULATIONS = 128
DEFAULT_SIM_DURATION_SEC = 6

REQUIRED_SIMULATION_KEYS = ("somaVoltageLowRes", "exInputSpikeTimes", "inhInputSpikeTimes", "outputSpikeTimes")
FLOAT16_TRACE_KEYS = ("somaVoltageHighRes", "nexusVoltageHighRes", "somaVoltageLowRes", "nexusVoltageLowRes")


class DatasetFormatError(FileContentError):
    """A file is not a simulation dataset of the expected format; the message names the file and the problem."""


# ---------------------------------------------------------------------------------------------------------
# File names and discovery
# ---------------------------------------------------------------------------------------------------------

def input_ranges_name(bas_ex, bas_inh_diff, apic_ex, apic_inh_diff) -> str:
    """``exBas_0_800_inhBasDiff_-600_200__exApic_0_800_inhApicDiff_-600_200``: a file name's input rate ranges."""
    low_high = ["_".join(str(int(v)) for v in pair) for pair in (bas_ex, bas_inh_diff, apic_ex, apic_inh_diff)]
    return "exBas_{}_inhBasDiff_{}__exApic_{}_inhApicDiff_{}".format(*low_high)


def dataset_file_name(params: Mapping[str, Any]) -> str:
    """The original file name (docs/dataset_format.md) built from a ``Params`` dict, e.g.
    ``exBas_0_800_inhBasDiff_-600_200__exApic_0_800_inhApicDiff_-600_200__saved_InputSpikes_DVTs__
    1234_outSpikes__128_simulationRuns__6_secDuration__randomSeed_42.p`` (one line)."""
    needed = ("num_bas_ex_spikes_per_100ms_range", "num_bas_ex_inh_spike_diff_per_100ms_range",
              "num_apic_ex_spikes_per_100ms_range", "num_apic_ex_inh_spike_diff_per_100ms_range",
              "collectAndSaveDVTs", "totalNumOutputSpikes", "numSimulations", "totalSimDurationInSec",
              "randomSeed")
    missing = [key for key in needed if key not in params]
    if missing:
        raise KeyError(f"dataset_file_name needs these Params keys: {missing}")

    dvts = "DVTs" if params["collectAndSaveDVTs"] else ""
    return (input_ranges_name(*(params[key] for key in needed[:4]))
            + f"__saved_InputSpikes_{dvts}__{int(params['totalNumOutputSpikes'])}_outSpikes"
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
        raise MissingFileError(f"dataset folder {folder} does not exist")
    pattern = pattern or dataset_glob_pattern(num_simulations, sim_duration_sec)
    files = sorted(p for p in folder.glob(pattern) if p.is_file() and not p.name.startswith("."))
    check_one_dataset(folder, files)
    return files


# the name's input rate ranges tell the synapse presets apart (NMDA 0_800, AMPA 0_1900, ...); other ranges (the
# authors' files, custom runs) name no preset and are not compared
_INPUT_RANGES_IN_NAME = re.compile(r"^(exBas_.*?)__saved_InputSpikes")
_DURATION_IN_NAME = re.compile(r"_(\d+)_secDuration")


@functools.cache
def _presets_by_ranges() -> dict[str, str]:
    from neuron_as_dnn.data.dataset_generation import PRESETS, RANGE_KEYS  # it writes these files: it imports us

    return {input_ranges_name(*(preset[key] for key in RANGE_KEYS)): synapse_type
            for synapse_type, preset in PRESETS.items()}


def _name_parts(path: Path) -> tuple[str | None, int | None]:
    """(input rate ranges, duration in s) from a dataset file's name; None for what the name does not tell."""
    ranges, duration = _INPUT_RANGES_IN_NAME.match(path.name), _DURATION_IN_NAME.search(path.name)
    return ranges[1] if ranges else None, int(duration[1]) if duration else None


def check_one_dataset(folder: str | os.PathLike, files: Sequence[Path]) -> None:
    """UserError when ``files`` (of ``folder``) mix synapse presets or durations: every stage takes a folder as one
    dataset, and a mix would be explored, evaluated and trained on as if it were one."""
    named = collections.Counter(_name_parts(Path(path)) for path in files)
    if len({ranges for ranges, _ in named}) <= 1 and len({duration for _, duration in named}) <= 1:
        return  # the usual folder, told without importing the presets
    kinds = collections.Counter()
    for (ranges, duration), count in named.items():
        kinds[_presets_by_ranges().get(ranges), duration] += count
    synapse_types = {synapse_type for synapse_type, _ in kinds if synapse_type is not None}
    durations = {duration for _, duration in kinds if duration is not None}
    if len(synapse_types) > 1 or len(durations) > 1:
        found = "; ".join(f"{count} file(s) of {synapse_type or 'other inputs'}, {duration or '?'} s"
                          for (synapse_type, duration), count in sorted(kinds.items(), key=str))
        raise UserError(f"{folder} mixes datasets ({found}): a data folder holds one synapse type and one "
                        "duration; move the others into a folder of their own (fit_CNN.py can also pick one "
                        "duration and file size with --duration-sec and --num-simulations-per-file)")


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

def read_experiment_file(path: str | os.PathLike) -> dict:
    """Load and validate one dataset file; returns the ``experimentDict``.

    Raises ``DatasetFormatError`` (naming the file and the problem) for a file that is not a pickle, is
    truncated, holds something else, lacks a key or has arrays of the wrong shape."""
    path = Path(path)
    try:
        experiment = safe_pickle.load(path, "simulation dataset")
    except FileContentError as error:
        raise DatasetFormatError(error.path, error.problem) from None
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

    def csr(self, sim: int):
        """Simulation ``sim`` as a binary float32 scipy CSR matrix (T, channels), built from the events without
        a dense array (``sparse_prediction`` computes the first layer from it)."""
        import scipy.sparse

        first = sim * self.duration_ms
        rows = self.row_ptr[first:first + self.duration_ms + 1]
        matrix = scipy.sparse.csr_matrix(
            (np.ones(rows[-1] - rows[0], np.float32), self.channels[rows[0]:rows[-1]].astype(np.int32),
             rows - rows[0]), shape=(self.duration_ms, self.num_channels))
        matrix.sum_duplicates()
        matrix.data[:] = 1.0  # binary, as fill_windows writes them
        return matrix

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
    """The canonical tensors of a whole file (dense: ~1 GB of X for 128 x 6 s; training uses the sparse cache)."""
    simulations = experiment["Results"]["listOfSingleSimulationDicts"]
    inputs = sparse_inputs(experiment, path)
    spikes = [np.asarray(sim["outputSpikeTimes"], dtype=np.float64) for sim in simulations]
    dvt = None
    if with_dvt and all("dendriticVoltagesLowRes" in sim for sim in simulations):
        dvt = np.stack([sim["dendriticVoltagesLowRes"].T for sim in simulations])
    return CanonicalTensors(X=inputs.dense(), y_spike=spike_matrix(spikes, inputs.duration_ms),
                            y_soma=soma_target(np.stack([sim["somaVoltageLowRes"] for sim in simulations])),
                            y_DVT=dvt, output_spike_times=spikes)
