"""CoreNEURON, an optional engine: the same numbers as NEURON, or a clear refusal."""
import numpy as np
import pytest

from neuron_as_dnn.simulation import RunSettings, Simulator, load_replay_inputs


def test_coreneuron_reproduces_neuron_exactly(shared_dir):
    reference = load_replay_inputs(shared_dir / "reference" / "nmda_fixed_1.npz")
    keep_ex, keep_inh = reference["ex_ms"] < 500, reference["inh_ms"] < 500
    events = (reference["ex_seg"][keep_ex], reference["ex_ms"][keep_ex],
              reference["inh_seg"][keep_inh], reference["inh_ms"][keep_inh])
    simulator = Simulator("NMDA", settings=RunSettings(duration_ms=500, dt_ms=0.05, secondorder=2))
    ours = simulator.run(*events)
    simulator.settings = RunSettings(duration_ms=500, dt_ms=0.05, secondorder=2, engine="coreneuron")
    core = simulator.run(*events)
    assert ours.output_spike_times_ms.size >= 1
    np.testing.assert_array_equal(core.output_spike_times_ms, ours.output_spike_times_ms)
    np.testing.assert_allclose(core.soma_v_high_res, ours.soma_v_high_res, atol=1e-9)
    np.testing.assert_allclose(core.nexus_v_high_res, ours.nexus_v_high_res, atol=1e-9)


@pytest.mark.parametrize("settings", [dict(integrator="cvode"), dict(record_dendrites=True)])
def test_coreneuron_refuses_what_it_cannot_record(settings):
    with pytest.raises(ValueError, match="coreneuron"):
        RunSettings(engine="coreneuron", **settings)
