"""The shared panels and the figure functions, on small synthetic inputs (Agg, no training, a few seconds)."""
import os
import subprocess
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from neuron_as_dnn.data import dataset, synthetic_data
from neuron_as_dnn.evaluation import metrics  # noqa: E402
from neuron_as_dnn.figures import panels, style  # noqa: E402
from neuron_as_dnn.figures import simulation as simulation_figures  # noqa: E402
from neuron_as_dnn.integrate_and_fire import neuron as iaf  # noqa: E402
from neuron_as_dnn.integrate_and_fire import figures as if_figures  # noqa: E402
from neuron_as_dnn.paths import REPO_ROOT  # noqa: E402


def synthetic_figure_data(num_sims: int = 5, duration_ms: int = 2500, seed: int = 0):
    """Real I&F ground truth with a noisy stand-in for the network's predictions."""
    neuron = iaf.IntegrateAndFireNeuron()
    rng = np.random.default_rng(seed)
    inputs = np.stack([iaf.IntegrateAndFireInputStatistics().generate(neuron, duration_ms, rng).stacked()
                       for _ in range(num_sims)])
    y_spikes, y_soma = iaf.simulate_integrate_and_fire(inputs, neuron)
    spike_probability = np.clip(0.7 * y_spikes + 0.1 * rng.random(y_spikes.shape) ** 4, 0, 1).astype(np.float32)
    soma_prediction = (y_soma + rng.normal(0, 1.5, y_soma.shape)).astype(np.float32)
    fpr, tpr, thresholds = metrics.roc_curve(y_spikes, spike_probability)
    point = metrics.operating_point(fpr, tpr, thresholds, 0.002)
    decay = np.exp(-np.arange(80)[::-1] / 20.0)
    filter_weights = np.concatenate([np.tile(decay, (80, 1)), -0.6 * np.tile(decay, (20, 1))]) \
        + 0.05 * rng.standard_normal((100, 80))
    losses = list(np.linspace(1, 0.1, 12))
    history = dict(spikes_loss=losses, val_spikes_loss=losses, soma_loss=losses, val_soma_loss=losses,
                   window_start=list(range(12)), steps_per_subset=10)
    params = dict(num_exc_synapses=80, membrane_time_const_ms=20.0, v_threshold=-55.0, v_reset=-75.0,
                  zoom_fraction=[0.3, 0.55], num_scatter_points=3000, seed=1, xcorr_area_half_width_ms=10)
    example = if_figures.choose_example_trace(y_spikes, None)
    return if_figures.IntegrateAndFireFigureData(
        params=params, metrics=dict(spike_AUC=0.99, soma_explained_variance_percent=80.0), history=history,
        filter_weights=filter_weights, fpr=fpr, tpr=tpr,
        operating_index=int(np.searchsorted(fpr, point.threshold_fpr, side="right")) - 1,
        spike_threshold=point.threshold, xcorr=metrics.spike_cross_correlation(y_spikes, spike_probability
                                                                                  > point.threshold),
        y_spikes=y_spikes, y_soma=y_soma, spike_probability=spike_probability, soma_prediction=soma_prediction,
        example_trace=example, example_inputs=inputs[example], train_examples=inputs[:2, :, :1000],
        test_examples=inputs[2:4, :, :1000])


@pytest.fixture(scope="module")
def data():
    return synthetic_figure_data()


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture
def ax():
    return plt.subplots()[1]


def test_style_context_sets_and_restores_the_rc():
    before = matplotlib.rcParams["axes.labelsize"]
    with style.context():
        assert matplotlib.rcParams["axes.labelsize"] == style.LABEL_SIZE
        assert not matplotlib.rcParams["axes.spines.top"]
    assert matplotlib.rcParams["axes.labelsize"] == before


def test_input_raster_puts_excitation_on_top(ax):
    inputs = np.zeros((5, 50), dtype=bool)
    inputs[0, 10] = inputs[3, 20] = inputs[4, 30] = True
    panels.plot_input_raster(ax, panels.raster_events(inputs[:3]), panels.raster_events(inputs[3:]), 3, 2,
                             time_range=(0, 50), legend=True)
    exc, inh = ax.collections
    np.testing.assert_array_equal(exc.get_offsets(), [[10, 0]])
    np.testing.assert_array_equal(inh.get_offsets(), [[20, 3], [30, 4]])
    assert ax.get_ylim() == (4.5, -0.5)  # row 0 at the top
    assert matplotlib.colors.same_color(exc.get_edgecolor()[0], style.EXCITATORY)
    assert matplotlib.colors.same_color(inh.get_edgecolor()[0], style.INHIBITORY)


def test_roc_marks_the_vertex_itself(ax, data):
    index = data.operating_index
    inset = panels.plot_roc(ax, data.fpr, data.tpr, point_index=index, auc=0.99)
    marker = inset.lines[-1]
    assert marker.get_xdata()[0] == data.fpr[index] and marker.get_ydata()[0] == data.tpr[index]
    assert ax.get_title() == "AUC = 0.9900"
    ax.clear()
    assert panels.plot_roc(ax, data.fpr, data.tpr, point_index=3, inset_fpr_max=None) is None
    assert ax.lines[-1].get_xdata()[0] == data.fpr[3] and ax.lines[-1].get_ydata()[0] == data.tpr[3]


def test_cross_correlation_is_drawn_in_hz(ax):
    curve = np.zeros(21)
    curve[10], curve[12] = 0.75, 0.25
    panels.plot_cross_correlation(ax, curve, area_half_width_ms=1)
    np.testing.assert_allclose(ax.lines[0].get_ydata(), 1000 * curve)
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), np.arange(-10, 11))
    assert ax.get_ylabel() == "spike rate (Hz)" and ax.get_title() == "75.0 % within ±1 ms"


def test_voltage_scatter_identity_line_and_ticks(ax, data):
    panels.plot_voltage_scatter(ax, data.y_soma, data.soma_prediction, num_points=500, seed=0)
    low, high = ax.get_xlim()
    np.testing.assert_allclose(ax.lines[0].get_xydata(), [[low, low], [high, high]])
    ticks = ax.get_xticks()
    assert len(ax.collections[0].get_offsets()) == 500
    assert len(ticks) and np.all((ticks + 56) % 5 == 0) and low <= ticks.min() and ticks.max() <= high


def test_voltage_traces_draw_spikes(ax):
    voltage = np.full(10, -70.0)
    spikes = np.zeros(10, dtype=bool)
    spikes[4] = True
    panels.plot_voltage_traces(ax, np.arange(10), voltage, voltage + 1, spikes, None, spike_mv=30)
    gt, prediction = ax.lines
    assert gt.get_ydata()[4] == 30 and prediction.get_ydata()[4] == -69
    assert prediction.get_linestyle() == ":"
    assert matplotlib.colors.same_color(gt.get_color(), style.GROUND_TRUTH)


def test_trace_with_zoom_scale_bars_and_filter_panels(data):
    axes = plt.subplots(4, 1)[1]
    trace = data.example_trace
    zoom = panels.zoom_range(data.y_soma.shape[1], data.params["zoom_fraction"])
    panels.plot_trace_with_zoom(axes[0], axes[1], data.y_soma[trace], data.soma_prediction[trace],
                                data.y_spikes[trace], data.predicted_spikes[trace], zoom)
    texts = {text.get_text() for ax in axes[:2] for text in ax.texts}
    assert {"600 ms", "40 mV ", "100 ms", "8 mV "} <= texts
    assert len(axes[0].patches) == 1  # the zoom box
    image = panels.plot_filter_heatmap(axes[2], data.filter_weights, 1.0)
    assert image.get_extent() == [-79.5, 0.5, 99.5, -0.5]
    panels.plot_filter_profiles(axes[3], data.filter_weights, 80)
    assert [text.get_text() for text in axes[3].get_legend().get_texts()] == ["Exc", "Inh"]


def test_schematics_draw(data):
    axes = plt.subplots(2, 1, figsize=(15, 7))[1]
    if_figures._schematics(data, axes[0], axes[1])
    assert len(axes[0].texts) > 5
    raster, filter_map = axes[1].child_axes  # real panels as icons
    assert len(raster.collections) == 2 and len(filter_map.images) == 1


def test_schematic_window_holds_the_most_spikes_with_the_first_late():
    spikes = np.zeros(3000, dtype=bool)
    spikes[[100, 1500, 1550, 1600, 2900]] = True
    window = if_figures.schematic_window(spikes, 400)
    assert window == slice(1260, 1660)
    assert if_figures.schematic_window(np.zeros(3000, dtype=bool), 400) == slice(0, 400)
    assert if_figures.schematic_window(spikes[:300], 400) == slice(0, 300)


def test_if_figures_write_png_and_pdf_with_deterministic_names(tmp_path, data):
    open_before = plt.get_fignums()
    paths = if_figures.draw_all(data, tmp_path)
    expected = {f"{name}.{ext}" for name in if_figures.FIGURES for ext in ("png", "pdf")}
    assert {path.name for path in paths} == expected == {path.name for path in tmp_path.iterdir()}
    assert all(path.stat().st_size > 5000 for path in paths)
    assert plt.get_fignums() == open_before  # closed when not shown


def test_show_keeps_the_figures_open_and_shows_them(tmp_path, data, monkeypatch):
    shown = []
    monkeypatch.setattr(if_figures, "FIGURES", {"learning_curves": if_figures.figure_learning_curves})
    monkeypatch.setattr(plt, "show", lambda: shown.append(len(plt.get_fignums())))
    if_figures.draw_all(data, tmp_path, show=True)
    assert shown == [1] and {path.name for path in tmp_path.iterdir()} == {"learning_curves.png",
                                                                          "learning_curves.pdf"}


def test_figure_data_round_trip(tmp_path, data):
    data.save(tmp_path / "predictions.npz")
    loaded = if_figures.IntegrateAndFireFigureData.load(tmp_path / "predictions.npz", data.params, data.metrics)
    for name in if_figures.ARRAY_FIELDS + if_figures.SCALAR_FIELDS:
        np.testing.assert_array_equal(getattr(loaded, name), getattr(data, name), err_msg=name)
    assert loaded.history == data.history
    np.testing.assert_array_equal(loaded.predicted_spikes, data.predicted_spikes)


def test_simulation_figure_writes_png_and_pdf(tmp_path):
    params, simulations = synthetic_data.make_synthetic_experiment(2, 500, num_segments=20, with_dvt=False, seed=3)
    for sim in simulations:
        for key in ("soma", "nexus"):
            sim[f"{key}VoltageHighRes"] = np.repeat(sim[f"{key}VoltageLowRes"], dataset.HIGH_RES_SAMPLES_PER_MS)
    path = dataset.write_experiment_file(tmp_path / "sims.p", params, simulations)
    most = int(np.argmax(params["numOutputSpikesPerSim"]))
    written = simulation_figures.plot_dataset_simulation(path, "most_spikes", tmp_path / "figures")
    assert [p.name for p in written] == [f"L5PC_simulation_{most}.png", f"L5PC_simulation_{most}.pdf"]


def test_figure_modules_leave_the_backend_to_the_caller():
    code = ("import matplotlib; import neuron_as_dnn.integrate_and_fire.figures, neuron_as_dnn.figures.simulation, "
            "neuron_as_dnn.figures.panels; print(matplotlib.get_backend())")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT, timeout=120,
                            env=dict(os.environ, MPLBACKEND="svg"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "svg"
