"""Synthetic simulation files for tests, benchmarks and smoke runs (not physiology).

Poisson inputs at the paper's typical rates drive a leaky integrator standing in for the neuron, so a
network has something learnable; the result is written in the authors' format by
``dataset.write_experiment_file`` like a real simulation.
"""
from __future__ import annotations

import numpy as np

from neuron_as_dnn.data.dataset import HIGH_RES_SAMPLES_PER_MS, NUM_SEGMENTS


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


def write_synthetic_files(folder, seeds, num_simulations: int = 4, duration_ms: int = 2000, **options) -> list:
    """One synthetic dataset file per seed in ``folder``, under the authors' file names; ``options`` go to
    ``make_synthetic_experiment`` (``with_dvt``, ``num_segments``, ...)."""
    from pathlib import Path

    from neuron_as_dnn.data import dataset

    paths = []
    for seed in seeds:
        params, simulations = make_synthetic_experiment(num_simulations, duration_ms, seed=seed, **options)
        paths.append(dataset.write_experiment_file(Path(folder) / dataset.dataset_file_name(params), params,
                                                   simulations))
    return paths
