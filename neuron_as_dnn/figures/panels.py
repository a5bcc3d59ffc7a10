"""Panels shared by the paper's figures (Figs. 1, 2, 3 and S5), each drawn into an ``Axes`` it is handed.

The panels take plain arrays, so one function serves the integrate-and-fire neuron and the L5PC alike; the
figure modules (``integrate_and_fire``, ``simulation``, ...) compose them. Colours and sizes come from
``style``; the metrics they show are ``neuron_as_dnn.evaluation.metrics``'s (docs/evaluation.md).
"""
from __future__ import annotations

from typing import Sequence

import matplotlib.lines
import matplotlib.patches
import numpy as np

from neuron_as_dnn.evaluation import metrics
from neuron_as_dnn.figures import style

Events = tuple[np.ndarray, np.ndarray]  # (times in ms, row indices)


# ----------------------------------------------------------------------------------------------------------
# Inputs
# ----------------------------------------------------------------------------------------------------------
def raster_events(matrix: np.ndarray, time_ms: np.ndarray | None = None) -> Events:
    """``(times, rows)`` of the nonzero entries of a (rows, time) matrix, for ``plot_input_raster``."""
    rows, columns = np.nonzero(np.asarray(matrix))
    return (columns if time_ms is None else np.asarray(time_ms)[columns]), rows


def plot_input_raster(ax, exc_events: Events, inh_events: Events, num_exc: int, num_inh: int, *,
                      time_range: Sequence[float] | None = None, marker_size: float = 2.0, line_width: float = 0.6,
                      ylabel: str = "synapse", legend: bool = False) -> None:
    """Input spikes as ticks: excitatory rows (red) from the top, inhibitory rows (blue) below them.

    ``exc_events`` / ``inh_events`` are ``(times_ms, rows)`` with rows counted within each group (see
    ``raster_events``); row 0 of the excitatory group is the top line."""
    for (times, rows), offset, color in ((exc_events, 0, style.EXCITATORY), (inh_events, num_exc, style.INHIBITORY)):
        ax.scatter(np.asarray(times, dtype=float), np.asarray(rows) + offset, s=marker_size, color=color,
                   marker="|", linewidths=line_width, rasterized=True)
    ax.set_ylim(num_exc + num_inh - 0.5, -0.5)
    if time_range is not None:
        ax.set_xlim(*time_range)
    ax.set_ylabel(ylabel)
    if legend:  # proxies: the raster's own ticks are too small to read in a legend
        ax.legend(handles=[matplotlib.lines.Line2D([], [], color=color, marker="|", ls="", ms=10, mew=1.5, label=label)
                           for color, label in ((style.EXCITATORY, "excitatory"), (style.INHIBITORY, "inhibitory"))],
                  loc="upper right")


# ----------------------------------------------------------------------------------------------------------
# Spikes
# ----------------------------------------------------------------------------------------------------------
def plot_roc(ax, fpr: np.ndarray, tpr: np.ndarray, *, point_index: int | None = None, auc: float | None = None,
             inset_fpr_max: float | None = 0.012, inset_bounds: Sequence[float] = (0.42, 0.1, 0.52, 0.52)):
    """ROC curve ("false alarm rate" vs "hit rate"), with an inset on small FP rates.

    ``point_index`` marks the ROC vertex ``(fpr[i], tpr[i])`` (in the inset when there is one), e.g. the vertex
    whose threshold gives the predicted spikes. Returns the inset axes (or None)."""
    ax.plot(fpr, tpr, color=style.NEUTRAL, lw=1.5)
    ax.plot([0, 1], [0, 1], color=style.CHANCE, lw=0.8, ls="--")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.set_xticks([0, 0.5, 1])
    ax.set_yticks([0, 0.5, 1])
    ax.set_xlabel("false alarm rate")
    ax.set_ylabel("hit rate")
    if auc is not None:
        ax.set_title(f"AUC = {auc:.4f}")
    inset = None
    target = ax
    if inset_fpr_max is not None:
        inset = target = ax.inset_axes(list(inset_bounds))
        inset.plot(fpr, tpr, color=style.NEUTRAL, lw=1.5)
        inset.set_xlim(-inset_fpr_max / 12, inset_fpr_max)
        visible = np.asarray(tpr)[np.asarray(fpr) <= inset_fpr_max]
        top = float(visible.max()) if len(visible) else 0.0
        inset.set_ylim(0, min(1.0, 1.1 * top) if top > 0 else 1.0)
        inset.tick_params(labelsize=style.SMALL_SIZE)
    if point_index is not None:
        x, y = float(fpr[point_index]), float(tpr[point_index])
        target.plot(x, y, "o", color=style.OPERATING_POINT, ms=6)
        # lower right: below a ROC curve there is nothing to cover
        target.text(0.97, 0.05, f"hit rate {y:.3f}\nat FP {x:.4f}", transform=target.transAxes, ha="right",
                    va="bottom", fontsize=style.SMALL_SIZE, color=style.OPERATING_POINT)
    return inset


def plot_cross_correlation(ax, curve: np.ndarray, *, area_half_width_ms: int | None = 10,
                           xlabel: str = "Δt, predicted − true spike (ms)") -> None:
    """The spike-timing cross-correlation (``metrics.spike_cross_correlation``, which sums to 1) in the
    paper's unit: 1000 × the fraction of predicted spikes per 1-ms bin, "spike rate (Hz)". The ±area is
    shaded and its mass given in the title."""
    curve = np.asarray(curve, dtype=float)
    half_window = (len(curve) - 1) // 2
    offsets = np.arange(-half_window, half_window + 1)
    ax.plot(offsets, 1000 * curve, color=style.NEUTRAL, lw=1.5)
    if area_half_width_ms is not None:
        near = np.abs(offsets) <= area_half_width_ms
        ax.fill_between(offsets[near], 1000 * curve[near], color=style.HIGHLIGHT_AREA, alpha=0.5, lw=0)
        area = metrics.cross_correlation_area(curve, area_half_width_ms)
        ax.set_title(f"{100 * area:.1f} % within ±{area_half_width_ms} ms")
    ax.set_xlim(-half_window, half_window)
    ax.set_xticks([-half_window, 0, half_window])
    ax.set_xlabel(xlabel)
    ax.set_ylabel("spike rate (Hz)")


# ----------------------------------------------------------------------------------------------------------
# Voltage
# ----------------------------------------------------------------------------------------------------------
def plot_voltage_scatter(ax, gt_voltage: np.ndarray, predicted_voltage: np.ndarray, *, num_points: int, seed: int,
                         gt_label: str = "ground truth (mV)", prediction_label: str = "prediction (mV)",
                         limits: Sequence[float] | None = None, tick_step: float = 5.0, tick_anchor: float = -56.0,
                         jitter_mv: float = 0.02) -> None:
    """A random sample of (ground truth, prediction) pairs with the identity line.

    The ground truth is jittered by ``jitter_mv`` to break the ties of the clipped spike value. Limits default
    to the 0.2–99.8 percentiles of the prediction; ticks every ``tick_step`` mV, aligned to ``tick_anchor``."""
    gt, predicted = np.ravel(gt_voltage), np.ravel(predicted_voltage)
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(gt), size=min(num_points, len(gt)), replace=False)
    ax.scatter(gt[chosen] + jitter_mv * rng.standard_normal(len(chosen)), predicted[chosen], s=1, alpha=0.15,
               color=style.NEUTRAL, rasterized=True)
    low, high = np.percentile(predicted, [0.2, 99.8]) if limits is None else limits
    ax.plot([low, high], [low, high], color=style.OPERATING_POINT, lw=1)
    ax.set_xlim(low, high)
    ax.set_ylim(low, high)
    ticks = np.arange(tick_anchor, low - tick_step, -tick_step)[::-1]
    ticks = ticks[(ticks >= low) & (ticks <= high)]
    ax.set_xticks(ticks)
    ax.set_yticks(ticks)
    ax.set_xlabel(gt_label)
    ax.set_ylabel(prediction_label)


def with_drawn_spikes(voltage: np.ndarray, spikes: np.ndarray | None, spike_mv: float) -> np.ndarray:
    """The voltage with its spike bins set to ``spike_mv``: the clipped targets show no action potential."""
    drawn = np.array(voltage, dtype=float, copy=True)
    if spikes is not None:
        drawn[np.asarray(spikes, dtype=bool)] = spike_mv
    return drawn


def plot_voltage_traces(ax, time_ms: np.ndarray, gt_voltage: np.ndarray, predicted_voltage: np.ndarray,
                        gt_spikes: np.ndarray | None = None, predicted_spikes: np.ndarray | None = None, *,
                        spike_mv: float = 40.0, labels: Sequence[str] = ("ground truth", "prediction")) -> None:
    """Ground truth (cyan) and prediction (magenta, dotted), each with its spikes drawn up to ``spike_mv``."""
    ax.plot(time_ms, with_drawn_spikes(gt_voltage, gt_spikes, spike_mv), color=style.GROUND_TRUTH,
            lw=style.TRACE_WIDTH, label=labels[0])
    ax.plot(time_ms, with_drawn_spikes(predicted_voltage, predicted_spikes, spike_mv), color=style.PREDICTION,
            lw=style.TRACE_WIDTH, ls=":", label=labels[1])
    ax.set_xlim(time_ms[0], time_ms[-1])


def add_scale_bars(ax, time_ms: float, voltage_mv: float, x0: float, y0: float) -> None:
    """An L of a horizontal ``time_ms`` and a vertical ``voltage_mv`` bar from (x0, y0), in data units."""
    ax.plot([x0, x0 + time_ms], [y0, y0], color=style.NEUTRAL, lw=2, solid_capstyle="butt")
    ax.plot([x0, x0], [y0, y0 + voltage_mv], color=style.NEUTRAL, lw=2, solid_capstyle="butt")
    ax.text(x0 + time_ms / 2, y0, f"{time_ms:g} ms", ha="center", va="top", fontsize=style.ANNOTATION_SIZE)
    ax.text(x0, y0 + voltage_mv / 2, f"{voltage_mv:g} mV ", ha="right", va="center", fontsize=style.ANNOTATION_SIZE)


def zoom_range(duration: int, fraction: Sequence[float]) -> tuple[int, int]:
    """The [start, stop) bins of a trace given as fractions of its duration."""
    return int(fraction[0] * duration), int(fraction[1] * duration)


def plot_trace_with_zoom(ax_full, ax_zoom, gt_voltage: np.ndarray, predicted_voltage: np.ndarray,
                         gt_spikes: np.ndarray, predicted_spikes: np.ndarray, zoom: Sequence[int], *,
                         spike_mv: float = 40.0, zoom_top_mv: float = -49.0, full_bars: Sequence[float] = (600, 40),
                         zoom_bars: Sequence[float] = (100, 8),
                         labels: Sequence[str] = ("ground truth", "prediction")) -> None:
    """A whole trace with a dashed box over ``zoom`` = [start, stop) (ms), and the zoom below it; scale bars
    instead of axes, placed in the margins so that they never cover the traces."""
    gt_voltage, predicted_voltage = np.asarray(gt_voltage, dtype=float), np.asarray(predicted_voltage, dtype=float)
    duration = len(gt_voltage)
    time_ms = np.arange(duration)
    start, stop = zoom
    window = slice(start, stop)
    options = dict(spike_mv=spike_mv, labels=labels)
    plot_voltage_traces(ax_full, time_ms, gt_voltage, predicted_voltage, gt_spikes, predicted_spikes, **options)
    zoom_low = min(gt_voltage[window].min(), predicted_voltage[window].min()) - 2.5
    ax_full.add_patch(matplotlib.patches.Rectangle((start, zoom_low), stop - start, zoom_top_mv - zoom_low,
                                                   fill=False, ls="--", color=style.NEUTRAL))
    full_low = min(gt_voltage.min(), predicted_voltage.min())
    add_scale_bars(ax_full, *full_bars, x0=-0.03 * duration, y0=full_low - 8)
    ax_full.set_xlim(-0.04 * duration, duration)
    span = spike_mv + 5 - (full_low - 15)
    ax_full.set_ylim(full_low - 15, spike_mv + 5 + 0.2 * span)  # headroom: the legend never covers a spike
    ax_full.axis("off")
    ax_full.legend(loc="upper right", ncol=2)

    plot_voltage_traces(ax_zoom, time_ms[window], gt_voltage[window], predicted_voltage[window],
                        np.asarray(gt_spikes)[window], np.asarray(predicted_spikes)[window], **options)
    length = stop - start
    add_scale_bars(ax_zoom, *zoom_bars, x0=start - 0.03 * length, y0=zoom_low - 1.5)
    ax_zoom.set_xlim(start - 0.04 * length, stop)
    ax_zoom.set_ylim(zoom_low - 3, zoom_top_mv)
    ax_zoom.axis("off")


# ----------------------------------------------------------------------------------------------------------
# Learned filters
# ----------------------------------------------------------------------------------------------------------
def filter_lags(filter_size: int, current_time: str = "right") -> np.ndarray:
    """x position of each kernel column, in ms. A Keras causal kernel's last column weights the current ms.
    ``"right"``: columns as stored, x = −(size−1)…0 (Fig. 1); ``"left"``: for a kernel whose columns were
    flipped to run from the current ms back, x = 0…size−1 ms before t₀ (Fig. 2)."""
    return np.arange(-filter_size + 1, 1) if current_time == "right" else np.arange(filter_size)


def plot_filter_heatmap(ax, weights: np.ndarray, limit: float, *, lags: np.ndarray | None = None,
                        ylabel: str = "synapse index"):
    """A filter as (rows × time), columns at ``lags`` (default ``filter_lags(size)``); colours symmetric in
    ±``limit``. Returns the image, for a colour bar."""
    num_rows, filter_size = weights.shape
    lags = filter_lags(filter_size) if lags is None else np.asarray(lags)
    image = ax.imshow(weights, cmap="jet", vmin=-limit, vmax=limit, aspect="auto", interpolation="nearest",
                      extent=(lags[0] - 0.5, lags[-1] + 0.5, num_rows - 0.5, -0.5))
    ax.set_ylabel(ylabel)
    return image


def plot_filter_profiles(ax, weights: np.ndarray, num_exc: int, *, lags: np.ndarray | None = None,
                         individual: bool = True, xlabel: str = "time before prediction (ms)",
                         legend: bool = True, alpha: float = 0.06) -> None:
    """Mean excitatory (red) and inhibitory (blue) weight against time (columns at ``lags``, as
    ``plot_filter_heatmap``), over the faint weights of every row (``individual``)."""
    lags = filter_lags(weights.shape[1]) if lags is None else np.asarray(lags)
    for rows, color, label in ((slice(0, num_exc), style.EXCITATORY, "Exc"),
                               (slice(num_exc, None), style.INHIBITORY, "Inh")):
        group = weights[rows]
        if not len(group):
            continue
        if individual:
            ax.plot(lags, group.T, color=color, alpha=alpha, lw=0.6)
        ax.plot(lags, group.mean(axis=0), color=color, lw=2.5, label=label)
    ax.axhline(0, color=style.NEUTRAL, lw=0.5)
    ax.set_xlim(lags[0], lags[-1])
    ax.set_xlabel(xlabel)
    ax.set_ylabel("weight")
    if legend:
        ax.legend(loc="upper left")
