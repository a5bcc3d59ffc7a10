"""Figures of a dataset folder (the original's ``dataset_exploration.py``), from ``dataset_statistics``.

One function per figure, each returning the saved paths; ``plot_all`` draws every figure the data allow
(the dendritic ones only for files with dendritic voltages, the morphology only where the cell can be
built). The backend is the caller's choice.
"""
from __future__ import annotations

import logging
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from neuron_as_dnn import errors
from neuron_as_dnn.data import dataset
from neuron_as_dnn.evaluation import metrics
from neuron_as_dnn.evaluation.dataset_statistics import (BALANCE_WINDOW_MS, GROUPS, FolderData, dvt_correlations,
                                                         inter_spike_intervals, per_synapse_rates_hz,
                                                         representative_simulation, smoothed_rates_hz,
                                                         windowed_counts)
from neuron_as_dnn.figures import morphology as morphology_figures
from neuron_as_dnn.figures import panels, style
from neuron_as_dnn.simulation import morphology_map
from neuron_as_dnn.utils import save_figure

log = logging.getLogger(__name__)

EXAMPLE_SPIKE_RANGE = (3, 30)      # the original's example simulations have 3-30 output spikes
NUM_EXAMPLE_TRACES = 5
DVT_WINDOW_MS = 400
SUBTREE_SHADES = {"exc": ("#d62728", "#ff7f0e", "#e6c300"), "inh": ("#0b1f66", "#1f4fbf", "#6fb8e8")}


def _save(fig, out_dir: Path, name: str) -> list[Path]:
    try:
        return save_figure(fig, out_dir, name)
    finally:
        plt.close(fig)


def group_colors() -> list[str]:
    """The original's per-subtree input colours: exc red / orange / yellow, inh dark blue / blue / sky blue."""
    return [*SUBTREE_SHADES["exc"], *SUBTREE_SHADES["inh"]]


def _mark_spikes(ax, spike_times_ms, y: float) -> None:
    if len(spike_times_ms):
        ax.plot(spike_times_ms, np.full(len(spike_times_ms), y), "|", color=style.NEUTRAL, ms=8, mew=1.5)


def plot_input_output_example(data: FolderData, out_dir: Path, simulation: int) -> list[Path]:
    """Raster of one simulation, its per-subtree input rates (Hz per synapse, 18-ms box) and its soma voltage."""
    events = data.input_events(simulation)
    segments = events.shape[1] // 2
    rates = smoothed_rates_hz(data.group_counts[simulation].T.astype(float), per=data.group_sizes[:, None])
    time_ms = np.arange(data.duration_ms)
    with style.context():
        fig, axes = plt.subplots(3, 1, figsize=(14, 10), sharex=True, gridspec_kw=dict(height_ratios=[2.2, 1.2, 1]))
        panels.plot_input_raster(axes[0], panels.raster_events(events[:, :segments].T),
                                 panels.raster_events(events[:, segments:].T), segments, segments,
                                 marker_size=0.4, line_width=0.3, ylabel="synapse (exc, then inh)", legend=True)
        for row, (group, color) in enumerate(zip(GROUPS, group_colors())):
            axes[1].plot(time_ms, rates[row], color=color, lw=1.0, label=group.replace("_", " "))
        axes[1].set_ylim(0, 1.4 * rates.max())  # room for the legend above the traces
        axes[1].set_ylabel("input rate\n(Hz per synapse)")
        axes[1].legend(ncol=2, loc="upper right", fontsize=style.SMALL_SIZE)
        soma = data.soma_mv[simulation]
        axes[2].plot(time_ms, soma, color=style.NEUTRAL, lw=0.8)
        _mark_spikes(axes[2], data.spike_times[simulation], float(np.max(soma)) + 5)
        axes[2].set_ylabel("soma (mV)\n1-ms samples")
        axes[2].set_xlabel("time (ms)")
        axes[2].set_xlim(0, data.duration_ms)
        axes[0].set_title(f"simulation {simulation}: {len(data.spike_times[simulation])} output spikes")
        fig.align_ylabels(axes)
        fig.tight_layout()
        return _save(fig, out_dir, "input_output_example")


def plot_input_rates(data: FolderData, out_dir: Path) -> list[Path]:
    """Per-synapse input rates of every simulation, per group (box plots), and excitation against inhibition."""
    rates = per_synapse_rates_hz(data.group_counts, data.group_sizes)
    output_hz = data.spike_counts / data.duration_ms * 1000.0
    with style.context():
        fig, (ax_box, ax_scatter) = plt.subplots(1, 2, figsize=(14, 5.5), gridspec_kw=dict(width_ratios=[1.4, 1]))
        boxes = ax_box.boxplot(rates, patch_artist=True, widths=0.6, medianprops=dict(color="k"))
        for patch, color in zip(boxes["boxes"], group_colors()):
            patch.set_facecolor(color)
            patch.set_alpha(0.7)
        ax_box.set_xticks(np.arange(1, len(GROUPS) + 1), [g.replace("_", "\n") for g in GROUPS])
        ax_box.set_ylim(0, None)
        ax_box.set_ylabel("mean rate per synapse (Hz)")
        ax_box.set_title(f"{data.num_simulations} simulations")
        half = len(morphology_map.SUBTREES)
        sizes = data.group_sizes
        exc = rates[:, :half] @ sizes[:half] / sizes[:half].sum()
        inh = rates[:, half:] @ sizes[half:] / sizes[half:].sum()
        points = ax_scatter.scatter(exc, inh, c=output_hz, cmap="viridis", s=18)
        top = max(exc.max(), inh.max()) * 1.05
        ax_scatter.plot([0, top], [0, top], color=style.CHANCE, ls="--", lw=1)
        ax_scatter.set_xlim(0, top)
        ax_scatter.set_ylim(0, top)
        ax_scatter.set_xlabel("excitatory rate (Hz per synapse)")
        ax_scatter.set_ylabel("inhibitory rate (Hz per synapse)")
        fig.colorbar(points, ax=ax_scatter, label="output rate (Hz)")
        fig.tight_layout()
        return _save(fig, out_dir, "input_rates")


def plot_input_balance(data: FolderData, out_dir: Path, simulation: int,
                       window_ms: int = BALANCE_WINDOW_MS) -> list[Path]:
    """Excitation and inhibition over time in one simulation, and over all simulations in ``window_ms``
    windows: inhibitory against excitatory events coloured by output spikes, and the output per window."""
    half = len(morphology_map.SUBTREES)
    counts = data.group_counts[simulation].astype(float)
    exc = smoothed_rates_hz(counts[:, :half].sum(axis=1), per=data.group_sizes[:half].sum())
    inh = smoothed_rates_hz(counts[:, half:].sum(axis=1), per=data.group_sizes[half:].sum())
    windows = windowed_counts(data, window_ms)
    with style.context():
        fig = plt.figure(figsize=(15, 9))
        grid = fig.add_gridspec(2, 3, height_ratios=[1, 1.3])
        ax_time = fig.add_subplot(grid[0, :])
        ax_time.plot(exc, color=style.EXCITATORY, label="excitatory")
        ax_time.plot(inh, color=style.INHIBITORY, label="inhibitory")
        _mark_spikes(ax_time, data.spike_times[simulation], 1.08 * max(exc.max(), inh.max()))
        ax_time.set_xlim(0, data.duration_ms)
        ax_time.set_xlabel("time (ms)")
        ax_time.set_ylabel("rate (Hz per synapse)")
        ax_time.set_title(f"simulation {simulation} (18-ms box; ticks: output spikes)")
        ax_time.legend(loc="upper left", ncol=2)
        ax_scatter = fig.add_subplot(grid[1, 0])
        order = np.argsort(windows["output_spikes"], kind="stable")  # spiking windows drawn last, on top
        points = ax_scatter.scatter(windows["inh"][order], windows["exc"][order], c=windows["output_spikes"][order],
                                    cmap="jet", vmin=0, vmax=3, s=6, rasterized=True)
        ax_scatter.set_xlabel(f"inhibitory events / {window_ms} ms")
        ax_scatter.set_ylabel(f"excitatory events / {window_ms} ms")
        fig.colorbar(points, ax=ax_scatter, label="output spikes", ticks=[0, 1, 2, 3])
        ax_ratio = fig.add_subplot(grid[1, 1])
        ratio = windows["inh"] / np.maximum(windows["exc"], 1)
        ax_ratio.hist(ratio, bins=60, color="0.4")
        ax_ratio.set_xlabel("inhibitory / excitatory events")
        ax_ratio.set_ylabel(f"{window_ms}-ms windows")
        ax_out = fig.add_subplot(grid[1, 2])
        edges = np.unique(np.quantile(windows["exc"], np.linspace(0, 1, 16)))
        which = np.clip(np.digitize(windows["exc"], edges) - 1, 0, len(edges) - 2)
        mean_out = [windows["output_spikes"][which == k].mean() if np.any(which == k) else np.nan
                    for k in range(len(edges) - 1)]
        ax_out.plot(0.5 * (edges[1:] + edges[:-1]), np.asarray(mean_out) * 1000.0 / window_ms, "o-", color="k")
        ax_out.set_xlabel(f"excitatory events / {window_ms} ms")
        ax_out.set_ylabel("output rate (Hz)")
        ax_out.set_title("mean over windows (quantile bins)", fontsize=style.SMALL_SIZE)
        fig.tight_layout()
        return _save(fig, out_dir, "input_balance")


def plot_output_statistics(data: FolderData, out_dir: Path) -> list[Path]:
    """Spikes per simulation (with the headline filter's range), inter-spike intervals, and output rate
    against excitatory input rate."""
    counts = data.spike_counts
    isis = inter_spike_intervals(data.spike_times)
    with style.context():
        fig, (ax_counts, ax_isi, ax_rate) = plt.subplots(1, 3, figsize=(16, 5))
        ax_counts.hist(counts, bins=np.arange(counts.max() + 2) - 0.5, color="0.35")
        low, high = metrics.SPIKE_COUNT_FILTERS[metrics.MAIN_FILTER]
        ax_counts.axvspan(low - 0.5, high + 0.5, color=style.HIGHLIGHT_AREA, alpha=0.2,
                          label=f"headline filter [{low},{high}]: {np.mean((counts >= low) & (counts <= high)):.0%}")
        ax_counts.set_xlabel("output spikes per simulation")
        ax_counts.set_ylabel("simulations")
        ax_counts.legend(loc="upper right")
        if len(isis):
            ax_isi.hist(isis, bins=np.linspace(0, np.percentile(isis, 99) * 1.05 + 1, 50), color="0.35")
            cv = isis.std() / isis.mean() if len(isis) > 1 else np.nan
            ax_isi.set_title(f"{len(isis)} intervals, CV = {cv:.2f}")
        else:
            ax_isi.text(0.5, 0.5, "no inter-spike interval", ha="center", va="center", transform=ax_isi.transAxes)
        ax_isi.set_xlabel("inter-spike interval (ms)")
        ax_isi.set_ylabel("count")
        half = len(morphology_map.SUBTREES)
        sizes = data.group_sizes
        exc = per_synapse_rates_hz(data.group_counts, sizes)[:, :half] @ sizes[:half] / sizes[:half].sum()
        ax_rate.scatter(exc, counts / data.duration_ms * 1000.0, s=14, color="k", alpha=0.6)
        ax_rate.set_xlabel("excitatory input (Hz per synapse)")
        ax_rate.set_ylabel("output rate (Hz)")
        fig.tight_layout()
        return _save(fig, out_dir, "output_statistics")


def _voltage_histogram(ax, voltage_mv: np.ndarray, color, title: str, clip_line: bool) -> None:
    values = np.asarray(voltage_mv, dtype=float)[..., dataset.IGNORE_FIRST_MS:].ravel()
    ax.hist(values, bins=120, color=color, alpha=0.8, log=True)
    if clip_line:  # only the somatic target is clipped
        ax.axvline(dataset.SOMA_CLIP_MV, color="k", ls="--", lw=1,
                   label=f"{dataset.SOMA_CLIP_MV:g} mV (clip of the network's target)")
        ax.legend(loc="upper right")
    ax.set_xlabel("voltage (mV)")
    ax.set_ylabel("1-ms samples (log)")
    ax.set_title(title)


def plot_voltage_distributions(data: FolderData, out_dir: Path, seed: int) -> list[Path]:
    """Histograms of the somatic and nexus voltage after 500 ms, and a few soma traces."""
    nexus = data.first_file["nexus_mv"]
    chosen = np.sort(np.random.default_rng(seed).choice(data.num_simulations, min(NUM_EXAMPLE_TRACES,
                                                                                  data.num_simulations),
                                                        replace=False))
    with style.context():
        fig = plt.figure(figsize=(15, 10))
        grid = fig.add_gridspec(2, 2, height_ratios=[1, 1.2])
        _voltage_histogram(fig.add_subplot(grid[0, 0]), data.soma_mv, style.NEUTRAL,
                           f"soma, {data.num_simulations} simulations", clip_line=True)
        ax_nexus = fig.add_subplot(grid[0, 1])
        if nexus is not None:
            _voltage_histogram(ax_nexus, nexus, style.TUFT, f"nexus, {len(nexus)} simulations of the first file",
                              clip_line=False)
        else:
            ax_nexus.text(0.5, 0.5, "no nexus voltage in the files", ha="center", va="center",
                          transform=ax_nexus.transAxes)
            ax_nexus.axis("off")
        ax_traces = fig.add_subplot(grid[1, :])
        spacing = 100.0   # more than an action potential's height, so traces never cross
        for row, sim in enumerate(chosen):
            ax_traces.plot(data.soma_mv[sim] - row * spacing, color=style.NEUTRAL, lw=0.6)
            ax_traces.text(data.duration_ms * 1.005, data.soma_mv[sim][-1] - row * spacing, f"sim {sim}",
                           va="center", fontsize=style.SMALL_SIZE)
        ax_traces.set_xlim(0, data.duration_ms)
        ax_traces.set_yticks([])
        ax_traces.spines["left"].set_visible(False)
        ax_traces.set_xlabel("time (ms)")
        ax_traces.set_title(f"soma voltage of {len(chosen)} random simulations (offset {spacing:g} mV apart)")
        panels.add_scale_bars(ax_traces, 200, 20, x0=0.02 * data.duration_ms,
                              y0=float(data.soma_mv[chosen[-1]].min()) - (len(chosen) - 1) * spacing - 25)
        fig.tight_layout()
        return _save(fig, out_dir, "voltage_distributions")


def dvt_window(spike_times_ms, duration_ms: int, width_ms: int = DVT_WINDOW_MS) -> tuple[int, int]:
    """A ``width_ms`` window after the first 500 ms around the middle output spike (or the trace's middle)."""
    later = [t for t in spike_times_ms if t >= dataset.IGNORE_FIRST_MS]
    centre = int(np.median(later)) if later else duration_ms // 2
    start = int(np.clip(centre - width_ms // 2, 0, max(duration_ms - width_ms, 0)))
    return start, min(start + width_ms, duration_ms)


def plot_dvt_example(data: FolderData, out_dir: Path, morphology: dict | None, simulation: int) -> list[Path]:
    """Every dendritic voltage of one simulation of the first file around its spikes, stacked in segment order
    and coloured by subtree, with soma and nexus; the morphology beside it in the same colours."""
    dvt = data.first_file["dvt_mv"][simulation].astype(float)
    nexus = data.first_file["nexus_mv"]
    start, stop = dvt_window(data.spike_times[simulation], data.duration_ms)
    time_ms = np.arange(start, stop)
    subtrees = morphology_map.segment_subtrees(len(dvt))
    offset_per_segment = 700.0 / len(dvt)   # the original's stacking: 700 mV of offsets over the 639 segments
    with style.context():
        fig = plt.figure(figsize=(16, 11))
        grid = fig.add_gridspec(1, 4)
        if morphology is not None:
            ax_morph = fig.add_subplot(grid[0, 0])
            morphology_figures.plot_morphology(ax_morph, morphology)
            morphology_figures.subtree_legend(ax_morph)
            ax = fig.add_subplot(grid[0, 1:])
        else:
            ax = fig.add_subplot(grid[0, :])
        for subtree in morphology_map.SUBTREES:
            rows = np.flatnonzero(subtrees == subtree)
            lines = dvt[rows, start:stop] + 150.0 + rows[:, None] * offset_per_segment
            ax.plot(time_ms, lines.T, color=style.SUBTREE_COLORS[subtree], lw=0.6, alpha=0.55)
        ax.plot(time_ms, data.soma_mv[simulation, start:stop], color=style.NEUTRAL, lw=1.5, label="soma")
        if nexus is not None:
            ax.plot(time_ms, nexus[simulation, start:stop], color="#e00000", lw=1.5, label="nexus")
        ax.set_xlim(start, stop)
        ax.set_yticks([])
        ax.spines["left"].set_visible(False)
        ax.set_xlabel("time (ms)")
        ax.set_title(f"dendritic voltages of simulation {simulation} (segments stacked in order, basal at the bottom)")
        ax.legend(loc="lower right")
        panels.add_scale_bars(ax, 50, 40, x0=start + 0.02 * (stop - start), y0=-20)
        fig.tight_layout()
        return _save(fig, out_dir, "dvt_example")


def plot_dvt_correlations(data: FolderData, out_dir: Path, morphology: dict | None) -> list[Path]:
    """The correlation matrix of the dendritic voltages (first file, after 500 ms) with the subtree borders,
    and each segment's correlation with the soma against its distance from the soma."""
    dvt = data.first_file["dvt_mv"]
    matrix, with_soma = dvt_correlations(dvt, data.soma_mv[:len(dvt)])
    params = data.first_file["params"]
    distance = params.get("allSegments_DistFromSoma")
    if distance is None and morphology is not None:
        distance = morphology["all_segments_distance_from_soma"]
    subtrees = morphology_map.segment_subtrees(len(with_soma))
    with style.context():
        fig, axes = plt.subplots(1, 2 + (morphology is not None), figsize=(17 if morphology else 14, 6.5),
                                 gridspec_kw=dict(width_ratios=[1.2, 1.2, 0.6] if morphology else [1, 1]))
        image = axes[0].imshow(matrix, cmap="RdBu_r", vmin=-1, vmax=1, interpolation="nearest")
        for border in (262, 366, 559):   # the subtree ranges of morphology_map
            for line in (axes[0].axhline, axes[0].axvline):
                line(border - 0.5, color="k", lw=0.6)
        axes[0].set_xlabel("segment")
        axes[0].set_ylabel("segment")
        axes[0].set_title("correlation of dendritic voltages")
        fig.colorbar(image, ax=axes[0], shrink=0.8)
        x = np.asarray(distance, dtype=float) if distance is not None else np.arange(len(with_soma))
        for subtree in morphology_map.SUBTREES:
            keep = subtrees == subtree
            axes[1].scatter(x[keep], with_soma[keep], s=8, color=style.SUBTREE_COLORS[subtree], label=subtree)
        axes[1].set_xlabel("distance from soma (µm)" if distance is not None else "segment")
        axes[1].set_ylabel("correlation with soma voltage")
        axes[1].legend(loc="lower left", markerscale=2)
        if morphology is not None:
            collection = morphology_figures.plot_morphology(axes[2], morphology, with_soma, cmap="viridis",
                                                            limits=(np.nanmin(with_soma), 1.0))
            fig.colorbar(collection, ax=axes[2], shrink=0.7, label="correlation with soma")
        fig.tight_layout()
        return _save(fig, out_dir, "dvt_correlations")


def plot_all(data: FolderData, out_dir: Path, *, example: int | None = None, morphology: dict | None = None,
             seed: int = 0) -> list[Path]:
    """Every figure the folder allows; ``example`` (a simulation; None: a representative one)."""
    out_dir = Path(out_dir)
    if example is None:
        example = representative_simulation(data.spike_counts, EXAMPLE_SPIKE_RANGE)
    if not 0 <= example < data.num_simulations:
        raise errors.bad_parameter("example_index", f"{example} is not a simulation of the folder "
                                                    f"(0-{data.num_simulations - 1})")
    paths = []
    paths += plot_input_output_example(data, out_dir, example)
    paths += plot_input_rates(data, out_dir)
    paths += plot_input_balance(data, out_dir, example)
    paths += plot_output_statistics(data, out_dir)
    paths += plot_voltage_distributions(data, out_dir, seed)
    if data.first_file["dvt_mv"] is not None:
        first_count = len(data.first_file["dvt_mv"])
        dvt_example = example if example < first_count else representative_simulation(
            data.spike_counts[:first_count], EXAMPLE_SPIKE_RANGE)
        paths += plot_dvt_example(data, out_dir, morphology, dvt_example)
        paths += plot_dvt_correlations(data, out_dir, morphology)
    else:
        log.info("the files hold no dendritic voltages: no dendritic figures")
    return paths
