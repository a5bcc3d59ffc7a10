"""Figures of single L5PC simulations: the input raster with the somatic and nexus voltages.

The backend is the caller's choice: a script that only writes files selects Agg before drawing.
"""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from neuron_as_dnn.data import dataset
from neuron_as_dnn.figures import panels, style
from neuron_as_dnn.utils import save_figure


def spike_dict_events(spikes: dict) -> panels.Events:
    """``(times, rows)`` of an authors'-format spike dict ``{segment: [ms, ...]}``, for the input raster."""
    times = [np.asarray(t, dtype=float) for t in spikes.values()]
    rows = [np.full(len(t), int(segment)) for segment, t in zip(spikes, times)]
    return (np.concatenate(times), np.concatenate(rows)) if times else (np.zeros(0), np.zeros(0, dtype=int))


def plot_voltage(ax, time_ms, voltage, colour: str, label: str, spikes_ms=None) -> None:
    ax.plot(time_ms, voltage, color=colour, lw=0.7, label=label)
    if spikes_ms is not None and len(spikes_ms):
        ax.plot(spikes_ms, np.full(len(spikes_ms), 35.0), "|", color=style.NEUTRAL, ms=6, label="output spikes")
    ax.set_ylabel("V (mV)")
    ax.legend(loc="upper right")


def plot_dataset_simulation(path: str | Path, index: int | str, folder: str | Path) -> list[Path]:
    """Input raster, soma and nexus voltage of simulation ``index`` of a dataset file
    (``"most_spikes"``: the simulation with the most output spikes)."""
    experiment = dataset.read_experiment_file(path)
    if index == "most_spikes":
        index = int(np.argmax(experiment["Params"]["numOutputSpikesPerSim"]))
    sim = experiment["Results"]["listOfSingleSimulationDicts"][index]
    num_segments = len(experiment["Params"]["allSegmentsType"])
    with style.context():
        fig, axes = plt.subplots(3, 1, figsize=(14, 9), sharex=True, gridspec_kw=dict(height_ratios=[2, 1.3, 1.3]))
        panels.plot_input_raster(axes[0], spike_dict_events(sim["exInputSpikeTimes"]),
                                 spike_dict_events(sim["inhInputSpikeTimes"]), num_segments, num_segments,
                                 marker_size=0.3, line_width=0.4, ylabel="input channel\n(segment; exc, then inh)",
                                 legend=True)
        t_high = np.asarray(sim["recordingTimeHighRes"], dtype=float)
        plot_voltage(axes[1], t_high, sim["somaVoltageHighRes"].astype(float), style.NEUTRAL, "soma",
                     sim["outputSpikeTimes"].astype(float))
        plot_voltage(axes[2], t_high, sim["nexusVoltageHighRes"].astype(float), style.TUFT, "nexus (apic[50](0.9))")
        axes[2].set_xlabel("time (ms)")
        params = experiment["Params"]
        axes[0].set_title(f"L5PC, {params['excitatorySynapseType']} + {params['inhibitorySynapseType']} synapses, "
                          f"simulation {index} of {Path(path).name[:60]}...", fontsize=style.SMALL_SIZE)
        fig.tight_layout()
        try:
            return save_figure(fig, folder, f"L5PC_simulation_{index}")
        finally:
            plt.close(fig)
