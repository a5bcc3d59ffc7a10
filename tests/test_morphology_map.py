"""The segment -> coordinates / subtree map used to draw the cell (neuron_as_dnn.simulation.morphology_map)."""
import pickle

import numpy as np
import pytest

from neuron_as_dnn.simulation import morphology_map
from neuron_as_dnn.simulation.cell import L5PC


@pytest.fixture(scope="module")
def morphology():
    return morphology_map.morphology_dict(L5PC())


def test_every_segment_has_a_subtree_with_the_expected_counts(morphology):
    subtrees = np.asarray(morphology["all_segments_subtree"])
    assert len(subtrees) == 639
    assert {name: int((subtrees == name).sum()) for name in morphology_map.SUBTREES} == \
        {"basal": 262, "oblique": 184, "tuft": 193}


def test_index_ranges_are_the_basal_tree_the_tuft_and_the_rest(morphology):
    morphology_map.check_subtrees(morphology)
    shuffled = dict(morphology, all_segments_subtree=list(np.roll(morphology["all_segments_subtree"], 5)))
    with pytest.raises(ValueError, match="not in the subtree"):
        morphology_map.check_subtrees(shuffled)


def test_segment_points_cover_every_segment_and_join_up(morphology):
    points = morphology_map.segment_points(morphology)
    assert len(points) == 639
    lengths = [np.sum(np.hypot(np.hypot(np.diff(p["x"]), np.diff(p["y"])), np.diff(p["z"]))) for p in points]
    # each stretch is as long as the segment (3-D points are rescaled to the section's L)
    np.testing.assert_allclose(lengths, morphology["all_segments_length"], rtol=0.02, atol=0.5)
    # consecutive segments of a section share their end point
    first, second = points[0], points[1]
    if morphology["all_segments_section_index"][0] == morphology["all_segments_section_index"][1]:
        assert (first["x"][-1], first["y"][-1]) == pytest.approx((second["x"][0], second["y"][0]))


def test_written_dict_has_the_original_keys(morphology, tmp_path):
    path = morphology_map.write_morphology_dict(tmp_path / "morphology_dict.pickle", morphology)
    with open(path, "rb") as handle:
        loaded = pickle.load(handle)
    for key in ("all_sections_length", "all_segments_type", "all_segments_distance_from_soma",
                "all_segments_section_index", "all_segments_segment_index_within_section_index",
                "all_basal_segment_coords", "all_apical_segment_coords", "all_basal_section_coords"):
        assert key in loaded
    assert {"x", "y", "d"} <= set(loaded["all_apical_segment_coords"][(0, 0)])
