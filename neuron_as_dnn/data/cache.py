"""A compact cache of each dataset file, built once, from which training and evaluation read.

Parsing a 128-simulation pickle costs tens of seconds, mostly unpickling ~10 million numpy integer scalars.
``load_cached`` therefore parses each file once into an ``.npz`` (sparse input events, raw soma voltage,
output spike times) in a ``.cache`` folder beside it, or under ``data/cache/`` when that folder is
read-only, and reads that afterwards. A cache remembers the source's size and modification time and is
rebuilt when they change. Dendritic targets (transformed by a PCA) are cached in a second file keyed by
the transform's fingerprint, so a new PCA never reuses stale targets. See ``docs/dataset_format.md``.
"""
from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Protocol

import numpy as np

from neuron_as_dnn import paths, utils
from neuron_as_dnn.data.dataset import (DatasetFormatError, SparseInputs, read_experiment_file, soma_target,
                                        sparse_inputs, spike_matrix)

log = logging.getLogger(__name__)

CACHE_FORMAT_VERSION = 1
CACHE_FOLDER_NAME = ".cache"


# ---------------------------------------------------------------------------------------------------------

class DVTTransform(Protocol):
    """What the cache needs from a dendritic-target transform (``dendritic_targets.DVTPCA``)."""
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
                   dvt_transform: DVTTransform | None = None, progress: bool = True) -> None:
    """Build every missing or stale cache up front, with a progress bar (parsing is the slow part)."""
    from tqdm.auto import tqdm

    fingerprint = dvt_transform.fingerprint if dvt_transform else None
    todo = [Path(s) for s in sources if not is_cached(s, cache_dir, fingerprint)]
    if not todo:
        return
    log.info("building the cache of %d dataset file(s) (once per file)", len(todo))
    for source in tqdm(todo, desc="caching dataset files", unit="file", disable=None if progress else True):
        build_cache(source, cache_dir, dvt_transform)
