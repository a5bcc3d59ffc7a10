"""Fig. 1: the integrate-and-fire neuron and its one-filter network (docs/integrate_and_fire.md).

The figures saved under ``figures/IF/`` compose the shared ``panels`` with a few of their own (probability
histograms, residuals, learning curves, and the schematics of the neuron and of its network):
``dataset_overview``, ``learning_curves``, ``figure1D_learned_weights``, ``figure1B_spike_predictions``,
``figure1C_voltage_predictions`` and the combined ``figure1_full``. Everything they draw is one
``IntegrateAndFireFigureData``, saved as ``predictions.npz`` beside the run's ``results.json`` and ``run.json``,
so that ``redraw`` draws them again from that folder alone, without data, training or Keras. The backend is
the caller's choice: a script that only writes files selects Agg.
"""
from __future__ import annotations

import dataclasses
import logging
import os
from pathlib import Path

import matplotlib.patches
import matplotlib.pyplot as plt
import matplotlib.ticker
import numpy as np
from matplotlib import gridspec

from neuron_as_dnn import errors, utils
from neuron_as_dnn.figures import panels, style
from neuron_as_dnn.integrate_and_fire import neuron as iaf

log = logging.getLogger(__name__)

OVERVIEW_EXAMPLES, OVERVIEW_MS = 3, 2000   # input rasters of the data set overview: 3 simulations, first 2 s
INSET_FPR_MAX = 0.012
SCHEMATIC_WINDOW_MS = 400                  # the stretch of the example trace shown in the schematics
LABELS = ("I&F", "ANN")
ARRAY_FIELDS = ("filter_weights", "fpr", "tpr", "xcorr", "y_spikes", "y_soma", "spike_probability",
                "soma_prediction", "example_inputs", "train_examples", "test_examples")
SCALAR_FIELDS = ("operating_index", "spike_threshold", "example_trace")
HISTORY_PREFIX = "history."
PREDICTIONS_FILE, RESULTS_FILE, RUN_FILE = "predictions.npz", "results.json", "run.json"
# Entries of the parameter block that change only how a saved run is drawn, so ``redraw`` may take new values.
FIGURE_OPTIONS = ("zoom_fraction", "num_scatter_points", "xcorr_area_half_width_ms")


@dataclasses.dataclass
class IntegrateAndFireFigureData:
    """What every Fig. 1 figure draws. Input arrays are boolean (synapses, time) rasters, excitatory rows first."""

    params: dict                   # the run's parameters (neuron, figure options, seed)
    metrics: dict                  # the headline metrics of results.json
    history: dict                  # per-subset losses, and ``steps_per_subset``
    filter_weights: np.ndarray     # (synapses, time), last column = current time
    fpr: np.ndarray
    tpr: np.ndarray
    operating_index: int           # ROC vertex whose threshold gives the predicted spikes
    spike_threshold: float         # predicted spike: probability >= threshold (evaluation.OperatingPoint)
    xcorr: np.ndarray              # evaluation.spike_cross_correlation
    y_spikes: np.ndarray           # (test sims, time)
    y_soma: np.ndarray
    spike_probability: np.ndarray
    soma_prediction: np.ndarray
    example_trace: int             # the test trace shown in figure1_full
    example_inputs: np.ndarray     # its inputs (synapses, time)
    train_examples: np.ndarray     # (OVERVIEW_EXAMPLES, synapses, OVERVIEW_MS)
    test_examples: np.ndarray

    @property
    def predicted_spikes(self) -> np.ndarray:
        return self.spike_probability >= self.spike_threshold

    @property
    def num_exc(self) -> int:
        return self.params["num_exc_synapses"]

    def save(self, path: str | os.PathLike) -> None:
        """The arrays and the history as one ``.npz`` (``params`` and ``metrics`` live in run.json and
        results.json)."""
        arrays = {name: np.asarray(getattr(self, name)) for name in ARRAY_FIELDS + SCALAR_FIELDS}
        arrays.update({HISTORY_PREFIX + key: np.asarray(value) for key, value in self.history.items()})
        with utils.atomic_write(path, "wb") as handle:
            np.savez_compressed(handle, **arrays)

    @classmethod
    def load(cls, path: str | os.PathLike, params: dict, metrics: dict) -> "IntegrateAndFireFigureData":
        with np.load(path) as stored:
            fields = {name: stored[name] for name in ARRAY_FIELDS}
            fields.update({name: stored[name].item() for name in SCALAR_FIELDS})
            history = {key[len(HISTORY_PREFIX):]: stored[key].tolist() for key in stored.files
                       if key.startswith(HISTORY_PREFIX)}
        return cls(params=params, metrics=metrics, history=history, **fields)


def validate_figure_options(params: dict) -> None:
    """The ``FIGURE_OPTIONS`` entries of ``params``, checked before any drawing (or long work) starts."""
    zoom = params["zoom_fraction"]
    if not (len(zoom) == 2 and 0 <= zoom[0] < zoom[1] <= 1):
        raise errors.bad_parameter("zoom_fraction", f"needs 0 <= start < end <= 1, got {zoom!r}")
    if not params["num_scatter_points"] > 0:
        raise errors.bad_parameter("num_scatter_points", f"must be > 0, got {params['num_scatter_points']!r}")
    if not 0 < params["xcorr_area_half_width_ms"] <= params["xcorr_half_window_ms"]:
        raise errors.bad_parameter("xcorr_area_half_width_ms", "must lie in (0, xcorr_half_window_ms], got "
                                                               f"{params['xcorr_area_half_width_ms']!r}")


def choose_example_trace(y_spikes: np.ndarray, preferred: int | None) -> int:
    """The preferred test trace if it exists, else the one whose spike count is nearest the 75th percentile
    (a trace with a few spikes, as the paper's example)."""
    if preferred is not None and 0 <= preferred < len(y_spikes):
        return int(preferred)
    counts = np.asarray(y_spikes).sum(axis=1)
    chosen = int(np.argmin(np.abs(counts - np.percentile(counts, 75))))
    log.info("example test trace %s is not available; using trace %d (%d spikes)", preferred, chosen, counts[chosen])
    return chosen


# ----------------------------------------------------------------------------------------------------------
# Panels of Fig. 1 only
# ----------------------------------------------------------------------------------------------------------
def plot_raster(ax, inputs: np.ndarray, num_exc: int, **options) -> None:
    """``panels.plot_input_raster`` of a boolean (synapses, time) matrix."""
    panels.plot_input_raster(ax, panels.raster_events(inputs[:num_exc]), panels.raster_events(inputs[num_exc:]),
                             num_exc, len(inputs) - num_exc, time_range=(0, inputs.shape[1]), **options)


def symmetric_weight_limit(filter_weights: np.ndarray, num_exc: int, factor: float = 1.05) -> float:
    """Colour limit from the strongest mean inhibitory weight, as the original (excitatory if no inhibition)."""
    inhibitory = filter_weights[num_exc:]
    reference = inhibitory.mean(axis=0) if len(inhibitory) else filter_weights[:num_exc].mean(axis=0)
    limit = factor * float(np.max(np.abs(reference)))
    return limit if limit > 0 else float(np.max(np.abs(filter_weights))) or 1.0


def plot_probability_histograms(ax, spike_probability, y_spikes, bins: int = 50) -> None:
    """Predicted spike probability given a true spike and given none (densities, log scale)."""
    edges = np.linspace(0, 1, bins + 1)
    spikes = np.asarray(y_spikes, dtype=bool)
    ax.hist(np.ravel(spike_probability[~spikes]), bins=edges, density=True, color=style.NO_SPIKE, alpha=0.6,
            label="no spike")
    ax.hist(np.ravel(spike_probability[spikes]), bins=edges, density=True, color=style.SPIKE, alpha=0.6,
            label="spike")
    ax.set_yscale("log")
    ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())  # labelled minor ticks crowd a short range
    ax.set_xlabel("predicted spike probability")
    ax.set_ylabel("density")
    ax.legend()


def plot_residual_histogram(ax, gt_voltage, predicted_voltage) -> None:
    residuals = np.ravel(predicted_voltage) - np.ravel(gt_voltage)
    rmse = float(np.sqrt(np.mean(residuals ** 2)))
    ax.hist(residuals, bins=300, color=style.NEUTRAL, alpha=0.8)
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
    ax.legend()


# ---- the schematics: drawn on a canvas of CANVAS units with equal aspect, so circles stay round -----------
CANVAS = (17.0, 4.0)


def _canvas(ax, title: str) -> None:
    ax.set_xlim(0, CANVAS[0])
    ax.set_ylim(0, CANVAS[1])
    ax.set_aspect("equal", adjustable="box")
    ax.axis("off")
    ax.set_title(title, loc="left", fontsize=style.TITLE_SIZE, fontweight="bold")


def _arrow(ax, start, end, color=style.NEUTRAL) -> None:
    ax.annotate("", xy=end, xytext=start, arrowprops=dict(arrowstyle="-|>", color=color, lw=1.5,
                                                          shrinkA=0, shrinkB=0))


def _node(ax, center, radius: float, text: str, face: str = "white", fontsize=style.ANNOTATION_SIZE) -> None:
    ax.add_patch(matplotlib.patches.Circle(center, radius, facecolor=face, edgecolor=style.NEUTRAL, lw=1.5))
    ax.text(*center, text, ha="center", va="center", fontsize=fontsize)


def _series(ax, values: np.ndarray, box, color, value_range=None, **line) -> None:
    """A 1-D series scaled into ``box`` = (x, y, width, height) of the canvas."""
    x, y, width, height = box
    values = np.asarray(values, dtype=float)
    low, high = (values.min(), values.max()) if value_range is None else value_range
    scaled = (values - low) / ((high - low) or 1.0)
    ax.plot(x + width * np.linspace(0, 1, len(values)), y + height * np.clip(scaled, 0, 1), color=color, **line)


def _inset(ax, box, draw, *args, **kwargs):
    """``draw(inset, *args, **kwargs)`` into an axes over ``box`` = (x, y, width, height) of the canvas, then
    strip its ticks and labels: a real panel as an icon."""
    inset = ax.inset_axes(list(box), transform=ax.transData)
    draw(inset, *args, **kwargs)
    inset.set_xticks([])
    inset.set_yticks([])
    inset.set_xlabel("")
    inset.set_ylabel("")
    inset.spines[:].set_visible(True)
    return inset


def plot_neuron_schematic(ax, inputs: np.ndarray, num_exc: int, voltage: np.ndarray, spikes: np.ndarray, *,
                          tau_ms: float, v_threshold: float, v_reset: float, shown_rows=(6, 3)) -> None:
    """The I&F neuron: a few of its excitatory and inhibitory input trains (``inputs``, boolean (synapses,
    time)), each filtered by an exponential synaptic kernel and summed with weight ±1 into the soma, whose
    voltage fires at the threshold and resets (``voltage``, ``spikes``: the neuron's output on that stretch)."""
    _canvas(ax, "integrate-and-fire neuron")
    num_inh = len(inputs) - num_exc
    counts = inputs.sum(axis=1)

    def busiest(first: int, stop: int, count: int) -> np.ndarray:  # the liveliest rows make the clearest icon
        return first + np.sort(np.argsort(-counts[first:stop], kind="stable")[:count])

    groups = ((busiest(0, num_exc, shown_rows[0]), 3.65, 2.05, style.EXCITATORY, f"{num_exc} excitatory", "+1"),
              (busiest(num_exc, num_exc + num_inh, shown_rows[1]), 1.25, 0.35, style.INHIBITORY,
               f"{num_inh} inhibitory", "−1"))
    duration = inputs.shape[1]
    summation = (8.0, 2.0)
    for rows, top, bottom, color, label, sign in groups:
        levels = np.linspace(top, bottom, len(rows)) if len(rows) > 1 else np.array([top])
        for row, level in zip(rows, levels):
            ax.plot([1.9, 4.3], [level, level], color=color, lw=0.6, alpha=0.5)
            times = 1.9 + 2.4 * np.flatnonzero(inputs[row]) / duration
            ax.vlines(times, level - 0.1, level + 0.1, color=color, lw=1.2)
        ax.text(1.75, (top + bottom) / 2, f"{label}\ninputs", ha="right", va="center", color=color,
                fontsize=style.ANNOTATION_SIZE)
        kernel_box = (5.0, (top + bottom) / 2 - 0.45, 1.6, 0.9)
        for level in levels:
            ax.plot([4.35, kernel_box[0]], [level, kernel_box[1] + kernel_box[3] / 2], color=color, lw=0.5, alpha=0.6)
        lags = np.arange(int(5 * tau_ms))
        kernel = np.exp(-lags / tau_ms)
        _series(ax, kernel if sign == "+1" else -kernel, kernel_box, color, lw=2)
        ax.add_patch(matplotlib.patches.Rectangle(kernel_box[:2], *kernel_box[2:], fill=False, lw=1))
        _arrow(ax, (kernel_box[0] + kernel_box[2], kernel_box[1] + kernel_box[3] / 2),
               (summation[0] - 0.4, summation[1] + (0.2 if sign == "+1" else -0.2)), color)
        ax.text(7.0, kernel_box[1] + kernel_box[3] / 2 + (0.25 if sign == "+1" else -0.25), f"w = {sign}",
                ha="left", va="center", color=color, fontsize=style.ANNOTATION_SIZE)
    ax.text(5.8, 3.95, f"exponential synaptic current\nkernel e$^{{-t/\\tau}}$, τ = {tau_ms:g} ms", ha="center",
            va="top", fontsize=style.SMALL_SIZE + 1)
    _node(ax, summation, 0.35, "Σ")
    _arrow(ax, (summation[0] + 0.35, summation[1]), (9.1, summation[1]))
    _node(ax, (9.8, 2.0), 0.7, "soma", face="0.85")
    ax.text(9.8, 1.0, "V = v$_{reset}$ + c·I", ha="center", va="top", fontsize=style.SMALL_SIZE + 1)
    _arrow(ax, (10.5, 2.0), (11.2, 2.0))
    spike_top = v_threshold + 15
    box = (11.4, 0.5, 4.0, 3.0)
    value_range = (v_reset - 3, spike_top)
    _series(ax, panels.with_drawn_spikes(voltage, spikes, spike_top), box, style.GROUND_TRUTH, value_range, lw=1.5)
    for level, text in ((v_threshold, f"threshold\n{v_threshold:g} mV"), (v_reset, f"reset\n{v_reset:g} mV")):
        y = box[1] + box[3] * (level - value_range[0]) / (value_range[1] - value_range[0])
        ax.plot([box[0], box[0] + box[2]], [y, y], color=style.NEUTRAL, lw=0.8, ls="--")
        ax.text(box[0] + box[2] + 0.1, y, text, ha="left", va="center", fontsize=style.SMALL_SIZE + 1)
    ax.text(box[0] + box[2] / 2, box[1] + box[3] + 0.1, "output: spikes and somatic voltage", ha="center",
            va="bottom", fontsize=style.ANNOTATION_SIZE)


def plot_network_schematic(ax, inputs: np.ndarray, num_exc: int, filter_weights: np.ndarray,
                           spike_probability: np.ndarray, voltage: np.ndarray) -> None:
    """The network: the input raster (``inputs``, boolean (synapses, time)) seen through one causal filter
    (``filter_weights``, (synapses, filter ms)), then a sigmoid head (spike probability) and a linear head
    (somatic voltage); ``spike_probability`` and ``voltage`` are its predictions on that stretch."""
    _canvas(ax, "its network: one filter, two heads")
    num_synapses, duration = inputs.shape
    filter_ms = filter_weights.shape[1]
    raster_box = (0.3, 0.35, 4.6, 3.1)
    _inset(ax, raster_box, plot_raster, inputs, num_exc, marker_size=5.0, line_width=0.8)
    receptive = raster_box[2] * filter_ms / duration
    ax.add_patch(matplotlib.patches.Rectangle((raster_box[0] + raster_box[2] - receptive, raster_box[1] - 0.08),
                                              receptive, raster_box[3] + 0.16, fill=False, lw=2, ls="--"))
    ax.text(raster_box[0] + raster_box[2] / 2, raster_box[1] - 0.12,
            f"inputs: {num_synapses} synapses × {duration} ms", ha="center", va="top", fontsize=style.SMALL_SIZE + 1)
    _arrow(ax, (raster_box[0] + raster_box[2] + 0.1, 1.9), (5.7, 1.9))
    filter_box = (5.8, 0.35, 1.8, 3.1)
    limit = symmetric_weight_limit(filter_weights, num_exc, factor=1.1)
    _inset(ax, filter_box, panels.plot_filter_heatmap, filter_weights, limit)
    ax.text(filter_box[0] + filter_box[2] / 2, filter_box[1] - 0.12, f"1 filter, {filter_ms} ms, causal",
            ha="center", va="top", fontsize=style.SMALL_SIZE + 1)
    _arrow(ax, (filter_box[0] + filter_box[2] + 0.1, 1.9), (8.3, 1.9))
    _node(ax, (8.7, 1.9), 0.4, "Σ+b")
    heads = ((3.0, "σ(a·u + b)", spike_probability, "spike probability"), (0.8, "a·u + b", voltage, "somatic voltage"))
    for y, formula, values, label in heads:
        _arrow(ax, (9.1, 1.9), (9.9, y))
        ax.add_patch(matplotlib.patches.FancyBboxPatch((10.0, y - 0.35), 2.0, 0.7, boxstyle="round,pad=0.05",
                                                       facecolor="white", edgecolor=style.NEUTRAL))
        ax.text(11.0, y, formula, ha="center", va="center", fontsize=style.ANNOTATION_SIZE)
        _arrow(ax, (12.1, y), (12.7, y))
        _series(ax, values, (12.9, y - 0.5, 3.9, 1.0), style.PREDICTION, lw=1.5)  # own range: the probability stays low
        ax.text(14.85, y + 0.55, label, ha="center", va="bottom", fontsize=style.ANNOTATION_SIZE)


# ----------------------------------------------------------------------------------------------------------
# Figures
# ----------------------------------------------------------------------------------------------------------
def figure_dataset_overview(data: IntegrateAndFireFigureData):
    fig = plt.figure(figsize=(18, 14))
    columns = max(len(data.train_examples), len(data.test_examples), 1)
    grid = gridspec.GridSpec(4, 2 * columns, figure=fig, hspace=0.5, wspace=0.45)
    for block, (name, examples) in enumerate((("train", data.train_examples), ("test", data.test_examples))):
        for index, inputs in enumerate(examples):
            ax = fig.add_subplot(grid[0, block * columns + index])
            plot_raster(ax, inputs, data.num_exc, marker_size=2.0)
            ax.set_title(f"{name} #{index} inputs")
            ax.set_xlabel("time (ms)")
            if index:
                ax.set_ylabel("")
    shown = range(min(OVERVIEW_EXAMPLES, len(data.y_spikes)))
    ax = fig.add_subplot(grid[1, :])
    for example in shown:
        ax.plot(np.asarray(data.y_spikes[example], dtype=float) + 1.2 * example, lw=0.8)
    ax.set_title("test output spikes (offset per trace)")
    ax.set_xlabel("time (ms)")
    ax = fig.add_subplot(grid[2, :])
    for example in shown:
        ax.plot(data.y_soma[example], lw=0.8)
    ax.set_title("test somatic voltage (clipped at spikes)")
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("mV")
    ax = fig.add_subplot(grid[3, :columns])
    intervals = iaf.inter_spike_intervals(data.y_spikes)
    ax.hist(intervals, bins=np.arange(0, 2001, 5), color=style.NEUTRAL)
    ax.set_xlabel("inter-spike interval (ms)")
    ax.set_ylabel("count")
    cv = iaf.output_statistics(data.y_spikes)["isi_cv"]
    ax.set_title(f"test ISIs (CV = {cv:.2f})")
    ax = fig.add_subplot(grid[3, columns:])
    ax.hist(np.ravel(data.y_soma), bins=150, color=style.NEUTRAL)
    ax.set_xlabel("somatic voltage (mV)")
    ax.set_ylabel("count")
    ax.set_title("test somatic voltage histogram")
    return fig


def figure_learning_curves(data: IntegrateAndFireFigureData):
    fig, axes = plt.subplots(2, 2, figsize=(14, 9))
    for row, key in enumerate(("spikes_loss", "soma_loss")):
        for column, log_scale in enumerate((False, True)):
            plot_losses(axes[row, column], data.history, key, log_scale)
    fig.suptitle("learning curves (one point per training subset)")
    fig.tight_layout()
    return fig


def _weights_and_profiles(data: IntegrateAndFireFigureData, ax_weights, ax_profiles, factor: float,
                          individual: bool):
    image = panels.plot_filter_heatmap(ax_weights, data.filter_weights,
                                       symmetric_weight_limit(data.filter_weights, data.num_exc, factor))
    ax_weights.tick_params(labelbottom=False)
    panels.plot_filter_profiles(ax_profiles, data.filter_weights, data.num_exc, individual=individual)
    return image


def figure_learned_weights(data: IntegrateAndFireFigureData):
    fig, axes = plt.subplots(2, 1, figsize=(10, 11), gridspec_kw=dict(height_ratios=[2, 1]), sharex=True)
    image = _weights_and_profiles(data, axes[0], axes[1], factor=1.05, individual=True)
    # beside the map, not taken from its width: the map's time axis stays aligned with the profiles below
    fig.colorbar(image, cax=axes[0].inset_axes([1.02, 0, 0.03, 1]), label="weight")
    axes[0].set_title("learned filter (rows: excitatory, then inhibitory synapses)")
    fig.tight_layout()
    return fig


def _roc(data: IntegrateAndFireFigureData, ax) -> None:
    panels.plot_roc(ax, data.fpr, data.tpr, point_index=data.operating_index, auc=data.metrics["spike_AUC"],
                    inset_fpr_max=INSET_FPR_MAX)


def figure_spike_predictions(data: IntegrateAndFireFigureData):
    fig, axes = plt.subplots(1, 3, figsize=(20, 6))
    plot_probability_histograms(axes[0], data.spike_probability, data.y_spikes)
    _roc(data, axes[1])
    panels.plot_cross_correlation(axes[2], data.xcorr, area_half_width_ms=data.params["xcorr_area_half_width_ms"])
    fig.tight_layout()
    return fig


def _voltage_scatter(data: IntegrateAndFireFigureData, ax) -> None:
    panels.plot_voltage_scatter(ax, data.y_soma, data.soma_prediction, num_points=data.params["num_scatter_points"],
                                seed=data.params["seed"], gt_label=f"{LABELS[0]} (mV)",
                                prediction_label=f"{LABELS[1]} (mV)")


def figure_voltage_predictions(data: IntegrateAndFireFigureData):
    fig, axes = plt.subplots(1, 2, figsize=(16, 7))
    _voltage_scatter(data, axes[0])
    axes[0].set_title(f"explained variance {data.metrics['soma_explained_variance_percent']:.1f} %")
    plot_residual_histogram(axes[1], data.y_soma, data.soma_prediction)
    fig.tight_layout()
    return fig


def schematic_window(spikes: np.ndarray, length: int = SCHEMATIC_WINDOW_MS) -> slice:
    """The ``length`` ms of a trace with the most spikes, the first of them late in the window, so that the
    schematics show inputs building up to a spike and its reset (the start, without spikes)."""
    duration = len(spikes)
    times = np.flatnonzero(spikes)
    if not len(times) or duration <= length:
        return slice(0, min(length, duration))
    starts = np.clip(times - int(0.6 * length), 0, duration - length)
    counts = [np.count_nonzero((times >= start) & (times < start + length)) for start in starts]
    start = int(starts[int(np.argmax(counts))])
    return slice(start, start + length)


def _schematics(data: IntegrateAndFireFigureData, ax_neuron, ax_network) -> None:
    """Both schematics show the same stretch of the example trace (``schematic_window``)."""
    trace, params = data.example_trace, data.params
    window = schematic_window(data.y_spikes[trace])
    inputs = data.example_inputs[:, window]
    plot_neuron_schematic(ax_neuron, inputs, data.num_exc, data.y_soma[trace, window], data.y_spikes[trace, window],
                          tau_ms=params["membrane_time_const_ms"], v_threshold=params["v_threshold"],
                          v_reset=params["v_reset"])
    plot_network_schematic(ax_network, inputs, data.num_exc, data.filter_weights,
                           data.spike_probability[trace, window], data.soma_prediction[trace, window])


def figure_full(data: IntegrateAndFireFigureData):
    """The combined Fig. 1: schematics (top left), the example test trace (bottom left), the learned filter,
    ROC, spike timing and voltage scatter (right column)."""
    params, trace = data.params, data.example_trace
    zoom = panels.zoom_range(data.y_soma.shape[1], params["zoom_fraction"])
    fig = plt.figure(figsize=(24, 18.5))
    _schematics(data, fig.add_axes([0.03, 0.755, 0.64, 0.19]), fig.add_axes([0.03, 0.52, 0.64, 0.19]))

    left = gridspec.GridSpec(3, 1, figure=fig, left=0.05, right=0.65, bottom=0.05, top=0.45, hspace=0.15)
    ax_raster = fig.add_subplot(left[0])
    plot_raster(ax_raster, data.example_inputs, data.num_exc, marker_size=3.0)
    ax_raster.set_title(f"test trace {trace}")
    ax_raster.set_xticks([])
    panels.plot_trace_with_zoom(fig.add_subplot(left[1]), fig.add_subplot(left[2]), data.y_soma[trace],
                                data.soma_prediction[trace], data.y_spikes[trace], data.predicted_spikes[trace], zoom,
                                labels=LABELS)

    right = gridspec.GridSpec(12, 2, figure=fig, left=0.73, right=0.97, bottom=0.05, top=0.95, hspace=1.2, wspace=0.4)
    ax_weights = fig.add_subplot(right[0:5, :])
    ax_profiles = fig.add_subplot(right[5:7, :], sharex=ax_weights)
    image = _weights_and_profiles(data, ax_weights, ax_profiles, factor=1.1, individual=False)
    colorbar_ax = ax_weights.inset_axes([0.05, 1.04, 0.4, 0.04])
    fig.colorbar(image, cax=colorbar_ax, orientation="horizontal")
    colorbar_ax.xaxis.set_ticks_position("top")
    _roc(data, fig.add_subplot(right[7:9, 0]))
    panels.plot_cross_correlation(fig.add_subplot(right[7:9, 1]), data.xcorr,
                                  area_half_width_ms=params["xcorr_area_half_width_ms"])
    _voltage_scatter(data, fig.add_subplot(right[9:12, :]))
    return fig


FIGURES = {
    "dataset_overview": figure_dataset_overview,
    "learning_curves": figure_learning_curves,
    "figure1D_learned_weights": figure_learned_weights,
    "figure1B_spike_predictions": figure_spike_predictions,
    "figure1C_voltage_predictions": figure_voltage_predictions,
    "figure1_full": figure_full,
}


def draw_all(data: IntegrateAndFireFigureData, out_dir: str | Path, show: bool = False) -> list[Path]:
    """Draw every figure of ``FIGURES`` and save it as PNG and PDF in ``out_dir``; returns the file paths.
    With ``show`` the figures also stay open and are shown at the end (an interactive backend is the
    caller's)."""
    paths: list[Path] = []
    with style.context():
        for name, draw in FIGURES.items():
            fig = draw(data)
            try:
                paths += utils.save_figure(fig, out_dir, name)
            finally:
                if not show:
                    plt.close(fig)
    if show:
        plt.show()
    return paths


def redraw(out_dir: str | os.PathLike, overrides: dict | None = None, show: bool = False) -> list[Path]:
    """Draw every figure again from a folder written by the I&F experiment, without data or training.

    ``overrides`` may change the ``FIGURE_OPTIONS`` of the saved run; the saved files are left as they are."""
    out_dir = Path(out_dir)
    missing = [name for name in (RUN_FILE, RESULTS_FILE, PREDICTIONS_FILE) if not (out_dir / name).is_file()]
    if missing:
        raise errors.MissingFileError(f"{out_dir}: no complete saved run ({', '.join(missing)} missing); "
                                      f"run integrate_and_fire_figure_replication.py without --redraw first")
    unknown = set(overrides or {}) - set(FIGURE_OPTIONS)
    if unknown:
        raise ValueError(f"redraw can change only {FIGURE_OPTIONS}, not {sorted(unknown)}")
    params = dict(utils.read_json(out_dir / RUN_FILE)["params"], **(overrides or {}))
    validate_figure_options(params)
    data = IntegrateAndFireFigureData.load(out_dir / PREDICTIONS_FILE, params,
                                           utils.read_json(out_dir / RESULTS_FILE)["metrics"])
    return draw_all(data, out_dir, show=show)
