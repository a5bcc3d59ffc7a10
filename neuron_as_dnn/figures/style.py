"""One look for every figure of the project: the palette, the font sizes, and the rc settings that carry them.

Colours follow the paper: ground truth cyan and prediction magenta, excitation red and inhibition blue, and
the dendritic subtrees basal / oblique / tuft in magenta / orange / green. Figure functions draw inside
``with style.context():``; an interactive session can call ``style.apply()`` once instead.
"""
from __future__ import annotations

import matplotlib

# ---- palette ----------------------------------------------------------------------------------------------
GROUND_TRUTH = "#00b4c8"   # a cyan dark enough to read on white
PREDICTION = "#c000c0"     # magenta, drawn dotted over the ground truth
EXCITATORY = "#d62728"
INHIBITORY = "#1f4fbf"
BASAL = "#d01c8b"
OBLIQUE = "#f28e00"
TUFT = "#2ca02c"
NEUTRAL = "k"
CHANCE = "0.65"            # the diagonal of a ROC plot, reference lines
OPERATING_POINT = "#e00000"
HIGHLIGHT_AREA = "#ff9900"  # the ±Δ area of the spike-timing cross-correlation
NO_SPIKE = "#1f77b4"       # histograms of the predicted probability, without / with a true spike
SPIKE = "#2ca02c"
SUBTREE_COLORS = {"basal": BASAL, "oblique": OBLIQUE, "tuft": TUFT}

# ---- sizes (points) ---------------------------------------------------------------------------------------
TICK_SIZE = 11
LABEL_SIZE = 13
TITLE_SIZE = 14
LEGEND_SIZE = 11
ANNOTATION_SIZE = 12       # scale bars, schematic labels
SMALL_SIZE = 9             # insets
TRACE_WIDTH = 1.2

RC = {
    "font.size": LABEL_SIZE,
    "axes.labelsize": LABEL_SIZE,
    "axes.titlesize": TITLE_SIZE,
    "xtick.labelsize": TICK_SIZE,
    "ytick.labelsize": TICK_SIZE,
    "legend.fontsize": LEGEND_SIZE,
    "legend.frameon": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "lines.linewidth": TRACE_WIDTH,
    "image.cmap": "jet",  # the paper's weight maps
    "savefig.dpi": 150,
    "pdf.fonttype": 42,  # TrueType in PDFs, so their text stays editable
}


def apply() -> None:
    """Make the project's style the default of this process (interactive use)."""
    matplotlib.rcParams.update(RC)


def context():
    """The project's style for the figures drawn inside ``with style.context():``."""
    return matplotlib.rc_context(RC)

