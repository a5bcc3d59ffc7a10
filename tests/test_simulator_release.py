"""A simulator can be released: after close() no section of its cell is left for later runs to integrate.

NEURON integrates every section in the process, so a leaked cell doubles the cost of every later run
without changing its output. Section counts are compared strictly and CPU times loosely; counts are
taken relative to what the test process held before (other test modules may keep cells of their own).
"""
import gc
import sys

import numpy as np
import pytest

from neuron_as_dnn.data import dataset_generation
from neuron_as_dnn.paths import REPO_ROOT
from neuron_as_dnn.simulation.simulator import RunSettings, Simulator, live_sections, load_replay_inputs, replay

CELL_SECTIONS = 196  # soma, 2 axon stubs, 84 basal and 109 apical sections
SHORT_MS = 300


@pytest.fixture(scope="module")
def short_events(reference_dir):
    reference = load_replay_inputs(reference_dir / "nmda_fixed_1.npz")
    keep_ex, keep_inh = reference["ex_ms"] < SHORT_MS, reference["inh_ms"] < SHORT_MS
    return (reference["ex_seg"][keep_ex], reference["ex_ms"][keep_ex],
            reference["inh_seg"][keep_inh], reference["inh_ms"][keep_inh])


def short_settings(**overrides):
    return RunSettings(duration_ms=SHORT_MS, **overrides)


def test_close_and_with_block_release_every_section_after_coreneuron(short_events):
    before = live_sections()
    simulator = Simulator(settings=short_settings(engine="coreneuron"))
    assert live_sections() == before + CELL_SECTIONS
    first = simulator.run(*short_events)
    assert first.extra["engine"] == "coreneuron"
    simulator.close()
    assert live_sections() == before and simulator.closed
    simulator.close()  # a second close is harmless
    with pytest.raises(RuntimeError, match="closed"):
        simulator.run(*short_events)
    # rebuilt after a CoreNEURON run: CoreNEURON still runs, on the new cell only
    with Simulator(settings=short_settings(engine="coreneuron")) as again:
        assert live_sections() == before + CELL_SECTIONS
        second = again.run(*short_events)
    assert live_sections() == before and again.closed
    np.testing.assert_array_equal(second.soma_v_high_res, first.soma_v_high_res)
    np.testing.assert_array_equal(second.nexus_v_high_res, first.nexus_v_high_res)


def test_dropping_the_last_reference_releases_the_cell_without_the_cycle_collector():
    """No reference cycle through NEURON's event handler: reference counting alone frees the cell."""
    before = live_sections()
    gc.disable()
    try:
        simulator = Simulator(settings=short_settings())
        del simulator
        assert live_sections() == before
    finally:
        gc.enable()


def test_sections_go_even_when_the_caller_still_holds_the_cell():
    before = live_sections()
    simulator = Simulator(settings=short_settings())
    cell, segment = simulator.cell, simulator.cell.segments[0]
    simulator.close()
    assert live_sections() == before
    assert cell is not None and segment is not None  # still referenced, yet no longer integrated


def test_a_second_simulator_costs_and_computes_what_the_first_did(short_events):
    before = live_sections()
    with Simulator(settings=short_settings()) as first_simulator:
        first = first_simulator.run(*short_events)
    second_simulator = Simulator(settings=short_settings())
    assert live_sections() == before + CELL_SECTIONS
    second = second_simulator.run(*short_events)
    second_simulator.close()
    np.testing.assert_array_equal(second.soma_v_high_res, first.soma_v_high_res)
    np.testing.assert_array_equal(second.nexus_v_high_res, first.nexus_v_high_res)
    np.testing.assert_array_equal(second.output_spike_times_ms, first.output_spike_times_ms)
    # a leaked first cell would double the second run's cost
    assert second.cpu_seconds < 1.5 * first.cpu_seconds


def test_replay_twice_leaves_no_section(short_events, tmp_path):
    inputs = tmp_path / "short.npz"
    np.savez(inputs, ex_seg=short_events[0], ex_ms=short_events[1], inh_seg=short_events[2],
             inh_ms=short_events[3], synapse="NMDA", duration_ms=SHORT_MS)
    before = live_sections()
    first = replay(inputs)
    assert live_sections() == before
    second = replay(inputs)
    assert live_sections() == before
    np.testing.assert_array_equal(second["soma_v_8perms"], first["soma_v_8perms"])


def test_a_dataset_worker_builds_one_simulator_and_releases_it(tmp_path, monkeypatch):
    sys.path.insert(0, str(REPO_ROOT))
    import simulate_L5PC_and_create_dataset as script
    config = dataset_generation.resolve_config(script.SCRIPT.resolve(dict(
        num_simulations=2, duration_sec=1, dt_ms=0.1, seed=7, out_dir=str(tmp_path), dvt=False)))
    work_dir, pending = dataset_generation.prepare_work_dir(config)
    before = live_sections()
    counts = []
    simulate = dataset_generation._Worker.simulate

    def counting_simulate(worker, index):
        counts.append(live_sections())
        return simulate(worker, index)

    monkeypatch.setattr(dataset_generation._Worker, "simulate", counting_simulate)
    dataset_generation.run_simulations(config, work_dir, pending, progress=False)
    assert counts == [before + CELL_SECTIONS] * 2
    assert live_sections() == before
