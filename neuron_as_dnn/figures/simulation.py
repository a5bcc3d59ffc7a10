"""Figures of single L5PC simulations: the input raster with the somatic and nexus voltages."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .. import dataset  # noqa: E402
from ..utils import save_figure  # noqa: E402


def plot_input_raster(ax, ex_times: dict, inh_times: dict, num_segments: int) -> None:
    for spikes, offset, colour, label in ((ex_times, 0, "tab:red", "excitatory"),
                                          (inh_times, num_segments, "tab:blue", "inhibitory")):
        rows = [np.full(len(t), offset + int(seg)) for seg, t in spikes.items()]
        times = [np.asarray(t, dtype=float) for t in spikes.values()]
        if rows:
            ax.scatter(np.concatenate(times), np.concatenate(rows), s=0.3, c=colour, marker="|",
                       linewidths=0.4, label=label, rasterized=True)
    ax.set_ylim(2 * num_segments, 0)
    ax.set_ylabel("input channel\n(segment; exc, then inh)")
    ax.legend(loc="upper right", markerscale=20, fontsize=8)


def plot_voltage(ax, time_ms, voltage, colour: str, label: str, spikes_ms=None) -> None:
    ax.plot(time_ms, voltage, color=colour, lw=0.7, label=label)
    if spikes_ms is not None and len(spikes_ms):
        ax.plot(spikes_ms, np.full(len(spikes_ms), 35.0), "k|", ms=6, label="output spikes")
    ax.set_ylabel("V (mV)")
    ax.legend(loc="upper right", fontsize=8)


def plot_dataset_simulation(path: str | Path, index: int | str, folder: str | Path) -> list[Path]:
    """Input raster, soma and nexus voltage of simulation ``index`` of a dataset file
    (``"most_spikes"``: the simulation with the most output spikes)."""
    experiment = dataset.read_experiment_file(path)
    if index == "most_spikes":
        index = int(np.argmax(experiment["Params"]["numOutputSpikesPerSim"]))
    sim = experiment["Results"]["listOfSingleSimulationDicts"][index]
    num_segments = len(experiment["Params"]["allSegmentsType"])
    fig, axes = plt.subplots(3, 1, figsize=(14, 9), sharex=True, gridspec_kw=dict(height_ratios=[2, 1.3, 1.3]))
    plot_input_raster(axes[0], sim["exInputSpikeTimes"], sim["inhInputSpikeTimes"], num_segments)
    t_high = np.asarray(sim["recordingTimeHighRes"], dtype=float)
    plot_voltage(axes[1], t_high, sim["somaVoltageHighRes"].astype(float), "k", "soma",
                 sim["outputSpikeTimes"].astype(float))
    plot_voltage(axes[2], t_high, sim["nexusVoltageHighRes"].astype(float), "tab:green", "nexus (apic[50](0.9))")
    axes[2].set_xlabel("time (ms)")
    params = experiment["Params"]
    axes[0].set_title(f"L5PC, {params['excitatorySynapseType']} + {params['inhibitorySynapseType']} synapses, "
                      f"simulation {index} of {Path(path).name[:60]}...", fontsize=9)
    fig.tight_layout()
    paths = save_figure(fig, folder, f"L5PC_simulation_{index}")
    plt.close(fig)
    return paths
