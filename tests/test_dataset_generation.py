"""simulate_L5PC_and_create_dataset.py end to end, on short simulations (1 s, dt 0.1 ms)."""
import errno
import json
import math
import os
import pickle
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from neuron_as_dnn import errors, utils
from neuron_as_dnn.data import dataset_generation
from neuron_as_dnn.paths import REPO_ROOT
from neuron_as_dnn.simulation.simulator import RunSettings, Simulator

SCRIPT = REPO_ROOT / "simulate_L5PC_and_create_dataset.py"
PYTHON_BIN = Path(sys.executable).parent
SMALL = ["--num-simulations", "3", "--duration-sec", "1", "--dt-ms", "0.1", "--seed", "7"]

# Params keys and Python types of the authors' files (docs/dataset_format.md)
AUTHORS_PARAMS = {
    "randomSeed": int, "numSimulations": int, "totalSimDurationInSec": int, "collectAndSaveDVTs": bool,
    "numSamplesPerMS_HighRes": int, "excitatorySynapseType": str, "inhibitorySynapseType": str,
    "useActiveDendrites": bool, "Ih_vshift": int, "inst_rate_sampling_time_interval_options_ms": list,
    "num_bas_ex_spikes_per_100ms_range": list, "num_bas_ex_inh_spike_diff_per_100ms_range": list,
    "num_apic_ex_spikes_per_100ms_range": list, "num_apic_ex_inh_spike_diff_per_100ms_range": list,
    "allSectionsType": list, "allSections_DistFromSoma": list, "allSectionsLength": list,
    "allSegmentsType": list, "allSegmentsLength": list, "allSegments_DistFromSoma": list,
    "allSegments_SectionDistFromSoma": list, "allSegments_SectionInd": list, "ISICV": np.float64,
    "listOfISIs": list, "numOutputSpikesPerSim": list, "totalNumOutputSpikes": int,
    "totalNumSimulationSeconds": int, "averageOutputFrequency": float, "entireExperimentDurationInMinutes": float,
}


def run_script(*args, launcher=(), check=True, **kwargs):
    env = dict(os.environ, PATH=f"{PYTHON_BIN}:{os.environ['PATH']}")
    return subprocess.run([*launcher, sys.executable, str(SCRIPT), *args], check=check, env=env,
                          capture_output=True, text=True, **kwargs)


def only_file(folder: Path) -> Path:
    files = list(folder.glob("*_simulationRuns*_secDuration_*.p"))
    assert len(files) == 1, files
    return files[0]


def load(path: Path) -> dict:
    with open(path, "rb") as handle:
        return pickle.load(handle, encoding="latin1")


@pytest.fixture(scope="module")
def one_worker_file(tmp_path_factory):
    out = tmp_path_factory.mktemp("one_worker")
    run_script(*SMALL, "--out-dir", str(out), "--workers", "1")
    return only_file(out)


def independent_tensors(path: Path):
    """X (1278, T), y_spike, y_soma per simulation, built as §13.4 describes, with plain loops."""
    experiment = load(path)
    duration = experiment["Params"]["totalSimDurationInSec"] * 1000
    result = []
    for sim in experiment["Results"]["listOfSingleSimulationDicts"]:
        X = np.zeros((1278, duration), dtype=bool)
        for segment, times in sim["exInputSpikeTimes"].items():
            for t in times:
                X[segment, t] = True
        for segment, times in sim["inhInputSpikeTimes"].items():
            for t in times:
                X[639 + segment, t] = True
        y_spike = np.zeros(duration, dtype=bool)
        for t in sim["outputSpikeTimes"]:
            y_spike[int(t - 0.5)] = True
        y_soma = np.minimum(sim["somaVoltageLowRes"].astype(np.float64), -55.0) + 67.7
        result.append((X, y_spike, y_soma))
    return experiment, result


def test_file_follows_the_authors_format_and_matches_the_simulations(one_worker_file):
    experiment, tensors = independent_tensors(one_worker_file)
    assert set(experiment) == {"Params", "Results"}
    params = experiment["Params"]
    for key, kind in AUTHORS_PARAMS.items():
        assert isinstance(params[key], kind), (key, type(params[key]))
    assert len(params["allSegmentsType"]) == 639 and len(params["numOutputSpikesPerSim"]) == 3
    assert "_3_simulationRuns__1_secDuration__randomSeed_7.p" in one_worker_file.name
    record = json.loads(dataset_generation.config_path_for(one_worker_file).read_text())
    assert record["params"]["seed"] == 7
    # how long it took is in the record, not in the file, so that the same seed gives the same bytes
    assert record["wall_seconds"] > 0 and len(record["per_simulation_cpu_seconds"]) == 3
    assert math.isnan(params["entireExperimentDurationInMinutes"]) and "perSimulationCpuSeconds" not in params
    # nothing but the dataset matches the glob of the authors' readers
    assert list(one_worker_file.parent.glob("*_3_simulationRuns*_1_secDuration_*")) == [one_worker_file]
    sims = experiment["Results"]["listOfSingleSimulationDicts"]
    assert sims[0]["somaVoltageHighRes"].dtype == np.float16 and sims[0]["somaVoltageHighRes"].shape == (8000,)
    assert sims[0]["dendriticVoltagesLowRes"].shape == (639, 1000)
    assert sims[0]["outputSpikeTimes"].dtype == np.float32
    assert sims[0]["recordingTimeLowRes"].dtype == np.float32
    key = next(iter(sims[0]["exInputSpikeTimes"]))
    assert isinstance(key, np.int64) and isinstance(sims[0]["exInputSpikeTimes"][key][0], np.int64)

    # inputs: regenerated from the recorded per-simulation seed
    config = dataset_generation.resolve_config(script().SCRIPT.resolve(dict(
        num_simulations=3, duration_sec=1, dt_ms=0.1, seed=7, out_dir=str(one_worker_file.parent))))
    lengths, types = np.array(params["allSegmentsLength"]), params["allSegmentsType"]
    simulator = Simulator(settings=RunSettings(dt_ms=0.1, duration_ms=1000))
    for index, (X, y_spike, y_soma) in enumerate(tensors):
        pattern = dataset_generation.generate_inputs(config, lengths, types, index)
        np.testing.assert_array_equal(X, pattern.stacked())
        assert pattern.interval_ms == params["perSimulationInstRateSamplingIntervalMs"][index]
        # outputs: the same inputs simulated again
        events = pattern.events()
        rerun = simulator.run(events["ex_seg"], events["ex_ms"], events["inh_seg"], events["inh_ms"])
        np.testing.assert_allclose(y_soma, np.minimum(rerun.soma_v_low_res, -55) + 67.7, atol=0.05)
        expected_spikes = np.zeros(1000, dtype=bool)
        expected_spikes[(rerun.output_spike_times_ms - 0.5).astype(int)] = True
        np.testing.assert_array_equal(y_spike, expected_spikes)
        assert X[:639].sum() > 100 and X[639:].sum() > 10


def script():
    sys.path.insert(0, str(REPO_ROOT))
    import simulate_L5PC_and_create_dataset
    return simulate_L5PC_and_create_dataset


def test_same_seed_same_file_with_two_workers(one_worker_file, tmp_path):
    run_script(*SMALL, "--out-dir", str(tmp_path), "--workers", "2")
    assert only_file(tmp_path).read_bytes() == one_worker_file.read_bytes()


def test_same_seed_same_file_under_mpiexec(one_worker_file, tmp_path):
    mpiexec = shutil.which("mpiexec", path=str(PYTHON_BIN))
    assert mpiexec, "mpiexec is missing: `make setup` installs mpich and mpi4py"
    run_script(*SMALL, "--out-dir", str(tmp_path), launcher=(mpiexec, "-n", "2"), timeout=600)
    assert only_file(tmp_path).read_bytes() == one_worker_file.read_bytes()


@pytest.mark.parametrize("args, message", [
    (["--num-simulations", "-3"], "--num-simulations: must be a positive integer"),
    (["--synapse-type", "KAINATE"], "argument --synapse-type: invalid choice: 'KAINATE'"),
    (["--bas-ex-range", "800", "0"], "--bas-ex-range: range is inverted"),
    (["--integrator", "euler"], "--integrator: must be one of"),
    (["--split", "training"], "--split: must be one of"),
    (["--num-simulations", "1000000000", "--duration-sec", "1000"], "GB free;"),  # far beyond any disk
])
def test_bad_parameters_fail_before_simulating(args, message, tmp_path):
    started = time.perf_counter()
    result = run_script(*args, "--out-dir", str(tmp_path), check=False)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
    assert time.perf_counter() - started < 30
    assert not list(tmp_path.glob(".work_*"))


def test_unwritable_output_folder_is_reported(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    result = run_script("--out-dir", str(blocker / "sub"), check=False)
    assert result.returncode == 2 and "--out-dir:" in result.stderr and "Traceback" not in result.stderr


def test_interrupted_run_resumes(one_worker_file, tmp_path):
    env = dict(os.environ, PATH=f"{PYTHON_BIN}:{os.environ['PATH']}")
    process = subprocess.Popen([sys.executable, str(SCRIPT), *SMALL, "--out-dir", str(tmp_path)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while not list(tmp_path.glob(".work_*/simulation_*.npz")) and time.time() < deadline:
        time.sleep(0.2)
    process.send_signal(signal.SIGKILL)
    process.wait()
    finished = list(tmp_path.glob(".work_*/simulation_*.npz"))
    assert 1 <= len(finished) < 3 and not list(tmp_path.glob("*.p"))
    result = run_script(*SMALL, "--out-dir", str(tmp_path))
    assert f"resuming: {len(finished)} of 3 simulations" in result.stderr
    assert only_file(tmp_path).read_bytes() == one_worker_file.read_bytes()
    assert not list(tmp_path.glob(".work_*"))
    # the same command once more has nothing to do: the file is there, written by the same parameters
    written = only_file(tmp_path).stat().st_mtime_ns
    result = run_script(*SMALL, "--out-dir", str(tmp_path))
    assert "already written by the same parameters" in result.stderr
    assert only_file(tmp_path).stat().st_mtime_ns == written and not list(tmp_path.glob(".work_*"))
    only_file(tmp_path).unlink()
    # a rerun with other parameters refuses to mix its simulations into someone else's work folder
    (tmp_path / ".work_L5PC_NMDA_3x1s_seed7").mkdir()
    (tmp_path / ".work_L5PC_NMDA_3x1s_seed7" / "config.json").write_text('{"dt_ms": 0.025}')
    result = run_script(*SMALL, "--out-dir", str(tmp_path), check=False)
    assert result.returncode != 0 and "interrupted run with other parameters" in result.stderr


def one_line_error(result) -> str:
    """The single stderr line of a refused run (the tests run it with --log-level ERROR)."""
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("simulate_L5PC_and_create_dataset.py: error: "), lines
    return lines[0]


TINY = ["--num-simulations", "2", "--duration-sec", "1", "--dt-ms", "0.1", "--seed", "7", "--no-dvt",
        "--no-progress"]


def test_a_second_run_on_the_same_folder_refuses_while_the_first_runs(tmp_path):
    env = dict(os.environ, PATH=f"{PYTHON_BIN}:{os.environ['PATH']}")
    first = subprocess.Popen([sys.executable, str(SCRIPT), *TINY, "--out-dir", str(tmp_path)], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    lock = tmp_path / ".work_L5PC_NMDA_2x1s_seed7" / utils.LOCK_NAME
    deadline = time.time() + 120
    while not lock.is_file() and time.time() < deadline:
        time.sleep(0.05)
    first.send_signal(signal.SIGSTOP)  # it holds the lock however fast this machine is
    try:
        second = run_script(*TINY, "--out-dir", str(tmp_path), "--log-level", "ERROR", check=False)
    finally:
        first.send_signal(signal.SIGCONT)
    assert f"in use by another run (pid {first.pid} on {socket.gethostname()}" in one_line_error(second)
    assert first.wait(timeout=300) == 0
    assert load(only_file(tmp_path))["Params"]["numSimulations"] == 2
    assert not list(tmp_path.glob(".work_*"))


def test_a_lock_left_by_a_dead_process_is_taken_over(tmp_path, caplog):
    dead = subprocess.Popen(["true"])
    dead.wait()
    lock = tmp_path / utils.LOCK_NAME
    lock.write_text(json.dumps({"pid": dead.pid, "host": socket.gethostname(), "what": "a killed run"}))
    with utils.output_lock(tmp_path, "this test"):
        assert json.loads(lock.read_text())["pid"] == os.getpid()
        with pytest.raises(errors.UserError, match=f"in use by another run \\(pid {os.getpid()}"):
            with utils.output_lock(tmp_path, "a second run"):
                pass
    assert "taking over the lock" in caplog.text
    assert list(tmp_path.iterdir()) == []


FULL_DISK_AFTER_ONE_SIMULATION = """
import errno, sys
sys.path.insert(0, sys.argv.pop(1))
from neuron_as_dnn import errors, utils
from neuron_as_dnn.data import dataset_generation
real_atomic_write = dataset_generation.atomic_write
written = []

def full_after_one(path, mode="wb"):
    written.append(path)
    if len(written) > 1:
        raise OSError(errno.ENOSPC, "No space left on device", str(path))
    return real_atomic_write(path, mode)

dataset_generation.atomic_write = full_after_one
import simulate_L5PC_and_create_dataset
simulate_L5PC_and_create_dataset.main(sys.argv[1:])
"""


def test_a_full_disk_ends_with_one_line_and_the_rerun_resumes(tmp_path):
    # without -nogui NEURON greets a machine without DISPLAY on stderr
    env = dict(os.environ, PATH=f"{PYTHON_BIN}:{os.environ['PATH']}", NEURON_MODULE_OPTIONS="-nogui")
    full = subprocess.run([sys.executable, "-c", FULL_DISK_AFTER_ONE_SIMULATION, str(REPO_ROOT), *TINY,
                           "--out-dir", str(tmp_path), "--log-level", "ERROR"],
                          env=env, capture_output=True, text=True)
    line = one_line_error(full)
    assert "could not write" in line and os.strerror(errno.ENOSPC) in line and "1 finished simulation(s)" in line
    assert len(list(tmp_path.glob(".work_*/simulation_*.npz"))) == 1 and not list(tmp_path.glob("*.p"))
    resumed = run_script(*TINY, "--out-dir", str(tmp_path))
    assert "resuming: 1 of 2 simulations" in resumed.stderr
    assert load(only_file(tmp_path))["Params"]["numSimulations"] == 2
