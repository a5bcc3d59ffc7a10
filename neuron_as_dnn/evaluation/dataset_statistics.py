"""The numbers behind ``dataset_exploration.py``: input, output and voltage statistics of a dataset folder.

What a folder of simulations looks like before any network sees it (the original's
``dataset_exploration.py``, which only drew figures):

- **inputs**: the rate of every synapse group (excitatory / inhibitory × basal / oblique / tuft, the
  subtrees of ``morphology_map``) in Hz per synapse, and the excitation / inhibition balance over time;
- **output**: spikes per simulation, firing rate, inter-spike intervals and their coefficient of variation,
  and the fraction of simulations each of the evaluation's spike-count filters keeps (docs/evaluation.md);
- **voltages**: the distributions of the 1-ms somatic and nexus voltages;
- **dendritic voltages** (when the files hold them): how each segment's voltage correlates with the soma's
  and with the other segments'.

Inputs, soma voltages and spikes come from every file through the compact cache (``cache.load_cached``),
so a 128-simulation file costs its parse once. The nexus and dendritic voltages are not in the cache: they
are read from the first file's pickle only, as the original did for its dendritic figure (the dendritic
voltages of its first ``MAX_DVT_SIMULATIONS`` simulations).
"""
from __future__ import annotations

import csv
import io
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
from scipy.ndimage import uniform_filter1d

from neuron_as_dnn import errors, utils
from neuron_as_dnn.data import cache, dataset
from neuron_as_dnn.evaluation import metrics
from neuron_as_dnn.simulation import morphology_map

log = logging.getLogger(__name__)

# Input groups, in the order of the ``group_counts`` axis: excitatory subtrees, then inhibitory ones.
GROUPS = tuple(f"{kind}_{subtree}" for kind in ("exc", "inh") for subtree in morphology_map.SUBTREES)
RATE_SMOOTHING_MS = 18        # the original's box for "instantaneous" input rates
BALANCE_WINDOW_MS = 100       # windows in which excitation, inhibition and output spikes are counted
VOLTAGE_PERCENTILES = (1, 5, 50, 95, 99)
# Dendritic voltages of this many simulations of the first file are kept: all 128 are 1 GB as float16 and
# 3.6 GB as the float64 their correlation needs; 8 simulations (44 s after 500 ms) give stable correlations.
MAX_DVT_SIMULATIONS = 8


@dataclass
class FolderData:
    """A dataset folder as exploration reads it (one row per simulation over all files, in file order)."""
    folder: Path
    files: list[Path]
    cached: list[cache.CachedFile]       # for the input events of single simulations
    group_counts: np.ndarray             # uint16 (n, T, 6): input events per ms in each of ``GROUPS``
    group_sizes: np.ndarray              # (6,) synapses per group
    soma_mv: np.ndarray                  # float32 (n, T), raw 1-ms soma voltage
    spike_times: list[np.ndarray]        # per simulation, ms
    first_file: dict = field(repr=False)  # Params, nexus (n1, T), dvt (n1, S, T) or None, of the first file

    @property
    def num_simulations(self) -> int:
        return len(self.soma_mv)

    @property
    def duration_ms(self) -> int:
        return self.soma_mv.shape[1]

    @property
    def spike_counts(self) -> np.ndarray:
        return np.array([len(t) for t in self.spike_times])

    def input_events(self, simulation: int) -> np.ndarray:
        """Bool (T, channels) input of one simulation (row of the folder)."""
        for cached in self.cached:
            if simulation < cached.num_simulations:
                return cached.inputs.dense([simulation])[0]
            simulation -= cached.num_simulations
        raise IndexError(simulation)


def channel_groups(num_segments: int) -> np.ndarray:
    """Index into ``GROUPS`` of each input channel (excitatory channels first, then inhibitory)."""
    try:
        subtrees = morphology_map.segment_subtrees(num_segments)
    except ValueError as error:
        raise errors.UserError(f"the synapse groups are defined for the L5PC's {morphology_map.NUM_SEGMENTS} "
                               f"segments ({error})") from None
    subtree_index = np.array([morphology_map.SUBTREES.index(s) for s in subtrees])
    return np.concatenate([subtree_index, subtree_index + len(morphology_map.SUBTREES)])


def group_event_counts(inputs: dataset.SparseInputs, groups_of_channel: np.ndarray) -> np.ndarray:
    """Input events per (simulation, ms, group), without building the dense input."""
    rows = np.repeat(np.arange(inputs.events_per_ms.size), inputs.events_per_ms.ravel())
    num_groups = int(groups_of_channel.max()) + 1
    counts = np.bincount(rows * num_groups + groups_of_channel[inputs.channels],
                         minlength=inputs.events_per_ms.size * num_groups)
    return counts.reshape(*inputs.events_per_ms.shape, num_groups).astype(np.uint16)


def _first_file_traces(path: Path) -> dict:
    experiment = dataset.read_experiment_file(path)
    simulations = experiment["Results"]["listOfSingleSimulationDicts"]
    has_dvt = all("dendriticVoltagesLowRes" in sim for sim in simulations)
    nexus = [sim.get("nexusVoltageLowRes") for sim in simulations]
    return {"path": path, "params": experiment["Params"],
            "nexus_mv": np.stack(nexus).astype(np.float32) if all(v is not None for v in nexus) else None,
            "dvt_mv": np.stack([sim["dendriticVoltagesLowRes"] for sim in simulations[:MAX_DVT_SIMULATIONS]])
            if has_dvt else None}


def load_folder(folder: str | os.PathLike, max_files: int | None = None,
                cache_dir: str | os.PathLike | None = None, progress: bool = True) -> FolderData:
    """The files of ``folder`` (any simulation count and duration, sorted by name; the first ``max_files``)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise errors.MissingFileError(f"the data folder {folder} does not exist; write one with "
                                      "simulate_L5PC_and_create_dataset.py or point --data-dir at one")
    files = dataset.find_dataset_files(folder, None, None)
    if max_files is not None:
        if max_files < 1:
            raise errors.bad_parameter("max_files", f"must be at least 1, got {max_files}")
        files = files[:max_files]
    if not files:
        raise errors.MissingFileError(f"no dataset files (*_simulationRuns*_secDuration_*) in {folder}")
    cache.prepare_caches(files, cache_dir, progress=progress)
    cached = [cache.load_cached(path, cache_dir) for path in files]
    durations = {c.duration_ms for c in cached}
    if len(durations) > 1:
        raise errors.UserError(f"the files of {folder} have different durations ({sorted(durations)} ms); "
                               "explore them separately (--max-files)")
    groups = channel_groups(cached[0].inputs.num_channels // 2)
    log.info("exploring %d simulations of %d file(s) in %s", sum(c.num_simulations for c in cached), len(files),
             folder)
    return FolderData(folder=folder, files=files, cached=cached,
                      group_counts=np.concatenate([group_event_counts(c.inputs, groups) for c in cached]),
                      group_sizes=np.bincount(groups, minlength=len(GROUPS)),
                      soma_mv=np.concatenate([c.soma_mv.astype(np.float32) for c in cached]),
                      spike_times=[t for c in cached for t in c.output_spike_times],
                      first_file=_first_file_traces(files[0]))


# ---------------------------------------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------------------------------------

def per_synapse_rates_hz(group_counts: np.ndarray, group_sizes: np.ndarray) -> np.ndarray:
    """(n, 6): the mean rate of one synapse of each group in each simulation, Hz."""
    return group_counts.sum(axis=1) / group_counts.shape[1] * 1000.0 / group_sizes


def smoothed_rates_hz(counts_per_ms: np.ndarray, box_ms: int = RATE_SMOOTHING_MS, per: float = 1.0) -> np.ndarray:
    """Events per ms (time on the last axis) as a rate in Hz, box-smoothed; ``per``: divide by a synapse count
    to get the rate of one synapse."""
    return uniform_filter1d(np.asarray(counts_per_ms, dtype=float), box_ms, axis=-1, mode="nearest") * 1000.0 / per


def windowed_counts(data: FolderData, window_ms: int = BALANCE_WINDOW_MS) -> dict:
    """Excitatory and inhibitory input events and output spikes in consecutive windows after the first
    500 ms of every simulation (flattened over simulations): the balance scatter's points."""
    start = dataset.IGNORE_FIRST_MS
    num_windows = (data.duration_ms - start) // window_ms
    stop = start + num_windows * window_ms
    half = len(morphology_map.SUBTREES)
    spikes = dataset.spike_matrix(data.spike_times, data.duration_ms)

    def per_window(per_ms):
        return per_ms[:, start:stop].reshape(len(per_ms), num_windows, window_ms).sum(axis=2).ravel()

    counts = data.group_counts.astype(np.int64)
    return {"window_ms": window_ms, "exc": per_window(counts[..., :half].sum(axis=2)),
            "inh": per_window(counts[..., half:].sum(axis=2)), "output_spikes": per_window(spikes.astype(np.int64))}


# ---------------------------------------------------------------------------------------------------------
# Output and voltages
# ---------------------------------------------------------------------------------------------------------

def inter_spike_intervals(spike_times: Sequence[np.ndarray]) -> np.ndarray:
    """All intervals between consecutive spikes of the same simulation, ms."""
    return np.concatenate([np.diff(np.sort(t)) for t in spike_times] + [np.zeros(0)])


def coefficient_of_variation(values: np.ndarray) -> float:
    """std / mean; NaN for fewer than two values (as ``Params['ISICV']`` with no interval)."""
    values = np.asarray(values, dtype=float)
    return float(values.std() / values.mean()) if len(values) >= 2 and values.mean() > 0 else float("nan")


def output_statistics(spike_times: Sequence[np.ndarray], duration_ms: int) -> dict:
    counts = np.array([len(t) for t in spike_times])
    isis = inter_spike_intervals(spike_times)
    per_sim_cv = [coefficient_of_variation(np.diff(np.sort(t))) for t in spike_times if len(t) >= 3]
    stats = {
        "num_simulations": len(counts), "duration_ms": int(duration_ms), "total_output_spikes": int(counts.sum()),
        "spikes_per_simulation_mean": float(counts.mean()), "spikes_per_simulation_median": float(np.median(counts)),
        "spikes_per_simulation_max": int(counts.max()),
        "fraction_of_simulations_without_spikes": float(np.mean(counts == 0)),
        "output_rate_hz_mean": float(counts.mean() / duration_ms * 1000.0),
        "output_rate_hz_std": float(counts.std() / duration_ms * 1000.0),
        "num_isis": len(isis), "isi_ms_median": float(np.median(isis)) if len(isis) else float("nan"),
        "isi_cv_all_intervals": coefficient_of_variation(isis),
        "isi_cv_per_simulation_mean": float(np.mean(per_sim_cv)) if per_sim_cv else float("nan"),
    }
    for key, (low, high) in metrics.SPIKE_COUNT_FILTERS.items():
        stats[f"fraction_kept_by_{key}"] = float(np.mean((counts >= low) & (counts <= high)))
    return stats


def voltage_statistics(voltage_mv: np.ndarray, name: str) -> dict:
    """Distribution of a voltage after the first 500 ms, mV."""
    values = np.asarray(voltage_mv, dtype=float)[..., dataset.IGNORE_FIRST_MS:].ravel()
    stats = {f"{name}_mV_mean": float(values.mean()), f"{name}_mV_std": float(values.std())}
    for q, value in zip(VOLTAGE_PERCENTILES, np.percentile(values, VOLTAGE_PERCENTILES)):
        stats[f"{name}_mV_p{q}"] = float(value)
    stats[f"{name}_fraction_above_{dataset.SOMA_CLIP_MV:g}mV"] = float(np.mean(values > dataset.SOMA_CLIP_MV))
    return stats


# ---------------------------------------------------------------------------------------------------------
# Dendritic voltages
# ---------------------------------------------------------------------------------------------------------

def dvt_correlations(dvt_mv: np.ndarray, soma_mv: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For the simulations of one file, after the first 500 ms: the (S, S) correlation matrix of the segments'
    voltages and the (S,) correlation of each segment with the soma (time points of all simulations pooled).
    A segment that never changes has correlation NaN."""
    start = dataset.IGNORE_FIRST_MS
    dvt = np.asarray(dvt_mv[..., start:], dtype=np.float64)               # (n, S, T')
    pooled = dvt.transpose(1, 0, 2).reshape(dvt.shape[1], -1)             # (S, n·T')
    soma = np.asarray(soma_mv[:, start:], dtype=np.float64).ravel()
    with np.errstate(invalid="ignore", divide="ignore"):
        matrix = np.corrcoef(np.vstack([pooled, soma]))
    return matrix[:-1, :-1], matrix[:-1, -1]


def dvt_statistics(matrix: np.ndarray, with_soma: np.ndarray) -> dict:
    subtrees = morphology_map.segment_subtrees(len(with_soma))
    stats = {"dvt_correlation_with_soma_mean": float(np.nanmean(with_soma)),
             "dvt_correlation_with_soma_min": float(np.nanmin(with_soma))}
    for i, first in enumerate(morphology_map.SUBTREES):
        stats[f"dvt_correlation_with_soma_{first}_mean"] = float(np.nanmean(with_soma[subtrees == first]))
        for second in morphology_map.SUBTREES[i:]:
            block = matrix[np.ix_(subtrees == first, subtrees == second)]
            if first == second:
                block = block[~np.eye(len(block), dtype=bool)]
            stats[f"dvt_correlation_{first}_{second}_mean"] = float(np.nanmean(block))
    return stats


# ---------------------------------------------------------------------------------------------------------
# The summary table
# ---------------------------------------------------------------------------------------------------------

def input_statistics(data: FolderData) -> dict:
    rates = per_synapse_rates_hz(data.group_counts, data.group_sizes)
    stats = {}
    for index, group in enumerate(GROUPS):
        stats[f"input_rate_hz_{group}_mean"] = float(rates[:, index].mean())
        stats[f"input_rate_hz_{group}_std"] = float(rates[:, index].std())
    half = len(morphology_map.SUBTREES)
    exc = data.group_counts[..., :half].sum(axis=(1, 2)).astype(float)
    inh = data.group_counts[..., half:].sum(axis=(1, 2)).astype(float)
    stats["inh_to_exc_event_ratio_mean"] = float(np.mean(inh / np.maximum(exc, 1)))
    windows = windowed_counts(data)
    if len(windows["exc"]) > 2:
        stats[f"exc_inh_correlation_{windows['window_ms']}ms_windows"] = float(
            np.corrcoef(windows["exc"], windows["inh"])[0, 1])
    return stats


def summarize(data: FolderData) -> dict:
    """Every statistic of the folder as one flat ``{name: value}`` table (units in the names)."""
    summary = {"data_dir": str(data.folder), "num_files": len(data.files)}
    summary.update(output_statistics(data.spike_times, data.duration_ms))
    summary.update(input_statistics(data))
    summary.update(voltage_statistics(data.soma_mv, "soma"))
    first = data.first_file
    summary["nexus_and_dvt_from_file"] = first["path"].name
    summary["dvt_simulations"] = 0 if first["dvt_mv"] is None else len(first["dvt_mv"])
    if first["nexus_mv"] is not None:
        summary.update(voltage_statistics(first["nexus_mv"], "nexus"))
    if first["dvt_mv"] is not None:
        num_first = len(first["dvt_mv"])
        summary.update(dvt_statistics(*dvt_correlations(first["dvt_mv"], data.soma_mv[:num_first])))
    return summary


def write_summary(out_dir: str | os.PathLike, summary: dict, stem: str = "summary") -> list[Path]:
    """``<stem>.json`` and ``<stem>.csv`` (columns statistic, value) in ``out_dir``, atomically."""
    out_dir = Path(out_dir)
    utils.write_json(out_dir / f"{stem}.json", summary)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["statistic", "value"])
    writer.writerows(summary.items())
    with utils.atomic_write(out_dir / f"{stem}.csv", "w") as handle:
        handle.write(buffer.getvalue())
    return [out_dir / f"{stem}.json", out_dir / f"{stem}.csv"]


def representative_simulation(spike_counts: Sequence[int], count_range: Sequence[int]) -> int:
    """The simulation whose spike count is closest to the median count of those with a count in the inclusive
    ``count_range`` (the first such on ties): a typical trace, chosen reproducibly. Without any simulation in
    the range, the one with the most spikes."""
    counts = np.asarray(spike_counts)
    eligible = np.flatnonzero((counts >= count_range[0]) & (counts <= count_range[1]))
    if not len(eligible):
        return int(np.argmax(counts))
    median = np.median(counts[eligible])
    return int(eligible[np.argmin(np.abs(counts[eligible] - median))])
