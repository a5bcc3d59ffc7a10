"""evaluate_CNN_valid.py and evaluate_CNN_test.py on a tiny trained model folder and small synthetic data:
their files (JSON, pickle, predictions, CSV), the choice of checkpoints, the authors' layout, and the
one-line errors."""
import csv
import pickle
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from neuron_as_dnn.data import dataset, synthetic_data
from neuron_as_dnn.evaluation import evaluation_runs, metrics, prediction
from neuron_as_dnn.learning import models
from neuron_as_dnn.learning.model_folder import COMPANION_KEYS, ModelFolder, read_companion

keras = pytest.importorskip("keras")
import evaluate_CNN_test  # noqa: E402
import evaluate_CNN_valid  # noqa: E402
import fit_CNN  # noqa: E402
from test_training import DURATION_MS, NUM_SIMS, write_split  # noqa: E402

pytestmark = pytest.mark.xdist_group("evaluation_scripts")  # one worker trains the shared model once

HEADLINE = metrics.MAIN_FILTER


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    write_split(root / "L5PC_NMDA_train", [1, 2])
    write_split(root / "L5PC_NMDA_valid", [3])
    write_split(root / "L5PC_NMDA_test", [4, 5], with_dvt=False)
    write_split(root / "L5PC_AMPA_test", [6], with_dvt=False)
    write_split(root / "L5PC_AMPA_train", [9])
    write_split(root / "L5PC_AMPA_valid", [10])
    write_split(root / "L5PC_AMPA_SK_test", [11], with_dvt=False)
    write_split(root / "ten_segments", [7], with_dvt=False, num_segments=10)
    params, simulations = synthetic_data.make_synthetic_experiment(2, DURATION_MS, with_dvt=False, seed=8)
    for simulation in simulations:
        simulation["outputSpikeTimes"] = np.arange(600.0, 1900.0, 50.0)  # 26 spikes: outside [0, 24]
    dataset.write_experiment_file(root / "many_spikes" / dataset.dataset_file_name(params), params, simulations)
    return root


@pytest.fixture(scope="module")
def trained(data_root, tmp_path_factory):
    """A tiny network trained for two schedule epochs: a model folder with two checkpoints."""
    out_dir = tmp_path_factory.mktemp("models") / "NMDA"
    result = fit_CNN.main([
        "--train-data-dir", str(data_root / "L5PC_NMDA_train"), "--valid-data-dir", str(data_root / "L5PC_NMDA_valid"),
        "--out-dir", str(out_dir), "--num-simulations-per-file", str(NUM_SIMS), "--duration-sec", "2",
        "--architecture-preset", "custom", "--filter-sizes-per-layer", "9", "5", "--num-filters-per-layer", "8",
        "--input-window-size", "64", "--num-dvt-components", "3", "--schedule-stage-epochs", "2",
        "--schedule-learning-rates", "0.01", "--schedule-spike-loss-weights", "1",
        "--schedule-somatic-loss-weights", "0.02", "--schedule-dendritic-loss-weights", "0.001",
        "--schedule-batch-sizes", "4", "--num-steps-multiplier", "1", "--checkpoint-val-spike-loss-threshold", "10",
        "--seed", "3", "--no-progress", "--log-level", "WARNING"])
    assert len(result.folder.checkpoints()) == 2
    return out_dir, result.folder


@pytest.fixture(scope="module")
def trained_ampa(data_root, tmp_path_factory):
    """A tiny AMPA network without dendritic targets (no DVT head, no dvt_pca.npz), tested on the AMPA test set."""
    out_dir = tmp_path_factory.mktemp("models") / "AMPA"
    result = fit_CNN.main([
        "--synapse-type", "AMPA", "--train-data-dir", str(data_root / "L5PC_AMPA_train"),
        "--valid-data-dir", str(data_root / "L5PC_AMPA_valid"), "--out-dir", str(out_dir),
        "--num-simulations-per-file", str(NUM_SIMS), "--duration-sec", "2",
        "--architecture-preset", "custom", "--filter-sizes-per-layer", "9", "5", "--num-filters-per-layer", "8",
        "--input-window-size", "64", "--num-dvt-components", "0", "--schedule-stage-epochs", "1",
        "--schedule-learning-rates", "0.01", "--schedule-spike-loss-weights", "1",
        "--schedule-somatic-loss-weights", "0.02", "--schedule-dendritic-loss-weights", "0",
        "--schedule-batch-sizes", "4", "--num-steps-multiplier", "1", "--checkpoint-val-spike-loss-threshold", "10",
        "--train-files-per-epoch", "1", "--seed", "4", "--no-progress", "--log-level", "WARNING"])
    folder = result.folder
    assert folder.synapse_type == "AMPA" and folder.num_dvt_components == 0 and len(folder.checkpoints()) == 1
    evaluate_CNN_test.main(["--models-dir", str(folder.path), "--data-dir", str(data_root / "L5PC_AMPA_test"),
                            "--num-subsets", "0", "--no-save-predictions", "--no-progress", "--log-level", "WARNING"])
    return out_dir, folder


def arguments(data_root, models_dir, split, *extra):
    return ["--models-dir", str(models_dir), "--data-dir", str(data_root / f"L5PC_NMDA_{split}"), "--no-progress",
            "--log-level", "WARNING", *extra]


def read_csv(path):
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        return reader.fieldnames, list(reader)


# ---------------------------------------------------------------------------------------------------------

def test_valid_evaluates_every_checkpoint_once(trained, data_root, capsys):
    out_dir, folder = trained
    outcome = evaluate_CNN_valid.main(arguments(data_root, out_dir, "valid"))
    assert sorted(record["checkpoint"] for record in outcome["records"]) == [c.name for c in folder.checkpoints()]
    truth = dataset.canonical_tensors(dataset.read_experiment_file(
        dataset.find_dataset_files(data_root / "L5PC_NMDA_valid", None, None)[0]))
    for checkpoint, record in zip(folder.checkpoints(), sorted(outcome["records"], key=lambda r: r["checkpoint"])):
        assert record["split"] == "valid" and record["model_folder"] == str(folder.path.resolve())
        assert record["params"]["models_dir"] == str(out_dir)
        companion = read_companion(checkpoint.companion_path)
        assert record["model"] == {
            "synapse_type": "NMDA", "network_type": "TCN", "depth": 2, "width": 8, "receptive_field_ms": 13,
            "num_parameters": models.count_parameters(folder.architecture, 3),
            "num_train_samples": sum(companion["training_history_dict"]["num_train_samples"]),
            "num_unique_train_files": len(companion["training_history_dict"]["train_files_histogram"][-1])}
        assert record["data"]["num_simulations"] == NUM_SIMS and len(record["data"]["files"]) == 1
        assert record["prediction"] == {"mode": "single_pass", "window_ms": DURATION_MS, "overlap_ms": 0}
        assert list(record["results"]) == list(metrics.SPIKE_COUNT_FILTERS) and "subsets" not in record
        headline = record["results"][HEADLINE]
        assert set(headline) == {"calibrated", "uncalibrated", "num_simulations"}
        assert headline["num_simulations"] == NUM_SIMS  # no synthetic simulation has more than 24 spikes
        assert record["cross_correlation"]["offsets_ms"] == list(range(-50, 51))

        with open(folder.results_path(checkpoint.name, "valid", ".pickle"), "rb") as handle:
            original = pickle.load(handle)
        assert set(original) == {*COMPANION_KEYS, "evaluations_results_dict"}
        assert original["evaluations_results_dict"][HEADLINE] == pytest.approx(headline["calibrated"])

        saved = prediction.Predictions.load(folder.predictions_path(checkpoint.name, "valid"))
        assert saved.spike_probability.shape == saved.soma_prediction_mV.shape == (NUM_SIMS, DURATION_MS)
        assert saved.dendritic_prediction.shape == (NUM_SIMS, DURATION_MS, 3)
        assert saved.dendritic_prediction.dtype == np.float16 and saved.y_spike.dtype == bool
        np.testing.assert_array_equal(saved.y_spike, truth.y_spike)
        np.testing.assert_allclose(saved.y_soma_mV, truth.y_soma + dataset.SOMA_BIAS_MV, atol=1e-4)
        assert list(saved.simulation_index) == list(range(NUM_SIMS)) and set(saved.file_index) == {0}
        # the metrics are those of the saved predictions
        assert headline["uncalibrated"] == pytest.approx(metrics.key_results(
            saved.y_spike[:, 500:], saved.spike_probability[:, 500:], saved.y_soma_mV[:, 500:],
            saved.soma_prediction_mV[:, 500:]))

    columns, rows = read_csv(out_dir / "evaluation_valid.csv")
    assert columns == [
        "model_folder", "checkpoint", "synapse_type", "network_type", "depth", "width", "T", "num_parameters",
        "num_train_samples", "spikes AUC", "spikes D prime", "spikes TP @ 0.25% FP", "spikes TP @ 0.1% FP",
        "spikes AUC @ 1% FP", "soma explained variance %", "soma RMSE", "soma MAE",
        "soma explained variance % (uncalibrated)", "soma RMSE (uncalibrated)", "soma MAE (uncalibrated)"]
    assert [row["checkpoint"] for row in rows] == [c.name for c in folder.checkpoints()]
    assert {row["model_folder"] for row in rows} == {folder.name}
    by_name = {record["checkpoint"]: record for record in outcome["records"]}
    for row in rows:
        assert float(row["spikes AUC"]) == pytest.approx(by_name[row["checkpoint"]]["results"][HEADLINE]
                                                         ["calibrated"]["AUC"])
    assert "validation, spikes in [0,24]" in capsys.readouterr().out

    # a second run has nothing to do but still rewrites the table; --re-evaluate redoes everything
    again = evaluate_CNN_valid.main(arguments(data_root, out_dir, "valid"))
    assert again["records"] == [] and len(again["rows"]) == 2
    redone = evaluate_CNN_valid.main(arguments(data_root, folder.path, "valid", "--re-evaluate",
                                               "--no-save-predictions"))
    assert len(redone["records"]) == 2 and (folder.path / "evaluation_valid.csv").is_file()
    # results computed on other files are redone, so that they always describe the data asked for
    elsewhere = ["--models-dir", str(folder.path), "--data-dir", str(data_root / "L5PC_NMDA_test"), "--no-progress",
                 "--log-level", "WARNING", "--no-save-predictions"]
    other = evaluate_CNN_valid.main(elsewhere)
    assert len(other["records"]) == 2
    assert all("L5PC_NMDA_test" in name for record in other["records"] for name in record["data"]["files"])
    assert evaluate_CNN_valid.main(elsewhere)["records"] == []
    assert len(evaluate_CNN_valid.main(arguments(data_root, out_dir, "valid", "--no-save-predictions"))["records"]) == 2


def test_test_takes_the_best_validation_checkpoint_and_reproducible_subsets(trained, data_root, capsys):
    out_dir, folder = trained
    evaluate_CNN_valid.main(arguments(data_root, out_dir, "valid"))  # nothing to do when the test above ran
    valid_auc = {c.name: evaluation_runs.headline_value(
        evaluation_runs.utils.read_json(folder.results_path(c.name, "valid")), "AUC")
        for c in folder.checkpoints()}
    outcome = evaluate_CNN_test.main(arguments(data_root, out_dir, "test"))
    (record,) = outcome["records"]
    assert record["checkpoint"] == max(valid_auc, key=valid_auc.get) and record["split"] == "test"
    assert record["data"]["num_simulations"] == 2 * NUM_SIMS
    assert len(record["subsets"]) == metrics.NUM_SUBSETS
    assert record["subset_fraction"] == 0.67 and record["subset_seed"] == 0
    assert all(set(subset) == set(metrics.SPIKE_COUNT_FILTERS) for subset in record["subsets"])
    with open(folder.results_path(record["checkpoint"], "test", ".pickle"), "rb") as handle:
        original = pickle.load(handle)
    assert len(original["list_of_subset_eval_results_dict"]) == metrics.NUM_SUBSETS
    assert original["list_of_subset_eval_results_dict"][0][HEADLINE] == pytest.approx(
        record["subsets"][0][HEADLINE]["calibrated"])

    columns, (row,) = read_csv(out_dir / "evaluation_test.csv")
    assert columns == evaluation_runs.csv_columns("valid") + [
        "spikes AUC mean of subsets", "spikes AUC std of subsets", "soma explained variance % mean of subsets",
        "soma explained variance % std of subsets"]
    subset_auc = [subset[HEADLINE]["calibrated"]["AUC"] for subset in record["subsets"]]
    assert float(row["spikes AUC mean of subsets"]) == pytest.approx(np.mean(subset_auc))
    assert float(row["spikes AUC std of subsets"]) == pytest.approx(np.std(subset_auc))
    printed = capsys.readouterr().out
    assert "calibrated" in printed and "uncalibrated" in printed and "12 subsets of 67%" in printed

    same = evaluate_CNN_test.main(arguments(data_root, out_dir, "test", "--re-evaluate", "--no-save-predictions"))
    assert same["records"][0]["subsets"] == record["subsets"]
    other = evaluate_CNN_test.main(arguments(data_root, out_dir, "test", "--re-evaluate", "--seed", "1",
                                             "--no-save-predictions", "--checkpoint", record["checkpoint"]))
    assert other["records"][0]["subsets"] != record["subsets"]
    assert other["records"][0]["results"][HEADLINE]["calibrated"] == pytest.approx(
        record["results"][HEADLINE]["calibrated"])


def test_training_history_carries_the_validation_spike_auc(trained):
    _, folder = trained
    history = folder.history
    assert len(history["val_spikes_auc"]) == len(history["val_spikes_loss"])  # one per Keras epoch
    assert all(auc is None or 0.0 <= auc <= 1.0 for auc in history["val_spikes_auc"])
    assert any(auc is not None for auc in history["val_spikes_auc"])


def test_a_tested_model_folder_ships_as_a_self_contained_folder(trained, data_root, tmp_path):
    from neuron_as_dnn import pretrained

    out_dir, folder = trained
    checkpoint = folder.checkpoints()[0].name
    evaluate_CNN_test.main(arguments(data_root, out_dir, "test", "--checkpoint", checkpoint, "--num-subsets", "0",
                                     "--no-save-predictions"))
    target = tmp_path / "pretrained"
    shipped = pretrained.main(["--model-dir", str(folder.path), "--checkpoint", checkpoint, "--out-dir", str(target),
                               "--log-level", "WARNING"])
    assert shipped == target / folder.name
    assert not (shipped / "state.keras").exists() and not (shipped / "predictions").exists()
    assert sorted(p.name for p in (shipped / "checkpoints").iterdir()) == [checkpoint + ".keras",
                                                                           checkpoint + ".pickle"]
    record = evaluation_runs.utils.read_json(folder.results_path(checkpoint, "test"))
    results = evaluation_runs.utils.read_json(shipped / pretrained.RESULTS_FILE)
    assert results["checkpoint"] == checkpoint
    assert results["spike_auc"] == record["results"][HEADLINE]["calibrated"]["AUC"]
    assert results["soma_rmse_mV"] == record["results"][HEADLINE]["uncalibrated"]["soma_RMSE"]
    # with the data gone, the shipped folder loads and predicts its example as when it was shipped
    opened = pretrained.open_shipped(target)
    example = np.load(shipped / pretrained.EXAMPLE_FILE)
    outputs = pretrained.predict_example(opened.load_model(), opened.num_input_channels)
    for k, output in enumerate(outputs):
        np.testing.assert_allclose(output, example[f"output_{k}"], atol=1e-6)
    assert opened.dvt_pca is not None
    with pytest.raises(SystemExit) as stopped:  # the same network again needs --replace
        pretrained.main(["--model-dir", str(folder.path), "--checkpoint", checkpoint, "--out-dir", str(target)])
    assert stopped.value.code == 2


def folder_bytes(path):
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def test_networks_of_two_synapse_types_ship_side_by_side(trained, trained_ampa, data_root, tmp_path, monkeypatch,
                                                         capsys):
    """One network per synapse type: an AMPA network (no dendritic head) ships beside the NMDA one without
    --replace, each opens by its type, a second NMDA network needs --replace and replaces only the NMDA one,
    and the size limit counts the whole folder."""
    from neuron_as_dnn import errors, paths, pretrained

    _, nmda = trained
    _, ampa = trained_ampa
    nmda_checkpoint = nmda.checkpoints()[0].name
    evaluate_CNN_test.main(arguments(data_root, nmda.path, "test", "--checkpoint", nmda_checkpoint,
                                     "--num-subsets", "0", "--no-save-predictions"))
    target = tmp_path / "pretrained"

    def ship(folder, *extra):
        return pretrained.main(["--model-dir", str(folder.path), "--out-dir", str(target), "--log-level", "WARNING",
                                *extra])

    shipped_nmda = ship(nmda, "--checkpoint", nmda_checkpoint)
    shipped_ampa = ship(ampa)  # another synapse type: no --replace needed, the NMDA network stays
    assert sorted(p.name for p in target.iterdir()) == sorted([nmda.name, ampa.name])
    assert not (shipped_ampa / "dvt_pca.npz").exists() and (shipped_nmda / "dvt_pca.npz").is_file()
    example = np.load(shipped_ampa / pretrained.EXAMPLE_FILE)
    assert sorted(key for key in example.files if key.startswith("output_")) == ["output_0", "output_1"]

    networks = pretrained.shipped_networks(target)
    assert {kind: folder.path for kind, folder in networks.items()} == {"NMDA": shipped_nmda, "AMPA": shipped_ampa}
    assert pretrained.open_shipped(target).path == shipped_nmda  # NMDA by default
    opened = pretrained.open_shipped(target, synapse_type="AMPA")
    assert opened.path == shipped_ampa and opened.dvt_pca is None and opened.num_dvt_components == 0
    outputs = pretrained.predict_example(opened.load_model(), opened.num_input_channels)
    assert len(outputs) == 2
    for k, output in enumerate(outputs):
        np.testing.assert_allclose(output, example[f"output_{k}"], atol=1e-6)
    with pytest.raises(errors.MissingFileError, match=r"no shipped AMPA_SK network .*AMPA .*NMDA") as missing:
        pretrained.open_shipped(target, synapse_type="AMPA_SK")
    assert "\n" not in str(missing.value)

    # a second NMDA network needs --replace, and then takes the NMDA network's place only
    second = tmp_path / "models" / nmda.name.replace("__run_", "__run_9")
    shutil.copytree(nmda.path, second)
    with pytest.raises(SystemExit) as stopped:
        ship(ModelFolder.open(second), "--checkpoint", nmda_checkpoint)
    assert stopped.value.code == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "--replace" in error and nmda.name in error
    shipped_second = ship(ModelFolder.open(second), "--checkpoint", nmda_checkpoint, "--replace")
    assert sorted(p.name for p in target.iterdir()) == sorted([second.name, ampa.name])
    assert pretrained.open_shipped(target).path == shipped_second

    # the limit is on the whole folder: the new network and the ones kept
    monkeypatch.setattr(pretrained, "MAX_BYTES", folder_bytes(shipped_second) + folder_bytes(shipped_ampa) // 2)
    with pytest.raises(SystemExit) as stopped:
        ship(ampa, "--replace")
    assert stopped.value.code == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "kept there" in error and "ship a smaller network" in error
    assert sorted(p.name for p in target.iterdir()) == sorted([second.name, ampa.name])  # nothing changed

    # --models-dir <the folder of both>: each network on its own type's default test folder
    dataset_dir = paths.dataset_dir
    monkeypatch.setattr(paths, "dataset_dir", lambda synapse_type, split: dataset_dir(synapse_type, split, data_root))
    outcome = evaluate_CNN_test.main(["--models-dir", str(target), "--num-subsets", "0", "--no-save-predictions",
                                      "--re-evaluate", "--no-progress", "--log-level", "WARNING"])
    assert {record["model"]["synapse_type"]: {Path(f).parent.name for f in record["data"]["files"]}
            for record in outcome["records"]} == {"NMDA": {"L5PC_NMDA_test"}, "AMPA": {"L5PC_AMPA_test"}}



def test_the_shipped_networks_are_evaluated_in_their_working_copies(data_root, tmp_path, monkeypatch):
    """pretrained/ is part of the checkout: its evaluations, predictions and table go to the working copies;
    --models-dir pretrained evaluates every shipped network, each on its own type's default test folder."""
    from neuron_as_dnn import paths, pretrained

    copies = tmp_path / "models" / "pretrained"
    monkeypatch.setattr(paths, "PRETRAINED_COPIES_DIR", copies)
    dataset_dir = paths.dataset_dir
    monkeypatch.setattr(paths, "dataset_dir", lambda synapse_type, split: dataset_dir(synapse_type, split, data_root))
    outcome = evaluate_CNN_test.main(["--models-dir", str(paths.PRETRAINED_DIR), "--num-subsets", "0",
                                      "--no-progress", "--log-level", "WARNING"])
    shipped = pretrained.shipped_networks()
    records = {record["model"]["synapse_type"]: record for record in outcome["records"]}
    assert set(records) == set(shipped)
    for synapse_type, record in records.items():
        copy = ModelFolder.open(copies / shipped[synapse_type].name)
        assert record["model_folder"] == str(copy.path.resolve())
        assert {Path(f).parent.name for f in record["data"]["files"]} == {f"L5PC_{synapse_type}_test"}
        assert copy.predictions_path(record["checkpoint"], "test").is_file()
        assert evaluation_runs.utils.read_json(copy.results_path(record["checkpoint"], "test"))["data"] == \
            record["data"]
    assert outcome["csv"] == copies / "evaluation_test.csv"
    status = subprocess.run(["git", "status", "--porcelain", "--ignored", "pretrained"], cwd=paths.REPO_ROOT,
                            capture_output=True, text=True, check=True)
    assert status.stdout == ""


def test_first_layer_from_the_input_events_gives_the_same_evaluation(trained, data_root):
    out_dir, folder = trained
    checkpoint = folder.checkpoints()[-1].name
    common = ("--checkpoint", checkpoint, "--num-subsets", "0", "--no-save-predictions", "--re-evaluate")
    dense = evaluate_CNN_test.main(arguments(data_root, out_dir, "test", *common))["records"][0]
    sparse = evaluate_CNN_test.main(arguments(data_root, out_dir, "test", *common, "--prediction-mode",
                                              "single_pass_sparse"))["records"][0]
    assert sparse["prediction"]["mode"] == "single_pass_sparse"
    for variant in metrics.VOLTAGE_VARIANTS:
        assert sparse["results"][HEADLINE][variant] == pytest.approx(dense["results"][HEADLINE][variant], abs=1e-4)


def test_authors_layout_with_overlapping_windows(trained, data_root, tmp_path):
    """An exported folder in the authors' layout (``<name>_model.h5`` + ``<name>_training.pickle``), predicted
    with the original's overlapping windows, gives the single pass's predictions."""
    _, folder = trained
    checkpoint = folder.latest_checkpoint()
    exported = tmp_path / "best_models" / models.architecture_prefix("NMDA", folder.architecture)
    exported.mkdir(parents=True)
    shutil.copy(checkpoint.model_path.with_suffix(".h5"), exported / f"{checkpoint.name}_model.h5")
    with open(exported / f"{checkpoint.name}_training.pickle", "wb") as handle:
        companion = read_companion(checkpoint.companion_path)
        pickle.dump({key: companion[key] for key in COMPANION_KEYS}, handle, protocol=2)

    outcome = evaluate_CNN_test.main(arguments(data_root, exported.parent, "test", "--synapse-type", "NMDA",
                                               "--prediction-mode", "overlapping_windows", "--num-subsets", "2"))
    (record,) = outcome["records"]
    assert record["prediction"] == {"mode": "overlapping_windows", "window_ms": 64, "overlap_ms": 14}
    assert record["checkpoint"] == checkpoint.name and len(record["subsets"]) == 2
    authors = ModelFolder.open(exported)
    windowed = prediction.Predictions.load(authors.predictions_path(checkpoint.name, "test"))
    data = prediction.open_evaluation_data(data_root / "L5PC_NMDA_test")
    single = prediction.predict_data(folder.load_model(checkpoint), data,
                                     prediction.prediction_settings("single_pass", folder.architecture, DURATION_MS),
                                     progress=False)
    np.testing.assert_allclose(windowed.spike_probability, single.spike_probability, atol=1e-5)
    np.testing.assert_allclose(windowed.soma_prediction_mV, single.soma_prediction_mV, atol=1e-4)
    assert (exported.parent / "evaluation_test.csv").is_file()


@pytest.mark.parametrize("script, extra, message", [
    ("valid", ["--models-dir", "{empty}"], "no model in this folder or below"),
    ("test", ["--data-dir", "{data}/L5PC_AMPA_test"], "holds AMPA data but the model"),
    ("valid", ["--data-dir", "{empty}"], "no dataset files"),
    ("valid", ["--data-dir", "{data}/ten_segments"], "takes 1278 input channels but the files"),
    ("test", ["--data-dir", "{data}/many_spikes"], "filter starting_at_500ms_spikes_in_[0,24]_range keeps no"),
    ("test", ["--synapse-type", "AMPA"], "no AMPA model in"),
    ("test", ["--checkpoint", "no_such_checkpoint"], "no model folder among 1 has a checkpoint"),
])
def test_mistakes_end_with_one_line_and_status_2(trained, data_root, tmp_path, capsys, script, extra, message):
    out_dir, folder = trained
    empty = tmp_path / "empty"
    empty.mkdir()
    before = sorted(folder.evaluation_dir.glob("*")) if folder.evaluation_dir.is_dir() else []
    argv = ["--models-dir", str(out_dir), "--no-progress", "--re-evaluate", "--log-level", "ERROR",
            *(value.format(empty=empty, data=data_root) for value in extra)]
    with pytest.raises(SystemExit) as exit_info:
        (evaluate_CNN_valid if script == "valid" else evaluate_CNN_test).main(argv)
    assert exit_info.value.code == 2
    error_lines = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    assert len(error_lines) == 1 and error_lines[0].startswith(f"evaluate_CNN_{script}.py: error: ")
    assert message in error_lines[0]
    after = sorted(folder.evaluation_dir.glob("*")) if folder.evaluation_dir.is_dir() else []
    assert after == before  # refused before any work
