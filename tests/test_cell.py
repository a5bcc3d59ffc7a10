"""The cell against the original model's geometry, biophysics and segment bookkeeping."""
import json
from collections import Counter

import numpy as np
import pytest

from neuron_as_dnn.simulation.cell import CellOptions, L5PC, SynapseSet, neuron_h

MECHANISMS = ["NaTa_t", "NaTs2_t", "Nap_Et2", "K_Pst", "K_Tst", "SKv3_1", "SK_E2", "Im", "Ih",
              "Ca_HVA", "Ca_LVAst", "CaDynamics_E2"]


@pytest.fixture(scope="module")
def cell(morphology_path):
    return L5PC(morphology_path)


def test_all_mechanisms_compiled_and_loaded():
    h = neuron_h()
    mech_names = set()
    mt = h.MechanismType(0)
    name = h.ref("")
    for i in range(int(mt.count())):
        mt.select(i)
        mt.selected(name)
        mech_names.add(name[0])
    assert set(MECHANISMS) <= mech_names
    assert hasattr(h, "AmpaNmdaSynapse") and hasattr(h, "DoubleExpSynapse")


def test_segment_table_matches_reference(cell, reference_dir):
    ref = json.loads((reference_dir / "segments.json").read_text())
    table = cell.segment_table()
    assert len(cell.segments) == ref["n_segments"] == 639
    assert table["type"].count("basal") == ref["n_basal"] == 262
    assert table["type"] == ref["seg_type"]
    np.testing.assert_allclose(table["length_um"], ref["seg_length_um"], atol=1e-6, rtol=0)
    np.testing.assert_allclose(table["path_distance_um"], ref["seg_dist_from_soma_um"], atol=1e-6, rtol=0)
    np.testing.assert_allclose(table["x"], ref["seg_x"], atol=1e-12)
    names = [("dend" if k < 84 else "apic") + f"[{k if k < 84 else k - 84}]" for k in table["section_index"]]
    assert names == ref["seg_section"]


def test_geometry_facts_of_the_original(cell):
    assert (len(cell.dend), len(cell.apic), len(cell.axon)) == (84, 109, 2)
    assert cell.soma.nseg == 1
    assert cell.soma.L == pytest.approx(23.17, abs=0.01) and cell.soma.diam == pytest.approx(13.47, abs=0.01)
    nseg_histogram = Counter(sec.nseg for sec in cell.dendritic_sections)
    assert nseg_histogram == {1: 92, 3: 37, 5: 29, 7: 19, 9: 11, 11: 3, 13: 2}
    for sec in cell.axon:
        assert (sec.L, sec.diam, sec.nseg) == (30, 1, 1)
    assert cell.axon[0].parentseg().sec == cell.soma and cell.axon[0].parentseg().x == 0.5
    assert cell.axon[1].parentseg().sec == cell.axon[0]
    params = cell.dataset_morphology_params()
    np.testing.assert_allclose(params["allSegmentsLength"][:5], [24.2009, 15.1822, 21.6644, 21.6644, 21.6644], atol=1e-4)
    np.testing.assert_allclose(params["allSegments_DistFromSoma"][:5],
                               [23.6851, 43.3767, 61.8000, 83.4644, 105.1289], atol=1e-4)
    assert sum(params["allSegmentsLength"][:262]) == pytest.approx(5133.4920, abs=1e-3)
    assert sum(params["allSegmentsLength"][262:]) == pytest.approx(7440.9059, abs=1e-3)
    assert len(params["allSectionsType"]) == 193 and params["allSegments_SectionInd"][-1] == 192
    assert cell.h.distance(cell.soma(0), cell.nexus) == pytest.approx(690, abs=0.5)


def test_apical_distributions_with_end_of_section_quirk(cell):
    h = cell.h
    assert cell.longest_apical_path() == pytest.approx(1300.53, abs=0.01)
    hot = [seg for sec in cell.apic for seg in sec if seg.gCa_LVAstbar_Ca_LVAst > 0.1]
    assert len(hot) == 29
    assert {round(seg.gCa_LVAstbar_Ca_LVAst, 9) for sec in cell.apic for seg in sec} == {0.2271264, 0.002271264}
    gih = np.array([seg.gIhbar_Ih for sec in cell.apic for seg in sec])
    assert gih.min() == pytest.approx(1.2625e-4, rel=1e-4) and gih.max() == pytest.approx(2.1024e-3, rel=1e-4)
    # the last segment of a multi-segment section takes the value at the distal end (x = 1)
    origin = cell.apic[0](0)
    sec = next(s for s in cell.apic if s.nseg >= 3 and h.distance(origin, s(1)) < 800)
    segs = list(sec)
    expected = lambda x: 1e-4 * (-0.8696 + 2.0870 * np.exp(3.6161 * min(h.distance(origin, sec(x)) / 1300.5335, 0.65)))
    assert segs[0].gIhbar_Ih == pytest.approx(expected(segs[0].x), rel=1e-6)
    assert segs[-1].gIhbar_Ih == pytest.approx(expected(1.0), rel=1e-6)
    assert segs[-1].gIhbar_Ih != pytest.approx(expected(segs[-1].x), rel=1e-6)


def test_region_biophysics(cell):
    soma = cell.soma(0.5)
    assert soma.NaTs2_t.gNaTs2_tbar == 0.998912 and soma.SK_E2.gSK_E2bar == 0.09965
    assert cell.axon[0](0.5).NaTa_t.gNaTa_tbar == 3.89618
    assert cell.soma.ek == -85 and cell.soma.ena == 50
    basal = cell.dend[0]
    assert basal.cm == 2 and basal(0.5).pas.g == 6e-5 and basal(0.5).Ih.gIhbar == 5e-5
    assert not basal.has_membrane("NaTs2_t")
    assert cell.h.celsius == 6.3


def test_options_shift_ih_scale_sk_and_make_dendrites_passive(morphology_path):
    cell = L5PC(morphology_path, CellOptions(ih_vshift=-5, ske2_mult_factor=0.1, celsius=34))
    assert cell.h.celsius == 34
    assert cell.soma(0.5).Ih.vshift == -5 and cell.dend[3](0.5).Ih.vshift == -5
    assert cell.soma(0.5).SK_E2.gSK_E2bar == pytest.approx(0.009965)
    assert cell.axon[0](0.5).SK_E2.gSK_E2bar == pytest.approx(0.0000047)
    del cell
    passive = L5PC(morphology_path, CellOptions(active_dendrites=False))
    for sec in passive.dendritic_sections:
        assert [m for m in ("Ih", "NaTs2_t", "Ca_LVAst", "SK_E2", "CaDynamics_E2") if sec.has_membrane(m)] == []
        assert sec.has_membrane("pas") and sec.cm == 2
    assert passive.soma.has_membrane("NaTs2_t") and passive.axon[0].has_membrane("NaTa_t")


def test_synapse_set_places_one_excitatory_and_one_inhibitory_per_segment(cell):
    synapses = SynapseSet(cell, "NMDA", "GABA_A")
    assert len(synapses.excitatory) == len(synapses.inhibitory) == 639
    assert synapses.excitatory[5].get_segment() == cell.segments[5]
    assert synapses.excitatory[0].tau_d_NMDA == 70 and synapses.excitatory[0].gmax == 0.0004
    assert synapses.inhibitory[0].e == -80 and synapses.inhibitory[0].tau_d == 8
    with pytest.raises(ValueError, match="excitatory synapse type"):
        SynapseSet(cell, "NMDA_X")
    with pytest.raises(ValueError, match="segment indices"):
        synapses.set_inputs([639], [10.0], [], [])
