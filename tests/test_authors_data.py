"""Arranging the authors' Kaggle data and models (neuron_as_dnn.data.authors_data), on a fake download tree.
Nothing here touches the network."""
import json
import os
import subprocess
import sys

import pytest

from neuron_as_dnn import errors
from neuron_as_dnn.data import authors_data
from neuron_as_dnn.paths import REPO_ROOT

PREFIX = "exBas_0_1000_inhBasDiff_-800_200__exApic_0_1100_inhApicDiff_-800_200__saved_InputSpikes_DVTs__"


def dataset_name(seed, spikes=1000):
    return f"{PREFIX}{spikes}_outSpikes__128_simulationRuns__6_secDuration__randomSeed_{seed}.p"


MODEL = "NMDA_TCN__DxWxT_7x128x153__2019-04-16__21_16__ID_1234"


@pytest.fixture
def download(tmp_path):
    """The two datasets as the authors lay them out: training batches (no validation folder), and the
    test data with the pretrained models; plus files that are neither."""
    train = tmp_path / "kaggle" / "single-neurons-as-deep-nets-nmda-train-data"
    test = tmp_path / "kaggle" / "single-neurons-as-deep-nets-nmda-test-data"
    for batch in (1, 2, 3):
        folder = train / f"full_ergodic_train_batch_{batch}"
        folder.mkdir(parents=True)
        for seed in (10 * batch, 10 * batch + 1):
            (folder / dataset_name(seed)).write_bytes(b"train %d" % seed)
    (test / "Data_test").mkdir(parents=True)
    for seed in (100, 101):
        (test / "Data_test" / dataset_name(seed)).write_bytes(b"test")
    model_folder = test / "Models" / "NMDA_TCN__DxWxT_7x128x153"
    model_folder.mkdir(parents=True)
    for suffix in ("_model.h5", "_weights.h5", "_json.json", "_training.pickle", "_evaluation.pickle"):
        (model_folder / f"{MODEL}{suffix}").write_bytes(suffix.encode())
    (test / "morphology_dict.pickle").write_bytes(b"not a dataset")
    return [(train, "train"), (test, "test")]


def arrange(download, tmp_path, **kwargs):
    placements, unplaced = authors_data.plan_arrangement(
        download, tmp_path / "data", tmp_path / "models" / "best_models",
        valid_folders=["full_ergodic_train_batch_1"])
    counts = authors_data.apply_arrangement(placements, **kwargs)
    return placements, unplaced, counts


def names_in(folder):
    return sorted(path.name for path in folder.iterdir())


def test_files_are_linked_into_the_split_folders_and_models_into_best_models(download, tmp_path):
    placements, unplaced, counts = arrange(download, tmp_path)
    data = tmp_path / "data"
    assert names_in(data / "L5PC_NMDA_valid") == sorted([dataset_name(10), dataset_name(11)])
    assert names_in(data / "L5PC_NMDA_train") == sorted(dataset_name(s) for s in (20, 21, 30, 31))
    assert names_in(data / "L5PC_NMDA_test") == sorted([dataset_name(100), dataset_name(101)])
    model_folder = tmp_path / "models" / "best_models" / "NMDA_TCN__DxWxT_7x128x153"
    assert len(names_in(model_folder)) == 5
    link = data / "L5PC_NMDA_train" / dataset_name(20)
    assert link.is_symlink() and link.read_bytes() == b"train 20"
    assert [path.name for path in unplaced] == ["morphology_dict.pickle"]
    assert counts == {"placed": 13, "already there": 0, "kept existing": 0}
    assert authors_data.summarise(placements) == {"train": 4, "valid": 2, "test": 2, "model folders": 1}


def test_rerunning_is_harmless_and_existing_files_are_kept(download, tmp_path):
    arrange(download, tmp_path)
    ours = tmp_path / "data" / "L5PC_NMDA_test" / dataset_name(100)
    ours.unlink()
    ours.write_bytes(b"our own simulation, same name")
    _, _, counts = arrange(download, tmp_path)
    assert counts == {"placed": 0, "already there": 12, "kept existing": 1}
    assert ours.read_bytes() == b"our own simulation, same name"


def test_copy_option_copies(download, tmp_path):
    arrange(download, tmp_path, copy=True)
    copied = tmp_path / "data" / "L5PC_NMDA_valid" / dataset_name(10)
    assert not copied.is_symlink() and copied.read_bytes() == b"train 10"


def test_same_name_in_two_folders_keeps_both_different_files(download, tmp_path):
    train = download[0][0]
    (train / "full_ergodic_train_batch_3" / dataset_name(20)).write_bytes(b"another file, same name")
    placements, _, _ = arrange(download, tmp_path)
    train_folder = tmp_path / "data" / "L5PC_NMDA_train"
    assert (train_folder / f"full_ergodic_train_batch_3__{dataset_name(20)}").read_bytes() == b"another file, same name"
    assert (train_folder / dataset_name(20)).read_bytes() == b"train 20"


def test_split_hints():
    assert authors_data.split_hint("full_ergodic_train_batch_1", ["full_ergodic_train_batch_1"]) == "valid"
    assert authors_data.split_hint("full_ergodic_train_batch_2", ["full_ergodic_train_batch_1"]) == "train"
    assert authors_data.split_hint("Data_test") == "test"
    assert authors_data.split_hint("L5PC_NMDA_valid") == "valid"
    assert authors_data.split_hint("archive") is None


def test_without_kagglehub_or_credentials_the_user_is_told_what_to_do(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "kagglehub", None)  # import fails, even where it is installed
    monkeypatch.setenv("PATH", str(tmp_path))  # no kaggle tool
    with pytest.raises(errors.UserError) as raised:
        authors_data.download([authors_data.TRAIN_DATASET], tmp_path)
    message = str(raised.value)
    assert "\n" not in message and "pip install kagglehub" in message and "kaggle.json" in message
    assert "https://www.kaggle.com/datasets/selfishgene/single-neurons-as-deep-nets-nmda-test-data" in message


def run_module(*args, cwd):
    env = dict(os.environ, PATH=os.path.dirname(sys.executable), PYTHONPATH=str(REPO_ROOT))  # no kaggle tool
    return subprocess.run([sys.executable, "-m", "neuron_as_dnn.data.authors_data", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_module_arranges_given_folders_and_records_what_it_did(download, tmp_path):
    result = run_module("--source-dirs", *(str(root) for root, _ in download), "--data-dir", str(tmp_path / "data"),
                        "--models-dir", str(tmp_path / "best"), "--no-progress", cwd=REPO_ROOT)
    assert result.returncode == 0, result.stderr
    record = json.loads((tmp_path / "data" / "authors_data.json").read_text())
    assert record["summary"] == {"train": 4, "valid": 2, "test": 2, "model folders": 1}
    assert (tmp_path / "best" / "NMDA_TCN__DxWxT_7x128x153" / f"{MODEL}_model.h5").is_symlink()


def test_module_without_a_downloader_fails_in_one_line(tmp_path):
    probe = subprocess.run([sys.executable, "-c", "import kagglehub"], capture_output=True)
    if probe.returncode == 0:
        pytest.skip("kagglehub is installed here, so the module would download")
    result = run_module("--data-dir", str(tmp_path / "data"), cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("neuron_as_dnn.data.authors_data: error: cannot download")
    assert not (tmp_path / "data").exists()
