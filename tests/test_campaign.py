"""The depth campaign (neuron_as_dnn/campaign.py): its grid is the comparison it claims, its bookkeeping skips
and resumes, and at a tiny scale it runs end to end — simulation, the grid as a Slurm array and as a loop,
validation, test, tables and figures — with every stage's outputs checked."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from neuron_as_dnn import campaign, paths
from neuron_as_dnn.learning import models


def test_the_cpu_grid_compares_depths_at_one_width_with_the_same_training_for_both_types():
    scale = campaign.SCALES["cpu"]
    grid = scale.grid()
    for synapse_type in campaign.SYNAPSE_TYPES:
        own = [point for point in grid if point.synapse_type == synapse_type]
        narrow = [point for point in own if point.width == scale.width]
        assert [point.depth for point in narrow] == [1, 2, 3, 5, 7]
        assert all(point.filter_sizes[1:] == (scale.later_filter_ms,) * (point.depth - 1) for point in narrow)
        # the paper's one-hidden-layer FCN (Fig. 3), which for NMDA is also a wider point as large as the deep ones
        (fcn,) = [point for point in own if point.width != scale.width]
        assert (fcn.depth, fcn.width, fcn.filter_sizes) == (1, 128, (43,))
    nmda = [p for p in grid if p.synapse_type == "NMDA"]
    assert [(p.depth, p.width, p.filter_sizes) for p in nmda] == \
        [(p.depth, p.width, p.filter_sizes) for p in grid if p.synapse_type == "AMPA"]
    sizes = {p.name: models.count_parameters(p.architecture(scale.window_ms), 0) for p in nmda}
    assert sizes["NMDA_FCN__DxWxT_1x128x43"] > sizes["NMDA_TCN__DxWxT_3x32x71"]  # depth is not size
    # every point sees the same data and steps: only the architecture differs between training commands
    layout = campaign.Layout.of(scale, paths.REPO_ROOT / "nowhere")
    commands = [campaign.training_command(scale, layout, point, "python") for point in grid]
    shared = [command[command.index("--num-simulations-per-file"):] for command in commands]
    assert all(tail == shared[0] for tail in shared)
    assert len({point.name for point in grid}) == len(grid) == 12
    # same sizes of data for both types
    for split in ("train", "valid", "test"):
        assert len(np.atleast_1d(scale.seeds["NMDA"][split])) == len(np.atleast_1d(scale.seeds["AMPA"][split]))


def test_the_training_options_amount_to_the_recorded_number_of_epochs_and_steps():
    scale = campaign.SCALES["cpu"]
    options = list(scale.training)
    stages = options[options.index("--schedule-stage-epochs") + 1:options.index("--num-steps-multiplier")]
    multiplier = int(options[options.index("--num-steps-multiplier") + 1])
    assert scale.keras_epochs == sum(map(int, stages)) * multiplier == 12
    load = float(options[options.index("--train-file-load") + 1])
    batch = int(options[options.index("--schedule-batch-sizes") + 1])
    files = int(options[options.index("--train-files-per-epoch") + 1])
    steps_per_epoch = files * int(load * scale.simulations_per_train_file * scale.duration_sec * 1000
                                  / (batch * scale.window_ms))
    assert files == scale.num_train_files() and steps_per_epoch * scale.keras_epochs == 576


def test_multiply_adds_count_every_kernel_weight_of_the_built_model():
    keras = pytest.importorskip("keras")
    architecture = campaign.SCALES["cpu"].grid()[2].architecture(500)
    model = models.build_model(architecture, num_dvt_components=0)
    kernels = sum(int(np.prod(layer.kernel.shape)) for layer in model.layers
                  if isinstance(layer, keras.layers.Conv1D))
    assert models.count_multiply_adds(architecture, 0) == kernels
    assert models.count_parameters(architecture, 0) == models.count_trainable_parameters(model)


def test_the_network_to_ship_is_the_smallest_within_one_subset_deviation_of_the_best():
    def row(name, auc, std, parameters, synapse_type="AMPA"):
        return {"synapse type": synapse_type, "model folder": name, "test spike AUC": auc,
                "AUC std of subsets": std, "parameters": parameters}

    rows = [row("deep", 0.980, 0.004, 150_000), row("medium", 0.977, 0.005, 80_000),
            row("shallow", 0.970, 0.006, 40_000), row("nmda", 0.99, 0.001, 10, "NMDA")]
    assert campaign.smallest_within_one_std(rows, "AMPA")["model folder"] == "medium"
    rows[0]["AUC std of subsets"] = 0.012
    assert campaign.smallest_within_one_std(rows, "AMPA")["model folder"] == "shallow"
    assert campaign.smallest_within_one_std(rows, "AMPA_SK") is None


def test_a_grid_point_outside_the_grid_is_one_line(capsys, tmp_path):
    with pytest.raises(SystemExit) as stopped:
        campaign.main(["--scale", "tiny", "--grid-point", "99", "--root", str(tmp_path)])
    assert stopped.value.code == 2
    (err,) = capsys.readouterr().err.strip().splitlines()
    assert "--grid-point 99" in err and "--list" in err


def test_an_unwritable_root_is_one_line_before_any_work(capsys, tmp_path):
    (tmp_path / "root").write_text("a file")
    with pytest.raises(SystemExit) as stopped:
        campaign.main(["--scale", "tiny", "--root", str(tmp_path / "root" / "below")])
    assert stopped.value.code == 2
    (err,) = capsys.readouterr().err.strip().splitlines()
    assert "--root" in err and "is a file" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["root"]


def test_the_slurm_array_index_chooses_the_grid_point(monkeypatch):
    monkeypatch.setenv("SLURM_ARRAY_TASK_ID", "3")
    assert campaign.parse_arguments(["--scale", "tiny"]).grid_point == 3
    assert campaign.parse_arguments(["--scale", "tiny", "--only", "figures"]).grid_point is None


def _campaign(root, *arguments, env=None):
    completed = subprocess.run([sys.executable, "-m", "neuron_as_dnn.campaign", "--scale", "tiny", "--root",
                                str(root), *arguments], cwd=paths.REPO_ROOT, capture_output=True, text=True,
                               env=dict(os.environ, **(env or {})))
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    return completed.stdout


@pytest.mark.xdist_group("campaign")
def test_the_tiny_campaign_runs_end_to_end_as_an_array_and_resumes(tmp_path):
    scale = campaign.SCALES["tiny"]
    layout = campaign.Layout.of(scale, tmp_path)
    grid = scale.grid()

    out = _campaign(tmp_path, "--only", "simulate", "--workers", "1")
    assert out.count("$ python simulate_L5PC_and_create_dataset.py") == 6
    for synapse_type in campaign.SYNAPSE_TYPES:
        for split in ("train", "valid", "test"):
            assert len(list(layout.dataset(synapse_type, split).glob("*.p"))) == 1

    # two grid points as two tasks of a Slurm job array, then the loop skips them and does the others
    for index in (0, 2):
        out = _campaign(tmp_path, env={"SLURM_ARRAY_TASK_ID": str(index)})
        assert f"grid point {index}: {grid[index].name}" in out and "$ python fit_CNN.py" in out
    out = _campaign(tmp_path, "--only", "grid")
    for index, point in enumerate(grid):
        assert (f"train {point.name}: done before, skipped" in out) == (index in (0, 2))

    out = _campaign(tmp_path, "--only", "figures")
    for point in grid:
        (run,) = campaign.ModelFolder.find_all(layout.point(point))
        assert len(run.history["val_spikes_auc"]) == scale.keras_epochs
        assert all(run.results_path(c.name, "valid").is_file() for c in run.checkpoints())
        assert len(run.result_files("test")) == 1
    costs = json.loads((layout.models / campaign.COSTS_FILE).read_text())
    for point in grid:
        for step in ("train", "validate", "test"):
            assert costs[f"{step} {point.name}"]["cpu_seconds"] > 0
    assert {f"simulate {t} {s} seed" for t in campaign.SYNAPSE_TYPES for s in ("train", "valid", "test")} == \
        {key.rsplit(" ", 1)[0] for key in costs if key.startswith("simulate")}
    rows = campaign.results(scale, layout)
    assert [(row["synapse type"], row["depth"]) for row in rows] == [(p.synapse_type, p.depth) for p in grid]
    for row in rows:
        assert 0 <= row["test spike AUC"] <= 1 and row["AUC std of subsets"] >= 0
        assert row["training steps"] > 0 and row["training CPU s"] > 0
        assert row["multiply-adds per ms"] < row["parameters"]
    table = (layout.models / f"{campaign.RESULTS_NAME}.md").read_text()
    assert table.count("\n| NMDA |") == table.count("\n| AMPA |") == len(scale.depths)
    assert "CPU-hours" in table
    assert (layout.models / f"{campaign.RESULTS_NAME}.csv").read_text().count("\n") == len(grid) + 1
    for name in ("figureS5_accuracy_vs_complexity", campaign.DEPTH_FIGURE_NAME):
        assert (layout.figures / f"{name}.png").stat().st_size > 10_000
        assert (layout.figures / f"{name}.pdf").is_file()
    assert list((layout.figures / "figure3_AMPA").glob("*.png"))
    assert (layout.models / "selection" / "best_results_valid.csv").is_file()

    # a rerun has nothing left to do
    out = _campaign(tmp_path)
    assert "$ python" not in out and out.count("done before, skipped") == 6 + 3 * len(grid) + 3


def test_two_points_at_a_time_each_log_their_output_and_record_their_cost(tmp_path, monkeypatch):
    """--jobs 2: the points' steps run concurrently in processes with half the cores each, their output in
    logs/<point>.log, their CPU time in the costs record; a step whose output is there is skipped."""
    scale = campaign.SCALES["tiny"]
    layout = campaign.Layout.of(scale, tmp_path)
    layout.models.mkdir(parents=True)

    def fake_steps(scale, layout, point, python):
        marker = tmp_path / f"{point.name}.done"
        code = ("import os, pathlib, sys, time; t = time.process_time()\n"
                "while time.process_time() - t < 0.3: pass\n"
                "print('threads', os.environ['TF_NUM_INTRAOP_THREADS'])\n"
                "pathlib.Path(sys.argv[1]).write_text('')")
        return [campaign.Step(f"train {point.name}", f"train {point.name}",
                              lambda: [python, "-c", code, str(marker)], marker.is_file)]

    monkeypatch.setattr(campaign, "point_steps", fake_steps)
    costs = campaign.Costs(layout.models / campaign.COSTS_FILE)
    points = scale.grid()[:2]
    campaign.run_points(points, scale, layout, sys.executable, costs, jobs=2)
    threads = str(max(1, (os.cpu_count() or 1) // 2))
    for point in points:
        assert (layout.models / "logs" / f"{point.name}.log").read_text().strip() == f"threads {threads}"
        assert costs.entries[f"train {point.name}"]["cpu_seconds"] >= 0.2
    assert json.loads((layout.models / campaign.COSTS_FILE).read_text()).keys() == costs.entries.keys()
    # everything done: a second pass runs nothing
    campaign.run_points(points, scale, layout, sys.executable, campaign.Costs(tmp_path / "other.json"), jobs=2)
    assert not (tmp_path / "other.json").exists()
