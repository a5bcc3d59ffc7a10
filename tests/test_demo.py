"""make demo's bookkeeping: which stages count as done (so a rerun skips them and only them) and the summary."""
import json
import shutil

import pytest

from neuron_as_dnn import demo
from neuron_as_dnn.evaluation import metrics


@pytest.fixture
def demo_dirs(tmp_path, monkeypatch):
    monkeypatch.setattr(demo.paths, "REPO_ROOT", tmp_path)
    for name, folder in (("DATA", "data/demo"), ("MODELS", "models/demo"), ("FIGURES", "figures/demo")):
        monkeypatch.setattr(demo, name, tmp_path / folder)
    return tmp_path


def write_record(root, files):
    path = root / "models/demo/pretrained/NET/evaluation/ckpt__test.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    results = {"calibrated": {"AUC": 0.98, "TP @ 0.0025 FP": 0.2, "TP @ 0.0010 FP": 0.1, "soma_RMSE": 0.9,
                              "soma_explained_variance_percent": 91.0},
               "uncalibrated": {"AUC": 0.98, "soma_RMSE": 0.95, "soma_explained_variance_percent": 90.0},
               "num_simulations": 15}
    path.write_text(json.dumps({"data": {"files": files, "num_simulations": 16},
                                "results": {metrics.MAIN_FILTER: results}}))


def test_the_evaluation_stage_counts_only_an_evaluation_on_the_demo_test_set(demo_dirs):
    assert not demo.evaluated_on_demo_data()
    write_record(demo_dirs, ["data/L5PC_NMDA_test/shipped_test_set.p"])  # arrives with the shipped copy
    assert not demo.evaluated_on_demo_data()
    write_record(demo_dirs, [str(demo_dirs / "data/demo/test/fresh.p")])
    assert demo.evaluated_on_demo_data()
    assert "spike AUC 0.9800" in demo.summary()


def test_the_training_stage_is_done_only_when_every_epoch_was_recorded(demo_dirs):
    history = demo_dirs / "models/demo/trained/RUN/history.json"
    history.parent.mkdir(parents=True)
    keras_epochs = sum(demo.TRAINING_STAGE_EPOCHS) * demo.TRAINING_STEPS_MULTIPLIER
    history.write_text(json.dumps({"val_spikes_auc": [0.6] * (keras_epochs - 1)}))
    assert not demo.training_finished()
    history.write_text(json.dumps({"val_spikes_auc": [0.6] * keras_epochs}))
    assert demo.training_finished()
    assert "validation spike AUC per schedule epoch 0.600" in demo.summary()


def test_the_training_run_never_validates_on_the_test_set_it_reports():
    commands = {stage.command[1]: stage.command for stage in demo.stages("python")}
    training = commands["fit_CNN.py"]
    folders = {flag: training[training.index(flag) + 1] for flag in ("--train-data-dir", "--valid-data-dir")}
    evaluated = commands["evaluate_CNN_test.py"]
    test_folder = evaluated[evaluated.index("--data-dir") + 1]
    assert len({*folders.values(), test_folder}) == 3
    simulated = [stage.command for stage in demo.stages("python")
                 if stage.command[1] == "simulate_L5PC_and_create_dataset.py"]
    seeds = [command[command.index("--seed") + 1] for command in simulated]
    outputs = [command[command.index("--out-dir") + 1] for command in simulated]
    assert len(set(seeds)) == len(seeds) == 3 and set(outputs) == {*folders.values(), test_folder}


def test_the_training_run_passes_the_checks_of_fit_cnn():
    """The demo's options go through fit_CNN.py's parser and checks (which run before any data is read)."""
    import sys

    from neuron_as_dnn.learning import training
    sys.path.insert(0, str(demo.paths.REPO_ROOT))
    import fit_CNN

    training.check_params(fit_CNN.SCRIPT.parse(demo.TRAINING_ARGS))


def test_the_demo_uses_the_shipped_nmda_network(tmp_path, monkeypatch):
    """pretrained/ holds one network per synapse type; the demo's data are NMDA simulations."""
    for name, synapse_type in (("AMPA_TCN__DxWxT_2x8x13__2026-01-01__00_00__run_1", "AMPA"),
                               ("NMDA_TCN__DxWxT_2x8x13__2026-01-01__00_00__run_2", "NMDA")):
        (tmp_path / name / "checkpoints").mkdir(parents=True)
        (tmp_path / name / "config.json").write_text(json.dumps({"params": {"synapse_type": synapse_type}}))
    monkeypatch.setattr(demo, "PRETRAINED", tmp_path)
    assert demo.shipped_model_folder() == tmp_path / "NMDA_TCN__DxWxT_2x8x13__2026-01-01__00_00__run_2"
    shutil.rmtree(tmp_path / "NMDA_TCN__DxWxT_2x8x13__2026-01-01__00_00__run_2")
    with pytest.raises(SystemExit) as stopped:
        demo.shipped_model_folder()
    message = str(stopped.value.code)
    assert message.startswith("demo: error: ") and "no shipped NMDA network" in message and "AMPA" in message
    assert "git checkout -- pretrained" in message and "\n" not in message
