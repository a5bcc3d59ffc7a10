"""Figs. 2 and 3 of the paper: a model's test-set evaluation, its predictions and its first-layer filters.

Everything is drawn from a model folder's test predictions (``prediction.Predictions``: spike probability,
somatic prediction and ground truth per simulation) and its first-layer kernel, so the figures never run the
network. The panels (docs/evaluation.md):

- the morphology coloured by subtree, and a diagram of the network;
- the evaluation on the headline subset (``[0,24]`` output spikes, t ≥ 500 ms): the ROC curve with an inset
  on low FP rates, marking the vertex whose threshold makes the binary predictions (FP 0.002); the
  spike-timing cross-correlation × 1000 ("spike rate (Hz)"), smoothed once as the paper does; the voltage
  scatter with the identity line;
- single traces (whole and zoomed, with scale bars and the zoom box) and a stack of several traces, with
  predicted spikes where the probability exceeds the FP-0.002 threshold;
- the first-layer filters as spatio-temporal heatmaps per subtree (excitatory synapses above inhibitory
  ones) with their temporal profiles;
- the paper's combined layouts (v2: the Fig. 2 grid; v3: one row).

**Time in the filters.** Keras' causal ``Conv1D`` computes ``out[t] = Σ_k w[k] · x[t − (f − 1) + k]``, so
kernel index f − 1 weights the current ms and index 0 the oldest. ``weights_by_time_before`` flips the
kernel once so that column j is j ms before t₀, the paper's "time before t₀" axis (0 on the left). Weights
are drawn as stored: no smoothing (the original smoothed its combined figure twice, §10.4) and no sign flip.
"""
from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

import sklearn.metrics

from neuron_as_dnn import errors, utils
from neuron_as_dnn.data import dataset
from neuron_as_dnn.evaluation import metrics
from neuron_as_dnn.evaluation.dataset_statistics import representative_simulation
from neuron_as_dnn.figures import morphology as morphology_figures
from neuron_as_dnn.figures import panels, style
from neuron_as_dnn.simulation import morphology_map

log = logging.getLogger(__name__)

OPERATING_FP = metrics.CROSS_CORRELATION_FP     # the predicted spikes of every trace panel
SINGLE_TRACE_SPIKES = (3, 10)                      # the paper's single-trace figures
MULTIPLE_TRACE_SPIKES = (3, 15)
NUM_MULTIPLE_TRACES = 5
ZOOM_WIDTH_FRACTION = 0.27                         # the width of the paper's zoom windows (about 0.25-0.31)
FILTER_TIME_MS = 40                                # the paper shows the most recent 40 ms of the filters
NUM_SCATTER_POINTS = 20000
ROC_INSET_FPR_MAX = 0.012
SPIKE_DRAW_MV = 40.0


# ---------------------------------------------------------------------------------------------------------
# The data of the figures
# ---------------------------------------------------------------------------------------------------------

@dataclasses.dataclass
class EvaluationCurves:
    """The evaluation panels' data on the headline subset."""
    fpr: np.ndarray
    tpr: np.ndarray
    auc: float
    operating_point: metrics.OperatingPoint
    cross_correlation: np.ndarray      # raw (sums to 1), offsets −50…50 ms
    soma_gt_mV: np.ndarray             # kept simulations, t ≥ 500 ms
    soma_prediction_mV: np.ndarray


@dataclasses.dataclass
class FigureData:
    """What every panel needs: the model, its test predictions and the headline evaluation."""
    name: str                          # the model folder's name, prefix of every file
    synapse_type: str
    architecture: Mapping
    kernel: np.ndarray | None          # first layer (f, channels, filters)
    spike_probability: np.ndarray      # (n, T)
    soma_prediction_mV: np.ndarray     # (n, T), the drawn one (rescaled or raw)
    y_spike: np.ndarray                # (n, T) bool
    y_soma_mV: np.ndarray              # (n, T), clipped at −55 mV
    curves: EvaluationCurves
    num_dvt_components: int = 0

    @property
    def predicted_spikes(self) -> np.ndarray:
        return self.curves.operating_point.predicted_spikes(self.spike_probability)

    @property
    def spike_counts(self) -> np.ndarray:
        return self.y_spike.sum(axis=1)


def smooth_cross_correlation(curve: np.ndarray) -> np.ndarray:
    """The paper's single smoothing of the cross-correlation: 0.5·c + 0.5·(c ∗ a 2-bin box, 'same')."""
    curve = np.asarray(curve, dtype=float)
    return 0.5 * curve + 0.5 * np.convolve(curve, np.ones(2) / 2, mode="same")


def evaluation_curves(y_spike: np.ndarray, spike_probability: np.ndarray, y_soma_mV: np.ndarray,
                      soma_prediction_mV: np.ndarray, cross_correlation: Sequence[float] | None = None,
                      desired_fp: float = OPERATING_FP) -> EvaluationCurves:
    """ROC, operating point, cross-correlation (``cross_correlation`` if already computed, e.g. read from the
    evaluation JSON) and voltages of the headline filter."""
    spikes, probability, gt, predicted = metrics.filter_simulations(
        [y_spike, spike_probability, y_soma_mV, soma_prediction_mV], y_spike,
        metrics.SPIKE_COUNT_FILTERS[metrics.MAIN_FILTER], metrics.IGNORE_TIME_BEFORE_MS)
    fpr, tpr, thresholds = metrics.roc_curve(spikes, probability)
    point = metrics.operating_point(fpr, tpr, thresholds, desired_fp)
    if cross_correlation is None:
        cross_correlation = metrics.spike_cross_correlation(spikes, point.predicted_spikes(probability),
                                                               metrics.CROSS_CORRELATION_HALF_WINDOW_MS)
    return EvaluationCurves(fpr, tpr, float(sklearn.metrics.auc(fpr, tpr)), point,
                            np.asarray(cross_correlation, dtype=float), gt, predicted)


def first_layer_kernel(model) -> np.ndarray:
    """(filter size, input channels, filters) of the network's first convolution over the inputs: with an input
    projection, the composition of the linear 1x1 projection and layer_1 (exact, both are linear)."""
    from neuron_as_dnn.learning import models

    kernel = np.asarray(model.get_layer("layer_1").get_weights()[0])
    if models.INPUT_PROJECTION in {layer.name for layer in model.layers}:
        projection = np.asarray(model.get_layer(models.INPUT_PROJECTION).get_weights()[0])[0]  # (inputs, channels)
        kernel = np.einsum("ip,kpf->kif", projection, kernel)
    return kernel


# ---------------------------------------------------------------------------------------------------------
# Choices: traces, zoom, filters
# ---------------------------------------------------------------------------------------------------------

def default_trace_index(spike_counts: np.ndarray) -> int:
    """The trace with the spike count nearest the median of the traces with 3-10 spikes (first on ties)."""
    return representative_simulation(spike_counts, SINGLE_TRACE_SPIKES)


def auto_zoom(spike_bins: np.ndarray, duration_ms: int, width_fraction: float = ZOOM_WIDTH_FRACTION) -> tuple[int, int]:
    """A window of ``width_fraction`` of the trace after the first 500 ms holding as many spikes as possible,
    centred on the spikes it holds (the middle of the trace when there is none)."""
    width = int(round(width_fraction * duration_ms))
    first, last_start = dataset.IGNORE_FIRST_MS, max(duration_ms - width, dataset.IGNORE_FIRST_MS)
    spikes = np.sort(np.asarray(spike_bins))
    spikes = spikes[spikes >= first]
    if not len(spikes):
        start = (first + last_start) // 2
    else:
        starts = np.arange(first, last_start + 1)
        inside = np.searchsorted(spikes, starts + width) - np.searchsorted(spikes, starts)
        best = starts[int(np.argmax(inside))]
        held = spikes[(spikes >= best) & (spikes < best + width)]
        start = int(np.clip((held[0] + held[-1]) // 2 - width // 2, first, last_start))
    return int(start), int(min(start + width, duration_ms))


def zoom_from_fraction(fraction: Sequence[float] | None, spike_bins: np.ndarray, duration_ms: int) -> tuple[int, int]:
    if fraction is None:
        return auto_zoom(spike_bins, duration_ms)
    if len(fraction) != 2 or not 0 <= fraction[0] < fraction[1] <= 1:
        raise errors.bad_parameter("zoom_fraction", f"give two fractions 0 ≤ start < stop ≤ 1, got {fraction}")
    return panels.zoom_range(duration_ms, fraction)


def largest_filters(kernel: np.ndarray, count: int = 3) -> list[int]:
    """The ``count`` first-layer filters with the largest weight mass Σ|w|, largest first."""
    mass = np.abs(kernel).sum(axis=(0, 1))
    return [int(k) for k in np.argsort(-mass, kind="stable")[:count]]


def weights_by_time_before(kernel: np.ndarray, filter_index: int, time_ms: int | None = FILTER_TIME_MS) -> np.ndarray:
    """(channels, L): column j weights the input j ms before t₀ (kernel flipped once, see the module
    docstring), the most recent ``time_ms`` ms (None: the whole kernel)."""
    flipped = np.asarray(kernel)[::-1, :, filter_index].T
    return flipped if time_ms is None else flipped[:, :time_ms]


def subtree_weights(weights: np.ndarray, subtree: str) -> tuple[np.ndarray, int]:
    """The rows of one subtree: its excitatory synapses above its inhibitory ones; returns (rows, #exc)."""
    segments = weights.shape[0] // 2
    rows = np.flatnonzero(morphology_map.segment_subtrees(segments) == subtree)
    return np.vstack([weights[rows], weights[segments + rows]]), len(rows)


def weight_limit(weights: np.ndarray) -> float:
    """The paper's symmetric colour limit: 1.08 × the larger of |0.2th| and |99.8th| percentile."""
    low, high = np.percentile(weights, [0.2, 99.8])
    return float(1.08 * max(abs(low), abs(high))) or 1.0


# ---------------------------------------------------------------------------------------------------------
# Panels
# ---------------------------------------------------------------------------------------------------------

def plot_evaluation(ax_roc, ax_xcorr, ax_scatter, data: FigureData, seed: int) -> None:
    """ROC with inset and operating point, cross-correlation in Hz, voltage scatter with the identity line."""
    curves = data.curves
    panels.plot_roc(ax_roc, curves.fpr, curves.tpr, point_index=curves.operating_point.threshold_index, auc=curves.auc,
                    inset_fpr_max=ROC_INSET_FPR_MAX)
    panels.plot_cross_correlation(ax_xcorr, smooth_cross_correlation(curves.cross_correlation))
    gt = curves.soma_gt_mV
    panels.plot_voltage_scatter(ax_scatter, gt, curves.soma_prediction_mV, num_points=NUM_SCATTER_POINTS, seed=seed,
                                gt_label=f"L5PC ({data.synapse_type}) (mV)", prediction_label="ANN (mV)",
                                limits=(float(np.percentile(gt, 0.2)) - 1, dataset.SOMA_CLIP_MV + 1),
                                tick_step=6.0, tick_anchor=-57.0)


def plot_trace(ax_full, ax_zoom, data: FigureData, index: int, zoom: Sequence[int]) -> None:
    """One test trace, whole and zoomed: ground truth cyan, prediction magenta dotted, spikes drawn up."""
    panels.plot_trace_with_zoom(ax_full, ax_zoom, data.y_soma_mV[index], data.soma_prediction_mV[index],
                                data.y_spike[index], data.predicted_spikes[index], zoom, spike_mv=SPIKE_DRAW_MV,
                                full_bars=(600, 40), zoom_bars=(60, 5),
                                labels=(f"L5PC ({data.synapse_type})", "ANN"))


def plot_filter(heat_axes: Sequence, profile_axes: Sequence, kernel: np.ndarray, filter_index: int,
                time_ms: int | None = FILTER_TIME_MS, colorbar: bool = True) -> list:
    """One first-layer filter: for each subtree a heatmap (excitatory rows above inhibitory rows, time before
    t₀ to the right) and, below, every synapse's temporal profile (faint) with the mean (thick). Returns the
    images."""
    weights = weights_by_time_before(kernel, filter_index, time_ms)
    limit = weight_limit(weights)
    lags = panels.filter_lags(weights.shape[1], current_time="left")
    images = []
    profile_range = [np.inf, -np.inf]
    for column, subtree in enumerate(morphology_map.SUBTREES):
        block, num_exc = subtree_weights(weights, subtree)
        ax = heat_axes[column]
        image = panels.plot_filter_heatmap(ax, block, limit, lags=lags, ylabel="")
        ax.axhline(num_exc - 0.5, color="w", lw=1)
        # exc / inh labels on the first column only: beside the other columns they would hit their neighbour
        ax.set_yticks([num_exc / 2, num_exc * 1.5], ["exc", "inh"] if column == 0 else [])
        ax.tick_params(axis="y", length=0)
        ax.set_title(subtree, color=style.SUBTREE_COLORS[subtree])
        ax.set_xticks([])
        images.append(image)
        profiles = profile_axes[column]
        panels.plot_filter_profiles(profiles, block, num_exc, lags=lags, xlabel="time before t₀ (ms)",
                                    legend=False, alpha=0.08)
        profiles.set_xticks(np.arange(0, len(lags), _tick_step(len(lags))))
        low, high = np.percentile(block, [0.1, 99.9])
        profile_range = [min(profile_range[0], low), max(profile_range[1], high)]
    for column, profiles in enumerate(profile_axes):
        span = profile_range[1] - profile_range[0] or 1.0
        profiles.set_ylim(profile_range[0] - 0.05 * span, profile_range[1] + 0.05 * span)
        if column:
            profiles.set_yticklabels([])
            profiles.set_ylabel("")
    heat_axes[0].set_ylabel(f"filter {filter_index}")
    if colorbar:  # beside the tuft map, where it covers neither a title nor a neighbouring panel
        bar_ax = heat_axes[-1].inset_axes([1.04, 0.6, 0.06, 0.4])
        bar = plt.colorbar(images[-1], cax=bar_ax)
        bar.set_ticks([-limit, 0, limit], labels=[f"{-limit:.2g}", "0", f"{limit:.2g}"])
        bar.ax.tick_params(labelsize=style.SMALL_SIZE)
    return images


def _tick_step(length: int, max_ticks: int = 5) -> int:
    return next(step for step in (1, 2, 5, 10, 20, 50, 100, 200, 500) if length / step <= max_ticks)


def plot_multiple_traces(axes: Sequence, data: FigureData, indices: Sequence[int]) -> None:
    for ax, index in zip(axes, indices):
        panels.plot_voltage_traces(ax, np.arange(data.y_soma_mV.shape[1]), data.y_soma_mV[index],
                                   data.soma_prediction_mV[index], data.y_spike[index], data.predicted_spikes[index],
                                   spike_mv=SPIKE_DRAW_MV, labels=(f"L5PC ({data.synapse_type})", "ANN"))
        ax.set_ylim(data.y_soma_mV[index].min() - 3, SPIKE_DRAW_MV + 3)
        ax.axis("off")
        ax.text(0, SPIKE_DRAW_MV, f"trace {index}", fontsize=style.SMALL_SIZE, va="top")
    axes[0].legend(loc="upper right", ncol=2, bbox_to_anchor=(1, 1.35))
    duration = data.y_soma_mV.shape[1]
    for ax in axes:   # a left margin for the scale bar, the same in every row so that times line up
        ax.set_xlim(-0.04 * duration, duration)
    panels.add_scale_bars(axes[len(indices) - 1], 500, 20, x0=-0.03 * duration,
                          y0=data.y_soma_mV[indices[-1]].min() - 2)


def multiple_trace_indices(spike_counts: np.ndarray, seed: int, count: int = NUM_MULTIPLE_TRACES) -> list[int]:
    """``count`` random traces (sorted) with 3-15 spikes; more spiking traces fill in when there are too few."""
    eligible = np.flatnonzero((spike_counts >= MULTIPLE_TRACE_SPIKES[0]) & (spike_counts <= MULTIPLE_TRACE_SPIKES[1]))
    rng = np.random.default_rng(seed)
    chosen = list(rng.choice(eligible, size=min(count, len(eligible)), replace=False))
    for index in np.argsort(-spike_counts, kind="stable"):
        if len(chosen) >= min(count, len(spike_counts)):
            break
        if index not in chosen:
            chosen.append(index)
    return sorted(int(i) for i in chosen)


# ---------------------------------------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------------------------------------

def show_saved_figures(paths: Sequence[Path]) -> None:
    """Open the saved PNGs in windows (a script's ``--show``): what is shown is exactly what was written."""
    for path in paths:
        if Path(path).suffix == ".png":
            image = plt.imread(path)
            fig = plt.figure(figsize=(image.shape[1] / 150, image.shape[0] / 150), dpi=100)
            fig.figimage(image, resize=True)
    plt.show()


def _save(fig, out_dir: Path, data: FigureData, panel: str) -> list[Path]:
    try:
        return utils.save_figure(fig, out_dir, f"{data.name}__{panel}")
    finally:
        plt.close(fig)


def figure_morphology(data: FigureData, out_dir: Path, morphology: Mapping) -> list[Path]:
    with style.context():
        fig, ax = plt.subplots(figsize=(9, 15))
        morphology_figures.plot_morphology(ax, morphology)
        morphology_figures.subtree_legend(ax)
        return _save(fig, out_dir, data, "morphology")


def figure_network(data: FigureData, out_dir: Path) -> list[Path]:
    with style.context():
        fig, ax = plt.subplots(figsize=(7, 7))
        morphology_figures.plot_network_diagram(ax, data.architecture, num_dvt_components=data.num_dvt_components)
        return _save(fig, out_dir, data, "network")


def figure_model_evaluation(data: FigureData, out_dir: Path, seed: int) -> list[Path]:
    with style.context():
        fig, axes = plt.subplots(3, 1, figsize=(7, 16))
        plot_evaluation(*axes, data, seed)
        fig.tight_layout(h_pad=3)
        return _save(fig, out_dir, data, "model_evaluation")


def figure_single_trace(data: FigureData, out_dir: Path, index: int, zoom: Sequence[int]) -> list[Path]:
    with style.context():
        fig, (ax_full, ax_zoom) = plt.subplots(2, 1, figsize=(17, 8))
        plot_trace(ax_full, ax_zoom, data, index, zoom)
        ax_full.set_title(f"test trace {index}: {int(data.spike_counts[index])} spikes; predicted spikes: "
                          f"p ≥ {data.curves.operating_point.threshold:.3g} (FP {OPERATING_FP})")
        fig.tight_layout()
        return _save(fig, out_dir, data, f"single_prediction_trace_{index}")


def figure_multiple_traces(data: FigureData, out_dir: Path, indices: Sequence[int]) -> list[Path]:
    with style.context():
        fig, axes = plt.subplots(len(indices), 1, figsize=(20, 4.5 * len(indices)), squeeze=False)
        plot_multiple_traces(axes[:, 0], data, indices)
        fig.tight_layout()
        return _save(fig, out_dir, data, "multiple_prediction_traces")


def _filter_grid(fig, spec, kernel: np.ndarray, filter_index: int, colorbar: bool = True) -> None:
    grid = spec.subgridspec(2, 3, height_ratios=[2.2, 1], hspace=0.08, wspace=0.12)
    heat = [fig.add_subplot(grid[0, c]) for c in range(3)]
    profiles = [fig.add_subplot(grid[1, c]) for c in range(3)]
    plot_filter(heat, profiles, kernel, filter_index, colorbar=colorbar)


def figure_filter(data: FigureData, out_dir: Path, filter_index: int) -> list[Path]:
    with style.context():
        fig = plt.figure(figsize=(14, 10))
        _filter_grid(fig, fig.add_gridspec(1, 1)[0], data.kernel, filter_index)
        fig.suptitle(f"first-layer filter {filter_index} of {data.name}", y=0.95)
        return _save(fig, out_dir, data, f"first_layer_weights_filter_{filter_index}")


def _traces_column(fig, spec, data: FigureData, morphology_rows: int, index: int, zoom: Sequence[int]) -> None:
    """Network diagram on top (``morphology_rows`` of 7), then the whole trace and the zoom."""
    grid = spec.subgridspec(7, 1, hspace=0.3)
    network = fig.add_subplot(grid[:morphology_rows, 0])
    morphology_figures.plot_network_diagram(network, data.architecture, num_dvt_components=data.num_dvt_components)
    full = fig.add_subplot(grid[morphology_rows:morphology_rows + 2, 0])
    zoomed = fig.add_subplot(grid[morphology_rows + 2:, 0])
    plot_trace(full, zoomed, data, index, zoom)


def _evaluation_column(fig, spec, data: FigureData, seed: int) -> None:
    grid = spec.subgridspec(3, 1, hspace=0.55)
    plot_evaluation(*(fig.add_subplot(grid[r, 0]) for r in range(3)), data, seed)


def _morphology_axes(fig, spec, morphology: Mapping | None) -> None:
    ax = fig.add_subplot(spec)
    if morphology is not None:
        morphology_figures.plot_morphology(ax, morphology)
        morphology_figures.subtree_legend(ax)
    else:
        ax.axis("off")


def figure_combined_v2(data: FigureData, out_dir: Path, morphology: Mapping | None, index: int,
                       zoom: Sequence[int], filters: Sequence[int], seed: int) -> list[Path]:
    """The Fig. 2 grid: morphology | network + traces | evaluation on top, three filters below."""
    with style.context():
        fig = plt.figure(figsize=(26, 22))
        outer = fig.add_gridspec(2, 1, height_ratios=[1.25, 1], hspace=0.18)
        top = outer[0].subgridspec(1, 3, width_ratios=[0.8, 2.3, 0.9], wspace=0.15)
        _morphology_axes(fig, top[0], morphology)
        _traces_column(fig, top[1], data, 3, index, zoom)
        _evaluation_column(fig, top[2], data, seed)
        bottom = outer[1].subgridspec(1, len(filters), wspace=0.28)  # room for each filter's colour bar
        for column, filter_index in enumerate(filters):
            _filter_grid(fig, bottom[column], data.kernel, filter_index)
        return _save(fig, out_dir, data, "full_combined_figure_v2")


def figure_combined_v3(data: FigureData, out_dir: Path, morphology: Mapping | None, index: int,
                       zoom: Sequence[int], filter_index: int, seed: int) -> list[Path]:
    """One row: morphology | network + traces | evaluation | one filter."""
    with style.context():
        fig = plt.figure(figsize=(36, 14))
        row = fig.add_gridspec(1, 4, width_ratios=[0.55, 1.9, 0.6, 1.3], wspace=0.12)
        _morphology_axes(fig, row[0], morphology)
        _traces_column(fig, row[1], data, 3, index, zoom)
        _evaluation_column(fig, row[2], data, seed)
        _filter_grid(fig, row[3], data.kernel, filter_index)
        return _save(fig, out_dir, data, "full_combined_figure_v3")


def plot_all(data: FigureData, out_dir: Path, *, morphology: Mapping | None, trace_index: int | None = None,
             zoom_fraction: Sequence[float] | None = None, filters: Sequence[int] | None = None,
             num_single_traces: int = 3, seed: int = 0) -> dict:
    """Every figure; returns the choices made (trace, zoom, filters, multiple traces) and the paths."""
    out_dir = Path(out_dir)
    num_traces, duration = data.y_spike.shape
    counts = data.spike_counts
    index = default_trace_index(counts) if trace_index is None else int(trace_index)
    if not 0 <= index < num_traces:
        raise errors.bad_parameter("trace_index", f"{index} is not a test trace (0-{num_traces - 1})")
    zoom = zoom_from_fraction(zoom_fraction, np.flatnonzero(data.y_spike[index]), duration)
    paths: list[Path] = []
    if morphology is not None:
        paths += figure_morphology(data, out_dir, morphology)
    paths += figure_network(data, out_dir)
    paths += figure_model_evaluation(data, out_dir, seed)
    rng = np.random.default_rng(seed)
    eligible = np.flatnonzero((counts >= SINGLE_TRACE_SPIKES[0]) & (counts <= SINGLE_TRACE_SPIKES[1]))
    others = [int(i) for i in rng.permutation(eligible) if i != index][:max(num_single_traces - 1, 0)]
    for single in [index, *others][:max(num_single_traces, 1)]:
        single_zoom = zoom if single == index else auto_zoom(np.flatnonzero(data.y_spike[single]), duration)
        paths += figure_single_trace(data, out_dir, single, single_zoom)
    multiple = multiple_trace_indices(counts, seed)
    paths += figure_multiple_traces(data, out_dir, multiple)
    chosen_filters: list[int] = []
    if data.kernel is not None:
        num_filters = data.kernel.shape[2]
        chosen_filters = largest_filters(data.kernel) if filters is None else [int(k) for k in filters]
        bad = [k for k in chosen_filters if not 0 <= k < num_filters]
        if bad:
            raise errors.bad_parameter("filters", f"{bad} are not filters of the first layer (0-{num_filters - 1})")
        for filter_index in chosen_filters:
            paths += figure_filter(data, out_dir, filter_index)
        paths += figure_combined_v2(data, out_dir, morphology, index, zoom, chosen_filters, seed)
        paths += figure_combined_v3(data, out_dir, morphology, index, zoom, chosen_filters[0], seed)
    return {"trace_index": index, "zoom_ms": list(zoom), "filters": chosen_filters, "multiple_traces": multiple,
            "threshold": data.curves.operating_point.threshold, "paths": paths}


# ---------------------------------------------------------------------------------------------------------
# From a model folder
# ---------------------------------------------------------------------------------------------------------

TEST_SPLIT = "test"
HEADLINE_KEYS = ("AUC", metrics.tp_key(0.0025), "soma_explained_variance_percent", "soma_RMSE", "soma_MAE")


def choose_checkpoint(folder, name: str | None = None):
    """``name``; else the checkpoint evaluated on the test set (the latest if several), else the one with test
    predictions, else the latest."""
    if name:
        return folder.checkpoint(name)
    from neuron_as_dnn.evaluation.evaluation_runs import working_folder
    from neuron_as_dnn.learning.model_folder import checkpoint_name

    folder = working_folder(folder)
    checkpoints = {c.name: c for c in folder.checkpoints()}
    latest = folder.latest_checkpoint()
    for files in (folder.result_files(TEST_SPLIT), folder.prediction_files(TEST_SPLIT)):
        names = [checkpoint_name(path, TEST_SPLIT) for path in files]
        done = [checkpoints[name] for name in names if name in checkpoints]
        if done:
            return latest if latest in done else done[-1]
    return latest


def headline_metrics(results: Mapping) -> dict:
    """``{variant: {key: value}}`` of the headline filter for the keys the paper quotes."""
    headline = results[metrics.MAIN_FILTER]
    return {variant: {key: headline[variant][key] for key in HEADLINE_KEYS} for variant in metrics.VOLTAGE_VARIANTS
            if headline.get(variant)}


def load_figure_data(folder, checkpoint, test_data_dir: str | Path | None = None, rescale_voltage: bool = True,
                     progress: bool = True) -> tuple[FigureData, dict]:
    """The figures' data for one checkpoint and its headline metrics. Test predictions are read from the
    folder's ``predictions/`` (made now, and saved there, from ``test_data_dir`` when missing); metrics and
    cross-correlation from its ``evaluation/`` JSON when there is one, else computed. A shipped network's
    folder is its working copy (``evaluation_runs.working_folder``)."""
    from neuron_as_dnn import paths
    from neuron_as_dnn.learning import models
    from neuron_as_dnn.evaluation import prediction
    from neuron_as_dnn.evaluation.evaluation_runs import working_folder

    folder = working_folder(folder)
    predictions_file = folder.predictions_path(checkpoint.name, TEST_SPLIT)
    model = None
    if predictions_file.is_file():
        log.info("reading the test predictions %s", predictions_file)
        predictions = prediction.Predictions.load(predictions_file)
    else:
        data_dir = Path(test_data_dir or paths.dataset_dir(folder.synapse_type, TEST_SPLIT))
        log.info("no test predictions of %s yet: predicting %s", checkpoint.name, data_dir)
        data = prediction.open_evaluation_data(data_dir, what=TEST_SPLIT)
        predictions, model = prediction.predict_checkpoint(folder, checkpoint, data, TEST_SPLIT, progress=progress)
    model = model if model is not None else folder.load_model(checkpoint)
    y_spike, probability = predictions.y_spike.astype(bool), predictions.spike_probability
    y_soma, soma = predictions.y_soma_mV, predictions.soma_prediction_mV
    record_path = folder.results_path(checkpoint.name, TEST_SPLIT)
    if record_path.is_file():
        record = utils.read_json(record_path)
        results, curve = record["results"], record["cross_correlation"]["curve"]
        log.info("metrics from %s", record_path)
    else:
        scored = metrics.evaluate_predictions(y_spike, probability, y_soma, soma)
        results, curve = scored["results"], scored["cross_correlation"]["curve"]
    drawn = metrics.calibrate_soma_prediction(soma, y_soma) if rescale_voltage else np.asarray(soma, float)
    data = FigureData(name=folder.name, synapse_type=folder.synapse_type, architecture=folder.architecture,
                      kernel=first_layer_kernel(model), spike_probability=probability, soma_prediction_mV=drawn,
                      y_spike=y_spike, y_soma_mV=y_soma,
                      curves=evaluation_curves(y_spike, probability, y_soma, drawn, curve),
                      num_dvt_components=models.num_dvt_components_of(model))
    return data, headline_metrics(results)
