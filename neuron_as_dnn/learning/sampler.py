"""The training-window sampler: random (simulation, end time) windows from a rotating subset of dataset files.

As the original: windows of ``window_size`` ms ending at or after 500 ms, ``batches_per_file`` consecutive
batches from one file before moving to the next, a new random subset of files every epoch. Unlike it, files
are read through the compact cache (``cache``), at most ``max_files_in_memory`` are held, and the draws of a
batch depend only on (seed, epoch, batch index). See ``docs/training.md`` (Window sampler).
"""
from __future__ import annotations

import collections
import os
import threading
from pathlib import Path
from typing import Sequence

import keras
import numpy as np

from neuron_as_dnn.data import cache, dataset
from neuron_as_dnn.learning.dendritic_targets import DVTPCA


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

    def position(self) -> dict:
        """Where the draws stand: (seed, epoch) decide every file and window still to come."""
        return {"seed": self.seed, "epoch": self.epoch}

    def move_to(self, position: dict) -> None:
        """Continue the draws of a sampler whose ``position()`` this was: a resumed run draws the windows the
        uninterrupted one would have drawn."""
        self.seed, self.epoch = int(position["seed"]), int(position["epoch"])
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
