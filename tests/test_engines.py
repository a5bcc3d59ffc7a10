"""CoreNEURON, an optional engine: the same numbers as NEURON, or a clear refusal."""
import numpy as np
import pytest

from neuron_as_dnn.simulation.simulator import RunSettings, Simulator, load_replay_inputs


def test_coreneuron_reproduces_neuron_exactly(reference_dir):
    reference = load_replay_inputs(reference_dir / "nmda_fixed_1.npz")
    keep_ex, keep_inh = reference["ex_ms"] < 500, reference["inh_ms"] < 500
    events = (reference["ex_seg"][keep_ex], reference["ex_ms"][keep_ex],
              reference["inh_seg"][keep_inh], reference["inh_ms"][keep_inh])
    settings = dict(duration_ms=500, dt_ms=0.0625, secondorder=2, record_dendrites=True)
    simulator = Simulator("NMDA", settings=RunSettings(engine="neuron", **settings))
    ours = simulator.run(*events)
    simulator.settings = RunSettings(engine="coreneuron", **settings)
    core = simulator.run(*events)
    assert ours.extra["engine"] == "neuron" and core.extra["engine"] == "coreneuron"
    assert ours.output_spike_times_ms.size >= 1
    np.testing.assert_array_equal(core.output_spike_times_ms, ours.output_spike_times_ms)
    np.testing.assert_allclose(core.soma_v_high_res, ours.soma_v_high_res, atol=1e-9)
    np.testing.assert_allclose(core.nexus_v_high_res, ours.nexus_v_high_res, atol=1e-9)
    # dendrites: sampled at 1 ms by NEURON, every step and thinned under CoreNEURON
    assert core.dendritic_v_low_res.shape == ours.dendritic_v_low_res.shape == (639, 500)
    np.testing.assert_allclose(core.dendritic_v_low_res, ours.dendritic_v_low_res, atol=1e-9)


def test_auto_engine_takes_coreneuron_for_fixed_steps_only():
    assert RunSettings().resolved_engine() == "coreneuron"
    assert RunSettings(record_dendrites=True).resolved_engine() == "coreneuron"
    assert RunSettings(integrator="cvode").resolved_engine() == "neuron"
    with pytest.raises(ValueError, match="coreneuron"):
        RunSettings(engine="coreneuron", integrator="cvode")
