"""The dataset pickle format (both directions), canonical tensors, the compact cache and the errors."""
import os
import pickle
import struct

import numpy as np
import pytest

from neuron_as_dnn import errors
from neuron_as_dnn.data import cache, dataset, synthetic_data

NUM_SIMS, DURATION_MS = 4, 2000


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """A small file written as the simulation stage will write it, plus the inputs it was written from."""
    params, simulations = synthetic_data.make_synthetic_experiment(NUM_SIMS, DURATION_MS, seed=7)
    folder = tmp_path_factory.mktemp("data")
    path = dataset.write_experiment_file(folder / dataset.dataset_file_name(params), params, simulations)
    return path, params, simulations


def independent_tensors(experiment):
    """X (sims, 1278, T), y_spike, y_soma built with plain loops, the way the original scripts do."""
    sims = experiment["Results"]["listOfSingleSimulationDicts"]
    T = len(sims[0]["somaVoltageLowRes"])
    X = np.zeros((len(sims), 1278, T), dtype=bool)
    y_spike = np.zeros((len(sims), T), dtype=bool)
    y_soma = np.zeros((len(sims), T), dtype=np.float32)
    for k, sim in enumerate(sims):
        for segment, times in sim["exInputSpikeTimes"].items():
            for t in times:
                X[k, segment, t] = True
        for segment, times in sim["inhInputSpikeTimes"].items():
            for t in times:
                X[k, 639 + segment, t] = True
        for t in sim["outputSpikeTimes"]:
            y_spike[k, int(t - 0.5)] = True
        for t in range(T):
            y_soma[k, t] = min(float(sim["somaVoltageLowRes"][t]), -55.0) + 67.7
    return X, y_spike, y_soma


def test_file_name_follows_the_original_pattern():
    params = {"num_bas_ex_spikes_per_100ms_range": [0, 800], "num_bas_ex_inh_spike_diff_per_100ms_range": [-600, 200],
              "num_apic_ex_spikes_per_100ms_range": [0, 800], "num_apic_ex_inh_spike_diff_per_100ms_range": [-600, 200],
              "collectAndSaveDVTs": True, "totalNumOutputSpikes": 1234, "numSimulations": 128,
              "totalSimDurationInSec": 6, "randomSeed": 42}
    assert dataset.dataset_file_name(params) == (
        "exBas_0_800_inhBasDiff_-600_200__exApic_0_800_inhApicDiff_-600_200__saved_InputSpikes_DVTs__1234_outSpikes"
        "__128_simulationRuns__6_secDuration__randomSeed_42.p")
    with pytest.raises(KeyError, match="randomSeed"):
        dataset.dataset_file_name({k: v for k, v in params.items() if k != "randomSeed"})


def test_discovery_uses_the_original_glob_with_other_counts_allowed(written):
    path, _, _ = written
    folder = path.parent
    (folder / "notes.txt").write_text("not data")
    assert dataset.find_dataset_files(folder) == []  # default: 128 simulations of 6 s
    assert dataset.find_dataset_files(folder, NUM_SIMS, 2) == [path]
    assert dataset.find_dataset_files(folder, None, None) == [path]
    assert dataset.dataset_glob_pattern() == "*_128_simulationRuns*_6_secDuration_*"
    with pytest.raises(FileNotFoundError, match="does not exist"):
        dataset.find_dataset_files(folder / "missing")


def preset_file_name(synapse_type, duration_sec, seed):
    from neuron_as_dnn.data.dataset_generation import PRESETS

    preset = PRESETS[synapse_type]
    return dataset.dataset_file_name({
        "num_bas_ex_spikes_per_100ms_range": preset["bas_ex_range"],
        "num_bas_ex_inh_spike_diff_per_100ms_range": preset["bas_inh_diff_range"],
        "num_apic_ex_spikes_per_100ms_range": preset["apic_ex_range"],
        "num_apic_ex_inh_spike_diff_per_100ms_range": preset["apic_inh_diff_range"], "collectAndSaveDVTs": True,
        "totalNumOutputSpikes": 10, "numSimulations": NUM_SIMS, "totalSimDurationInSec": duration_sec,
        "randomSeed": seed})


@pytest.mark.parametrize("other, found", [
    (("AMPA", 2), "1 file(s) of AMPA, 2 s; 2 file(s) of NMDA, 2 s; 1 file(s) of other inputs, 2 s"),
    (("AMPA_SK", 2), "1 file(s) of AMPA_SK, 2 s; 2 file(s) of NMDA, 2 s; 1 file(s) of other inputs, 2 s"),
    (("NMDA", 6), "2 file(s) of NMDA, 2 s; 1 file(s) of NMDA, 6 s; 1 file(s) of other inputs, 2 s"),
])
def test_a_folder_mixing_synapse_types_or_durations_is_refused(tmp_path, other, found):
    for seed in (1, 2):  # two files of one dataset are one dataset
        (tmp_path / preset_file_name("NMDA", 2, seed)).touch()
    # rate ranges of no preset (the authors' files, custom runs) tell no synapse type
    (tmp_path / preset_file_name("NMDA", 2, 9).replace("exBas_0_800", "exBas_0_1000")).touch()
    assert len(dataset.find_dataset_files(tmp_path, None, None)) == 3
    (tmp_path / preset_file_name(*other, 3)).touch()
    with pytest.raises(errors.UserError) as refused:
        dataset.find_dataset_files(tmp_path, None, None)
    message = str(refused.value)
    assert message.startswith(f"{tmp_path} mixes datasets ({found})") and "folder of their own" in message
    if other[0] == "NMDA":  # a duration filter (fit_CNN.py --duration-sec) keeps one dataset
        assert len(dataset.find_dataset_files(tmp_path, NUM_SIMS, 2)) == 3


def test_written_file_has_the_authors_types_and_nesting(written):
    path, params, simulations = written
    with open(path, "rb") as handle:
        assert handle.read(2) == b"\x80\x02"  # protocol 2
    experiment = dataset.read_experiment_file(path)
    assert set(experiment) == {"Params", "Results"}
    assert experiment["Params"]["numSimulations"] == NUM_SIMS
    sims = experiment["Results"]["listOfSingleSimulationDicts"]
    assert len(sims) == NUM_SIMS
    sim = sims[0]
    for key in ("somaVoltageLowRes", "nexusVoltageLowRes", "dendriticVoltagesLowRes"):
        assert sim[key].dtype == np.float16
    assert sim["recordingTimeLowRes"].dtype == np.float32
    np.testing.assert_array_equal(sim["recordingTimeLowRes"], np.arange(DURATION_MS))
    assert sim["dendriticVoltagesLowRes"].shape == (639, DURATION_MS)
    assert sim["outputSpikeTimes"].dtype == np.float32
    for key in ("exInputSpikeTimes", "inhInputSpikeTimes"):
        spikes = sim[key]
        assert isinstance(spikes, dict) and spikes
        for segment, times in spikes.items():
            assert type(segment) is np.int64 and isinstance(times, list) and times
            assert all(type(t) is np.int64 for t in times)
            assert times == sorted(times)
    # the bool matrices given to the writer are exactly what the dicts encode
    matrix = np.zeros((639, DURATION_MS), dtype=bool)
    for segment, times in sim["exInputSpikeTimes"].items():
        matrix[segment, times] = True
    np.testing.assert_array_equal(matrix, simulations[0]["exInputSpikeTimes"])


def test_authors_float16_spike_times_and_missing_dvts(tmp_path):
    params, simulations = synthetic_data.make_synthetic_experiment(2, 1000, with_dvt=False, seed=3)
    path = dataset.write_experiment_file(tmp_path / "x_2_simulationRuns_1_secDuration_.p", params, simulations,
                                         output_spike_dtype=np.float16)
    experiment = dataset.read_experiment_file(path)
    sim = experiment["Results"]["listOfSingleSimulationDicts"][0]
    assert sim["outputSpikeTimes"].dtype == np.float16 and "dendriticVoltagesLowRes" not in sim
    assert experiment["Params"]["collectAndSaveDVTs"] is False
    tensors = dataset.canonical_tensors(experiment, path)
    assert tensors.y_DVT is None
    cached = cache.load_cached(path, tmp_path / "cache")
    assert not cached.has_dvt
    np.testing.assert_array_equal(cached.y_spike, tensors.y_spike)


def test_reader_matches_an_independent_construction(written):
    path, _, _ = written
    experiment = dataset.read_experiment_file(path)
    X, y_spike, y_soma = independent_tensors(experiment)
    assert X.sum() > 10000 and y_spike.sum() > 0
    tensors = dataset.canonical_tensors(experiment, path)
    np.testing.assert_array_equal(tensors.X, X.transpose(0, 2, 1))
    np.testing.assert_array_equal(tensors.y_spike, y_spike)
    np.testing.assert_allclose(tensors.y_soma, y_soma, atol=1e-5)
    assert tensors.y_soma.max() <= 12.7 + 1e-5
    expected_dvt = np.stack([s["dendriticVoltagesLowRes"].T for s in experiment["Results"]["listOfSingleSimulationDicts"]])
    np.testing.assert_array_equal(tensors.y_DVT, expected_dvt)


def test_spike_bins_truncate_like_int():
    times = np.array([0.125, 0.5, 0.625, 1.5, 1.49, 1999.875])
    assert list(dataset.spike_bins(times, 2000)) == [int(t - 0.5) for t in times]


def test_cache_round_trip_is_exact_and_built_once(written, tmp_path, monkeypatch):
    path, _, _ = written
    experiment = dataset.read_experiment_file(path)
    X, y_spike, y_soma = independent_tensors(experiment)
    cache_dir = tmp_path / "cache"
    cached = cache.load_cached(path, cache_dir)
    np.testing.assert_array_equal(cached.inputs.dense(), X.transpose(0, 2, 1))
    np.testing.assert_array_equal(cached.y_spike, y_spike)
    np.testing.assert_allclose(cached.y_soma, y_soma, atol=1e-5)
    sims = experiment["Results"]["listOfSingleSimulationDicts"]
    np.testing.assert_array_equal(cached.soma_mv, np.stack([s["somaVoltageLowRes"] for s in sims]))
    for times, sim in zip(cached.output_spike_times, sims):
        np.testing.assert_array_equal(times, sim["outputSpikeTimes"])
    windows = np.zeros((2, 300, 1278), dtype=bool)
    cached.inputs.fill_windows(windows, [1, 3], [800, 2000])
    np.testing.assert_array_equal(windows[0], X[1, :, 500:800].T)
    np.testing.assert_array_equal(windows[1], X[3, :, 1700:2000].T)

    # a second load reads the cache without parsing the pickle
    monkeypatch.setattr(dataset, "read_experiment_file", lambda p: pytest.fail("the pickle was parsed again"))
    again = cache.load_cached(path, cache_dir)
    np.testing.assert_array_equal(again.inputs.channels, cached.inputs.channels)
    assert cache.is_cached(path, cache_dir)
    # a changed source invalidates the cache
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert not cache.is_cached(path, cache_dir)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def test_default_cache_sits_beside_the_data(written):
    path, _, _ = written
    base, dvt = cache.cache_paths(path, dvt_fingerprint="abc")
    assert base.parent == path.parent / ".cache" and dvt.name.endswith(".dvt_abc.npz")


class HalfVoltage:
    fingerprint = "half"

    def transform(self, dvt):
        return dvt[:, :5].astype(np.float32) / 2


def test_dendritic_targets_are_cached_per_transform(written, tmp_path):
    path, _, simulations = written
    cached = cache.load_cached(path, tmp_path, HalfVoltage())
    assert cached.dvt_targets.shape == (NUM_SIMS, DURATION_MS, 5) and cached.dvt_targets.dtype == np.float16
    expected = np.asarray(simulations[2]["dendriticVoltagesLowRes"], dtype=np.float16)[:5].T.astype(np.float32) / 2
    np.testing.assert_allclose(cached.dvt_targets[2], expected.astype(np.float16))
    assert cache.load_cached(path, tmp_path).dvt_targets is None


class Py2StylePickler(pickle._Pickler):
    """Writes bytes and str as Python-2 ``str`` opcodes and numpy under ``numpy.core``, as the authors'
    Python-2 cPickle files are."""
    dispatch = pickle._Pickler.dispatch.copy()

    def _save_py2_string(self, obj):
        data = obj if isinstance(obj, bytes) else obj.encode("latin1")
        if len(data) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(data)]) + data)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(data)) + data)
        self.memoize(obj)

    dispatch[bytes] = _save_py2_string
    dispatch[str] = _save_py2_string

    def save_global(self, obj, name=None):
        module = getattr(obj, "__module__", None)
        if module and module.startswith("numpy._core"):
            name = name or obj.__qualname__
            self.write(pickle.GLOBAL + module.replace("numpy._core", "numpy.core").encode() + b"\n"
                       + name.encode() + b"\n")
            self.memoize(obj)
        else:
            super().save_global(obj, name)


def test_reads_python2_pickles_with_latin1(written, tmp_path):
    path, _, _ = written
    experiment = dataset.read_experiment_file(path)
    py2_path = tmp_path / path.name
    with open(py2_path, "wb") as handle:
        Py2StylePickler(handle, protocol=2).dump(experiment)
    with open(py2_path, "rb") as handle, pytest.raises(UnicodeDecodeError):
        pickle.load(handle)  # what happens without encoding='latin1'
    again = dataset.read_experiment_file(py2_path)
    first, second = dataset.canonical_tensors(experiment), dataset.canonical_tensors(again)
    np.testing.assert_array_equal(first.X, second.X)
    np.testing.assert_array_equal(first.y_soma, second.y_soma)
    np.testing.assert_array_equal(first.y_DVT, second.y_DVT)


def _pickle_to(path, obj):
    with open(path, "wb") as handle:
        pickle.dump(obj, handle, protocol=2)
    return path


@pytest.mark.parametrize("case, message", [
    ("not_pickle", "not a simulation dataset pickle"),
    ("truncated", "ends early"),
    ("list", "expected a dict with keys 'Params' and 'Results'"),
    ("foreign_class", "collections.OrderedDict"),
    ("no_results_list", "lacks 'listOfSingleSimulationDicts'"),
    ("missing_key", "simulation 1 lacks the keys \\['somaVoltageLowRes'\\]"),
    ("wrong_dvt_shape", "dendriticVoltagesLowRes has shape \\(10, 2000\\)"),
    ("bad_spike_dict", "exInputSpikeTimes is a ndarray"),
])
def test_bad_files_give_clear_errors(written, tmp_path, case, message):
    import collections

    path, _, _ = written
    experiment = dataset.read_experiment_file(path)
    sims = experiment["Results"]["listOfSingleSimulationDicts"]
    bad = tmp_path / f"{case}.p"
    if case == "not_pickle":
        bad.write_bytes(b"PK\x03\x04 this is a zip, not a pickle")
    elif case == "truncated":
        bad.write_bytes(path.read_bytes()[:5000])
    elif case == "list":
        _pickle_to(bad, [1, 2, 3])
    elif case == "foreign_class":
        _pickle_to(bad, collections.OrderedDict(a=1))
    elif case == "no_results_list":
        _pickle_to(bad, {"Params": {}, "Results": {}})
    elif case == "missing_key":
        broken = [dict(s) for s in sims]
        del broken[1]["somaVoltageLowRes"]
        _pickle_to(bad, {"Params": experiment["Params"], "Results": {"listOfSingleSimulationDicts": broken}})
    elif case == "wrong_dvt_shape":
        broken = [dict(s) for s in sims]
        broken[0]["dendriticVoltagesLowRes"] = np.zeros((10, DURATION_MS), np.float16)
        _pickle_to(bad, {"Params": experiment["Params"], "Results": {"listOfSingleSimulationDicts": broken}})
    elif case == "bad_spike_dict":
        broken = [dict(s) for s in sims]
        broken[0]["exInputSpikeTimes"] = np.zeros(3)
        _pickle_to(bad, {"Params": experiment["Params"], "Results": {"listOfSingleSimulationDicts": broken}})
    with pytest.raises(dataset.DatasetFormatError, match=message) as error:
        dataset.read_experiment_file(bad)
    assert str(bad) in str(error.value)


def test_out_of_range_spike_times_are_reported(written, tmp_path):
    path, _, _ = written
    experiment = dataset.read_experiment_file(path)
    sim = experiment["Results"]["listOfSingleSimulationDicts"][2]
    segment = next(iter(sim["exInputSpikeTimes"]))
    sim["exInputSpikeTimes"][segment] = [np.int64(DURATION_MS + 5)]
    bad = _pickle_to(tmp_path / "late.p", experiment)
    with pytest.raises(dataset.DatasetFormatError, match="simulation 2: exInputSpikeTimes has spike times"):
        cache.load_cached(bad, tmp_path / "cache")


def test_missing_file_and_inconsistent_writes(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        dataset.read_experiment_file(tmp_path / "nothing.p")
    params, simulations = synthetic_data.make_synthetic_experiment(2, 600, seed=1)
    with pytest.raises(ValueError, match="numSimulations"):
        dataset.write_experiment_file(tmp_path / "a.p", dict(params, numSimulations=3), simulations)
    del simulations[1]["dendriticVoltagesLowRes"]
    with pytest.raises(ValueError, match="all simulations or for none"):
        dataset.write_experiment_file(tmp_path / "b.p", params, simulations)
    assert not list(tmp_path.glob("*.p")) and not list(tmp_path.glob(".*tmp"))


def test_a_simulation_without_output_spikes_reads_back(tmp_path):
    """An empty spike array pickles (protocol 2) through __builtin__.bytes: the reader must accept it."""
    params, simulations = synthetic_data.make_synthetic_experiment(2, 1000, with_dvt=False, seed=5)
    simulations[0]["outputSpikeTimes"] = np.array([], dtype=np.float64)
    path = dataset.write_experiment_file(tmp_path / dataset.dataset_file_name(params), params, simulations)
    experiment = dataset.read_experiment_file(path)
    spikes = experiment["Results"]["listOfSingleSimulationDicts"][0]["outputSpikeTimes"]
    assert spikes.size == 0 and spikes.dtype == np.float32


def test_every_stage_names_the_same_synapse_types():
    from neuron_as_dnn.data import dataset_generation
    from neuron_as_dnn.learning import training

    assert tuple(dataset_generation.PRESETS) == dataset.SYNAPSE_TYPES == tuple(training.SYNAPSE_PRESETS)
