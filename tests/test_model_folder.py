"""Model folders: ours (written by fit_CNN.py) and the authors' best_models layout, opened by one class."""
import csv
import datetime
import os
import pickle
import shutil

import numpy as np
import pytest

from neuron_as_dnn import errors
from neuron_as_dnn.learning import model_folder, models
from neuron_as_dnn.learning.model_folder import Checkpoint, ModelFolder

keras = pytest.importorskip("keras")
import fit_CNN  # noqa: E402
from test_models import (keras2_model_config, randomised_small_model, small_architecture,  # noqa: E402
                         write_keras2_h5)
from test_training import tiny_run_arguments, write_split  # noqa: E402

INPUTS = (np.random.default_rng(2).random((2, 150, 1278)) < 0.02).astype("float32")


def assert_same_predictions(model_a, model_b, atol=1e-6):
    for a, b in zip(model_a.predict(INPUTS, verbose=0), model_b.predict(INPUTS, verbose=0)):
        np.testing.assert_allclose(a, b, atol=atol)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny network trained for two schedule epochs into <out_dir>/<run folder>/."""
    root = tmp_path_factory.mktemp("data")
    write_split(root / "L5PC_NMDA_train", [1])
    write_split(root / "L5PC_NMDA_valid", [2])
    out_dir = tmp_path_factory.mktemp("models")
    return fit_CNN.main(tiny_run_arguments(root, out_dir, "--stop-after-schedule-epochs", "2",
                                           "--train-files-per-epoch", "1"))


def write_authors_folder(folder, model, name, architecture, weights_only=False):
    """The authors' best_models export: a Keras-2 <name>_model.h5 and a protocol-2 <name>_training.pickle."""
    folder.mkdir(parents=True, exist_ok=True)
    write_keras2_h5(folder / f"{name}_model.h5", model,
                    None if weights_only else keras2_model_config(architecture, 4, 400), weights_only=weights_only)
    history = {"loss": [0.5, 0.4], "val_spikes_loss": [0.05, 0.03], "num_train_samples": [2304, 2304],
               "learning_schedule": [0, 0]}
    companion = {"data_dict": {"train_files": ["/Reseach/a.p"], "valid_files": [], "test_files": []},
                 "architecture_dict": architecture,
                 "learning_schedule_dict": {"num_epochs": 250, "batch_size_per_epoch": [8] * 250},
                 "training_history_dict": history}
    with open(folder / f"{name}_training.pickle", "wb") as handle:
        pickle.dump(companion, handle, protocol=2)
    return folder


@pytest.fixture(scope="module")
def authors_model():
    return randomised_small_model()


AUTHORS_NAME = "NMDA_TCN__DxWxT_2x5x9__2019-06-01__12_00__samples_4608__LogLoss_train_210_valid_300__ID_4242"


# ---------------------------------------------------------------------------------------------------------
# Our layout
# ---------------------------------------------------------------------------------------------------------

def test_our_folder_round_trip(trained):
    folder = ModelFolder.open(trained.folder.path)
    assert folder.layout == "ours" and folder.name == trained.folder.path.name
    assert folder.synapse_type == "NMDA" and folder.network_type == "TCN"
    assert folder.architecture["filter_sizes_per_layer"] == [9, 5] and folder.architecture["input_window_size"] == 64
    assert folder.num_dvt_components == 3 and folder.num_input_channels == 1278
    assert folder.config["params"]["seed"] == 3 and folder.learning_schedule["num_epochs"] == 3
    assert folder.history == trained.history and folder.data_dict == trained.folder.data_dict
    assert [c.name for c in folder.checkpoints()] == sorted(c.name for c in trained.checkpoints)
    latest = folder.latest_checkpoint()
    assert latest == trained.checkpoints[-1] and latest.model_path.suffix == ".keras"
    assert latest.companion_path == latest.model_path.with_suffix(".pickle")
    assert_same_predictions(trained.model, folder.load_model())
    assert_same_predictions(trained.model, folder.load_model(latest.name))
    h5 = Checkpoint(latest.name, latest.model_path.with_suffix(".h5"), latest.companion_path)
    assert_same_predictions(trained.model, folder.load_model(h5))
    assert folder.evaluation_dir == folder.path / "evaluation" and folder.predictions_dir == folder.path / "predictions"
    with pytest.raises(errors.MissingFileError, match="no checkpoint named 'nope'"):
        folder.load_model("nope")


def test_dvt_pca_round_trips(trained):
    folder = ModelFolder.open(trained.folder.path)
    pca = folder.dvt_pca
    stored = model_folder.read_companion(folder.latest_checkpoint().companion_path)["dvt_pca"]
    assert pca.num_components == 3 and pca.components.shape == (3, 639)
    for key in ("mean", "components", "explained_variance", "explained_variance_ratio"):
        np.testing.assert_array_equal(getattr(pca, key), stored[key])
    assert (pca.input_clip_mv, pca.output_clip, pca.num_samples) == (2.0, 3.0, stored["num_samples"])
    assert pca.fitted_on == stored["fitted_on"] and len(pca.fitted_on) == 1
    voltages = np.random.default_rng(0).normal(-70, 3, (5, 639))
    np.testing.assert_array_equal(pca.transform(voltages), type(pca).from_dict(stored).transform(voltages))


def test_summary_has_one_row_per_folder(trained, tmp_path):
    out_dir = trained.folder.path.parent
    with open(out_dir / "summary.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 1 and tuple(rows[0]) == model_folder.SUMMARY_COLUMNS
    row = rows[0]
    assert row["folder"] == trained.folder.path.name and row["synapse_type"] == "NMDA"
    assert (row["network_type"], row["depth"], row["width"], row["receptive_field_ms"]) == ("TCN", "2", "8", "13")
    assert int(row["num_parameters"]) == models.count_trainable_parameters(trained.model)
    assert int(row["num_train_samples"]) == sum(trained.history["num_train_samples"])
    assert int(row["num_checkpoints"]) == 2
    assert float(row["best_val_spike_loss"]) == pytest.approx(min(trained.history["val_spikes_loss"]))
    assert float(row["last_val_spike_loss"]) == pytest.approx(trained.history["val_spikes_loss"][-1])
    aucs = [a for a in trained.history["val_spikes_auc"] if a is not None]
    assert (row["best_val_spike_auc"] == "") if not aucs else float(row["best_val_spike_auc"]) == pytest.approx(max(aucs))
    assert row["created"][:4].isdigit() and "T" in row["created"]
    # a copy of the run and an authors' folder deeper down: one row each, sorted by folder
    shutil.copytree(trained.folder.path, tmp_path / "b_copy")
    write_authors_folder(tmp_path / "best_models" / "NMDA_TCN__DxWxT_2x5x9",
                         models.build_model(small_architecture(), 4), AUTHORS_NAME, small_architecture())
    model_folder.write_summary(tmp_path)
    with open(tmp_path / "summary.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["folder"] for row in rows] == ["b_copy", "best_models/NMDA_TCN__DxWxT_2x5x9"]
    assert rows[1]["created"] == "2019-06-01T12:00" and rows[1]["git_commit"] == "" and rows[1]["depth"] == "2"
    assert [f.path for f in ModelFolder.find_all(tmp_path)] == [tmp_path / "b_copy",
                                                                tmp_path / "best_models" / "NMDA_TCN__DxWxT_2x5x9"]


# ---------------------------------------------------------------------------------------------------------
# The authors' layout
# ---------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("weights_only", [False, True])
def test_authors_best_models_folder(authors_model, tmp_path, weights_only):
    architecture = small_architecture()  # relu then lrelu: a weights-only file alone could not tell
    path = write_authors_folder(tmp_path / "best_models" / "NMDA_TCN__DxWxT_2x5x9", authors_model, AUTHORS_NAME,
                                architecture, weights_only=weights_only)
    folder, = ModelFolder.find_all(tmp_path / "best_models")
    assert folder.path == path and folder.layout == "authors" and folder.config is None
    assert folder.architecture == architecture and folder.synapse_type == "NMDA" and folder.network_type == "TCN"
    assert folder.num_dvt_components == 4 and folder.num_input_channels == 1278 and folder.dvt_pca is None
    assert folder.history["loss"] == [0.5, 0.4] and folder.learning_schedule["num_epochs"] == 250
    assert folder.data_dict["train_files"] == ["/Reseach/a.p"]
    assert folder.checkpoints() == [Checkpoint(AUTHORS_NAME, path / f"{AUTHORS_NAME}_model.h5",
                                               path / f"{AUTHORS_NAME}_training.pickle")]
    assert_same_predictions(authors_model, folder.load_model(), atol=1e-5)
    assert folder.summary_row()["num_parameters"] == models.count_trainable_parameters(authors_model)


def test_synapse_type_from_an_authors_name(authors_model, tmp_path):
    name = AUTHORS_NAME.replace("NMDA_", "AMPA_SK_")
    folder = ModelFolder.open(write_authors_folder(tmp_path / "x", authors_model, name, small_architecture()))
    assert folder.synapse_type == "AMPA_SK"


def test_a_pickle_that_would_run_code_is_refused(authors_model, tmp_path):
    class RunsACommand:
        def __reduce__(self):
            return os.system, ("echo unsafe",)

    folder = write_authors_folder(tmp_path / "evil", authors_model, AUTHORS_NAME, small_architecture())
    with open(folder / f"{AUTHORS_NAME}_training.pickle", "wb") as handle:
        pickle.dump({"architecture_dict": RunsACommand()}, handle, protocol=2)
    with pytest.raises(errors.FileContentError, match="system, which a model companion never contains"):
        ModelFolder.open(folder)
    with pytest.raises(errors.FileContentError, match="system"):
        model_folder.resume_point(folder / f"{AUTHORS_NAME}_model.h5")
    summary = model_folder.write_summary(tmp_path)  # left out with a warning: a training run goes on
    assert summary.read_text().splitlines() == [",".join(model_folder.SUMMARY_COLUMNS)]


def test_resume_from_a_checkpoint_file_continues_in_its_folder(trained, tmp_path):
    copy = tmp_path / trained.folder.name
    shutil.copytree(trained.folder.path, copy)
    first = trained.checkpoints[0]  # after schedule epoch 1 of 3
    resumed = fit_CNN.main(["--resume-from", str(copy / "checkpoints" / (first.name + ".keras")),
                            "--stop-after-schedule-epochs", "1", "--checkpoint-val-spike-loss-threshold", "10",
                            "--no-progress", "--log-level", "WARNING"])
    assert resumed.folder.path == copy and resumed.history["learning_schedule"] == [0, 0, 1, 1]
    assert resumed.history["loss"][:2] == trained.history["loss"][:2]
    assert ModelFolder.open(copy).history == resumed.history and len(ModelFolder.open(copy).checkpoints()) == 3


def test_damaged_files_of_a_model_folder_are_named(trained, tmp_path):
    copy = tmp_path / trained.folder.name
    shutil.copytree(trained.folder.path, copy)
    checkpoint = trained.checkpoints[-1]
    keras_file = copy / "checkpoints" / (checkpoint.name + ".keras")
    keras_file.write_bytes(keras_file.read_bytes()[:2000])
    with pytest.raises(errors.FileContentError, match="not a .keras model archive") as raised:
        ModelFolder.open(copy).load_model(checkpoint.name)
    assert raised.value.path == keras_file
    (copy / "architecture.json").write_text('{"network_depth": ')
    with pytest.raises(errors.FileContentError, match="is not valid JSON") as raised:
        ModelFolder.open(copy).architecture
    assert raised.value.path == copy / "architecture.json"


# ---------------------------------------------------------------------------------------------------------
# Names and mistakes
# ---------------------------------------------------------------------------------------------------------

def test_one_naming_convention_for_every_file_of_a_checkpoint(tmp_path):
    for name in ("a.keras", "a.h5", "a.pickle", "b_model.h5", "b_training.pickle", "c.h5"):
        (tmp_path / name).write_bytes(b"")
    ours = Checkpoint("a", tmp_path / "a.keras", tmp_path / "a.pickle")
    for given in ("a.keras", "a.h5", "a.pickle", "a"):
        assert model_folder.checkpoint_of(tmp_path / given) == ours
    theirs = Checkpoint("b", tmp_path / "b_model.h5", tmp_path / "b_training.pickle")
    for given in ("b_model.h5", "b_training.pickle"):
        assert model_folder.checkpoint_of(tmp_path / given) == theirs
    assert model_folder.checkpoint_of(tmp_path / "c.h5") == Checkpoint("c", tmp_path / "c.h5", None)
    assert model_folder.checkpoint_of(tmp_path / "d.pickle") is None
    assert model_folder.run_folder_name("NMDA_TCN__DxWxT_3x64x100", datetime.datetime(2024, 3, 5, 14, 7),
                                        42) == "NMDA_TCN__DxWxT_3x64x100__2024-03-05__14_07__run_42"


def test_folders_without_a_model_are_user_errors(tmp_path):
    with pytest.raises(errors.MissingFileError, match="no such model folder"):
        ModelFolder.open(tmp_path / "absent")
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    with pytest.raises(errors.FileContentError, match=r"no model in this folder \(expected config.json \+ "
                                                      r"checkpoints/ from fit_CNN.py, or the authors'"):
        ModelFolder.open(tmp_path / "empty")
    with pytest.raises(errors.UserError, match="no model in this folder or below"):
        ModelFolder.find_all(tmp_path / "empty")
    with pytest.raises(errors.MissingFileError, match="does not exist"):
        model_folder.resume_point(tmp_path / "absent.pickle")


def test_open_one_takes_the_only_model_folder_below_and_refuses_several(tmp_path):
    only = tmp_path / "one" / "run_a"
    for folder in (only, tmp_path / "two" / "run_b", tmp_path / "two" / "run_c"):
        (folder / "checkpoints").mkdir(parents=True)
        (folder / "config.json").write_text("{}")
    assert ModelFolder.open_one(tmp_path / "one").path == only
    assert ModelFolder.open_one(only).path == only
    with pytest.raises(errors.ConfigError, match="holds 2 model folders"):
        ModelFolder.open_one(tmp_path / "two")
