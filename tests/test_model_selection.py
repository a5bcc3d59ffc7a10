"""Model selection (neuron_as_dnn.evaluation.model_selection) and its two scripts, on result files written here."""
import json
import math
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from neuron_as_dnn import utils
from neuron_as_dnn.evaluation import metrics, model_selection as ms
from neuron_as_dnn.paths import REPO_ROOT

ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", MPLBACKEND="Agg")


def key_results(auc, explained_variance, rmse):
    results = {"AUC": auc, "D_prime": metrics.spike_d_prime(auc), "soma_explained_variance_percent": explained_variance,
               "soma_RMSE": rmse, "soma_MAE": 0.7 * rmse}
    for fp in metrics.DESIRED_FP_LIST:
        results[metrics.tp_key(fp)] = min(1.0, auc * 50 * fp)
        results[metrics.tp_key(fp) + " (nearest vertex)"] = min(1.0, auc * 45 * fp)
        results["AUC @ %.4f FP" % fp] = auc / 2
    return results


def filter_results(auc, explained_variance, rmse):
    return {key: {"calibrated": key_results(auc, explained_variance, rmse),
                  "uncalibrated": key_results(auc, explained_variance - 5, rmse + 0.5), "num_simulations": 20}
            for key in metrics.SPIKE_COUNT_FILTERS}


def write_result(root, name, split="valid", synapse="NMDA", network="TCN", depth=3, width=64, window=100,
                 samples=200_000, auc=0.95, explained_variance=80.0, rmse=1.5, run="run1", subset_spread=0.001):
    """A fake evaluation of checkpoint ``name`` in ``root/<synapse>/<run>/evaluation/``, JSON and pickle."""
    folder = Path(root) / synapse / run
    result = {"script": "evaluate_CNN_%s.py" % split, "model_folder": str(folder), "checkpoint": name, "split": split,
              "model": {"synapse_type": synapse, "network_type": network, "depth": depth, "width": width,
                        "receptive_field_ms": window, "num_parameters": 1000, "num_train_samples": samples,
                        "num_unique_train_files": 12},
              "data": {"files": ["a.p"], "num_simulations": 20},
              "prediction": {"mode": "single_causal_pass", "window_ms": None, "overlap_ms": None},
              "results": filter_results(auc, explained_variance, rmse)}
    if split == "test":
        offsets = np.linspace(-1, 1, metrics.NUM_SUBSETS)
        result["subsets"] = [{key: {"calibrated": key_results(auc + subset_spread * o, explained_variance + 10 * subset_spread * o,
                                                              rmse), "uncalibrated": None}
                              for key in metrics.SPIKE_COUNT_FILTERS} for o in offsets]
    utils.write_json(folder / "evaluation" / f"{name}__{split}.json", result)
    with open(folder / "evaluation" / f"{name}__{split}.pickle", "wb") as handle:
        pickle.dump({"evaluations_results_dict": {"marker": f"evaluation of {name}"}}, handle, protocol=2)
    return folder


def name_of(synapse, network, depth, width, window, number):
    return (f"{synapse}_{network}__DxWxT_{depth}x{width}x{window}__2024-01-01__10_00__samples_200000"
            f"__LogLoss_train_100_valid_{number}__ID_{number}")


def write_valid_set(root):
    """Six checkpoints: two of one architecture (B beats A on AUC, A beats B on RMSE), one AMPA FCN, and
    three dropped ones (poor AUC, too few samples, too wide)."""
    specs = {
        "A": dict(auc=0.95, rmse=1.2, run="run1"),
        "B": dict(auc=0.97, rmse=1.6, run="run2"),
        "AMPA": dict(synapse="AMPA", network="FCN", depth=1, width=128, window=43, auc=0.96, rmse=1.0),
        "poor": dict(depth=5, window=150, auc=0.55),
        "few_samples": dict(depth=7, window=153, samples=10_000, auc=0.99),
        "wide": dict(width=512, auc=0.99),
    }
    names = {}
    for label, spec in specs.items():
        arch = {key: spec.get(key, default) for key, default in
                dict(synapse="NMDA", network="TCN", depth=3, width=64, window=100).items()}
        names[label] = name_of(arch["synapse"], arch["network"], arch["depth"], arch["width"], arch["window"],
                               len(names))
        write_result(root, names[label], **spec)
    return names


ORIGINAL_SELECTION = dict(min_d_prime=0.5, min_auc=0.6, min_explained_variance=60.0, max_width=256,
                          max_time_window=260, min_train_samples=50_000, max_train_samples=5_000_000)


def select(root, select_by="AUC"):
    rows = ms.collect_results(root, "valid")
    kept, dropped = ms.apply_bounds(rows, ms.bounds_from_params(ORIGINAL_SELECTION, ORIGINAL_SELECTION))
    return rows, kept, dropped, ms.best_per_architecture(kept, select_by)


# ---- selection ------------------------------------------------------------------------------------------

def test_selection_keeps_the_best_per_architecture_and_drops_the_poor(tmp_path):
    names = write_valid_set(tmp_path)
    rows, kept, dropped, best = select(tmp_path)
    assert len(rows) == 6 and len(kept) == 3
    assert dropped == {"--min-d-prime (spikes D prime >= 0.5)": 1,
                       "--max-width (NN_width <= 256)": 1,
                       "--min-train-samples (NN_num_train_samples >= 50000)": 1}
    assert [row["full model filename"] for row in best] == [names["AMPA"], names["B"]]  # sorted: AMPA first
    b = best[1]
    assert (b["biophysical_model_type"], b["NN_model_type"], b["NN_depth"], b["NN_width"], b["NN_input_time_window"]) \
        == ("NMDA", "TCN", 3, 64, 100)
    assert b["spikes AUC"] == 0.97 and b["spikes D prime"] == pytest.approx(math.sqrt(2) * 1.8807936, rel=1e-6)
    assert b["spikes TP @ 0.25% FP"] == pytest.approx(0.97 * 50 * 0.0025)
    assert b["soma explained variance % (uncalibrated)"] == 75.0 and b["soma RMSE (uncalibrated)"] == 2.1
    assert Path(b["model folder"]) == (tmp_path / "NMDA" / "run2").absolute()
    by_rmse = ms.best_per_architecture(kept, "RMSE")
    assert names["A"] in [row["full model filename"] for row in by_rmse]


def test_exported_copies_of_a_result_count_once(tmp_path):
    name = name_of("NMDA", "TCN", 3, 64, 100, 1)
    write_result(tmp_path, name, run="run1")
    write_result(tmp_path, name, synapse="best_models", run="NMDA_TCN__DxWxT_3x64x100")  # the export's copy
    rows = ms.collect_results(tmp_path, "valid", prefer_outside=tmp_path / "best_models")
    assert len(rows) == 1 and rows[0]["model folder"].endswith("run1")


def test_missing_results_are_a_user_error_naming_the_evaluation_script(tmp_path):
    with pytest.raises(ms.errors.MissingFileError, match="evaluate_CNN_test.py"):
        ms.collect_results(tmp_path, "test")


def test_a_result_naming_its_checkpoint_file_without_training_counts_is_read(tmp_path):
    """A result whose checkpoint entry is a file path and whose model has no training counts."""
    entry = {"calibrated": key_results(0.9, 85.0, 1.0), "uncalibrated": key_results(0.9, 70.0, 2.0)}
    result = {"model": dict(synapse_type="AMPA_SK", network_type="FCN", depth=1, width=128, receptive_field_ms=46,
                            num_train_samples=None, num_unique_train_files=None),
              "checkpoint": "models/x/checkpoints/AMPA_SK_FCN__DxWxT_1x128x46__z.keras",
              "results": {metrics.MAIN_FILTER: entry}}
    row = ms.row_from_result(result, tmp_path / "m" / "evaluation" / "AMPA_SK_FCN__DxWxT_1x128x46__z__valid.json",
                             "valid")
    assert row["full model filename"] == "AMPA_SK_FCN__DxWxT_1x128x46__z"
    assert row["soma explained variance %"] == 85.0 and row["soma explained variance % (uncalibrated)"] == 70.0
    assert row["NN_num_train_samples"] is None
    assert not ms.Bound("NN_num_train_samples", minimum=0).admits(row["NN_num_train_samples"])


# ---- envelopes ------------------------------------------------------------------------------------------

def rows_for(xs, ys, column="spikes AUC", kind="NMDA"):
    return [{"biophysical_model_type": kind, "NN_depth": x, column: y, "id": i} for i, (x, y) in enumerate(zip(xs, ys))]


def test_envelope_is_the_running_best_per_distinct_x():
    rows = rows_for([3, 1, 2, 2, 5, 4, 7], [0.90, 0.80, 0.85, 0.95, 0.93, 0.96, 0.961])
    curve = ms.envelope(rows, "NN_depth", "spikes AUC")
    assert curve.x.tolist() == [1, 2, 3, 4, 5, 7]
    assert curve.y.tolist() == [0.80, 0.95, 0.95, 0.96, 0.96, 0.961]
    assert [row["id"] for row in curve.rows] == [1, 3, 3, 5, 5, 6]  # the model that sets each point
    assert np.all(np.diff(curve.y) >= 0)


def test_changing_points_keep_first_and_last_and_drop_small_steps():
    rows = rows_for([1, 2, 3, 4, 5, 6], [0.80, 0.805, 0.90, 0.901, 0.95, 0.951])
    curve = ms.envelope(rows, "NN_depth", "spikes AUC", change_threshold=0.05)  # 5 % of the 0.151 span
    assert curve.x.tolist() == [1, 3, 5, 6]
    assert curve.y[0] == 0.80 and curve.y[-1] == 0.951 and np.all(np.diff(curve.y) > 0)
    flat = ms.envelope(rows_for([1, 2, 3], [0.9, 0.9, 0.9]), "NN_depth", "spikes AUC", change_threshold=0.02)
    assert flat.x.tolist() == [1, 3]
    single = ms.envelope(rows_for([4], [0.9]), "NN_depth", "spikes AUC", change_threshold=0.02)
    assert single.x.tolist() == [4]


def test_error_envelopes_run_downwards():
    rows = rows_for([1, 2, 3, 4], [2.0, 2.5, 1.5, 1.49], column="soma RMSE")
    curve = ms.envelope(rows, "NN_depth", "soma RMSE", change_threshold=0.02)
    assert curve.y.tolist() == [2.0, 1.5, 1.49] and np.all(np.diff(curve.y) <= 0)


def test_envelopes_are_per_biophysical_type_in_the_usual_order():
    rows = rows_for([1, 2], [0.9, 0.8], kind="AMPA") + rows_for([1], [0.7], kind="NMDA")
    curves = ms.envelopes_by_type(rows, "NN_depth", "spikes AUC")
    assert list(curves) == ["NMDA", "AMPA"] and curves["AMPA"].y.tolist() == [0.9, 0.9]


def test_fcn_rows_are_duplicated_as_tcn():
    rows = [{"NN_model_type": "FCN", "NN_depth": 1}, {"NN_model_type": "TCN", "NN_depth": 7}]
    doubled = ms.duplicate_fcn_as_tcn(rows)
    assert [row["NN_model_type"] for row in doubled] == ["FCN", "TCN", "TCN"]
    assert doubled[2]["NN_depth"] == 1 and rows[0]["NN_model_type"] == "FCN"  # the input is not changed


def test_table_round_trips_through_csv(tmp_path):
    write_valid_set(tmp_path)
    rows = ms.sort_rows(ms.collect_results(tmp_path, "valid"), ms.VALID_SORT)
    path = ms.write_table(tmp_path / "table.csv", rows, ms.VALID_COLUMNS)
    assert path.read_text().splitlines()[0].split(",")[:3] == ["biophysical_model_type", "NN_depth", "NN_width"]
    assert ms.read_table(path) == rows


# ---- export ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny_model_folder(tmp_path_factory):
    """A model folder with one real (tiny) checkpoint saved as .keras only, its companion pickle and a
    validation result with its evaluation pickle."""
    from neuron_as_dnn.learning import models

    root = tmp_path_factory.mktemp("models")
    architecture = models.make_architecture_dict([3, 2], num_filters_per_layer=2, input_window_size=8)
    name = name_of("NMDA", "TCN", 2, 2, 4, 7)
    folder = write_result(root, name, depth=2, width=2, window=4, auc=0.9, run="tiny")
    model = models.build_model(architecture, num_dvt_components=0, num_input_channels=4)
    models.save_model_files(model, folder / "checkpoints" / name, architecture, formats=("keras",))
    with open(folder / "checkpoints" / f"{name}.pickle", "wb") as handle:
        pickle.dump({"data_dict": {}, "architecture_dict": architecture, "learning_schedule_dict": {},
                     "training_history_dict": {}, "dvt_pca": None}, handle, protocol=2)
    return root, folder, name, model


def run_script(script, *args, cwd):
    return subprocess.run([sys.executable, str(REPO_ROOT / script), *args], cwd=cwd, capture_output=True, text=True,
                          env=ENV, timeout=600)


def test_valid_script_writes_table_figures_and_exports_the_real_evaluation_pickle(tiny_model_folder, tmp_path):
    from neuron_as_dnn.learning import models

    root, folder, name, model = tiny_model_folder
    write_valid_set(root)
    out, figures = tmp_path / "best", tmp_path / "figures"
    result = run_script("valid_fitting_results_exploration.py", "--models-dir", str(root), "--out-dir", str(out),
                        "--figures-dir", str(figures), "--min-train-samples", "0", "--plot-min-train-samples", "0",
                        "--seed", "1", "--no-progress", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    table = ms.read_table(out / "best_results_valid.csv")
    assert name in [row["full model filename"] for row in table] and len(table) == 4  # + few_samples now
    assert json.loads((out / "best_results_valid.json").read_text())["params"]["seed"] == 1
    for prefix, axes in (("valid_all", 7), ("valid_best", 7), ("valid_envelope", 3)):
        assert len(list(figures.glob(f"{prefix}_vs_*.png"))) == axes
        assert len(list(figures.glob(f"{prefix}_vs_*.pdf"))) == axes

    export = out / "NMDA_TCN__DxWxT_2x2x4"
    evaluation_pickle = (folder / "evaluation" / f"{name}__valid.pickle").read_bytes()
    assert (export / f"{name}_evaluation.pickle").read_bytes() == evaluation_pickle
    assert (export / f"{name}_training.pickle").read_bytes() == (folder / "checkpoints" / f"{name}.pickle").read_bytes()
    with open(export / f"{name}_json.json") as handle:
        assert json.loads(json.load(handle))["class_name"] == "Functional"  # double-encoded, as the original
    assert set(models.read_h5_weights(export / f"{name}_weights.h5")) == set(models.read_h5_weights(
        export / f"{name}_model.h5"))
    inputs = np.random.default_rng(0).standard_normal((1, 20, 4)).astype("float32")
    expected = model.predict(inputs, verbose=0)
    for path in (export / f"{name}_model.h5", export / f"{name}_weights.h5"):
        loaded = models.load_model_file(path).predict(inputs, verbose=0)
        np.testing.assert_allclose(loaded[0], expected[0], rtol=1e-5, atol=1e-6)
    assert (export / "evaluation" / f"{name}__valid.json").is_file()
    assert json.loads((export / ms.EXPORT_RECORD).read_text())["checkpoint"] == name
    # the other best models have no checkpoint files here: skipped with a warning, not an error
    assert "no model file of checkpoint" in result.stderr and "Traceback" not in result.stderr


def test_export_leaves_a_folder_it_did_not_write(tmp_path, caplog):
    name = name_of("NMDA", "TCN", 3, 64, 100, 1)
    folder = write_result(tmp_path / "models", name)
    (folder / "checkpoints").mkdir()
    (folder / "checkpoints" / f"{name}.h5").write_bytes(b"not read before the check")
    authors = tmp_path / "best" / "NMDA_TCN__DxWxT_3x64x100"
    authors.mkdir(parents=True)
    (authors / "NMDA_TCN__DxWxT_3x64x100__authors_model.h5").write_bytes(b"theirs")
    row = ms.collect_results(tmp_path / "models", "valid")[0]
    assert ms.export_best_model(row, tmp_path / "best") is None
    assert "not written by this export" in caplog.text
    assert sorted(p.name for p in authors.iterdir()) == ["NMDA_TCN__DxWxT_3x64x100__authors_model.h5"]


class RunsCode:
    """Unpickled by pickle.load, it would run a shell command."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


@pytest.mark.parametrize("hostile", ["checkpoints/{name}.pickle", "evaluation/{name}__valid.pickle"])
def test_export_skips_a_checkpoint_whose_pickle_would_run_code(tmp_path, caplog, hostile):
    name = name_of("NMDA", "TCN", 3, 64, 100, 1)
    folder = write_result(tmp_path / "models", name)
    (folder / "checkpoints").mkdir()
    (folder / "checkpoints" / f"{name}.h5").write_bytes(b"not read before the check")
    with open(folder / "checkpoints" / f"{name}.pickle", "wb") as handle:
        pickle.dump({"data_dict": {}, "architecture_dict": {}, "learning_schedule_dict": {},
                     "training_history_dict": {}}, handle, protocol=2)
    marker = tmp_path / "code_ran"
    with open(folder / hostile.format(name=name), "wb") as handle:
        pickle.dump(RunsCode(marker), handle, protocol=2)
    row = ms.collect_results(tmp_path / "models", "valid")[0]
    assert ms.export_best_model(row, tmp_path / "best") is None
    assert f"{name} not exported" in caplog.text and "system" in caplog.text
    assert not marker.exists() and not (tmp_path / "best").exists()


# ---- test results and Fig. S5 ---------------------------------------------------------------------------

def test_test_script_writes_the_table_and_figure_s5(tmp_path):
    root = tmp_path / "models"
    for synapse, network, depth, width, window, auc, ev in (
            ("NMDA", "FCN", 1, 128, 43, 0.90, 85.0), ("NMDA", "TCN", 3, 64, 100, 0.95, 90.0),
            ("NMDA", "TCN", 7, 128, 153, 0.99, 94.0), ("NMDA", "TCN", 5, 256, 300, 0.995, 95.0),
            ("AMPA", "FCN", 1, 128, 43, 0.985, 95.0), ("AMPA", "TCN", 4, 64, 120, 0.99, 96.0),
            ("AMPA_SK", "FCN", 1, 128, 46, 0.97, 93.0)):
        write_result(root, name_of(synapse, network, depth, width, window, depth), split="test", synapse=synapse,
                     network=network, depth=depth, width=width, window=window, auc=auc, explained_variance=ev,
                     run=f"{network}{depth}")
    out, figures = tmp_path / "best", tmp_path / "figures"
    result = run_script("test_accuracy_vs_complexity.py", "--models-dir", str(root), "--out-dir", str(out),
                        "--figures-dir", str(figures), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    table = ms.read_table(out / "best_results_test.csv")
    assert len(table) == 7 and list(table[0])[:5] == ms.TEST_COLUMNS[:5]
    assert [row["biophysical_model_type"] for row in table] == ["AMPA", "AMPA", "AMPA_SK"] + ["NMDA"] * 4
    row = next(r for r in table if r["NN_depth"] == 7)
    assert row["spikes AUC mean of subsets"] == pytest.approx(0.99)
    assert row["spikes AUC std of subsets"] == pytest.approx(0.001 * np.linspace(-1, 1, 12).std())
    assert (figures / "figureS5_accuracy_vs_complexity.png").is_file()
    assert (figures / "figureS5_accuracy_vs_complexity.pdf").is_file()
    assert len(list(figures.glob("test_vs_*.png"))) == 7
    assert json.loads((out / "best_results_test.json").read_text())["num_plotted"] == 6  # T = 300 left out


@pytest.mark.parametrize("script", ["valid_fitting_results_exploration.py", "test_accuracy_vs_complexity.py"])
def test_no_results_is_one_line_and_exit_status_2(script, tmp_path):
    (tmp_path / "empty").mkdir()
    result = run_script(script, "--models-dir", str(tmp_path / "empty"), "--out-dir", str(tmp_path / "out"),
                        "--figures-dir", str(tmp_path / "figures"), cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{script}: error: no evaluation results"), result.stderr
    assert "evaluate_CNN_" in lines[0] and "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_results_all_dropped_by_the_thresholds_is_a_user_error(tmp_path):
    write_result(tmp_path / "models", name_of("NMDA", "TCN", 3, 64, 100, 1), samples=1000)
    result = run_script("valid_fitting_results_exploration.py", "--models-dir", str(tmp_path / "models"),
                        "--out-dir", str(tmp_path / "out"), "--figures-dir", str(tmp_path / "figures"), cwd=tmp_path)
    assert result.returncode == 2 and "--min-train-samples" in result.stderr and "Traceback" not in result.stderr
