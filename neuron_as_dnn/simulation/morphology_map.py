"""Where every dendritic segment lies: 3-D points from NEURON, and the subtree (basal, oblique, tuft) of each.

The figures colour the morphology by subtree and draw per-segment quantities (first-layer weights, input
rates, dendritic voltages) on it. The original read these from a ``morphology_dict.pickle`` it never
produced; ``morphology_dict`` builds the same layout from our cell (``docs/cell.md``, "Segments"):

- ``all_segments_*``: the segment table in the datasets' order (262 basal, then 377 apical segments);
- ``all_basal_section_coords`` / ``all_apical_section_coords``: ``{section index within its type:
  {'x', 'y', 'z', 'd'}}``, the section's 3-D points;
- ``all_basal_segment_coords`` / ``all_apical_segment_coords``: ``{(section index within type, segment
  index within section): {'x', 'y', 'z', 'd'}}``, the points of the stretch of the section the segment
  covers (interpolated at its ends);
- ours in addition: ``all_segments_subtree`` ('basal', 'oblique' or 'tuft' per segment),
  ``all_sections_parent_index`` (index of the parent dendritic section, -1 on the soma) and ``soma_xyz``.

Subtrees follow the original's index ranges over the 639 segments: basal 0-261, oblique 262-365 and
559-638, tuft 366-558. In our segment table these ranges are exactly the basal sections, the apical
sections outside the subtree rooted at apic[36] (the trunk up to the main bifurcation and its obliques),
and that subtree (the tuft, apic[36]-apic[78]); ``check_subtrees`` verifies it.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from neuron_as_dnn import utils

SUBTREES = ("basal", "oblique", "tuft")
SUBTREE_INDEX_RANGES = {"basal": [(0, 261)], "oblique": [(262, 365), (559, 638)], "tuft": [(366, 558)]}
TUFT_ROOT_APICAL_SECTION = 36
NUM_SEGMENTS = 639


def segment_subtrees(num_segments: int = NUM_SEGMENTS) -> np.ndarray:
    """'basal' / 'oblique' / 'tuft' for each of the 639 segments (the original's index ranges)."""
    if num_segments != NUM_SEGMENTS:
        raise ValueError(f"the subtree ranges are defined for {NUM_SEGMENTS} segments, not {num_segments}")
    labels = np.empty(num_segments, dtype=object)
    for subtree, ranges in SUBTREE_INDEX_RANGES.items():
        for first, last in ranges:
            labels[first:last + 1] = subtree
    return labels.astype(str)


def _section_points(h, sec) -> dict:
    n = int(h.n3d(sec=sec))
    return {key: np.array([getattr(h, f"{key}3d")(i, sec=sec) for i in range(n)])
            for key in ("x", "y", "z", "arc", "diam")}


def _stretch(points: dict, start_um: float, end_um: float) -> dict:
    """The 3-D points of arc length [start, end] of a section, end points interpolated."""
    arc = points["arc"]
    inside = (arc > start_um) & (arc < end_um)
    positions = np.concatenate([[start_um], arc[inside], [end_um]])
    return {"x": np.interp(positions, arc, points["x"]), "y": np.interp(positions, arc, points["y"]),
            "z": np.interp(positions, arc, points["z"]), "d": np.interp(positions, arc, points["diam"])}


def morphology_dict(cell) -> dict:
    """The ``morphology_dict.pickle`` layout (see the module docstring) of an ``L5PC``."""
    h = cell.h
    table = cell.segment_table()
    section_coords = {"basal": {}, "apical": {}}
    segment_coords = {"basal": {}, "apical": {}}
    segment_within_section = []
    for k, sec in enumerate(cell.dendritic_sections):
        kind, index = ("basal", k) if k < len(cell.dend) else ("apical", k - len(cell.dend))
        points = _section_points(h, sec)
        section_coords[kind][index] = {"x": points["x"], "y": points["y"], "z": points["z"], "d": points["diam"]}
        scale = sec.L / points["arc"][-1] if points["arc"][-1] > 0 else 1.0
        points["arc"] = points["arc"] * scale  # 3-D arc length can differ from L by rounding
        for j in range(sec.nseg):
            segment_coords[kind][(index, j)] = _stretch(points, sec.L * j / sec.nseg, sec.L * (j + 1) / sec.nseg)
            segment_within_section.append(j)
    section_index = {sec.name(): k for k, sec in enumerate(cell.dendritic_sections)}
    parents = []
    for sec in cell.dendritic_sections:
        parent = sec.parentseg()
        parents.append(section_index.get(parent.sec.name(), -1) if parent is not None else -1)
    soma = _section_points(h, cell.soma)
    middle = len(soma["x"]) // 2
    return {
        "all_sections_length": [float(sec.L) for sec in cell.dendritic_sections],
        "all_sections_distance_from_soma": [float(h.distance(cell.soma(0), sec(0))) for sec in cell.dendritic_sections],
        "all_segments_length": table["length_um"],
        "all_segments_type": list(table["type"]),
        "all_segments_distance_from_soma": table["dist_from_soma_um"],
        "all_segments_section_distance_from_soma": table["section_dist_from_soma_um"],
        "all_segments_section_index": table["section_index"],
        "all_segments_segment_index_within_section_index": np.array(segment_within_section),
        "all_basal_section_coords": section_coords["basal"],
        "all_apical_section_coords": section_coords["apical"],
        "all_basal_segment_coords": segment_coords["basal"],
        "all_apical_segment_coords": segment_coords["apical"],
        "all_segments_subtree": list(segment_subtrees(len(table["type"]))),
        "all_sections_parent_index": parents,
        "num_basal_sections": len(cell.dend),
        "soma_xyz": [float(soma["x"][middle]), float(soma["y"][middle]), float(soma["z"][middle])],
    }


def segment_points(morphology: dict) -> list[dict]:
    """The 3-D points of each of the 639 segments, in the datasets' order (for drawing)."""
    points = []
    for kind in ("basal", "apical"):
        coords = morphology[f"all_{kind}_segment_coords"]
        points.extend(coords[key] for key in sorted(coords))
    return points


def _descendants(parents: list[int], root: int) -> set[int]:
    found = {root}
    for _ in range(len(parents)):  # parents precede children only mostly, so sweep until stable
        grown = found | {k for k, parent in enumerate(parents) if parent in found}
        if grown == found:
            return found
        found = grown
    return found


def check_subtrees(morphology: dict) -> None:
    """Raise ``ValueError`` unless the original's subtree ranges are, in this segment table, exactly the
    basal sections, the tuft (every section descending from apic[36]) and the rest of the apical tree."""
    types = np.asarray(morphology["all_segments_type"])
    subtrees = np.asarray(morphology["all_segments_subtree"])
    section = np.asarray(morphology["all_segments_section_index"])
    tuft_sections = _descendants(morphology["all_sections_parent_index"],
                                 morphology["num_basal_sections"] + TUFT_ROOT_APICAL_SECTION)
    expected = np.where(types == "basal", "basal",
                        np.where(np.isin(section, sorted(tuft_sections)), "tuft", "oblique"))
    mismatched = np.flatnonzero(expected != subtrees)
    if mismatched.size:
        raise ValueError(f"{mismatched.size} segments (first: {mismatched[0]}) are not in the subtree their "
                         "index range says")


def write_morphology_dict(path: str | os.PathLike, morphology: dict) -> Path:
    import pickle

    with utils.atomic_write(path, "wb") as handle:
        pickle.dump(morphology, handle, protocol=2)
    return Path(path)
