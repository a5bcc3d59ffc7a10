"""DVT PCA, learning schedule, window sampler, and short training runs (checkpoint, reload, resume, backends)."""
import importlib.util
import json
import os
import pickle
import re
import subprocess
import sys
import threading

import numpy as np
import pytest

from neuron_as_dnn import cache, dataset, models, paths, synthetic_data

keras = pytest.importorskip("keras")
training = pytest.importorskip("neuron_as_dnn.training")
import fit_CNN  # noqa: E402

NUM_SIMS, DURATION_MS = 4, 2000


def write_split(folder, seeds, with_dvt=True):
    for seed in seeds:
        params, simulations = synthetic_data.make_synthetic_experiment(NUM_SIMS, DURATION_MS, with_dvt=with_dvt, seed=seed)
        dataset.write_experiment_file(folder / dataset.dataset_file_name(params), params, simulations)
    return folder


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    write_split(root / "L5PC_NMDA_train", [1, 2])
    write_split(root / "L5PC_NMDA_valid", [3])
    return root


def tiny_run_arguments(root, models_dir, *extra):
    return ["--train-data-dir", str(root / "L5PC_NMDA_train"), "--valid-data-dir", str(root / "L5PC_NMDA_valid"),
            "--models-dir", str(models_dir), "--num-simulations-per-file", str(NUM_SIMS), "--sim-duration-sec", "2",
            "--architecture-preset", "custom", "--filter-sizes-per-layer", "9", "5", "--num-filters-per-layer", "8",
            "--input-window-size", "64", "--num-dvt-components", "3",
            "--schedule-stage-epochs", "2", "1", "--schedule-learning-rates", "0.01", "0.003",
            "--schedule-spike-loss-weights", "1", "2", "--schedule-somatic-loss-weights", "0.02", "0.01",
            "--schedule-dendritic-loss-weights", "0.001", "0.001", "--schedule-batch-sizes", "4",
            "--num-steps-multiplier", "2", "--checkpoint-val-spike-loss-threshold", "10", "--seed", "3",
            "--no-progress-bar", "--log-level", "WARNING", *extra]


@pytest.fixture(scope="module")
def first_run(data_root, tmp_path_factory):
    """Two of the three schedule epochs of a tiny network, stopped so that it can be resumed."""
    models_dir = tmp_path_factory.mktemp("models")
    result = fit_CNN.main(tiny_run_arguments(data_root, models_dir, "--stop-after-schedule-epochs", "2"))
    return result, models_dir


# ---------------------------------------------------------------------------------------------------------
# PCA, schedule, configuration
# ---------------------------------------------------------------------------------------------------------

def test_dvt_pca_matches_sklearn_whitened_pca():
    from sklearn.decomposition import PCA

    rng = np.random.default_rng(0)
    mixing = rng.normal(size=(12, 40))
    sims = [(rng.normal(size=(300, 12)) @ mixing - 70.0 + rng.normal(0, 0.1, (300, 40))).T for _ in range(3)]
    sims[0][5, :10] = 30.0  # above the +2 mV clip
    pca = training.DVTPCA.fit(sims, 5, input_clip_mv=2.0, output_clip=100.0)
    samples = np.minimum(np.concatenate([s.T for s in sims]), 2.0)
    reference = PCA(n_components=5, whiten=True, svd_solver="full").fit(samples)
    np.testing.assert_allclose(pca.explained_variance, reference.explained_variance_, rtol=1e-6)
    np.testing.assert_allclose(pca.mean, reference.mean_, rtol=1e-9)
    ours, theirs = pca.transform(sims[1].T), reference.transform(np.minimum(sims[1].T, 2.0))
    signs = np.sign(np.sum(ours * theirs, axis=0))  # components are defined up to sign
    np.testing.assert_allclose(ours, theirs * signs, atol=1e-3)
    clipped = training.DVTPCA.from_dict(dict(pca.to_dict(), output_clip=3.0))
    assert np.abs(clipped.transform(sims[1].T)).max() <= 3.0
    assert clipped.fingerprint != pca.fingerprint
    assert training.DVTPCA.from_dict(pca.to_dict()).fingerprint == pca.fingerprint


def test_default_schedule_is_the_original():
    schedule = training.expand_learning_schedule(fit_CNN.PARAMS)
    assert schedule["num_epochs"] == 250 and schedule["num_steps_multiplier"] == 10
    assert schedule["batch_size_per_epoch"] == [8] * 250
    for epoch, rate, weights in ((0, 1e-4, [1.0, 0.02, 5e-6]), (39, 1e-4, [1.0, 0.02, 5e-6]),
                                 (40, 3e-5, [2.0, 0.01, 3e-6]), (80, 1e-5, [4.0, 0.01, 1e-6]),
                                 (120, 3e-6, [8.0, 0.01, 1e-8]), (160, 1e-6, [9.0, 0.003, 1e-9]),
                                 (249, 1e-6, [9.0, 0.003, 1e-9])):
        assert schedule["learning_rate_per_epoch"][epoch] == rate
        assert schedule["loss_weights_per_epoch"][epoch] == weights
    assert set(schedule) == {"train_file_load", "valid_file_load", "validation_fraction", "num_epochs",
                             "num_steps_multiplier", "batch_size_per_epoch", "loss_weights_per_epoch",
                             "learning_rate_per_epoch", "num_train_steps_per_epoch"}
    # the original's batches per file: int(0.2 * 128 * 6000 / (8 * 400)) = 48, so 6 files -> 288 steps
    assert training.batches_per_file(0.2, 128, 6000, 8, 400) == 48


def test_presets_and_explicit_options():
    defaults = fit_CNN.PARAMS
    best = training.architecture_from_config(dict(defaults, architecture_preset="NMDA_TCN_7x128x153"), defaults)
    assert models.architecture_prefix("NMDA", best) == "NMDA_TCN__DxWxT_7x128x153"
    assert best["filter_sizes_per_layer"] == [45] + [19] * 6
    fcn = training.architecture_from_config(dict(defaults, architecture_preset="FCN_1x128x43"), defaults)
    assert models.architecture_prefix("AMPA", fcn) == "AMPA_FCN__DxWxT_1x128x43"
    original = training.architecture_from_config(defaults, defaults)
    assert models.architecture_prefix("NMDA", original) == "NMDA_TCN__DxWxT_3x64x100"
    assert original["initializer_per_layer"] == [0.002] * 3 and original["l2_regularization_per_layer"] == [1e-8] * 3
    wider = training.architecture_from_config(
        dict(defaults, architecture_preset="NMDA_TCN_7x128x153", num_filters_per_layer=[256]), defaults)
    assert wider["num_filters_per_layer"] == [256] * 7 and wider["filter_sizes_per_layer"][0] == 45
    resolved = training.resolve_config(dict(defaults, synapse_type="AMPA"))
    assert resolved["num_dvt_components"] == 30
    assert resolved["train_data_dir"] == paths.DATA_DIR / "L5PC_AMPA_train"
    assert resolved["models_dir"] == paths.MODELS_DIR / "AMPA"
    assert training.resolve_config(defaults)["num_dvt_components"] == 20


def test_missing_data_tells_the_user_what_to_do(tmp_path):
    with pytest.raises(FileNotFoundError) as error:
        fit_CNN.main(["--train-data-dir", str(tmp_path / "nowhere"), "--models-dir", str(tmp_path / "m")])
    message = str(error.value)
    assert "simulate_L5PC_and_create_dataset.py" in message and "Kaggle" in message and "nowhere" in message
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match=r"no dataset files matching \*_128_simulationRuns"):
        fit_CNN.main(["--train-data-dir", str(tmp_path / "empty"), "--models-dir", str(tmp_path / "m")])


def test_missing_dendritic_voltages_are_explained(tmp_path):
    root = tmp_path
    write_split(root / "L5PC_NMDA_train", [5], with_dvt=False)
    write_split(root / "L5PC_NMDA_valid", [6], with_dvt=False)
    with pytest.raises(dataset.DatasetFormatError, match="--num-dvt-components 0"):
        fit_CNN.main(tiny_run_arguments(root, root / "models", "--stop-after-schedule-epochs", "1"))


# ---------------------------------------------------------------------------------------------------------
# Window sampler
# ---------------------------------------------------------------------------------------------------------

def test_sampler_windows_are_slices_of_the_canonical_tensors(data_root, tmp_path):
    files = dataset.find_dataset_files(data_root / "L5PC_NMDA_train", None, None)
    pca = training.DVTPCA.fit((s for s in np.random.default_rng(0).normal(-70, 5, (4, 639, 50))), 3)
    sampler = training.WindowSampler(files, batch_size=5, window_size=100, batches_per_file=3, files_per_epoch=2,
                                     cache_dir=tmp_path, dvt_pca=pca, seed=11)
    assert len(sampler) == 6
    tensors = {f: dataset.canonical_tensors(dataset.read_experiment_file(f)) for f in files}
    for index in (0, 4):
        X, (y_spike, y_soma, y_dvt) = sampler[index]
        assert X.shape == (5, 100, 1278) and X.dtype == np.float32
        assert y_spike.shape == (5, 100, 1) and y_soma.shape == (5, 100, 1) and y_dvt.shape == (5, 100, 3)
        path, sims, ends = sampler.window_positions(index)
        assert path == sampler.epoch_files[index // 3] and len(set(ends)) == 5
        assert ends.min() >= 500 and ends.max() < DURATION_MS
        reference = tensors[path]
        for row, (sim, end) in enumerate(zip(sims, ends)):
            np.testing.assert_array_equal(X[row], reference.X[sim, end - 100:end])
            np.testing.assert_array_equal(y_spike[row, :, 0], reference.y_spike[sim, end - 100:end])
            np.testing.assert_allclose(y_soma[row, :, 0], reference.y_soma[sim, end - 100:end], atol=1e-6)
            expected_dvt = pca.transform(reference.y_DVT[sim, end - 100:end]).astype(np.float16)
            np.testing.assert_allclose(y_dvt[row], expected_dvt, atol=1e-3)
    again = sampler[4]
    np.testing.assert_array_equal(again[0], sampler[4][0])  # reproducible by (seed, epoch, index)


def test_sampler_rotates_files_with_bounded_memory_and_threads(data_root, tmp_path):
    files = dataset.find_dataset_files(data_root / "L5PC_NMDA_train", None, None) + \
        dataset.find_dataset_files(data_root / "L5PC_NMDA_valid", None, None)
    sampler = training.WindowSampler(files, batch_size=4, window_size=64, batches_per_file=2, files_per_epoch=3,
                                     cache_dir=tmp_path, max_files_in_memory=1, seed=0, workers=2)
    results = {}

    def draw(index):
        results[index] = sampler[index]

    threads = [threading.Thread(target=draw, args=(i,)) for i in range(len(sampler))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 6 and len(sampler._loaded) == 1
    assert sorted(sampler.pop_histogram().values()) == [2, 2, 2]
    assert len(set(sampler.epoch_files)) == 3
    rotating = training.WindowSampler(files, 4, 64, 2, files_per_epoch=1, cache_dir=tmp_path, seed=0)
    seen = set()
    for _ in range(12):
        seen.add(rotating.epoch_files[0])
        X, (y_spike, y_soma) = rotating[0]  # no PCA: spikes and soma only
        assert rotating.epoch_files[0] in rotating._loaded and len(rotating._loaded) <= 2
        rotating.on_epoch_end()
    assert seen == set(files) and rotating.epoch == 12
    fixed = training.WindowSampler(files, 4, 64, 2, 1, cache_dir=tmp_path, fixed=True, seed=0)
    before = fixed[1][0]
    fixed.on_epoch_end()
    np.testing.assert_array_equal(before, fixed[1][0])  # fixed validation batches
    with pytest.raises(IndexError):
        fixed[2]


# ---------------------------------------------------------------------------------------------------------
# Training runs
# ---------------------------------------------------------------------------------------------------------

@pytest.mark.xdist_group("fit_cnn_first_run")  # one worker trains the shared run once
def test_training_lowers_the_loss_and_writes_named_checkpoints(first_run):
    result, models_dir = first_run
    history = result.history
    assert len(history["loss"]) == 4 and history["learning_schedule"] == [0, 0, 1, 1]
    assert history["spikes_loss"][-1] < history["spikes_loss"][0]
    assert history["loss"][-1] < history["loss"][0]
    assert history["learning_rate"] == [0.01] * 4 and history["num_train_samples"] == [4 * 12] * 4
    assert len(history["train_files_histogram"]) == 2
    assert len(result.checkpoints) == 2
    pattern = re.compile(r"NMDA_TCN__DxWxT_2x8x13__\d{4}-\d\d-\d\d__\d\d_\d\d__samples_(\d+)__LogLoss_train_\d+"
                         r"_valid_\d+__ID_\d+")
    samples = [int(pattern.fullmatch(base.name).group(1)) for base in result.checkpoints]
    assert samples == [96, 192]
    for base in result.checkpoints:
        for suffix in (".keras", ".h5", ".pickle"):
            assert base.with_name(base.name + suffix).is_file()
    assert not [p for p in models_dir.rglob(".*") if p.is_file()]  # no temporary files
    config = json.loads(result.run_state.with_name(result.run_state.name + ".config.json").read_text())
    assert config["config"]["seed"] == 3 and config["next_schedule_epoch"] == 2
    assert "keras" in config["environment"] and len(config["checkpoints"]) == 2


@pytest.mark.xdist_group("fit_cnn_first_run")  # one worker trains the shared run once
def test_checkpoint_reloads_and_predicts_identically(first_run):
    result, _ = first_run
    base = result.checkpoints[-1]
    with open(base.with_name(base.name + ".pickle"), "rb") as handle:
        companion = pickle.load(handle)
    assert set(companion) == {"data_dict", "architecture_dict", "learning_schedule_dict", "training_history_dict",
                              "dvt_pca"}
    assert set(companion["architecture_dict"]) == set(models.ARCHITECTURE_KEYS)
    assert set(companion["data_dict"]) == {"train_files", "valid_files", "test_files"}
    assert companion["dvt_pca"]["components"].shape == (3, 639)
    assert companion["training_history_dict"]["loss"] == result.history["loss"]
    x = (np.random.default_rng(0).random((2, 300, 1278)) < 0.02).astype("float32")
    expected = result.model.predict(x, verbose=0)
    for suffix in (".keras", ".h5"):
        reloaded = models.load_model_file(base.with_name(base.name + suffix))
        for a, b in zip(expected, reloaded.predict(x, verbose=0)):
            np.testing.assert_allclose(a, b, atol=1e-6)


@pytest.mark.xdist_group("fit_cnn_first_run")  # one worker trains the shared run once
def test_resume_continues_the_schedule(first_run, data_root, tmp_path):
    result, _ = first_run
    state = str(result.run_state) + ".pickle"
    resumed = fit_CNN.main(tiny_run_arguments(data_root, tmp_path, "--resume-from", state))
    history = resumed.history
    assert history["learning_schedule"] == [0, 0, 1, 1, 2, 2]
    assert history["loss"][:4] == result.history["loss"]
    assert history["learning_rate"][-2:] == [0.003, 0.003] and history["loss_weights"][-1] == [2.0, 0.01, 0.001]
    assert len(resumed.checkpoints) == 1
    assert "samples_288__" in resumed.checkpoints[0].name
    with open(resumed.checkpoints[0].with_name(resumed.checkpoints[0].name + ".pickle"), "rb") as handle:
        companion = pickle.load(handle)
    with open(state, "rb") as handle:
        assert companion["dvt_pca"]["mean"].tolist() == pickle.load(handle)["dvt_pca"]["mean"].tolist()


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_other_backends_train(backend, data_root, tmp_path):
    if importlib.util.find_spec(backend) is None:
        pytest.skip(f"{backend} is not installed (pip install -r requirements-backends.txt)")
    arguments = tiny_run_arguments(data_root, tmp_path, "--stop-after-schedule-epochs", "1",
                                   "--num-steps-multiplier", "1")
    environment = dict(os.environ, KERAS_BACKEND=backend)
    completed = subprocess.run([sys.executable, str(paths.REPO_ROOT / "fit_CNN.py"), *arguments], env=environment,
                               capture_output=True, text=True, timeout=300, cwd=paths.REPO_ROOT)
    assert completed.returncode == 0, completed.stderr[-3000:]
    checkpoints = sorted(tmp_path.glob("NMDA_TCN__DxWxT_2x8x13__*.keras"))
    assert len(checkpoints) == 1
    reloaded = models.load_model_file(checkpoints[0].with_suffix(".h5"))
    assert [layer.name for layer in reloaded.layers][-3:] == ["spikes", "somatic", "dendritic"]


def test_optimizer_state_can_be_kept_across_schedule_epochs_and_resumes(data_root, tmp_path):
    arguments = tiny_run_arguments(data_root, tmp_path, "--no-reset-optimizer-each-schedule-epoch",
                                   "--num-steps-multiplier", "1", "--schedule-batch-sizes", "4", "2")
    first = fit_CNN.main(arguments + ["--stop-after-schedule-epochs", "2"])
    assert int(first.model.optimizer.iterations) == 24  # 2 schedule epochs x 12 steps, one optimiser
    resumed = fit_CNN.main(arguments + ["--resume-from", str(first.run_state) + ".keras"])
    assert int(resumed.model.optimizer.iterations) == 48  # the moments came back with the .keras run state
    assert resumed.history["batch_size"] == [4, 4, 2] and resumed.history["num_train_steps"] == [12, 12, 24]
