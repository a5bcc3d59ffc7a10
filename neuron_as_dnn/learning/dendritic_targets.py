"""Dendritic targets: the 639 dendritic voltages reduced to a few whitened principal components.

Voltages are clipped from above at +2 mV (so the fit follows synaptic and NMDA events rather than
back-propagating action potentials and Ca2+ spikes), projected on the leading components, whitened and
clipped to +-3; ``inverse_transform`` maps network outputs back to (clipped) voltages. Unlike the
original, the fitted PCA is saved with every model. See ``docs/training.md`` (Dendritic targets).
"""
from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from neuron_as_dnn.data import cache, dataset

log = logging.getLogger(__name__)


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

    def inverse_transform(self, components: np.ndarray) -> np.ndarray:
        """(..., k) whitened components (e.g. the ``dendritic`` head's output) -> (..., n_segments) voltages in mV
        (float32). Exact for voltages below the +input_clip_mv clip whose components were not clipped, when k
        equals the number of segments; otherwise the best k-component approximation."""
        scaled = np.asarray(components, dtype=np.float64) * np.sqrt(self.explained_variance)
        return (self.mean + scaled @ self.components).astype(np.float32)

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
        """From ``to_dict``'s output, also as read back from an ``.npz`` (scalars as 0-d arrays)."""
        fields = {key: values[key] for key in cls.__dataclass_fields__ if key in values}
        for key, kind in (("input_clip_mv", float), ("output_clip", float), ("num_samples", int)):
            if key in fields:
                fields[key] = kind(fields[key])
        if "fitted_on" in fields:
            fields["fitted_on"] = [str(f) for f in np.atleast_1d(fields["fitted_on"])]
        return cls(**fields)


def fit_dvt_pca_on_files(files: Sequence[Path], num_components: int, input_clip_mv: float = 2.0,
                         output_clip: float = 3.0, cache_dir: str | os.PathLike | None = None) -> DVTPCA:
    """Fit the PCA on every simulation of ``files`` (the original used the first training file); the last
    file's cache is built from the same parse, which saves reading it twice when there is one file."""
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
