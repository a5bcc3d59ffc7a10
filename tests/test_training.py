"""fit_CNN's options (presets, errors), DVT PCA, learning schedule, window sampler, and short training runs
(checkpoints, reload, resume, backends)."""
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import threading

import numpy as np
import pytest

from neuron_as_dnn import errors, paths
from neuron_as_dnn.data import dataset, synthetic_data
from neuron_as_dnn.learning import models
from neuron_as_dnn.learning.dendritic_targets import DVTPCA
from neuron_as_dnn.learning.model_folder import ModelFolder, read_companion

keras = pytest.importorskip("keras")
sampler = pytest.importorskip("neuron_as_dnn.learning.sampler")
from neuron_as_dnn.learning import training  # noqa: E402

import fit_CNN  # noqa: E402

NUM_SIMS, DURATION_MS = 4, 2000


def write_split(folder, seeds, **options):
    synthetic_data.write_synthetic_files(folder, seeds, NUM_SIMS, DURATION_MS, **options)
    return folder


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    write_split(root / "L5PC_NMDA_train", [1, 2])
    write_split(root / "L5PC_NMDA_valid", [3])
    return root


def data_arguments(root):
    return ["--train-data-dir", str(root / "L5PC_NMDA_train"), "--valid-data-dir", str(root / "L5PC_NMDA_valid"),
            "--num-simulations-per-file", str(NUM_SIMS), "--duration-sec", "2", "--no-progress",
            "--log-level", "WARNING"]


def tiny_run_arguments(root, out_dir, *extra):
    return [*data_arguments(root), "--out-dir", str(out_dir),
            "--architecture-preset", "custom", "--filter-sizes-per-layer", "9", "5", "--num-filters-per-layer", "8",
            "--input-window-size", "64", "--num-dvt-components", "3",
            "--schedule-stage-epochs", "2", "1", "--schedule-learning-rates", "0.01", "0.003",
            "--schedule-spike-loss-weights", "1", "2", "--schedule-somatic-loss-weights", "0.02", "0.01",
            "--schedule-dendritic-loss-weights", "0.001", "0.001", "--schedule-batch-sizes", "4",
            "--num-steps-multiplier", "2", "--checkpoint-val-spike-loss-threshold", "10", "--seed", "3", *extra]


@pytest.fixture(scope="module")
def first_run(data_root, tmp_path_factory):
    """Two of the three schedule epochs of a tiny network, stopped so that it can be resumed."""
    out_dir = tmp_path_factory.mktemp("models")
    return fit_CNN.main(tiny_run_arguments(data_root, out_dir, "--stop-after-schedule-epochs", "2"))


def error_line(capsys, argv):
    """fit_CNN.main's one-line error (exit status 2) for ``argv``."""
    with pytest.raises(SystemExit) as stop:
        fit_CNN.main(argv)
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("fit_CNN.py: error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    return err


# ---------------------------------------------------------------------------------------------------------
# Options: presets, the block, mistakes
# ---------------------------------------------------------------------------------------------------------

def test_presets_fill_the_architecture_and_dvt_components():
    params = fit_CNN.SCRIPT.parse([])
    assert params["filter_sizes_per_layer"] == [54, 24, 24] and params["num_filters_per_layer"] == [64]
    assert models.architecture_prefix("NMDA", training.architecture_from_params(params)) == "NMDA_TCN__DxWxT_3x64x100"
    assert params["num_dvt_components"] == 20
    best = training.architecture_from_params(fit_CNN.SCRIPT.parse(["--architecture-preset", "NMDA_TCN_7x128x153"]))
    assert models.architecture_prefix("NMDA", best) == "NMDA_TCN__DxWxT_7x128x153"
    assert best["initializer_per_layer"] == [0.002] * 7 and best["l2_regularization_per_layer"] == [1e-8] * 7
    ampa = fit_CNN.SCRIPT.parse(["--synapse-type", "AMPA", "--architecture-preset", "FCN_1x128x43"])
    assert models.architecture_prefix("AMPA", training.architecture_from_params(ampa)) == "AMPA_FCN__DxWxT_1x128x43"
    assert ampa["num_dvt_components"] == 30
    assert fit_CNN.SCRIPT.parse(["--synapse-type", "AMPA", "--num-dvt-components", "0"])["num_dvt_components"] == 0
    folders = training.resolve_folders(ampa)
    assert folders["train_data_dir"] == str(paths.DATA_DIR / "L5PC_AMPA_train")
    assert folders["out_dir"] == str(paths.MODELS_DIR / "AMPA")
    assert fit_CNN.SCRIPT.parse(["--duration-sec", "any"])["duration_sec"] is None


def test_explicit_option_wins_over_the_preset_even_when_it_equals_the_original_default():
    params = fit_CNN.SCRIPT.parse(["--architecture-preset", "NMDA_TCN_7x128x153", "--filter-sizes-per-layer",
                                   "54", "24", "24"])
    architecture = training.architecture_from_params(params)
    assert architecture["filter_sizes_per_layer"] == [54, 24, 24] and architecture["num_filters_per_layer"] == [128] * 3
    wider = fit_CNN.SCRIPT.parse(["--architecture-preset", "NMDA_TCN_7x128x153", "--num-filters-per-layer", "256"])
    assert training.architecture_from_params(wider)["num_filters_per_layer"] == [256] * 7


def test_entry_edited_in_the_block_wins_over_the_preset(monkeypatch):
    monkeypatch.setitem(fit_CNN.PARAMS, "filter_sizes_per_layer", [30, 20])
    monkeypatch.setitem(fit_CNN.PARAMS, "num_dvt_components", 7)
    params = fit_CNN.SCRIPT.parse(["--architecture-preset", "NMDA_TCN_7x128x153", "--synapse-type", "AMPA"])
    assert params["filter_sizes_per_layer"] == [30, 20] and params["num_filters_per_layer"] == [128]
    assert params["num_dvt_components"] == 7


def test_custom_architecture_needs_its_entries():
    params = fit_CNN.SCRIPT.parse(["--architecture-preset", "custom", "--num-filters-per-layer", "8"])
    with pytest.raises(errors.ConfigError, match="--filter-sizes-per-layer: is needed with --architecture-preset"):
        training.check_params(params)


@pytest.mark.parametrize("argv, message", [
    (["--schedule-learning-rates", "0.1", "0.2"], "--schedule-learning-rates: has 2 values for 5 schedule stages"),
    (["--save-formats", "onnx"], "--save-formats: choose from"),
    (["--num-filters-per-layer", "8", "8"], "2 values for 3 layers"),
    (["--train-files-per-epoch", "0"], "--train-files-per-epoch: must be a positive integer"),
    (["--activation-function", "wobble"], "unknown activation"),
])
def test_option_mistakes_are_one_line(argv, message, capsys):
    assert message in error_line(capsys, argv)


def test_missing_data_tells_the_user_what_to_do(tmp_path, capsys):
    err = error_line(capsys, ["--train-data-dir", str(tmp_path / "nowhere"), "--out-dir", str(tmp_path / "m")])
    assert "simulate_L5PC_and_create_dataset.py" in err and "Kaggle" in err and "nowhere" in err
    (tmp_path / "empty").mkdir()
    err = error_line(capsys, ["--train-data-dir", str(tmp_path / "empty"), "--out-dir", str(tmp_path / "m")])
    assert re.search(r"no dataset files matching \*_128_simulationRuns", err)
    with pytest.raises(errors.MissingFileError):  # the same mistake, for a caller of the library
        training.plan_run(fit_CNN.SCRIPT.parse(["--train-data-dir", str(tmp_path / "empty")]))


def test_missing_dendritic_voltages_are_explained(tmp_path, capsys):
    write_split(tmp_path / "L5PC_NMDA_train", [5], with_dvt=False)
    write_split(tmp_path / "L5PC_NMDA_valid", [6], with_dvt=False)
    err = error_line(capsys, tiny_run_arguments(tmp_path, tmp_path / "models", "--stop-after-schedule-epochs", "1"))
    assert "--num-dvt-components 0" in err


@pytest.mark.parametrize("extra, message", [
    (["--num-filters-per-layer", "-4"], "--num-filters-per-layer: must be positive integers, got [-4]"),
    (["--filter-sizes-per-layer", "0"], "--filter-sizes-per-layer: must be positive integers, got [0]"),
    (["--strides-per-layer", "0"], "--strides-per-layer: must be positive integers, got [0]"),
    (["--l2-regularization", "-1"], "--l2-regularization: must be a number >= 0"),
    (["--train-file-load", "-0.5"], "--train-file-load: must be a positive number, got -0.5"),
    (["--validation-fraction", "2"], "--validation-fraction: is a fraction in (0, 1], got 2.0"),
    (["--schedule-learning-rates", "nan"], "--schedule-learning-rates: values must be finite and positive"),
    (["--input-window-size", "5000"], "--input-window-size: windows of 5000 ms"),
    (["--input-window-size", "5000", "--duration-sec", "any"], "--input-window-size: windows of 5000 ms"),
    (["--ignore-first-ms", "1999"], "--ignore-first-ms: windows of 64 ms"),
    (["--train-files-per-epoch", "4"], "--train-files-per-epoch: 4 files per epoch, but there are only 2"),
])
def test_mistakes_of_a_training_run_are_refused_before_its_model_folder(extra, message, data_root, tmp_path,
                                                                          capsys):
    err = error_line(capsys, tiny_run_arguments(data_root, tmp_path / "models", *extra))
    assert message in err
    assert not (tmp_path / "models").exists()


def test_more_files_per_epoch_than_there_are_is_reduced_with_a_warning_when_not_asked_for(data_root, tmp_path,
                                                                                           caplog):
    training.plan_run(fit_CNN.SCRIPT.parse(tiny_run_arguments(data_root, tmp_path)))
    assert "--train-files-per-epoch 6, but there are only 2 training files" in caplog.text
    assert "2/6 of the steps" in caplog.text


@pytest.mark.xdist_group("fit_cnn_first_run")  # one worker trains the shared run once
@pytest.mark.parametrize("damage, named", [
    (lambda folder: (folder / "state.keras").write_bytes((folder / "state.keras").read_bytes()[:1000]),
     "state.keras: not a .keras model archive"),
    (lambda folder: (folder / "config.json").write_text("{ not json"), "config.json: is not valid JSON"),
    (lambda folder: (folder / "history.json").write_text("[1, 2]"), "history.json: holds a JSON list"),
    (lambda folder: (folder / "random_state.json").write_text('{"keras_epochs": 4, "python_random": [3]}'),
     "random_state.json: is not the random state fit_CNN.py writes"),
])
def test_a_damaged_model_folder_to_resume_is_one_line(damage, named, first_run, tmp_path, capsys):
    folder = tmp_path / first_run.folder.name
    shutil.copytree(first_run.folder.path, folder)
    damage(folder)
    err = error_line(capsys, ["--resume-from", str(folder), "--no-progress"])
    assert named in err and str(folder) in err
    assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in first_run.folder.path.iterdir())


def test_resume_from_nowhere_is_one_line(tmp_path, capsys):
    err = error_line(capsys, ["--resume-from", str(tmp_path / "no_such_model")])
    assert "no_such_model" in err and "does not exist" in err


# ---------------------------------------------------------------------------------------------------------
# PCA and schedule
# ---------------------------------------------------------------------------------------------------------

def test_dvt_pca_matches_sklearn_whitened_pca():
    from sklearn.decomposition import PCA

    rng = np.random.default_rng(0)
    mixing = rng.normal(size=(12, 40))
    sims = [(rng.normal(size=(300, 12)) @ mixing - 70.0 + rng.normal(0, 0.1, (300, 40))).T for _ in range(3)]
    sims[0][5, :10] = 30.0  # above the +2 mV clip
    pca = DVTPCA.fit(sims, 5, input_clip_mv=2.0, output_clip=100.0)
    samples = np.minimum(np.concatenate([s.T for s in sims]), 2.0)
    reference = PCA(n_components=5, whiten=True, svd_solver="full").fit(samples)
    np.testing.assert_allclose(pca.explained_variance, reference.explained_variance_, rtol=1e-6)
    np.testing.assert_allclose(pca.mean, reference.mean_, rtol=1e-9)
    ours, theirs = pca.transform(sims[1].T), reference.transform(np.minimum(sims[1].T, 2.0))
    signs = np.sign(np.sum(ours * theirs, axis=0))  # components are defined up to sign
    np.testing.assert_allclose(ours, theirs * signs, atol=1e-3)
    np.testing.assert_allclose(pca.inverse_transform(ours), reference.inverse_transform(theirs), atol=1e-3)
    clipped = DVTPCA.from_dict(dict(pca.to_dict(), output_clip=3.0))
    assert np.abs(clipped.transform(sims[1].T)).max() <= 3.0
    assert clipped.fingerprint != pca.fingerprint
    assert DVTPCA.from_dict(pca.to_dict()).fingerprint == pca.fingerprint


def test_dvt_pca_inverse_transform_gives_back_the_clipped_voltages():
    rng = np.random.default_rng(1)
    segments = 30
    sims = [rng.normal(-65.0, 4.0, (segments, 400)) + rng.normal(0, 3.0, (segments, 1)) for _ in range(3)]
    pca = DVTPCA.fit(sims, segments, input_clip_mv=-60.0, output_clip=50.0)  # every component kept
    voltages = sims[1].T  # partly above the -60 mV clip
    back = pca.inverse_transform(pca.transform(voltages))
    assert back.shape == voltages.shape and back.dtype == np.float32
    np.testing.assert_allclose(back, np.minimum(voltages, -60.0), atol=2e-3)
    fewer = DVTPCA.fit(sims, 4, input_clip_mv=-60.0, output_clip=50.0)
    assert fewer.inverse_transform(fewer.transform(voltages)).shape == voltages.shape


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
    assert sampler.batches_per_file(0.2, 128, 6000, 8, 400) == 48


# ---------------------------------------------------------------------------------------------------------
# Window sampler
# ---------------------------------------------------------------------------------------------------------

def test_sampler_windows_are_slices_of_the_canonical_tensors(data_root, tmp_path):
    files = dataset.find_dataset_files(data_root / "L5PC_NMDA_train", None, None)
    pca = DVTPCA.fit((s for s in np.random.default_rng(0).normal(-70, 5, (4, 639, 50))), 3)
    windows = sampler.WindowSampler(files, batch_size=5, window_size=100, batches_per_file=3, files_per_epoch=2,
                                    cache_dir=tmp_path, dvt_pca=pca, seed=11)
    assert len(windows) == 6
    tensors = {f: dataset.canonical_tensors(dataset.read_experiment_file(f)) for f in files}
    for index in (0, 4):
        X, (y_spike, y_soma, y_dvt) = windows[index]
        assert X.shape == (5, 100, 1278) and X.dtype == np.float32
        assert y_spike.shape == (5, 100, 1) and y_soma.shape == (5, 100, 1) and y_dvt.shape == (5, 100, 3)
        path, sims, ends = windows.window_positions(index)
        assert path == windows.epoch_files[index // 3] and len(set(ends)) == 5
        assert ends.min() >= 500 and ends.max() < DURATION_MS
        reference = tensors[path]
        for row, (sim, end) in enumerate(zip(sims, ends)):
            np.testing.assert_array_equal(X[row], reference.X[sim, end - 100:end])
            np.testing.assert_array_equal(y_spike[row, :, 0], reference.y_spike[sim, end - 100:end])
            np.testing.assert_allclose(y_soma[row, :, 0], reference.y_soma[sim, end - 100:end], atol=1e-6)
            expected_dvt = pca.transform(reference.y_DVT[sim, end - 100:end]).astype(np.float16)
            np.testing.assert_allclose(y_dvt[row], expected_dvt, atol=1e-3)
    again = windows[4]
    np.testing.assert_array_equal(again[0], windows[4][0])  # reproducible by (seed, epoch, index)


def test_sampler_rotates_files_with_bounded_memory_and_threads(data_root, tmp_path):
    files = dataset.find_dataset_files(data_root / "L5PC_NMDA_train", None, None) + \
        dataset.find_dataset_files(data_root / "L5PC_NMDA_valid", None, None)
    windows = sampler.WindowSampler(files, batch_size=4, window_size=64, batches_per_file=2, files_per_epoch=3,
                                    cache_dir=tmp_path, max_files_in_memory=1, seed=0, workers=2)
    results = {}

    def draw(index):
        results[index] = windows[index]

    threads = [threading.Thread(target=draw, args=(i,)) for i in range(len(windows))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 6 and len(windows._loaded) == 1
    assert sorted(windows.pop_histogram().values()) == [2, 2, 2]
    assert len(set(windows.epoch_files)) == 3
    rotating = sampler.WindowSampler(files, 4, 64, 2, files_per_epoch=1, cache_dir=tmp_path, seed=0)
    seen = set()
    for _ in range(12):
        seen.add(rotating.epoch_files[0])
        X, (y_spike, y_soma) = rotating[0]  # no PCA: spikes and soma only
        assert rotating.epoch_files[0] in rotating._loaded and len(rotating._loaded) <= 2
        rotating.on_epoch_end()
    assert seen == set(files) and rotating.epoch == 12
    fixed = sampler.WindowSampler(files, 4, 64, 2, 1, cache_dir=tmp_path, fixed=True, seed=0)
    before = fixed[1][0]
    fixed.on_epoch_end()
    np.testing.assert_array_equal(before, fixed[1][0])  # fixed validation batches
    with pytest.raises(IndexError):
        fixed[2]


# ---------------------------------------------------------------------------------------------------------
# Training runs
# ---------------------------------------------------------------------------------------------------------

CHECKPOINT_NAME = re.compile(r"NMDA_TCN__DxWxT_2x8x13__\d{4}-\d\d-\d\d__\d\d_\d\d__samples_(\d+)__LogLoss_train_\d+"
                             r"_valid_\d+__ID_\d+")


@pytest.mark.xdist_group("fit_cnn_first_run")  # one worker trains the shared run once
def test_training_lowers_the_loss_and_writes_a_model_folder(first_run):
    history, folder = first_run.history, first_run.folder
    assert len(history["loss"]) == 4 and history["learning_schedule"] == [0, 0, 1, 1]
    assert history["spikes_loss"][-1] < history["spikes_loss"][0]
    assert history["loss"][-1] < history["loss"][0]
    assert history["learning_rate"] == [0.01] * 4 and history["num_train_samples"] == [4 * 12] * 4
    assert len(history["train_files_histogram"]) == 2
    assert re.fullmatch(r"NMDA_TCN__DxWxT_2x8x13__\d{4}-\d\d-\d\d__\d\d_\d\d__run_\d+", folder.name)
    assert [int(CHECKPOINT_NAME.fullmatch(c.name).group(1)) for c in first_run.checkpoints] == [96, 192]
    for checkpoint in first_run.checkpoints:
        for suffix in (".keras", ".h5", ".pickle"):
            assert (folder.checkpoints_dir / (checkpoint.name + suffix)).is_file()
    assert sorted(p.name for p in folder.path.iterdir()) == [
        "architecture.json", "checkpoints", "config.json", "data.json", "dvt_pca.npz", "history.json",
        "learning_schedule.json", "random_state.json", "state.keras"]
    assert not [p for p in folder.path.parent.rglob(".*") if p.is_file()]  # no temporary files
    config = json.loads((folder.path / "config.json").read_text())
    assert config["params"]["seed"] == 3 and config["resumed_from"] is None
    assert config["params"]["out_dir"] == str(folder.path.parent) and config["script"] == "fit_CNN.py"
    assert "keras" in config["environment"] and "--seed 3" in config["command_line"]
    assert json.loads((folder.path / "history.json").read_text())["loss"] == history["loss"]


@pytest.mark.xdist_group("fit_cnn_first_run")  # one worker trains the shared run once
def test_checkpoint_reloads_and_predicts_identically(first_run):
    checkpoint = first_run.checkpoints[-1]
    companion = read_companion(checkpoint.companion_path)
    assert set(companion) == {"data_dict", "architecture_dict", "learning_schedule_dict", "training_history_dict",
                              "dvt_pca"}
    assert set(companion["architecture_dict"]) == set(models.ARCHITECTURE_KEYS)
    assert set(companion["data_dict"]) == {"train_files", "valid_files", "test_files"}
    assert companion["dvt_pca"]["components"].shape == (3, 639)
    assert companion["training_history_dict"]["loss"] == first_run.history["loss"]
    x = (np.random.default_rng(0).random((2, 300, 1278)) < 0.02).astype("float32")
    expected = first_run.model.predict(x, verbose=0)
    for suffix in (".keras", ".h5"):
        reloaded = models.load_model_file(checkpoint.model_path.with_suffix(suffix))
        for a, b in zip(expected, reloaded.predict(x, verbose=0)):
            np.testing.assert_allclose(a, b, atol=1e-6)


@pytest.mark.xdist_group("fit_cnn_first_run")  # one worker trains the shared run once
def test_resume_from_the_model_folder_continues_the_schedule_in_it(first_run, data_root, tmp_path):
    folder = first_run.folder
    resumed = fit_CNN.main(tiny_run_arguments(data_root, tmp_path, "--resume-from", str(folder.path)))
    assert resumed.folder.path == folder.path and not list(tmp_path.iterdir())
    history = resumed.history
    assert history["learning_schedule"] == [0, 0, 1, 1, 2, 2]
    assert history["loss"][:4] == first_run.history["loss"]
    assert history["learning_rate"][-2:] == [0.003, 0.003] and history["loss_weights"][-1] == [2.0, 0.01, 0.001]
    assert len(resumed.checkpoints) == 1 and "samples_288__" in resumed.checkpoints[0].name
    assert len(folder.checkpoints()) == 3 and folder.history["learning_schedule"] == history["learning_schedule"]
    np.testing.assert_array_equal(read_companion(resumed.checkpoints[0].companion_path)["dvt_pca"]["mean"],
                                  first_run.folder.dvt_pca.mean)
    config = folder.config
    assert config["resumed_from"] == str(folder.path) and len(config["previous_runs"]) == 1
    assert config["previous_runs"][0]["resumed_from"] is None
    assert ModelFolder.open(folder.path).summary_row()["num_train_samples"] == 288
    finished = fit_CNN.main(["--resume-from", str(folder.path), "--no-progress", "--log-level", "ERROR"])
    assert finished.checkpoints == [] and finished.model is None
    assert len(folder.config["previous_runs"]) == 1  # a finished run is left as it was


@pytest.mark.xdist_group("fit_cnn_first_run")  # one worker trains the shared run once
def test_resume_refuses_options_that_contradict_the_saved_run(first_run, data_root, capsys):
    arguments = tiny_run_arguments(data_root, first_run.folder.path.parent, "--resume-from",
                                   str(first_run.folder.path))
    err = error_line(capsys, arguments + ["--num-filters-per-layer", "16"])
    assert "--num-filters-per-layer: the run resumed from" in err and "made with [8], not [16]" in err
    err = error_line(capsys, arguments + ["--schedule-learning-rates", "0.1", "0.003"])
    assert "--schedule-learning-rates: the run resumed from" in err and "[0.01, 0.003], not [0.1, 0.003]" in err
    err = error_line(capsys, arguments + ["--checkpoint-val-spike-loss-threshold", "0.03"])
    assert "made with 10.0, not 0.03" in err and "leave the option out" in err


def without_date(name):
    return re.sub(r"__\d{4}-\d\d-\d\d__\d\d_\d\d__", "__", name)


@pytest.mark.parametrize("optimizer", ["--reset-optimizer-each-schedule-epoch",
                                       "--no-reset-optimizer-each-schedule-epoch"])
def test_resume_continues_the_saved_configuration(optimizer, data_root, tmp_path):
    """Stopped after schedule epoch 1 (in the middle of the first stage), resumed with --resume-from alone for
    one more (stopping at the end of the stage) and once more to the end: the saved configuration (a
    checkpoint threshold far from the default, a batch size that changes at epoch 3), the checkpoint names,
    the losses and the validation AUCs continue as in one run."""
    arguments = tiny_run_arguments(data_root, tmp_path / "whole", "--num-steps-multiplier", "1",
                                   "--schedule-batch-sizes", "4", "2", optimizer)
    whole = fit_CNN.main(arguments)
    first = fit_CNN.main(arguments[:arguments.index("--out-dir")] + ["--out-dir", str(tmp_path / "parts")]
                         + arguments[arguments.index("--out-dir") + 2:] + ["--stop-after-schedule-epochs", "1"])
    assert first.folder.random_state_path.is_file()
    resume = ["--resume-from", str(first.folder.path), "--no-progress", "--log-level", "WARNING"]
    middle = fit_CNN.main(resume + ["--stop-after-schedule-epochs", "1"])
    resumed = fit_CNN.main(resume)
    assert middle.folder.path == resumed.folder.path == first.folder.path
    assert resumed.folder.config["params"]["checkpoint_val_spike_loss_threshold"] == 10
    for key in ("num_train_samples", "batch_size", "learning_schedule"):
        assert resumed.history[key] == whole.history[key], key
    assert len(whole.checkpoints) == 3  # the saved threshold (10, not the block's 0.03) saves every epoch

    # random_state.json: the same windows in the same order, hence the same numbers
    for key in ("loss", "spikes_loss", "somatic_loss", "dendritic_loss", "val_loss", "val_spikes_loss",
                "val_spikes_auc", "train_files_histogram", "valid_files_histogram"):
        assert resumed.history[key] == whole.history[key], key
    assert [without_date(c.name) for c in first.checkpoints + middle.checkpoints + resumed.checkpoints] == \
        [without_date(c.name) for c in whole.checkpoints]


@pytest.mark.xdist_group("fit_cnn_first_run")  # one worker trains the shared run once
def test_resume_from_an_older_checkpoint_pickle_starts_a_new_folder(first_run, data_root, tmp_path):
    """The flat layout before model folders: <name>.keras / .h5 + <name>.pickle side by side."""
    checkpoint = first_run.checkpoints[0]  # after schedule epoch 1 of 3
    flat = tmp_path / "flat"
    flat.mkdir()
    for suffix in (".h5", ".pickle"):
        (flat / (checkpoint.name + suffix)).write_bytes(checkpoint.model_path.with_suffix(suffix).read_bytes())
    resumed = fit_CNN.main([*data_arguments(data_root), "--out-dir", str(tmp_path / "models"),
                            "--resume-from", str(flat / (checkpoint.name + ".pickle")),
                            "--stop-after-schedule-epochs", "1"])
    assert resumed.folder.path.parent == tmp_path / "models"
    assert resumed.history["learning_schedule"] == [0, 0, 1, 1]
    assert resumed.folder.config["resumed_from"].endswith(".pickle")
    assert resumed.folder.architecture == first_run.folder.architecture


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
    folder, = ModelFolder.find_all(tmp_path)
    assert len(folder.checkpoints()) == 1
    reloaded = models.load_model_file(folder.latest_checkpoint().model_path.with_suffix(".h5"))
    assert [layer.name for layer in reloaded.layers][-3:] == ["spikes", "somatic", "dendritic"]


def test_optimizer_state_can_be_kept_across_schedule_epochs_and_resumes(data_root, tmp_path):
    arguments = tiny_run_arguments(data_root, tmp_path, "--no-reset-optimizer-each-schedule-epoch",
                                   "--num-steps-multiplier", "1", "--schedule-batch-sizes", "4", "2")
    first = fit_CNN.main(arguments + ["--stop-after-schedule-epochs", "2"])
    assert int(first.model.optimizer.iterations) == 24  # 2 schedule epochs x 12 steps, one optimiser
    resumed = fit_CNN.main(arguments + ["--resume-from", str(first.folder.state_path)])
    assert int(resumed.model.optimizer.iterations) == 48  # the moments came back with state.keras
    assert resumed.history["batch_size"] == [4, 4, 2] and resumed.history["num_train_steps"] == [12, 12, 24]
