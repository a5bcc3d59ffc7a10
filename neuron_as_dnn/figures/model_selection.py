"""Figures of the model selection: accuracy of every model against its complexity (scatters), the best
accuracy reachable at each complexity (envelopes), and Fig. S5 (docs/evaluation.md, "Accuracy versus
complexity").

Each function returns a figure; the scripts save them with ``utils.save_figure``. Nothing here chooses the
matplotlib backend.
"""
from __future__ import annotations

import dataclasses
from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator

from neuron_as_dnn import utils
from neuron_as_dnn.evaluation import model_selection as selection
from neuron_as_dnn.figures import style

# The project palette (figures/style.py) has no colours for the biophysical types; these follow the
# original's (NMDA blue, AMPA magenta, AMPA_SK orange) in the palette's shades of those hues.
SYNAPSE_TYPE_COLORS = {"NMDA": style.INHIBITORY, "AMPA": style.PREDICTION, "AMPA_SK": style.OBLIQUE}
OTHER_COLOR = style.NEUTRAL
SCATTER_LABELS = {"NMDA": "NMDA", "AMPA": "AMPA", "AMPA_SK": "AMPA_SK"}
FIGURE_S5_LABELS = {"NMDA": "NMDA synapses", "AMPA": "AMPA synapses", "AMPA_SK": "AMPA synapses w\\o SK_E2"}
DRAW_ORDER = ("AMPA_SK", "AMPA", "NMDA")  # the original's: NMDA drawn last, on top


@dataclasses.dataclass(frozen=True)
class Axis:
    """An x axis of the scatters: the column, its label, log scale, the jitter's standard deviation (in x
    units, or in decades on a log axis; scaled by the figure's noise level) and a scale factor for display."""

    column: str
    label: str
    name: str
    log: bool = False
    jitter: float = 0.0
    scale: float = 1.0


SCATTER_AXES = (
    Axis("NN_depth", "network depth D (layers)", "depth", jitter=0.15),
    Axis("NN_width", "network width W (filters per layer)", "width", jitter=2.0),
    Axis("NN_width", "network width W (filters per layer)", "width_log", log=True, jitter=0.01),
    Axis("NN_input_time_window", "receptive field T (ms)", "time_window", jitter=1.5),
    Axis("NN_input_time_window", "receptive field T (ms)", "time_window_log", log=True, jitter=0.01),
    Axis("NN_num_train_samples", "training samples (thousands)", "train_samples", log=True, scale=1e-3),
    Axis("NN_unique_train_files", "unique training files", "unique_train_files"),
)
# (column, label): left column spikes, right column soma, as the original's 3 x 2 grid
SCATTER_PANELS = (
    (("spikes D prime", "spike D′"), ("soma explained variance %", "soma explained variance (%)")),
    (("spikes AUC", "spike AUC"), ("soma RMSE", "soma RMSE (mV)")),
    (("spikes TP @ 0.25% FP", "spike TP rate @ 0.25% FP"), ("soma MAE", "soma MAE (mV)")),
)
ENVELOPE_AXES = (
    Axis("NN_depth", "network depth D (layers)", "depth"),
    Axis("NN_width", "network width W (filters per layer)", "width"),
    Axis("NN_input_time_window", "receptive field T (ms)", "time_window"),
)
ENVELOPE_PANELS = (("spikes AUC", "spike AUC"), ("soma explained variance %", "soma explained variance (%)"),
                   ("spikes D prime", "spike D′"), ("soma RMSE", "soma RMSE (mV)"))
FIGURE_S5_CHANGE_THRESHOLDS = {"NN_depth": 0.01, "NN_width": 0.05, "NN_input_time_window": 0.03}
FIGURE_S5_ROWS = (("spikes AUC", "spike AUC"), ("soma explained variance %", "soma explained variance (%)"))


def color_of(kind: str) -> str:
    return SYNAPSE_TYPE_COLORS.get(kind, OTHER_COLOR)


def _present_types(rows: Sequence[dict]) -> list[str]:
    kinds = {row["biophysical_model_type"] for row in rows}
    return [k for k in DRAW_ORDER if k in kinds] + sorted(kinds - set(DRAW_ORDER))


def _type_legend(fig, kinds: Sequence[str], labels: Mapping[str, str], marker: str) -> None:
    """One legend for the whole figure, below the panels (the title holds the top), in the usual type order."""
    order = [k for k in selection.SYNAPSE_TYPES if k in kinds] + [k for k in kinds if k not in selection.SYNAPSE_TYPES]
    handles = [plt.Line2D([], [], color=color_of(k), marker=marker, linestyle="-" if marker == "" else "none",
                          label=labels.get(k, k)) for k in order]
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles))


def _format_x(ax, axis: Axis, margins: tuple[float, float]) -> None:
    """Log scale where asked; otherwise integer ticks, since depth, width, T and file counts are integers,
    over at least ±1.5 around the data (a single model would else get ticks such as 1.925, 1.950; the half
    keeps the end ticks off the panel edges, where they would meet the next panel's)."""
    ax.margins(*margins)
    if axis.log:
        ax.set_xscale("log")
        return
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    low, high = ax.get_xlim()
    if high - low < 2:
        middle = (low + high) / 2
        ax.set_xlim(middle - 1.5, middle + 1.5)


def _finish(fig, bottom_axes, axis: Axis, kinds: Sequence[str], marker: str) -> None:
    for ax in bottom_axes:
        ax.set_xlabel(axis.label)
    _type_legend(fig, kinds, SCATTER_LABELS, marker)


def _x_values(rows: Sequence[dict], axis: Axis, noise_level: float, rng: np.random.Generator) -> np.ndarray:
    x = np.array([row[axis.column] if row[axis.column] is not None else np.nan for row in rows], dtype=float)
    x = x * axis.scale
    if noise_level and axis.jitter:
        noise = noise_level * axis.jitter * rng.standard_normal(len(x))
        # multiplicative on a log axis, so that no point crosses zero (the original floored those at 0.1,
        # which stretched the axis by decades)
        x = x * 10 ** noise if axis.log else x + noise
    return x


def scatter_figure(rows: Sequence[dict], axis: Axis, title: str, noise_level: float = 0.0,
                   rng: np.random.Generator | None = None):
    """The original's 3 x 2 scatter grid (D′, AUC, TP @ 0.25 % FP | explained variance, RMSE, MAE) against
    one complexity measure, one colour per biophysical type; x jittered by ``noise_level`` × the axis' jitter."""
    rng = rng if rng is not None else np.random.default_rng(0)
    kinds = _present_types(rows)
    with style.context():
        fig, axes = plt.subplots(3, 2, figsize=(12, 11), sharex=True, layout="constrained")
        fig.suptitle(title)
        for kind in kinds:
            group = [row for row in rows if row["biophysical_model_type"] == kind]
            x = _x_values(group, axis, noise_level, rng)
            for row_index, panel_row in enumerate(SCATTER_PANELS):
                for col_index, (column, _) in enumerate(panel_row):
                    y = [row[column] for row in group]
                    axes[row_index, col_index].scatter(x, y, s=28, color=color_of(kind), alpha=0.6, linewidths=0)
        for ax, (_, label) in zip(axes.flat, (panel for panel_row in SCATTER_PANELS for panel in panel_row)):
            ax.set_ylabel(label)
            _format_x(ax, axis, (0.06, 0.1))
        _finish(fig, axes[-1], axis, kinds, marker="o")
    return fig


def envelope_figure(rows: Sequence[dict], axis: Axis, title: str, change_threshold: float = 0.02):
    """The original's 2 x 2 grid of envelopes (AUC, explained variance, D′, RMSE) against one complexity
    measure, per biophysical type."""
    kinds = _present_types(rows)
    with style.context():
        fig, axes = plt.subplots(2, 2, figsize=(12, 9), sharex=True, layout="constrained")
        fig.suptitle(title)
        for ax, (column, label) in zip(axes.flat, ENVELOPE_PANELS):
            curves = selection.envelopes_by_type(rows, axis.column, column, change_threshold)
            for kind in kinds:
                curve = curves[kind]
                ax.plot(curve.x, curve.y, marker="o", markersize=4, color=color_of(kind))
            ax.set_ylabel(label)
            _format_x(ax, axis, (0.05, 0.1))
        _finish(fig, axes[-1], axis, kinds, marker="")
    return fig


def figure_s5(rows: Sequence[dict], title: str = "best network performance as function of network complexity"):
    """Fig. S5: per biophysical type, the best test AUC and explained variance reachable at each depth, width
    and receptive field (running maximum, points kept where it changes by more than 1 %, 5 % and 3 % of the
    range), with error bars = the standard deviation over the test subsets of the model that sets the point.
    The axis limits follow the data (the paper's fixed limits would hide results outside them)."""
    kinds = _present_types(rows)
    with style.context():
        fig, axes = plt.subplots(2, 3, figsize=(15, 9.5), sharey="row", layout="constrained")
        fig.suptitle(title)
        for col_index, axis in enumerate(ENVELOPE_AXES):
            threshold = FIGURE_S5_CHANGE_THRESHOLDS[axis.column]
            for row_index, (column, label) in enumerate(FIGURE_S5_ROWS):
                ax = axes[row_index, col_index]
                curves = selection.envelopes_by_type(rows, axis.column, column, threshold)
                for kind in kinds:
                    curve = curves[kind]
                    error = np.array([holder.get(f"{column} std of subsets", np.nan) for holder in curve.rows],
                                     dtype=float)
                    ax.errorbar(curve.x, curve.y, yerr=np.where(np.isfinite(error), error, 0.0), marker="o",
                                markersize=4, capsize=3, color=color_of(kind))
                _format_x(ax, axis, (0.06, 0.12))
                if col_index == 0:
                    ax.set_ylabel(label)
                if row_index == len(FIGURE_S5_ROWS) - 1:
                    ax.set_xlabel(axis.label)
        _type_legend(fig, kinds, FIGURE_S5_LABELS, marker="")
    return fig


def save_per_axis(draw, axes: Sequence[Axis], folder, prefix: str, title: str, close: bool = True) -> list:
    """``draw(axis, title)`` for every axis, saved as ``<prefix>_vs_<axis name>`` (PNG and PDF); figures stay
    open when ``close`` is False (to be shown)."""
    paths = []
    for axis in axes:
        fig = draw(axis, f"{title}, against {axis.label.split(' (')[0]}" + (" (log scale)" if axis.log else ""))
        paths += utils.save_figure(fig, folder, f"{prefix}_vs_{axis.name}")
        if close:
            plt.close(fig)
    return paths


def accuracy_against_depth(rows: Sequence[Mapping], title: str = "accuracy against depth, per synapse type"):
    """Each network of a depth grid (not the running best of Fig. S5): test spike AUC against depth, against
    parameters, and soma RMSE against depth, per synapse type, error bars = standard deviation over the test
    subsets. ``rows`` carry "synapse type", "network" (TCN | FCN), "depth", "width", "parameters",
    "test spike AUC", "AUC std of subsets" and "soma RMSE (mV)"; the networks of the type's most common width
    are joined by a line, the others (a wider FCN) are drawn as open markers."""
    kinds = [k for k in selection.SYNAPSE_TYPES if any(row["synapse type"] == k for row in rows)]
    panels = (("depth", "network depth (layers)", "test spike AUC", "test spike AUC", False),
              ("parameters", "trainable parameters", "test spike AUC", "test spike AUC", True),
              ("depth", "network depth (layers)", "soma RMSE (mV)", "soma RMSE, no rescaling (mV)", False))
    with style.context():
        fig, axes = plt.subplots(1, len(panels), figsize=(15, 4.8), layout="constrained")
        fig.suptitle(title)
        for ax, (x_key, x_label, y_key, y_label, log_x) in zip(axes, panels):
            for kind in kinds:
                own = [row for row in rows if row["synapse type"] == kind]
                widths = [row["width"] for row in own]
                main_width = max(set(widths), key=widths.count)
                for joined, marker, face in ((True, "o", color_of(kind)), (False, "s", "none")):
                    chosen = sorted((row for row in own if (row["width"] == main_width) == joined),
                                    key=lambda row: row[x_key])
                    if not chosen:
                        continue
                    error = [row["AUC std of subsets"] if y_key == "test spike AUC" else None for row in chosen]
                    ax.errorbar([row[x_key] for row in chosen], [row[y_key] for row in chosen],
                                yerr=[np.nan if e is None else e for e in error], marker=marker, markersize=6,
                                capsize=3, color=color_of(kind), markerfacecolor=face,
                                linestyle="-" if joined else "none",
                                label=f"{FIGURE_S5_LABELS.get(kind, kind)}, width {main_width}" if joined else
                                f"{FIGURE_S5_LABELS.get(kind, kind)}, " + ", ".join(sorted(
                                    {f"{row['network']} width {row['width']}" for row in chosen})))
            if log_x:
                ax.set_xscale("log")
            else:
                ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_xlabel(x_label)
            ax.set_ylabel(y_label)
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncols=max(1, len(handles)))
    return fig
