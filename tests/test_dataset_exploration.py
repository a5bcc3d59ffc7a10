"""Dataset exploration: the statistics of a folder (neuron_as_dnn.evaluation.dataset_statistics) and the script."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from neuron_as_dnn.data import dataset
from neuron_as_dnn.data.synthetic_data import make_synthetic_experiment
from neuron_as_dnn.evaluation import dataset_statistics
from neuron_as_dnn.paths import REPO_ROOT
from neuron_as_dnn.simulation import morphology_map

DURATION_MS = 1500


@pytest.fixture(scope="module")
def data_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("L5PC_synthetic_test")
    for seed in (0, 1):
        params, simulations = make_synthetic_experiment(num_simulations=3, duration_ms=DURATION_MS, seed=seed)
        dataset.write_experiment_file(folder / f"synthetic__3_simulationRuns__1_secDuration__randomSeed_{seed}.p",
                                      params, simulations)
    return folder


@pytest.fixture(scope="module")
def folder_data(data_folder):
    return dataset_statistics.load_folder(data_folder)


def test_group_counts_match_the_dense_input(folder_data):
    events = folder_data.input_events(4)   # second file, second simulation
    groups = dataset_statistics.channel_groups(dataset.NUM_SEGMENTS)
    expected = np.stack([events[:, groups == g].sum(axis=1) for g in range(len(dataset_statistics.GROUPS))], 1)
    np.testing.assert_array_equal(folder_data.group_counts[4], expected)
    subtrees = morphology_map.segment_subtrees()
    assert list(folder_data.group_sizes) == [int((subtrees == s).sum()) for s in morphology_map.SUBTREES] * 2


def test_per_synapse_rates_are_in_hz():
    counts = np.zeros((1, 1000, 6), np.uint16)
    counts[0, ::100, 0] = 10          # 10 events every 100 ms over 10 synapses: 10 Hz per synapse
    rates = dataset_statistics.per_synapse_rates_hz(counts, np.array([10, 1, 1, 1, 1, 1]))
    assert rates[0, 0] == pytest.approx(10.0)
    assert rates[0, 1:].tolist() == [0.0] * 5


def test_output_statistics():
    stats = dataset_statistics.output_statistics([np.array([100.0, 200.0, 400.0]), np.zeros(0)], 1000)
    assert stats["output_rate_hz_mean"] == pytest.approx(1.5)
    assert stats["num_isis"] == 2
    assert stats["isi_cv_all_intervals"] == pytest.approx(np.std([100, 200]) / 150)
    assert stats["fraction_of_simulations_without_spikes"] == 0.5
    assert stats["fraction_kept_by_starting_at_500ms_spikes_in_[1,24]_range"] == 0.5


def test_representative_simulation_is_nearest_the_median_in_range():
    # median 6: 5 and 7 tie, the first wins
    assert dataset_statistics.representative_simulation([0, 40, 5, 7, 9, 3], (3, 10)) == 2
    assert dataset_statistics.representative_simulation([0, 1, 2], (3, 10)) == 2           # none in range: most


def test_summary_covers_inputs_output_voltages_and_dendrites(folder_data, tmp_path):
    summary = dataset_statistics.summarize(folder_data)
    for key in ("output_rate_hz_mean", "isi_cv_all_intervals", "input_rate_hz_exc_tuft_mean",
                "input_rate_hz_inh_basal_mean", "soma_mV_p50", "nexus_mV_mean", "dvt_correlation_with_soma_mean",
                "dvt_correlation_basal_tuft_mean"):
        assert np.isfinite(summary[key]), key
    # the synthetic generator's Poisson rates (12.5 Hz excitatory, 9.7 Hz inhibitory)
    assert summary["input_rate_hz_exc_basal_mean"] == pytest.approx(12.5, rel=0.05)
    assert summary["input_rate_hz_inh_tuft_mean"] == pytest.approx(9.7, rel=0.05)
    json_path, csv_path = dataset_statistics.write_summary(tmp_path, summary)
    assert json.loads(json_path.read_text())["num_simulations"] == 6
    assert csv_path.read_text().splitlines()[0] == "statistic,value"


def test_script_writes_figures_and_tables(data_folder, tmp_path):
    out = tmp_path / "out"
    env = dict(os.environ, MPLBACKEND="Agg", TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run([sys.executable, str(REPO_ROOT / "dataset_exploration.py"), "--data-dir", str(data_folder),
                             "--out-dir", str(out), "--seed", "3", "--log-level", "WARNING"],
                            capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "6 simulations of 2 file(s)" in result.stdout
    for name in ("input_output_example", "input_rates", "input_balance", "output_statistics",
                 "voltage_distributions", "dvt_example", "dvt_correlations"):
        assert (out / f"{name}.png").stat().st_size > 10_000, name
        assert (out / f"{name}.pdf").is_file(), name
    assert (out / "summary.csv").is_file()
    assert json.loads((out / "summary.json").read_text())["num_files"] == 2
    assert json.loads((out / "provenance.json").read_text())["params"]["seed"] == 3


def test_script_names_a_missing_folder(tmp_path):
    result = subprocess.run([sys.executable, str(REPO_ROOT / "dataset_exploration.py"), "--data-dir",
                             str(tmp_path / "nowhere")], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "does not exist" in result.stderr
