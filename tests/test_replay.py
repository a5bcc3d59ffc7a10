"""Our cell replays the original model's reference simulations (tests/data/reference).

Each 6-s replay costs about a minute of CPU; run them in parallel (make test uses pytest-xdist).
"""
import pickle
import subprocess
import sys

import numpy as np
import pytest

from neuron_as_dnn.paths import REPO_ROOT
from neuron_as_dnn.simulation.fidelity import clipped_rms
from neuron_as_dnn.simulation.simulator import detect_output_spikes, replay

FIXED_STEP_FILES = ["nmda_fixed_1", "nmda_fixed_2", "nmda_fixed_3", "nmda_fixed_4_dvt", "ampa_fixed_1", "ampa_fixed_2"]


@pytest.mark.parametrize("name", FIXED_STEP_FILES)
def test_fixed_step_replay_matches_the_original(name, reference_dir, tmp_path):
    reference_path = reference_dir / f"{name}.npz"
    reference = dict(np.load(reference_path))
    ours = replay(reference_path, tmp_path / "out.npz", record_dendrites="dvt_1ms" in reference)
    assert str(ours["integrator"]) == "fixed" and ours["dt_ms"] == 0.025
    assert str(ours["synapse"]) == str(reference["synapse"])
    assert ours["out_spikes"].dtype == np.float64
    assert ours["out_spikes"].size == reference["out_spikes"].size
    np.testing.assert_allclose(ours["out_spikes"], reference["out_spikes"], atol=0.5)
    assert clipped_rms(ours["soma_v_1ms"], reference["soma_v_1ms"]) < 0.5
    # the same fixed step reproduces the original to numerical precision, far inside the tolerance
    assert clipped_rms(ours["soma_v_1ms"], reference["soma_v_1ms"]) < 0.01
    assert np.abs(ours["nexus_v_1ms"] - reference["nexus_v_1ms"]).max() < 0.1
    if "dvt_1ms" in reference:
        difference = ours["dvt_1ms"].astype(np.float32) - reference["dvt_1ms"].astype(np.float32)
        assert np.abs(difference).max() < 0.5  # float16 resolution near 0 mV is 0.03 mV
    written = np.load(tmp_path / "out.npz")
    for key in ("soma_v_1ms", "nexus_v_1ms", "soma_v_8perms", "out_spikes"):
        np.testing.assert_array_equal(written[key], ours[key])
        assert written[key].shape == reference[key].shape


def test_cvode_replay_matches_the_original(reference_dir):
    reference = dict(np.load(reference_dir / "nmda_cvode_1.npz"))
    ours = replay(reference_dir / "nmda_cvode_1.npz")
    assert str(ours["integrator"]) == "cvode"
    assert abs(ours["out_spikes"].size - reference["out_spikes"].size) <= 1
    assert clipped_rms(ours["soma_v_1ms"], reference["soma_v_1ms"]) < 1.0


def test_spike_detection_takes_strict_local_maxima_above_threshold():
    v = np.full(80, -70.0)
    v[10:13] = [-20, 10, -20]  # a spike peaking at sample 11
    v[30:33] = [-40, -30, -40]  # a bump below -25 mV: not a spike
    v[50:54] = [-20, 5, 5, -20]  # a flat top is not a strict maximum
    assert detect_output_spikes(v).tolist() == [11 / 8]


def test_replay_command_line_with_overrides(reference_dir, tmp_path):
    """A short pattern through the documented command, with the synapse type overridden."""
    reference = np.load(reference_dir / "nmda_fixed_1.npz")
    keep_ex, keep_inh = reference["ex_ms"] < 300, reference["inh_ms"] < 300
    short = tmp_path / "short.npz"
    np.savez(short, ex_seg=reference["ex_seg"][keep_ex], ex_ms=reference["ex_ms"][keep_ex],
             inh_seg=reference["inh_seg"][keep_inh], inh_ms=reference["inh_ms"][keep_inh],
             synapse="NMDA", integrator="fixed", dt_ms=0.025, v_init_mV=-76.0, duration_ms=300)
    out = tmp_path / "short_out.npz"
    subprocess.run([sys.executable, str(REPO_ROOT / "simulate_L5PC_and_create_dataset.py"),
                    "--replay", str(short), "--replay-output", str(out), "--synapse-type", "AMPA",
                    "--dt-ms", "0.05"], check=True, cwd=tmp_path)
    result = np.load(out)
    assert str(result["synapse"]) == "AMPA" and float(result["dt_ms"]) == 0.05
    assert result["soma_v_1ms"].shape == (300,) and result["soma_v_8perms"].shape == (2400,)
    assert result["out_spikes"].dtype == np.float64
    assert result["soma_v_1ms"][0] == pytest.approx(-76.0)


def _truncated_npz(path):
    np.savez(path, ex_seg=np.arange(1000), ex_ms=np.arange(1000), inh_seg=np.arange(10), inh_ms=np.arange(10))
    path.write_bytes(path.read_bytes()[:300])


def _single_array(path):
    with open(path, "wb") as handle:
        np.save(handle, np.arange(3))


@pytest.mark.parametrize("damage", [
    lambda path: path.write_bytes(b""),
    _truncated_npz,
    lambda path: path.write_bytes(pickle.dumps({"ex_seg": [1]})),
    _single_array,
], ids=["empty", "truncated", "pickle", "single_array"])
def test_a_damaged_replay_input_is_one_line(damage, tmp_path):
    inputs = tmp_path / "inputs.npz"
    damage(inputs)
    result = subprocess.run([sys.executable, str(REPO_ROOT / "simulate_L5PC_and_create_dataset.py"),
                             "--replay", str(inputs), "--replay-output", str(tmp_path / "out.npz")],
                            capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [f"simulate_L5PC_and_create_dataset.py: error: {inputs}: cannot be read as "
                                          "a replay input (empty, truncated, or not an .npz of named arrays; the "
                                          "format is in the README, 'Replaying a given input')"]
    assert sorted(tmp_path.iterdir()) == [inputs]
