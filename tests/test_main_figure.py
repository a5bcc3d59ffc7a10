"""Figs. 2 and 3 (neuron_as_dnn.figures.main_figure, figures.morphology, main_figure_replication.py)."""
import datetime
import json
import os
import subprocess
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from scipy.ndimage import gaussian_filter1d  # noqa: E402

from neuron_as_dnn.data import dataset
from neuron_as_dnn.data.synthetic_data import make_synthetic_experiment  # noqa: E402
from neuron_as_dnn.evaluation import metrics, prediction
from neuron_as_dnn.figures import main_figure  # noqa: E402
from neuron_as_dnn.figures import morphology as morphology_figures  # noqa: E402
from neuron_as_dnn.learning import models
from neuron_as_dnn.learning.model_folder import ModelFolder, write_companion  # noqa: E402
from neuron_as_dnn.paths import REPO_ROOT  # noqa: E402
from neuron_as_dnn.simulation import morphology_map  # noqa: E402

SEGMENTS = dataset.NUM_SEGMENTS


def synthetic_predictions(num_simulations: int, duration_ms: int, seed: int = 0) -> prediction.Predictions:
    """Ground truth of synthetic simulations with a noisy but informative 'prediction' of it."""
    _, simulations = make_synthetic_experiment(num_simulations, duration_ms, with_dvt=False, seed=seed)
    rng = np.random.default_rng(seed)
    y_spike = dataset.spike_matrix([s["outputSpikeTimes"] for s in simulations], duration_ms)
    y_soma = np.minimum(np.stack([s["somaVoltageLowRes"] for s in simulations]), dataset.SOMA_CLIP_MV)
    # spikes seen 0-3 ms late, blurred, over noise that now and then looks like a spike: an imperfect model
    late = np.stack([np.roll(row, shift) for row, shift in zip(y_spike, rng.integers(0, 4, num_simulations))])
    probability = np.clip(gaussian_filter1d(late.astype(float), 2.0, axis=1) * 3
                          + 0.4 * rng.random(y_spike.shape) ** 6, 0, 1)
    soma = 0.8 * (y_soma - y_soma.mean()) + y_soma.mean() + rng.normal(0, 0.8, y_soma.shape)
    return prediction.Predictions(probability.astype(np.float32), soma.astype(np.float32), None, y_spike,
                                  y_soma.astype(np.float32), np.array(["synthetic.p"]),
                                  np.zeros(num_simulations, np.int64), np.arange(num_simulations),
                                  prediction.PredictionSettings("single_pass", duration_ms, 0))


def make_model_folder(root, num_simulations: int = 12, duration_ms: int = 2000, with_predictions: bool = True,
                      authors_layout: bool = False):
    """A tiny NMDA model folder (2 layers, 4 filters) with one checkpoint and, optionally, test predictions;
    ours, or the authors' best-model export (``<name>_model.h5`` + ``<name>_training.pickle``)."""
    architecture = models.make_architecture_dict([5, 1], num_filters_per_layer=4)
    prefix = models.architecture_prefix("NMDA", architecture)
    name = models.checkpoint_name("NMDA", architecture, 1000, 0.1, 0.1, 1, when=datetime.datetime(2026, 1, 1))
    model = models.build_model(architecture, num_dvt_components=0)
    if authors_layout:
        path = root / prefix
        models.save_model_files(model, path / f"{name}_model", architecture, formats=("h5",))
        write_companion(path / f"{name}_training.pickle", {}, architecture, {}, {}, None)
        folder = ModelFolder.open(path)
    else:
        folder = ModelFolder.create(root / f"{prefix}__2026-01-01__00_00__run_1",
                                    {"params": {"synapse_type": "NMDA"}}, architecture, {}, {}, None)
        folder.save_checkpoint(model, name, {}, formats=("keras",))
    if with_predictions:
        synthetic_predictions(num_simulations, duration_ms).save(folder.predictions_path(name, "test"))
    return folder


@pytest.fixture(scope="module")
def figure_data():
    predictions = synthetic_predictions(12, 2000)
    kernel = np.random.default_rng(1).normal(0, 0.01, (5, 2 * SEGMENTS, 4))
    curves = main_figure.evaluation_curves(predictions.y_spike, predictions.spike_probability,
                                           predictions.y_soma_mV, predictions.soma_prediction_mV)
    return main_figure.FigureData("tiny", "NMDA", models.make_architecture_dict([5, 1], num_filters_per_layer=4),
                                  kernel, predictions.spike_probability, predictions.soma_prediction_mV,
                                  predictions.y_spike, predictions.y_soma_mV, curves)


@pytest.fixture(scope="module")
def morphology():
    return morphology_figures.load_morphology()


# ---- the filters: rows and time --------------------------------------------------------------------------

def test_kernel_is_flipped_once_so_column_j_is_j_ms_before_t0():
    kernel = np.arange(5, dtype=float)[:, None, None] * np.ones((5, 2 * SEGMENTS, 1))
    weights = main_figure.weights_by_time_before(kernel, 0, None)
    assert weights[0].tolist() == [4, 3, 2, 1, 0]       # kernel index f-1 (current ms) at t0
    assert main_figure.weights_by_time_before(kernel, 0, 2)[0].tolist() == [4, 3]  # the most recent ms kept


def test_heatmap_puts_excitatory_rows_above_and_the_current_ms_at_t0():
    size, basal_segment = 6, 3
    kernel = np.zeros((size, 2 * SEGMENTS, 2))
    kernel[size - 1, basal_segment, 1] = 1.0                    # excitatory, weights the current ms only
    kernel[0, SEGMENTS + basal_segment, 1] = -1.0               # inhibitory, weights the oldest ms only
    fig, axes = plt.subplots(2, 3)
    images = main_figure.plot_filter(axes[0], axes[1], kernel, 1, time_ms=None)
    basal = np.asarray(images[0].get_array())
    num_basal = int((morphology_map.segment_subtrees() == "basal").sum())
    assert basal.shape == (2 * num_basal, size)
    assert np.unravel_index(np.argmax(basal), basal.shape) == (basal_segment, 0)
    assert np.unravel_index(np.argmin(basal), basal.shape) == (num_basal + basal_segment, size - 1)
    # drawn: column 0 is centred on x = 0 (t0), later columns further left in time to the right; row 0 on top
    left, right, bottom, top = images[0].get_extent()
    assert (left, right) == (-0.5, size - 0.5) and top < bottom
    assert axes[1][0].get_xlabel() == "time before t₀ (ms)"
    assert [image.get_array().max() for image in images[1:]] == [0, 0]   # nothing leaks into other subtrees
    plt.close(fig)


def test_largest_filters_by_weight_mass():
    kernel = np.zeros((3, 4, 5))
    kernel[:, :, 2] = 1.0
    kernel[:, :, 4] = -0.5
    kernel[0, 0, 1] = 0.1
    assert main_figure.largest_filters(kernel) == [2, 4, 1]


# ---- choices -----------------------------------------------------------------------------------------------

def test_auto_zoom_holds_the_spikes_and_stays_after_500_ms():
    start, stop = main_figure.auto_zoom(np.array([100, 2600, 2900, 3300, 5800]), 6000)
    assert stop - start == round(0.27 * 6000)
    assert start <= 2600 and 3300 < stop and start >= 500
    assert main_figure.auto_zoom(np.array([], int), 6000)[0] >= 500


def test_evaluation_curves_operating_point_is_a_vertex_at_or_below_the_fp(figure_data):
    curves = figure_data.curves
    vertex = curves.operating_point.threshold_index
    assert curves.fpr[vertex] <= main_figure.OPERATING_FP
    assert curves.tpr[vertex] == curves.operating_point.threshold_tpr
    assert main_figure.smooth_cross_correlation(curves.cross_correlation).sum() == pytest.approx(1.0, abs=0.02)


# ---- panels and figures --------------------------------------------------------------------------------------

def test_morphology_panel_draws_every_segment(morphology):
    fig, axes = plt.subplots(1, 2)
    by_subtree = morphology_figures.plot_morphology(axes[0], morphology)
    assert len(by_subtree.get_segments()) == 639
    assert len({tuple(c) for c in by_subtree.get_colors()}) == 3
    by_value = morphology_figures.plot_morphology(axes[1], morphology, np.arange(639.0))
    assert len(by_value.get_array()) == 639
    plt.close(fig)


def test_network_diagram_has_a_box_per_layer_and_head():
    fig, ax = plt.subplots()
    architecture = models.make_architecture_dict([54, 17, 17], num_filters_per_layer=[128, 64, 32])
    morphology_figures.plot_network_diagram(ax, architecture, num_dvt_components=20)
    assert len(ax.patches) == 1 + 3 + 3
    assert "T = 86 ms" in ax.get_title()
    plt.close(fig)


def test_every_figure_is_written(figure_data, morphology, tmp_path):
    choices = main_figure.plot_all(figure_data, tmp_path, morphology=morphology, num_single_traces=2, seed=0)
    names = sorted(p.name for p in choices["paths"] if p.suffix == ".png")
    assert all(name.startswith("tiny__") for name in names)
    for panel in ("morphology", "network", "model_evaluation", "multiple_prediction_traces",
                  "full_combined_figure_v2", "full_combined_figure_v3",
                  f"single_prediction_trace_{choices['trace_index']}"):
        assert f"tiny__{panel}.png" in names, panel
    assert len([n for n in names if "first_layer_weights_filter_" in n]) == 3
    assert all((tmp_path / name).with_suffix(".pdf").is_file() for name in names)


def test_script_draws_a_model_folder_from_its_predictions(tmp_path):
    folder = make_model_folder(tmp_path / "models")
    out = tmp_path / "figures"
    env = dict(os.environ, MPLBACKEND="Agg", TF_CPP_MIN_LOG_LEVEL="3")
    command = [sys.executable, str(REPO_ROOT / "main_figure_replication.py"), "--model-dir", str(folder.path),
               "--out-dir", str(out), "--seed", "0", "--num-single-traces", "1", "--filters", "2", "0",
               "--zoom-fraction", "0.3", "0.6",
               "--log-level", "WARNING"]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "AUC" in result.stdout and "uncalibrated" in result.stdout
    record = json.loads((out / f"{folder.name}__figures.json").read_text())
    assert record["choices"]["filters"] == [2, 0]
    assert record["choices"]["zoom_ms"] == [600, 1200]
    expected = {f"{folder.name}__{panel}.png" for panel in
                ("model_evaluation", "full_combined_figure_v2", "full_combined_figure_v3",
                 "first_layer_weights_filter_2", "first_layer_weights_filter_0")}
    assert expected <= {p.name for p in out.glob("*.png")}


def write_test_data(data_dir):
    """Three synthetic simulations of 1 s: a test set that a network predicts in a moment."""
    params, simulations = make_synthetic_experiment(3, 1000, with_dvt=False, seed=4)
    dataset.write_experiment_file(data_dir / "synthetic__3_simulationRuns__1_secDuration__randomSeed_4.p",
                                  params, simulations)
    return data_dir


def test_figures_predict_when_there_are_no_predictions(tmp_path):
    folder = make_model_folder(tmp_path / "models", with_predictions=False)
    data_dir = write_test_data(tmp_path / "synthetic_test_data")
    checkpoint = main_figure.choose_checkpoint(folder)
    data, results = main_figure.load_figure_data(folder, checkpoint, data_dir, progress=False)
    assert data.kernel.shape == (5, 2 * SEGMENTS, 4)
    assert data.y_spike.shape == (3, 1000)
    assert folder.predictions_path(checkpoint.name, "test").is_file()
    assert set(results) == set(metrics.VOLTAGE_VARIANTS)


SHIPPED_FOLDERS = sorted(p for p in (REPO_ROOT / "pretrained").iterdir() if p.is_dir() and not p.name.startswith("."))


@pytest.mark.parametrize("shipped_path", SHIPPED_FOLDERS, ids=[p.name.split("__")[0] for p in SHIPPED_FOLDERS])
def test_the_shipped_network_is_drawn_from_its_working_copy(shipped_path, tmp_path, monkeypatch):
    """pretrained/ is part of the checkout: the predictions made to draw a shipped network go to its working
    copy (every network shipped there, one per synapse type)."""
    from neuron_as_dnn import paths

    copies = tmp_path / "models" / "pretrained"
    monkeypatch.setattr(paths, "PRETRAINED_COPIES_DIR", copies)
    shipped = ModelFolder.open(shipped_path)
    checkpoint = main_figure.choose_checkpoint(shipped)
    data, _ = main_figure.load_figure_data(shipped, checkpoint, write_test_data(tmp_path / "test_data"),
                                           progress=False)
    assert data.y_spike.shape == (3, 1000)
    copy = ModelFolder.open(copies / shipped.name)
    assert copy.predictions_path(checkpoint.name, "test").is_file()
    assert copy.results_path(checkpoint.name, "test").is_file()  # the shipped evaluation, still readable
    status = subprocess.run(["git", "status", "--porcelain", "--ignored", "pretrained"], cwd=REPO_ROOT,
                            capture_output=True, text=True, check=True)
    assert status.stdout == ""


def test_the_authors_layout_is_drawn_from_its_h5(tmp_path):
    folder = make_model_folder(tmp_path, authors_layout=True)
    assert folder.layout == "authors"
    checkpoint = main_figure.choose_checkpoint(folder)
    data, _ = main_figure.load_figure_data(folder, checkpoint)
    assert data.name == "NMDA_FCN__DxWxT_2x4x5" and data.synapse_type == "NMDA"
    np.testing.assert_array_equal(data.kernel, folder.load_model(checkpoint).get_layer("layer_1").get_weights()[0])


def test_script_asks_to_name_one_of_several_model_folders(tmp_path, capsys):
    """A folder of several networks (pretrained/ holds one per synapse type): one line that says to name one."""
    import shutil

    sys.path.insert(0, str(REPO_ROOT))
    import main_figure_replication

    first = make_model_folder(tmp_path / "pretrained", with_predictions=False)
    shutil.copytree(first.path, first.path.with_name(first.name.replace("__run_1", "__run_2")))
    with pytest.raises(SystemExit) as stopped:
        main_figure_replication.main(["--model-dir", str(tmp_path / "pretrained"), "--log-level", "WARNING"])
    assert stopped.value.code == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "holds 2 model folders" in error and first.name in error
    assert f"--model-dir {tmp_path / 'pretrained' / '<run folder>'}" in error


def test_script_asks_for_a_model_folder():
    result = subprocess.run([sys.executable, str(REPO_ROOT / "main_figure_replication.py")], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 2
    assert "--model-dir" in result.stderr
