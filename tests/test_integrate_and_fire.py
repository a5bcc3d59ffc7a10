"""The integrate-and-fire neuron, its data sets, and the Fig. 1 pipeline end to end, including the saved run and
its redraw (docs/integrate_and_fire.md)."""
import importlib.util
import json
import shutil

import numpy as np
import pytest

from neuron_as_dnn.integrate_and_fire import neuron as iaf
from neuron_as_dnn.integrate_and_fire import experiment
from neuron_as_dnn.integrate_and_fire import figures
from neuron_as_dnn.paths import REPO_ROOT

NEURON = iaf.IntegrateAndFireNeuron()
INPUT_STATISTICS = iaf.IntegrateAndFireInputStatistics()


def reference_simulation(inputs: np.ndarray, neuron: iaf.IntegrateAndFireNeuron):
    """The neuron's definition written literally: per-synapse convolution, weighted sum, and a reset written into the future."""
    kernel = neuron.kernel
    duration = inputs.shape[1]
    traces = np.array([np.convolve(row.astype(float), kernel)[:duration] for row in inputs])
    voltage = neuron.v_reset + neuron.current_to_voltage_mult_factor * (neuron.synaptic_weights @ traces)
    spikes = np.zeros(duration, dtype=bool)
    for t in range(duration):
        if voltage[t] > neuron.v_threshold:
            spikes[t] = True
            if t + 1 < duration:
                span = min(len(kernel), duration - t - 1)
                voltage[t + 1:t + 1 + span] -= (voltage[t + 1] - neuron.v_reset) * kernel[:span]
    return spikes, voltage


def random_inputs(num_sims, duration, seed):
    rng = np.random.default_rng(seed)
    return np.stack([INPUT_STATISTICS.generate(NEURON, duration, rng).stacked() for _ in range(num_sims)])


def test_kernel_and_weights():
    assert len(NEURON.kernel) == 141 and NEURON.kernel[0] == 1.0
    assert NEURON.kernel[20] == pytest.approx(np.exp(-1))
    np.testing.assert_array_equal(NEURON.synaptic_weights, [1.0] * 80 + [-1.0] * 20)


def test_single_input_spike_gives_the_exponential_psp():
    inputs = np.zeros((100, 400), dtype=bool)
    inputs[3, 50] = True    # excitatory
    inputs[90, 250] = True  # inhibitory
    spikes, voltage = iaf.simulate_integrate_and_fire(inputs, NEURON, clip_spikes=False)
    assert not spikes.any()
    np.testing.assert_allclose(voltage[:50], NEURON.v_reset)
    np.testing.assert_allclose(voltage[50:191], NEURON.v_reset + 2 * np.exp(-np.arange(141) / 20.0))
    np.testing.assert_allclose(voltage[191:250], NEURON.v_reset)  # the kernel is truncated at int(7τ)
    assert voltage[250] == pytest.approx(NEURON.v_reset - 2.0)


def test_matches_the_literal_definition():
    inputs = random_inputs(6, 3000, seed=0)
    spikes, voltage = iaf.simulate_integrate_and_fire(inputs, NEURON, clip_spikes=False)
    assert spikes.sum() > 5
    for sim in range(len(inputs)):
        expected_spikes, expected_voltage = reference_simulation(inputs[sim], NEURON)
        np.testing.assert_array_equal(spikes[sim], expected_spikes)
        np.testing.assert_allclose(voltage[sim], expected_voltage, atol=1e-9)


def test_threshold_and_reset_rule():
    inputs = random_inputs(8, 6000, seed=1)
    spikes, voltage = iaf.simulate_integrate_and_fire(inputs, NEURON, clip_spikes=False)
    times = np.nonzero(spikes)
    assert len(times[0]) > 5
    # A spike exactly where V crosses the threshold, and V(t+1) = v_reset after it.
    np.testing.assert_array_equal(spikes, voltage > NEURON.v_threshold)
    after = times[1] + 1 < spikes.shape[1]
    np.testing.assert_allclose(voltage[times[0][after], times[1][after] + 1], NEURON.v_reset, atol=1e-9)
    clipped_spikes, clipped = iaf.simulate_integrate_and_fire(inputs, NEURON)
    np.testing.assert_array_equal(clipped_spikes, spikes)
    np.testing.assert_allclose(clipped[spikes], NEURON.v_threshold + 0.1)
    assert clipped.max() == pytest.approx(NEURON.v_threshold + 0.1)
    np.testing.assert_array_equal(clipped[~spikes], voltage[~spikes])


def test_causality():
    inputs = random_inputs(3, 2000, seed=2)
    spikes, voltage = iaf.simulate_integrate_and_fire(inputs, NEURON)
    for cut in (300, 1000, 1700):
        changed = inputs.copy()
        changed[:, :, cut + 1:] = np.random.default_rng(cut).random(changed[:, :, cut + 1:].shape) < 0.05
        changed_spikes, changed_voltage = iaf.simulate_integrate_and_fire(changed, NEURON)
        np.testing.assert_array_equal(changed_spikes[:, :cut + 1], spikes[:, :cut + 1])
        np.testing.assert_array_equal(changed_voltage[:, :cut + 1], voltage[:, :cut + 1])
        assert not np.array_equal(changed_voltage[:, cut + 1:], voltage[:, cut + 1:])


def test_dataset_is_seeded_chunk_independent_and_reloadable(tmp_path):
    kwargs = dict(neuron=NEURON, input_statistics=INPUT_STATISTICS, duration_ms=1500, seed=5, stream=0,
                  progress=False)
    in_memory = iaf.generate_dataset(7, chunk_size=3, **kwargs)
    on_disk = iaf.generate_dataset(7, chunk_size=5, folder_root=tmp_path, **kwargs)
    assert isinstance(on_disk.inputs_packed, np.memmap)
    for key in ("inputs_packed", "spikes", "soma"):
        np.testing.assert_array_equal(getattr(in_memory, key), getattr(on_disk, key))
    folders = list(tmp_path.iterdir())
    assert len(folders) == 1 and (folders[0] / "generation.json").is_file()
    assert json.loads((folders[0] / "generation.json").read_text())["num_simulations"] == 7
    reused = iaf.generate_dataset(7, chunk_size=2, folder_root=tmp_path, **kwargs)
    np.testing.assert_array_equal(reused.soma, on_disk.soma)
    # Unpacking gives back the simulated inputs, and the labels are the simulator's.
    inputs = in_memory.inputs([4, 1])
    assert inputs.shape == (2, 1500, 100) and inputs.dtype == np.float32
    spikes, soma = iaf.simulate_integrate_and_fire(inputs.transpose(0, 2, 1) > 0, NEURON)
    np.testing.assert_array_equal(spikes, in_memory.spikes[[4, 1]])
    np.testing.assert_allclose(soma, in_memory.soma[[4, 1]], atol=1e-4)
    window = in_memory.inputs([2], start=100, length=50)
    np.testing.assert_array_equal(window[0], in_memory.inputs([2])[0, 100:150])


def test_model_is_causal_with_two_heads():
    import keras
    keras.utils.set_random_seed(0)
    model = experiment.build_network(100, experiment.NetworkConfig())
    assert model.get_layer("layer_1").kernel.shape == (80, 100, 1)
    assert model.output_names == ["spikes", "soma"]
    inputs = (np.random.default_rng(0).random((2, 300, 100)) < 0.05).astype(np.float32)
    spikes, soma = model.predict_on_batch(inputs)
    assert spikes.shape == soma.shape == (2, 300, 1)
    assert np.all((spikes > 0) & (spikes < 1))
    changed = inputs.copy()
    changed[:, 201:] = 1.0
    changed_spikes, changed_soma = model.predict_on_batch(changed)
    np.testing.assert_allclose(changed_spikes[:, :201], spikes[:, :201], atol=1e-6)
    np.testing.assert_allclose(changed_soma[:, :201], soma[:, :201], atol=1e-5)
    assert not np.allclose(changed_soma[:, 201:], soma[:, 201:])


def load_script():
    spec = importlib.util.spec_from_file_location("integrate_and_fire_figure_replication",
                                                  REPO_ROOT / "integrate_and_fire_figure_replication.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# About a minute on one core: 3-s simulations, a 200-ms window and a higher learning rate (~1,400 steps;
# AUC 0.997-0.999 over seeds 1234, 1 and 2).
FAST_RUN = ["--num-train-simulations", "240", "--num-test-simulations", "40", "--num-training-subsets", "100",
            "--duration-sec", "3", "--input-window-size-ms", "200", "--learning-rate", "0.02",
            "--num-scatter-points", "5000", "--no-cache-data", "--no-progress"]
FIGURE_FILES = {f"{name}.{extension}" for name in figures.FIGURES for extension in ("png", "pdf")}
SAVED_FILES = {experiment.NETWORK_FILE, experiment.PREDICTIONS_FILE, experiment.RESULTS_FILE, experiment.RUN_FILE}


@pytest.fixture(scope="module")
def fast_run(tmp_path_factory):
    """The FAST_RUN trained once for every test of the saved run (one xdist group keeps them on one worker)."""
    out_dir = tmp_path_factory.mktemp("fast_run")
    return out_dir, load_script().main(FAST_RUN + ["--out-dir", str(out_dir)])


def check_learned_filter(results):
    exc = np.asarray(results["learned_filter"]["exc_mean_by_lag"])
    inh = np.asarray(results["learned_filter"]["inh_mean_by_lag"])
    # Excitation: positive and decaying from the current ms back, at roughly the membrane time constant.
    assert np.all(exc[:30] > 0)
    assert exc[0] > exc[20] > exc[40] and exc[40] < 0.3 * exc[0]
    assert 8.0 < results["metrics"]["learned_exc_filter_decay_tau_ms"] < 32.0
    # Inhibition: negative near the current ms.
    assert np.all(inh[:10] < 0)


@pytest.mark.xdist_group("integrate_and_fire_fast_run")
def test_script_end_to_end_trains_saves_and_draws_figure_1(fast_run):
    import keras

    out_dir, results = fast_run
    metrics = results["metrics"]
    assert metrics["spike_AUC"] >= 0.99
    assert 0 < metrics["TP_at_desired_FP"] <= 1
    assert metrics["soma_explained_variance_percent"] > 50
    check_learned_filter(results)
    assert {path.name for path in out_dir.iterdir()} == SAVED_FILES | FIGURE_FILES
    assert all((out_dir / name).stat().st_size > 10_000 for name in FIGURE_FILES)
    saved = json.loads((out_dir / experiment.RESULTS_FILE).read_text())
    assert saved["metrics"]["spike_AUC"] == pytest.approx(metrics["spike_AUC"])
    assert set(saved["figures"]) == set(figures.FIGURES)
    run = json.loads((out_dir / experiment.RUN_FILE).read_text())
    assert run["params"]["num_train_simulations"] == 240 and run["params"]["duration_sec"] == 3
    assert run["params"]["seed"] == 1234 and run["params"]["learning_rate"] == 0.02
    assert run["script"] == "integrate_and_fire_figure_replication.py" and "--duration-sec 3" in run["command_line"]
    assert "environment" in run and set(run["outputs"]) == SAVED_FILES - {experiment.RUN_FILE} | FIGURE_FILES
    # The saved network is the trained one: its first layer is the learned filter of the figures.
    with np.load(out_dir / experiment.PREDICTIONS_FILE) as stored:
        saved_filter, y_spikes = stored["filter_weights"], stored["y_spikes"]
    assert y_spikes.shape == (40, 3000)
    network = keras.saving.load_model(out_dir / experiment.NETWORK_FILE)
    np.testing.assert_array_equal(experiment.first_layer_filter(network, 80), saved_filter)


@pytest.mark.xdist_group("integrate_and_fire_fast_run")
def test_redraw_rewrites_every_figure_from_the_saved_run_alone(fast_run, tmp_path, monkeypatch):
    out_dir, _ = fast_run
    copy = tmp_path / "copy"
    shutil.copytree(out_dir, copy)
    for name in FIGURE_FILES:
        (copy / name).unlink()

    def forbidden(*args, **kwargs):
        raise AssertionError("--redraw must neither generate data nor train")

    monkeypatch.setattr(iaf, "generate_dataset", forbidden)
    monkeypatch.setattr(experiment, "fit_network", forbidden)
    written = load_script().main(["--redraw", "--out-dir", str(copy)])
    assert {path.name for path in written} == FIGURE_FILES == {path.name for path in copy.iterdir()} - SAVED_FILES
    for name in SAVED_FILES:  # the run's own files are untouched
        assert (copy / name).read_bytes() == (out_dir / name).read_bytes(), name
    for name in FIGURE_FILES - {n for n in FIGURE_FILES if n.endswith(".pdf")}:  # PDFs carry a creation date
        assert (copy / name).read_bytes() == (out_dir / name).read_bytes(), f"{name} differs from the run's"


def test_redraw_without_a_saved_run_is_a_user_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        load_script().main(["--redraw", "--out-dir", str(tmp_path)])
    assert stop.value.code == 2
    assert "run.json" in capsys.readouterr().err


def test_the_script_selects_agg_unless_asked_to_show(tmp_path, monkeypatch):
    import matplotlib

    backends = []
    monkeypatch.setattr(matplotlib, "use", lambda backend, **kwargs: backends.append(backend))
    for show in ([], ["--show"]):
        with pytest.raises(SystemExit):  # nothing saved in tmp_path: the run stops there, after the backend
            load_script().main(["--redraw", "--out-dir", str(tmp_path), *show])
    assert backends == ["Agg"]


@pytest.mark.parametrize("override, name", [
    (["--num-train-simulations", "-5"], "num_train_simulations"),
    (["--input-window-size-ms", "7000"], "input_window_size_ms"),
    (["--prediction-overlap-ms", "20"], "prediction_overlap_ms"),
    (["--duration-sec", "2.0005"], "duration_sec"),
    (["--num-exc-inh-spike-diff-per-100ms-range", "5", "-5"], "num_exc_inh_spike_diff_per_100ms_range"),
])
def test_bad_parameters_fail_early_as_one_line_naming_the_option(tmp_path, capsys, override, name):
    with pytest.raises(SystemExit) as stop:
        load_script().main(override + ["--out-dir", str(tmp_path), "--no-cache-data", "--no-progress"])
    assert stop.value.code == 2
    flag = "--" + name.replace("_", "-")
    assert capsys.readouterr().err.startswith(f"integrate_and_fire_figure_replication.py: error: {flag}: ")
    assert not list(tmp_path.iterdir())


@pytest.fixture
def captured_params(monkeypatch):
    captured = {}

    def fake_run(params, *args, **kwargs):
        captured.update(params)
        return {"metrics": {}, "timings_s": {}}

    monkeypatch.setattr(experiment, "run_experiment", fake_run)
    return captured


def test_paper_scale_option_sets_the_paper_sizes_and_keeps_explicit_overrides(captured_params):
    load_script().main(["--paper-scale", "--num-test-simulations", "10"])
    assert captured_params["num_train_simulations"] == 12000 and captured_params["learning_rate"] == 3e-4
    assert captured_params["num_training_subsets"] == 100 and captured_params["num_test_simulations"] == 10


def test_paper_scale_edited_in_the_block_takes_effect(captured_params):
    script = load_script()
    script.PARAMS.update(paper_scale=True, num_training_subsets=7)
    script.main([])
    assert captured_params["num_train_simulations"] == 12000 and captured_params["num_training_subsets"] == 7
    script.main(["--no-paper-scale"])
    assert captured_params["num_train_simulations"] == 400 and captured_params["learning_rate"] == 1e-2


@pytest.mark.slow
def test_small_default_reaches_the_paper_accuracy(tmp_path):
    results = load_script().main(["--out-dir", str(tmp_path), "--no-progress", "--data-dir", str(tmp_path / "data")])
    assert results["metrics"]["spike_AUC"] >= 0.99
    check_learned_filter(results)
