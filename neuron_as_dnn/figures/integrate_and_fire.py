"""Fig. 1: the integrate-and-fire neuron and its one-filter network (ORIGINAL_IMPLEMENTATION.md §4.5).

One function per panel (each draws into an ``Axes``), composed into the figures saved under ``figures/IF/``:
``dataset_overview``, ``learning_curves``, ``figure1D_learned_weights``, ``figure1B_spike_predictions``,
``figure1C_voltage_predictions`` and the combined ``figure1_full``.
"""
from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib import gridspec  # noqa: E402

from neuron_as_dnn import evaluation, utils  # noqa: E402

log = logging.getLogger(__name__)

EXC_COLOR, INH_COLOR = "red", "blue"
GT_COLOR, PREDICTION_COLOR = "c", "m"
DRAWN_SPIKE_MV = 40.0
INSET_FPR_LIMITS = (-0.001, 0.012)


@dataclasses.dataclass
class IntegrateAndFireFigureData:
    params: dict
    neuron: Any
    history: dict
    filter_weights: np.ndarray          # (synapses, time), last column = current time
    fpr: np.ndarray
    tpr: np.ndarray
    operating_point: evaluation.OperatingPoint
    xcorr: np.ndarray
    y_spikes: np.ndarray                # (test sims, time)
    y_soma: np.ndarray
    spike_probability: np.ndarray
    soma_prediction: np.ndarray
    predicted_spikes: np.ndarray
    test_set: Any
    train_set: Any
    metrics: dict


# ----------------------------------------------------------------------------------------------------------
# Panels
# ----------------------------------------------------------------------------------------------------------
def plot_input_raster(ax, inputs: np.ndarray, num_exc: int, time_ms: np.ndarray | None = None,
                      marker_size: float = 2.0) -> None:
    """Excitatory (red) rows above inhibitory (blue) rows; synapse 0 at the top."""
    num_synapses, duration = inputs.shape
    time_ms = np.arange(duration) if time_ms is None else time_ms
    rows, times = np.nonzero(inputs)
    is_exc = rows < num_exc
    y = num_synapses - 1 - rows
    ax.scatter(time_ms[times[is_exc]], y[is_exc], s=marker_size, c=EXC_COLOR, marker="|", linewidths=0.6)
    ax.scatter(time_ms[times[~is_exc]], y[~is_exc], s=marker_size, c=INH_COLOR, marker="|", linewidths=0.6)
    ax.set_xlim(time_ms[0], time_ms[-1] + 1)
    ax.set_ylim(-1, num_synapses)
    ax.set_ylabel("synapse")


def _with_drawn_spikes(voltage: np.ndarray, spikes: np.ndarray) -> np.ndarray:
    drawn = np.array(voltage, dtype=float, copy=True)
    drawn[np.asarray(spikes, dtype=bool)] = DRAWN_SPIKE_MV
    return drawn


def plot_voltage_traces(ax, gt_voltage, predicted_voltage, gt_spikes, predicted_spikes, time_ms=None) -> None:
    """Ground truth (cyan) and prediction (magenta, dotted), each with its spikes drawn to 40 mV."""
    time_ms = np.arange(len(gt_voltage)) if time_ms is None else time_ms
    ax.plot(time_ms, _with_drawn_spikes(gt_voltage, gt_spikes), color=GT_COLOR, lw=1.2, label="I&F")
    ax.plot(time_ms, _with_drawn_spikes(predicted_voltage, predicted_spikes), color=PREDICTION_COLOR, lw=1.0,
            ls=":", label="ANN")
    ax.set_xlim(time_ms[0], time_ms[-1])


def add_scale_bars(ax, time_ms: float, voltage_mv: float, x0: float, y0: float) -> None:
    ax.plot([x0, x0 + time_ms], [y0, y0], color="k", lw=2)
    ax.plot([x0, x0], [y0, y0 + voltage_mv], color="k", lw=2)
    ax.text(x0 + time_ms / 2, y0, f"{time_ms:g} ms", ha="center", va="top", fontsize=11)
    ax.text(x0, y0 + voltage_mv / 2, f"{voltage_mv:g} mV ", ha="right", va="center", fontsize=11)


def symmetric_weight_limit(filter_weights: np.ndarray, num_exc: int, factor: float = 1.05) -> float:
    """Colour limit from the strongest mean inhibitory weight, as the original (excitatory if no inhibition)."""
    inhibitory = filter_weights[num_exc:]
    reference = inhibitory.mean(axis=0) if len(inhibitory) else filter_weights[:num_exc].mean(axis=0)
    limit = factor * float(np.max(np.abs(reference)))
    return limit if limit > 0 else float(np.max(np.abs(filter_weights))) or 1.0


def plot_weights_heatmap(ax, filter_weights: np.ndarray, limit: float, colorbar: bool = True):
    """Filter as (synapses × time before prediction); the right edge is the prediction time."""
    num_synapses, filter_size = filter_weights.shape
    image = ax.imshow(filter_weights, cmap="jet", vmin=-limit, vmax=limit, aspect="auto", interpolation="nearest",
                      extent=(-filter_size + 0.5, 0.5, num_synapses - 0.5, -0.5))
    ax.set_ylabel("synapse index")
    if colorbar:
        plt.colorbar(image, ax=ax, fraction=0.04, pad=0.02, label="weight")
    return image


def plot_weight_cross_sections(ax, filter_weights: np.ndarray, num_exc: int, individual: bool = True) -> None:
    """Mean excitatory (red) and inhibitory (blue) weight vs time before the prediction."""
    filter_size = filter_weights.shape[1]
    lags = np.arange(-filter_size + 1, 1)
    for rows, color, label in ((slice(0, num_exc), EXC_COLOR, "Exc"), (slice(num_exc, None), INH_COLOR, "Inh")):
        weights = filter_weights[rows]
        if not len(weights):
            continue
        if individual:
            ax.plot(lags, weights.T, color=color, alpha=0.06, lw=0.6)
        ax.plot(lags, weights.mean(axis=0), color=color, lw=2.5, label=label)
    ax.axhline(0, color="k", lw=0.5)
    ax.set_xlim(lags[0], lags[-1])
    ax.set_xlabel("time before prediction (ms)")
    ax.set_ylabel("weight")
    ax.legend(loc="upper left", frameon=False)


def plot_probability_histograms(ax, spike_probability, y_spikes, bins: int = 50) -> None:
    """Predicted spike probability given a true spike and given none (densities, log scale)."""
    edges = np.linspace(0, 1, bins + 1)
    spikes = np.asarray(y_spikes, dtype=bool)
    ax.hist(np.ravel(spike_probability[~spikes]), bins=edges, density=True, color="b", alpha=0.6, label="no spike")
    ax.hist(np.ravel(spike_probability[spikes]), bins=edges, density=True, color="g", alpha=0.6, label="spike")
    ax.set_yscale("log")
    ax.set_xlabel("predicted spike probability")
    ax.set_ylabel("density")
    ax.legend(frameon=False)


def plot_roc(ax, fpr, tpr, point: evaluation.OperatingPoint, auc: float, inset: bool = True) -> None:
    """ROC curve; the inset zooms on small FP rates and marks the interpolated operating point."""
    ax.plot(fpr, tpr, color="k", lw=1.5)
    ax.plot([0, 1], [0, 1], color="0.7", lw=0.8, ls="--")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.set_xticks([0, 0.5, 1])
    ax.set_yticks([0, 0.5, 1])
    ax.set_xlabel("false alarm rate")
    ax.set_ylabel("hit rate")
    ax.set_title(f"AUC = {auc:.4f}")
    if inset:
        inset_ax = ax.inset_axes([0.45, 0.1, 0.5, 0.5])
        inset_ax.plot(fpr, tpr, color="k", lw=1.5)
        inset_ax.plot(point.desired_fpr, point.true_positive_rate, "o", color="red", ms=6)
        inset_ax.set_xlim(*INSET_FPR_LIMITS)
        visible = tpr[fpr <= INSET_FPR_LIMITS[1]]
        inset_ax.set_ylim(0, min(1.0, 1.05 * float(visible.max())) if len(visible) and visible.max() > 0 else 1.0)
        inset_ax.set_title(f"TP {point.true_positive_rate:.3f} @ FP {point.desired_fpr:g}", fontsize=8)
        inset_ax.tick_params(labelsize=8)


def plot_cross_correlation(ax, xcorr: np.ndarray, area_half_width_ms: int) -> None:
    """Predicted spikes around true spikes (normalised to sum 1), in % per 1-ms bin; ±area shaded."""
    half_window = (len(xcorr) - 1) // 2
    offsets = np.arange(-half_window, half_window + 1)
    area = evaluation.cross_correlation_area(xcorr, area_half_width_ms)
    ax.plot(offsets, 100 * xcorr, color="k", lw=1.5)
    near = np.abs(offsets) <= area_half_width_ms
    ax.fill_between(offsets[near], 100 * xcorr[near], color="orange", alpha=0.5)
    ax.set_xlim(-half_window, half_window)
    ax.set_xticks([-half_window, 0, half_window])
    ax.set_xlabel("Δt (predicted − true spike) (ms)")
    ax.set_ylabel("predicted spikes (%)")
    ax.set_title(f"within ±{area_half_width_ms} ms: {100 * area:.1f} %")


def scatter_sample(num_points: int, size: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).choice(size, size=min(num_points, size), replace=False)


def plot_voltage_scatter(ax, gt_voltage, predicted_voltage, num_points: int, seed: int,
                         gt_label: str = "I&F (mV)", prediction_label: str = "ANN (mV)") -> None:
    """Ground truth (jittered by 0.02 mV to break the clipped ties) vs prediction, with the identity line."""
    gt, predicted = np.ravel(gt_voltage), np.ravel(predicted_voltage)
    rng = np.random.default_rng(seed)
    chosen = scatter_sample(num_points, len(gt), seed)
    ax.scatter(gt[chosen] + 0.02 * rng.standard_normal(len(chosen)), predicted[chosen], s=1, alpha=0.15, c="k",
               rasterized=True)
    low, high = np.percentile(predicted, [0.2, 99.8])
    ax.plot([-90, -50], [-90, -50], color="r", lw=1)
    ax.set_xlim(low, high)
    ax.set_ylim(low, high)
    ticks = np.arange(-56, low - 5, -5)[::-1]
    ax.set_xticks(ticks)
    ax.set_yticks(ticks)
    ax.set_xlabel(gt_label)
    ax.set_ylabel(prediction_label)


def plot_residual_histogram(ax, gt_voltage, predicted_voltage) -> None:
    residuals = np.ravel(predicted_voltage) - np.ravel(gt_voltage)
    rmse = float(np.sqrt(np.mean(residuals ** 2)))
    ax.hist(residuals, bins=300, color="k", alpha=0.8)
    ax.set_xlim(-20, 20)
    ax.set_xlabel("prediction − ground truth (mV)")
    ax.set_ylabel("count")
    ax.set_title(f"RMSE = {rmse:.3f} mV")


def plot_losses(ax, history: dict, key: str, log_scale: bool) -> None:
    steps = history["steps_per_subset"] * np.arange(1, len(history[key]) + 1)
    ax.plot(steps, history[key], label="train")
    if f"val_{key}" in history:
        ax.plot(steps, history[f"val_{key}"], label="valid")
    if log_scale:
        ax.set_yscale("log")
    ax.set_xlabel("training steps")
    ax.set_ylabel(key.replace("_", " "))
    ax.legend(frameon=False)


# ----------------------------------------------------------------------------------------------------------
# Figures
# ----------------------------------------------------------------------------------------------------------
def choose_example_trace(y_spikes: np.ndarray, preferred: int | None) -> int:
    """The preferred test trace if it exists, else the one whose spike count is nearest the 75th percentile
    (a trace with a few spikes, as the paper's example)."""
    if preferred is not None and 0 <= preferred < len(y_spikes):
        return int(preferred)
    counts = np.asarray(y_spikes).sum(axis=1)
    chosen = int(np.argmin(np.abs(counts - np.percentile(counts, 75))))
    log.info("example test trace %s is not available; using trace %d (%d spikes)", preferred, chosen, counts[chosen])
    return chosen


def _zoom_range(duration: int, zoom_fraction) -> tuple[int, int]:
    return int(zoom_fraction[0] * duration), int(zoom_fraction[1] * duration)


def figure_dataset_overview(data: IntegrateAndFireFigureData, num_examples: int = 3, shown_ms: int = 2000):
    num_exc = data.neuron.num_exc_synapses
    fig = plt.figure(figsize=(18, 14))
    grid = gridspec.GridSpec(4, 2 * num_examples, figure=fig, hspace=0.45, wspace=0.35)
    for column, (name, dataset) in enumerate((("train", data.train_set), ("test", data.test_set))):
        for example in range(min(num_examples, len(dataset))):
            ax = fig.add_subplot(grid[0, column * num_examples + example])
            inputs = dataset.inputs([example], 0, min(shown_ms, dataset.duration_ms))[0].T
            plot_input_raster(ax, inputs, num_exc, marker_size=1.0)
            ax.set_title(f"{name} #{example} inputs")
            ax.set_xlabel("time (ms)")
    ax = fig.add_subplot(grid[1, :])
    for example in range(min(num_examples, len(data.test_set))):
        ax.plot(np.asarray(data.test_set.spikes[example], dtype=float) + 1.2 * example, lw=0.8)
    ax.set_title("test output spikes (offset per trace)")
    ax.set_xlabel("time (ms)")
    ax = fig.add_subplot(grid[2, :])
    for example in range(min(num_examples, len(data.test_set))):
        ax.plot(data.test_set.soma[example], lw=0.8)
    ax.set_title("test somatic voltage (clipped at spikes)")
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("mV")
    ax = fig.add_subplot(grid[3, :num_examples])
    intervals = np.concatenate([np.diff(np.flatnonzero(trace)) for trace in np.asarray(data.y_spikes)])
    ax.hist(intervals, bins=np.arange(0, 2001, 5), color="k")
    ax.set_xlabel("inter-spike interval (ms)")
    ax.set_ylabel("count")
    ax.set_title(f"test ISIs (CV = {data.test_set.info.get('isi_cv', float('nan')):.2f})")
    ax = fig.add_subplot(grid[3, num_examples:])
    ax.hist(np.ravel(data.y_soma), bins=150, color="k")
    ax.set_xlabel("somatic voltage (mV)")
    ax.set_ylabel("count")
    ax.set_title("test somatic voltage histogram")
    return fig


def figure_learning_curves(history: dict):
    fig, axes = plt.subplots(2, 2, figsize=(14, 9))
    for row, key in enumerate(("spikes_loss", "soma_loss")):
        for column, log_scale in enumerate((False, True)):
            plot_losses(axes[row, column], history, key, log_scale)
    fig.suptitle("learning curves (one point per training subset)")
    fig.tight_layout()
    return fig


def figure_learned_weights(data: IntegrateAndFireFigureData):
    num_exc = data.neuron.num_exc_synapses
    fig, axes = plt.subplots(2, 1, figsize=(10, 11), gridspec_kw=dict(height_ratios=[2, 1]), sharex=True)
    plot_weights_heatmap(axes[0], data.filter_weights, symmetric_weight_limit(data.filter_weights, num_exc))
    axes[0].set_title("learned filter (rows: exc then inh synapses)")
    plot_weight_cross_sections(axes[1], data.filter_weights, num_exc)
    fig.tight_layout()
    return fig


def figure_spike_predictions(data: IntegrateAndFireFigureData):
    fig, axes = plt.subplots(1, 3, figsize=(20, 6))
    plot_probability_histograms(axes[0], data.spike_probability, data.y_spikes)
    plot_roc(axes[1], data.fpr, data.tpr, data.operating_point, data.metrics["spike_AUC"])
    plot_cross_correlation(axes[2], data.xcorr, data.params["xcorr_area_half_width_ms"])
    fig.tight_layout()
    return fig


def figure_voltage_predictions(data: IntegrateAndFireFigureData):
    fig, axes = plt.subplots(1, 2, figsize=(16, 7))
    plot_voltage_scatter(axes[0], data.y_soma, data.soma_prediction, data.params["num_scatter_points"],
                         data.params["random_seed"])
    axes[0].set_title(f"explained variance {data.metrics['soma_explained_variance_percent']:.1f} %")
    plot_residual_histogram(axes[1], data.y_soma, data.soma_prediction)
    fig.tight_layout()
    return fig


def figure_full(data: IntegrateAndFireFigureData):
    """The combined Fig. 1; the top-left area is left for the illustrations, as in the paper."""
    params, neuron = data.params, data.neuron
    trace = choose_example_trace(data.y_spikes, params["example_test_trace"])
    duration = data.y_spikes.shape[1]
    time_ms = np.arange(duration)
    zoom_start, zoom_stop = _zoom_range(duration, params["zoom_fraction"])

    fig = plt.figure(figsize=(24, 18.5))
    left = gridspec.GridSpec(3, 1, figure=fig, left=0.05, right=0.65, bottom=0.05, top=0.45, hspace=0.15)
    ax_raster = fig.add_subplot(left[0])
    plot_input_raster(ax_raster, data.test_set.inputs([trace])[0].T, neuron.num_exc_synapses, marker_size=3.0)
    ax_raster.set_title(f"test trace {trace}")
    ax_raster.set_xticks([])

    gt_voltage, predicted_voltage = data.y_soma[trace], data.soma_prediction[trace]
    gt_spikes, predicted_spikes = data.y_spikes[trace], data.predicted_spikes[trace]
    ax_full = fig.add_subplot(left[1])
    plot_voltage_traces(ax_full, gt_voltage, predicted_voltage, gt_spikes, predicted_spikes, time_ms)
    zoom_low = min(gt_voltage[zoom_start:zoom_stop].min(), predicted_voltage[zoom_start:zoom_stop].min()) - 2.5
    ax_full.add_patch(matplotlib.patches.Rectangle((zoom_start, zoom_low), zoom_stop - zoom_start, -49 - zoom_low,
                                                   fill=False, ls="--", color="k"))
    full_low = min(gt_voltage.min(), predicted_voltage.min())
    # Scale bars in the margin left of and below the trace, so they never cover it.
    add_scale_bars(ax_full, 600, 40, x0=-0.03 * duration, y0=full_low - 8)
    ax_full.set_xlim(-0.04 * duration, duration)
    ax_full.set_ylim(full_low - 15, DRAWN_SPIKE_MV + 5)
    ax_full.axis("off")
    ax_full.legend(loc="upper right", frameon=False, fontsize=12)

    ax_zoom = fig.add_subplot(left[2])
    zoom = slice(zoom_start, zoom_stop)
    plot_voltage_traces(ax_zoom, gt_voltage[zoom], predicted_voltage[zoom], gt_spikes[zoom], predicted_spikes[zoom],
                        time_ms[zoom])
    zoom_length = zoom_stop - zoom_start
    add_scale_bars(ax_zoom, 100, 8, x0=zoom_start - 0.03 * zoom_length, y0=zoom_low - 1.5)
    ax_zoom.set_xlim(zoom_start - 0.04 * zoom_length, zoom_stop)
    ax_zoom.set_ylim(zoom_low - 3, -49)
    ax_zoom.axis("off")

    right = gridspec.GridSpec(12, 2, figure=fig, left=0.73, right=0.97, bottom=0.05, top=0.95, hspace=1.2, wspace=0.4)
    ax_weights = fig.add_subplot(right[0:5, :])
    limit = symmetric_weight_limit(data.filter_weights, neuron.num_exc_synapses, factor=1.1)
    image = plot_weights_heatmap(ax_weights, data.filter_weights, limit, colorbar=False)
    colorbar_ax = ax_weights.inset_axes([0.05, 1.04, 0.4, 0.04])
    fig.colorbar(image, cax=colorbar_ax, orientation="horizontal")
    colorbar_ax.xaxis.set_ticks_position("top")
    ax_weights.tick_params(labelbottom=False)
    ax_sections = fig.add_subplot(right[5:7, :], sharex=ax_weights)
    plot_weight_cross_sections(ax_sections, data.filter_weights, neuron.num_exc_synapses, individual=False)

    plot_roc(fig.add_subplot(right[7:9, 0]), data.fpr, data.tpr, data.operating_point, data.metrics["spike_AUC"])
    plot_cross_correlation(fig.add_subplot(right[7:9, 1]), data.xcorr, params["xcorr_area_half_width_ms"])
    plot_voltage_scatter(fig.add_subplot(right[9:12, :]), data.y_soma, data.soma_prediction,
                         params["num_scatter_points"], params["random_seed"])
    return fig


FIGURES = {
    "dataset_overview": figure_dataset_overview,
    "learning_curves": lambda data: figure_learning_curves(data.history),
    "figure1D_learned_weights": figure_learned_weights,
    "figure1B_spike_predictions": figure_spike_predictions,
    "figure1C_voltage_predictions": figure_voltage_predictions,
    "figure1_full": figure_full,
}


def draw_all(data: IntegrateAndFireFigureData, output_dir: str | Path) -> list[Path]:
    """Draw every figure and save it as PNG and PDF under ``output_dir``; returns the file paths."""
    paths: list[Path] = []
    for name, draw in FIGURES.items():
        fig = draw(data)
        try:
            paths += utils.save_figure(fig, output_dir, name)
        finally:
            plt.close(fig)
    return paths
