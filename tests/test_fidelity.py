"""How closely the default settings reproduce CVode, the original's integrator, against the project's tolerance.

A small version of benchmarks/fidelity.py (2 random NMDA inputs of 1 s, about 25 s of CPU) and unit
tests of the comparison it uses (neuron_as_dnn.simulation.fidelity). Spike counts and voltage are within the
tolerance; spike timing is not on every input (a known gap, marked xfail).
"""
import numpy as np
import pytest

from benchmarks import fidelity as benchmark
from neuron_as_dnn.simulation import fidelity

# seed 4 draws one input that stays below threshold and one that fires about 10 spikes in 1 s,
# so both the voltage and the spike timing are tested
SEED = 4
DURATION_MS = 1000


def test_greedy_pairing_leaves_an_extra_spike_unpaired_instead_of_shifting_the_rest():
    reference = [100.0, 200.0, 300.0]
    spikes = [100.5, 198.0, 250.0, 301.0]  # 250 is extra: pairing by index would shift 250 -> 300
    assert fidelity.match_spikes(spikes, reference) == [(0, 0), (1, 1), (3, 2)]
    assert fidelity.match_spikes([], reference) == []

    v_reference = np.full(1000, -70.0)
    v_reference[[100, 200, 300]] = 30.0
    v = v_reference + 0.3
    v[[100, 200, 300]] = 10.0  # spike heights differ, but both are clipped at -55 mV
    agreement = fidelity.compare(spikes, v, reference, v_reference)
    assert (agreement.spikes, agreement.reference_spikes, agreement.count_difference) == (4, 3, 1)
    assert (agreement.unmatched, agreement.unmatched_reference) == (1, 0)
    assert agreement.max_shift_ms == pytest.approx(2.0)
    assert agreement.rms_mV == pytest.approx(0.3 * np.sqrt(997 / 1000))
    assert agreement.within_tolerance and agreement.failures() == []


def test_outside_the_tolerance_says_why():
    v_reference = np.full(100, -70.0)
    agreement = fidelity.compare([10.0, 50.0, 90.0], v_reference + 0.6, [12.5], v_reference)
    assert agreement.count_difference == 2 and agreement.max_shift_ms == pytest.approx(2.5)
    assert agreement.rms_mV == pytest.approx(0.6)
    assert not agreement.within_tolerance
    assert agreement.failures() == ["3 spikes against 1", "RMS 0.600 mV", "a spike shifted by 2.500 ms"]
    # no spikes on either side: nothing paired, shift 0
    assert fidelity.compare([], v_reference, [], v_reference).max_shift_ms == 0.0
    with pytest.raises(ValueError, match="shapes"):
        fidelity.clipped_rms(v_reference, v_reference[:50])


@pytest.fixture(scope="module")
def agreements(morphology_path):
    """Default settings against CVode on the test's two inputs: {input name: Agreement}."""
    tasks = benchmark.random_tasks(["NMDA"], 2, DURATION_MS, SEED, str(morphology_path))
    # spawned workers: each run integrates its own cell only, whatever this test process holds
    finished = list(benchmark.run_tasks(tasks, DURATION_MS, workers=2, morphology=str(morphology_path)))
    assert len(finished) == 2
    result = {}
    for task, runs in finished:
        assert not isinstance(runs, str), f"{task.name}: {runs}"
        assert runs["cvode"].engine == "neuron" and runs["default"].engine == "coreneuron"
        result[task.name] = fidelity.compare(runs["default"].spikes_ms, runs["default"].soma_v_1ms,
                                             runs["cvode"].spikes_ms, runs["cvode"].soma_v_1ms)
    return result


def test_default_settings_match_cvode_in_spike_count_and_voltage(agreements):
    assert sum(a.reference_spikes for a in agreements.values()) >= 5  # the spike checks had spikes
    for name, agreement in agreements.items():
        assert abs(agreement.count_difference) <= fidelity.COUNT_TOLERANCE, name
        assert agreement.rms_mV < fidelity.RMS_TOLERANCE_MV, name


@pytest.mark.xfail(strict=True, reason="known (docs/fidelity.md, 'Against CVode on many inputs'): a spike of 'NMDA #1' comes "
                                       "4.4 ms away from CVode's, as on 8 of 40 inputs of 6 s")
def test_default_settings_match_cvode_within_the_whole_tolerance(agreements):
    for name, agreement in agreements.items():
        assert agreement.within_tolerance, f"{name}: {agreement.failures()}"
