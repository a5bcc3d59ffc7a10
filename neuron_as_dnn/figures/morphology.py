"""The cell and the network as pictures: the L5PC morphology coloured per segment, and a network diagram.

``plot_morphology`` draws the 639 dendritic segments of ``morphology_map`` (x-y projection, soma as a
dot), coloured by subtree (the paper's magenta / orange / green) or by any per-segment value through a
colour map (weights, rates, voltages). ``plot_network_diagram`` draws the layers of an
``architecture_dict`` with matplotlib, replacing the original's hand-made network PNGs.
"""
from __future__ import annotations

import functools
import logging
from typing import Mapping, Sequence

import matplotlib.colors
import matplotlib.lines
import matplotlib.patches
import numpy as np
from matplotlib.collections import LineCollection

from neuron_as_dnn import errors
from neuron_as_dnn.figures import style
from neuron_as_dnn.learning import models
from neuron_as_dnn.simulation import morphology_map

log = logging.getLogger(__name__)

LINE_WIDTH_PER_UM = 1.2      # the original's line width: 1.2 x the segment's mean diameter (points)
MIN_LINE_WIDTH = 0.4


@functools.lru_cache(maxsize=2)
def load_morphology(path: str | None = None) -> dict:
    """``morphology_map.morphology_dict`` of our L5PC (built once per process). Never downloads: a missing
    morphology is a ``UserError`` saying how to get it, which callers may turn into a skipped panel."""
    from neuron_as_dnn.simulation import morphology
    from neuron_as_dnn.simulation.cell import L5PC

    return morphology_map.morphology_dict(L5PC(morphology.locate(path, allow_download=False)))


def try_load_morphology(path: str | None = None) -> dict | None:
    """``load_morphology``, or None (with a warning) where NEURON or the morphology is missing."""
    try:
        return load_morphology(path)
    except (errors.UserError, ImportError, RuntimeError) as error:
        log.warning("the morphology panels are skipped: %s", error)
        return None


def plot_morphology(ax, morphology: Mapping, values: Sequence[float] | None = None, *, cmap: str = "jet",
                    limits: Sequence[float] | None = None, colors: Sequence | None = None,
                    width_scale: float = LINE_WIDTH_PER_UM, soma_size: float = 120.0,
                    scale_bar_um: float | None = 100.0) -> LineCollection:
    """The dendrites as one line per segment in the x-y plane, with the soma as a black dot and no axes.

    Colours: ``colors`` (one per segment), else ``values`` through ``cmap`` over ``limits`` (default: the
    values' range), else the subtree colours. Returns the ``LineCollection`` (one path per segment; its
    ``ScalarMappable`` side gives a colour bar when ``values`` are drawn)."""
    points = morphology_map.segment_points(morphology)
    lines = [np.column_stack([p["x"], p["y"]]) for p in points]
    widths = np.maximum(width_scale * np.array([np.mean(p["d"]) for p in points]), MIN_LINE_WIDTH)
    collection = LineCollection(lines, linewidths=widths, capstyle="round")
    if colors is not None:
        collection.set_color(list(colors))
    elif values is not None:
        values = np.asarray(values, dtype=float)
        low, high = (np.nanmin(values), np.nanmax(values)) if limits is None else limits
        collection.set_array(values)
        collection.set_cmap(cmap)
        collection.set_norm(matplotlib.colors.Normalize(low, high))
    else:
        collection.set_color([style.SUBTREE_COLORS[s] for s in morphology["all_segments_subtree"]])
    ax.add_collection(collection)
    soma = morphology["soma_xyz"]
    ax.scatter([soma[0]], [soma[1]], s=soma_size, color=style.NEUTRAL, zorder=3)
    every = np.concatenate(lines)
    margin = 0.03 * np.ptp(every[:, 1])
    ax.set_xlim(every[:, 0].min() - margin, every[:, 0].max() + margin)
    ax.set_ylim(every[:, 1].min() - margin, every[:, 1].max() + margin)
    ax.set_aspect("equal")
    ax.axis("off")
    if scale_bar_um:
        x0, y0 = every[:, 0].max() - scale_bar_um, every[:, 1].min()
        ax.plot([x0, x0 + scale_bar_um], [y0, y0], color=style.NEUTRAL, lw=2)
        ax.text(x0 + scale_bar_um / 2, y0 - margin / 2, f"{scale_bar_um:g} µm", ha="center", va="top",
                fontsize=style.SMALL_SIZE)
    return collection


def subtree_legend(ax) -> None:
    """The subtree colours, left of the bare apical trunk (the one empty region of the cell's picture)."""
    handles = [matplotlib.lines.Line2D([], [], color=color, lw=3, label=name)
               for name, color in style.SUBTREE_COLORS.items()]
    ax.legend(handles=handles, loc="center left", bbox_to_anchor=(0.0, 0.56))


# ---------------------------------------------------------------------------------------------------------
# The network
# ---------------------------------------------------------------------------------------------------------

BOX_PAD = 0.004   # axes units: the rounding of the boxes, kept small so that it never reaches the arrows


def _box(ax, x: float, y: float, width: float, height: float, color, text: str) -> None:
    ax.add_patch(matplotlib.patches.FancyBboxPatch((x - width / 2 + BOX_PAD, y - height / 2 + BOX_PAD),
                                                   width - 2 * BOX_PAD, height - 2 * BOX_PAD,
                                                   boxstyle=f"round,pad={BOX_PAD}", facecolor=color, edgecolor="k",
                                                   lw=1))
    ax.text(x, y, text, ha="center", va="center", fontsize=style.LEGEND_SIZE)


def _arrow(ax, start: Sequence[float], end: Sequence[float]) -> None:
    ax.annotate("", xy=end, xytext=start, arrowprops=dict(arrowstyle="-|>", color="k", lw=1.2, shrinkA=0, shrinkB=0))


def plot_network_diagram(ax, architecture: Mapping, *, num_input_channels: int = models.NUM_INPUT_CHANNELS,
                         num_dvt_components: int = 0) -> None:
    """Input, the D temporal convolution layers (filters × kernel ms each) and the output heads, bottom to
    top, in axes coordinates; box widths grow with the log of the number of filters."""
    projection = architecture.get(models.INPUT_PROJECTION, 0)
    depth = architecture["network_depth"] + (1 if projection else 0)
    filters = ([projection] if projection else []) + list(architecture["num_filters_per_layer"])
    sizes = ([1] if projection else []) + list(architecture["filter_sizes_per_layer"])
    labels = (["input projection: {} channels × 1 ms"] if projection else []) + \
        [f"layer {k + 1}: {{}} filters × {{}} ms" for k in range(architecture["network_depth"])]
    rows = depth + 2
    pitch = 0.86 / rows
    box = 0.62 * pitch   # the rest of the pitch is the arrow between two boxes
    y = 0.04 + pitch * (np.arange(rows) + 0.5)
    widest = np.log2(max(max(filters), 2))
    half = num_input_channels // 2
    _box(ax, 0.5, y[0], 0.9, box, "0.92", f"input: {half} exc + {num_input_channels - half} inh synapses")
    for k in range(depth):
        width = 0.3 + 0.5 * np.log2(max(filters[k], 2)) / widest
        _box(ax, 0.5, y[k + 1], width, box, "#cfe2f3", labels[k].format(filters[k], sizes[k]))
        _arrow(ax, (0.5, y[k] + box / 2), (0.5, y[k + 1] - box / 2))
    heads = [("spike", "#f4cccc"), ("soma", "#d9ead3")] + ([(f"{num_dvt_components} dendritic", "#fff2cc")]
                                                          if num_dvt_components else [])
    centres = np.linspace(0.2, 0.8, len(heads)) if len(heads) > 1 else [0.5]
    for (name, color), x in zip(heads, centres):
        _box(ax, x, y[-1], 0.8 / len(heads) - 0.04, box, color, name)
        _arrow(ax, (0.5, y[-2] + box / 2), (x, y[-1] - box / 2))
    ax.set_title(f"{models.network_type(architecture)}: {architecture['network_depth']} layers, T = "
                 f"{models.receptive_field_ms(architecture)} ms", fontsize=style.LABEL_SIZE)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.axis("off")
