"""The evaluation maths of §11: metrics against sklearn, operating points, cross-correlation, full traces."""
import numpy as np
import pytest
import scipy.stats
import sklearn.metrics

from neuron_as_dnn.evaluation import metrics as ev


@pytest.fixture(scope="module")
def noisy_predictions():
    rng = np.random.default_rng(0)
    y_spikes = (rng.random((20, 500)) < 0.01).astype(float)
    scores = np.clip(0.6 * y_spikes + 0.5 * rng.random(y_spikes.shape), 0, 1)
    y_soma = rng.normal(-65, 4, size=y_spikes.shape)
    soma_hat = y_soma + rng.normal(0.3, 1.0, size=y_spikes.shape)
    return y_spikes, scores, y_soma, soma_hat


def test_key_results_match_sklearn(noisy_predictions):
    y_spikes, scores, y_soma, soma_hat = noisy_predictions
    results = ev.key_results(y_spikes, scores, y_soma, soma_hat)
    assert results["AUC"] == pytest.approx(sklearn.metrics.roc_auc_score(y_spikes.ravel(), scores.ravel()))
    assert results["soma_explained_variance_percent"] == pytest.approx(
        100 * sklearn.metrics.explained_variance_score(y_soma.ravel(), soma_hat.ravel()))
    assert results["soma_RMSE"] == pytest.approx(
        np.sqrt(sklearn.metrics.mean_squared_error(y_soma.ravel(), soma_hat.ravel())))
    assert results["soma_MAE"] == pytest.approx(sklearn.metrics.mean_absolute_error(y_soma.ravel(), soma_hat.ravel()))
    for fp in ev.DESIRED_FP_LIST:
        assert {ev.tp_key(fp), ev.tp_key(fp) + " (nearest vertex)", "AUC @ %.4f FP" % fp} <= set(results)
    assert results["D_prime"] == pytest.approx(np.sqrt(2) * scipy.stats.norm.ppf(results["AUC"]))


def test_perfect_and_random_classifiers():
    y = np.zeros((4, 1000))
    y[:, ::50] = 1
    perfect = ev.key_results(y, y * 0.9 + 0.05, y, y)
    assert perfect["AUC"] == 1.0 and perfect["TP @ 0.0020 FP"] == 1.0
    assert perfect["AUC @ 0.0100 FP"] == pytest.approx(1.0, abs=1e-3)
    assert perfect["soma_explained_variance_percent"] == 100.0 and perfect["soma_RMSE"] == 0.0
    fpr = tpr = np.linspace(0, 1, 101)
    # On the chance diagonal, (1/f)∫₀ᶠ TPR dFPR = f/2.
    assert ev.normalised_partial_auc(fpr, tpr, 0.1) == pytest.approx(0.05, rel=0.01)


def test_interpolated_operating_point_on_a_constructed_roc():
    fpr = np.array([0.0, 0.0, 0.1, 0.1, 0.5, 1.0])
    tpr = np.array([0.0, 0.2, 0.4, 0.8, 0.9, 1.0])
    thresholds = np.array([np.inf, 0.9, 0.7, 0.6, 0.3, 0.0])
    assert ev.interpolated_tpr(fpr, tpr, 0.05) == pytest.approx(0.3)
    assert ev.interpolated_tpr(fpr, tpr, 0.1) == pytest.approx(0.8)      # top of the vertical run
    assert ev.interpolated_tpr(fpr, tpr, 0.3) == pytest.approx(0.85)
    assert ev.interpolated_tpr(fpr, tpr, 1.0) == pytest.approx(1.0)
    point = ev.operating_point(fpr, tpr, thresholds, 0.05)
    assert point.true_positive_rate == pytest.approx(0.3)
    assert (point.threshold, point.threshold_fpr, point.threshold_tpr) == (0.9, 0.0, 0.2)
    # The original takes the nearest vertex: |0 − 0.05| = |0.1 − 0.05| ties, argmin picks the first (index ≥ 1).
    assert point.nearest_vertex_tpr == pytest.approx(0.2)
    assert ev.operating_point(fpr, tpr, thresholds, 0.09).nearest_vertex_tpr == pytest.approx(0.4)


def test_operating_point_threshold_respects_the_fp_rate():
    rng = np.random.default_rng(1)
    negatives, positives = rng.random(5000), rng.random(50) * 0.3 + 0.7
    y = np.r_[np.zeros(5000), np.ones(50)]
    scores = np.r_[negatives, positives]
    fpr, tpr, thresholds = ev.roc_curve(y, scores)
    point = ev.operating_point(fpr, tpr, thresholds, 0.002)
    assert np.mean(negatives > point.threshold) <= 0.002
    assert np.mean(negatives >= point.threshold) == pytest.approx(point.threshold_fpr)
    assert np.mean(positives >= point.threshold) == pytest.approx(point.threshold_tpr)
    assert point.threshold_tpr <= point.true_positive_rate


def test_cross_correlation_with_a_known_lag():
    rng = np.random.default_rng(2)
    gt = np.zeros((10, 2000), dtype=bool)
    for trace in gt:
        trace[rng.choice(np.arange(100, 1900, 130), size=12, replace=False)] = True  # ≥ 130 ms apart
    shifted = np.roll(gt, 3, axis=1)
    curve = ev.spike_cross_correlation(gt, shifted, half_window_ms=50)
    assert curve.shape == (101,) and curve.sum() == pytest.approx(1.0)
    assert np.argmax(curve) == 50 + 3
    assert ev.cross_correlation_area(curve, 10) == pytest.approx(1.0)
    assert ev.cross_correlation_area(ev.spike_cross_correlation(gt, np.roll(gt, -20, axis=1)), 10) == 0.0
    # Half the predictions 3 ms late, half 20 ms early: half the mass within ±10 ms.
    half = shifted.copy()
    half[:5] = np.roll(gt[:5], -20, axis=1)
    curve = ev.spike_cross_correlation(gt, half)
    assert curve[53] == pytest.approx(0.5) and curve[30] == pytest.approx(0.5)
    assert ev.cross_correlation_area(curve, 10) == pytest.approx(0.5)


def test_cross_correlation_pads_the_trace_ends():
    gt = np.zeros((1, 100), dtype=bool)
    gt[0, [0, 99]] = True
    predicted = np.zeros_like(gt)
    predicted[0, [2, 97]] = True
    curve = ev.spike_cross_correlation(gt, predicted, half_window_ms=5)
    assert curve[5 + 2] == pytest.approx(0.5) and curve[5 - 2] == pytest.approx(0.5)
    assert not ev.spike_cross_correlation(gt, np.zeros_like(gt)).any()


def causal_toy_model(receptive_field):
    """Causal moving sums over the last ``receptive_field`` ms (two outputs, like the networks' two heads)."""
    def predict(inputs):
        padded = np.pad(inputs, ((0, 0), (receptive_field, 0), (0, 0)))
        cumulative = np.cumsum(padded, axis=1)
        moving = cumulative[:, receptive_field:] - cumulative[:, :-receptive_field]
        return [moving.sum(axis=2, keepdims=True), 2 * moving[..., :1]]
    return predict


@pytest.mark.parametrize("duration, window, overlap", [(6000, 500, 120), (1000, 300, 80), (250, 300, 100)])
def test_overlapping_windows_equal_a_single_causal_pass(duration, window, overlap):
    rng = np.random.default_rng(3)
    inputs = rng.random((3, duration, 4))
    predict = causal_toy_model(receptive_field=60)
    windowed = ev.predict_with_overlapping_windows(predict, inputs, window, overlap)
    full = ev.predict_single_causal_pass(predict, inputs)
    assert len(windowed) == 2
    for windowed_output, full_output in zip(windowed, full):
        assert windowed_output.shape == full_output.shape == (3, duration, 1)
        np.testing.assert_allclose(windowed_output, full_output, rtol=1e-10, atol=1e-9)


def test_too_small_overlap_loses_context_after_the_first_window():
    inputs = np.random.default_rng(4).random((2, 1000, 1))
    predict = causal_toy_model(receptive_field=60)
    windowed = ev.predict_with_overlapping_windows(predict, inputs, window=200, overlap=20)[0]
    full = ev.predict_single_causal_pass(predict, inputs)[0]
    np.testing.assert_allclose(windowed[:, :200], full[:, :200])
    assert not np.allclose(windowed[:, 200:], full[:, 200:])
    assert ev.num_overlapping_windows(6000, 500, 120) == 16


def test_filters_and_calibration():
    y_spikes = np.zeros((3, 1000))
    y_spikes[0, [100, 700]] = 1
    y_spikes[1, 600:630] = 1
    other = np.arange(3000.0).reshape(3, 1000)
    kept = ev.filter_simulations([y_spikes, other], y_spikes, count_range=(0, 24))
    assert kept[0].shape == (2, 500)
    np.testing.assert_array_equal(kept[1][:, 0], [500.0, 2500.0])
    assert ev.filter_simulations([other], y_spikes, None, ignore_time_before_ms=0)[0].shape == (3, 1000)
    results = ev.filter_results(y_spikes, y_spikes, other, {"uncalibrated": other}, (0, 24))
    assert results["num_simulations"] == 2 and results["uncalibrated"]["AUC"] == pytest.approx(1.0)
    gt = np.random.default_rng(5).normal(-65, 3, size=(4, 100))
    calibrated = ev.calibrate_soma_prediction(0.1 * gt + 7, gt)
    assert calibrated.mean() == pytest.approx(gt.mean()) and calibrated.std() == pytest.approx(gt.std())


# ---------------------------------------------------------------------------------------------------------
# Known answers: perfect, constant, random and time-shifted predictions
# ---------------------------------------------------------------------------------------------------------

def spike_trains(num_sims=6, duration=3000, every=97, seed=6):
    rng = np.random.default_rng(seed)
    y = np.zeros((num_sims, duration), dtype=bool)
    for trace in y:
        trace[rng.choice(np.arange(20, duration - 20, every), size=15, replace=False)] = True  # ≥ 97 ms apart
    return y


def test_perfect_predictions():
    y = spike_trains()
    soma = np.sin(np.arange(y.size).reshape(y.shape) / 40.0)
    results = ev.key_results(y, y.astype(float), soma, soma)
    assert results["AUC"] == 1.0 and results["D_prime"] == np.inf
    assert all(results[ev.tp_key(fp)] == 1.0 for fp in ev.DESIRED_FP_LIST)
    assert results["soma_explained_variance_percent"] == 100.0
    assert results["soma_RMSE"] == 0.0 and results["soma_MAE"] == 0.0


def test_constant_predictions():
    y = spike_trains()
    soma = np.random.default_rng(7).normal(-65.0, 3.0, y.shape)
    results = ev.key_results(y, np.full(y.shape, 0.3), soma, np.full(y.shape, -60.0))
    # one threshold: the ROC is the chance diagonal, so the interpolated TP rate equals the FP rate ...
    assert results["AUC"] == pytest.approx(0.5) and results["D_prime"] == pytest.approx(0.0)
    for fp in ev.DESIRED_FP_LIST:
        assert results[ev.tp_key(fp)] == pytest.approx(fp)
        # ... while the original's nearest vertex (forced to index >= 1) is the (1, 1) corner
        assert results[ev.tp_key(fp) + " (nearest vertex)"] == 1.0
    assert results["soma_explained_variance_percent"] == pytest.approx(0.0, abs=1e-9)
    assert results["soma_RMSE"] == pytest.approx(np.sqrt(np.mean((soma + 60.0) ** 2)))
    assert results["soma_MAE"] == pytest.approx(np.mean(np.abs(soma + 60.0)))


def test_random_predictions_agree_with_sklearn():
    rng = np.random.default_rng(8)
    y = spike_trains()
    scores = rng.random(y.shape)
    soma = rng.normal(-65.0, 3.0, y.shape)
    soma_hat = rng.normal(-65.0, 3.0, y.shape)
    results = ev.key_results(y, scores, soma, soma_hat)
    assert results["AUC"] == pytest.approx(sklearn.metrics.roc_auc_score(y.ravel(), scores.ravel()))
    assert results["AUC"] == pytest.approx(0.5, abs=0.05)
    fpr, tpr, _ = sklearn.metrics.roc_curve(y.ravel(), scores.ravel())
    for fp in ev.DESIRED_FP_LIST:
        assert results[ev.tp_key(fp)] == pytest.approx(np.interp(fp, fpr, tpr), abs=1e-12)
    # independent noise of the same variance: 1 - Var(a - b) / Var(a) = 1 - 2 = -100 %
    assert results["soma_explained_variance_percent"] == pytest.approx(
        100 * sklearn.metrics.explained_variance_score(soma.ravel(), soma_hat.ravel()))
    assert results["soma_explained_variance_percent"] == pytest.approx(-100.0, abs=5.0)
    assert results["soma_RMSE"] == pytest.approx(
        np.sqrt(sklearn.metrics.mean_squared_error(soma.ravel(), soma_hat.ravel())))


def test_time_shifted_predictions():
    y = spike_trains()
    shift, period = 5, 100
    late = np.roll(y, shift, axis=1)
    # no predicted spike hits a true one: positives all score 0, a fraction q of the negatives score 1,
    # so the ROC runs (0, 0) -> (q, 0) -> (1, 1) and its area is (1 - q) / 2
    q = late.sum() / (~y).sum()
    results = ev.key_results(y, late.astype(float), y, y)
    assert results["AUC"] == pytest.approx((1 - q) / 2)
    assert results["AUC"] == pytest.approx(sklearn.metrics.roc_auc_score(y.ravel(), late.ravel()))
    # a sinusoid and its copy k ms late, whole periods: Var(a - b) / Var(a) = 4 sin²(πk/P)
    t = np.arange(30 * period)
    soma = np.tile(np.sin(2 * np.pi * t / period), (3, 1))
    soma_late = np.roll(soma, shift, axis=1)
    soma_metrics = ev.soma_results(soma, soma_late)
    assert soma_metrics["soma_explained_variance_percent"] == pytest.approx(
        100 * (1 - 4 * np.sin(np.pi * shift / period) ** 2))
    assert soma_metrics["soma_RMSE"] == pytest.approx(np.sqrt(2) * np.sin(np.pi * shift / period))


@pytest.mark.parametrize("shift", [-7, 0, 4])
def test_cross_correlation_of_a_shifted_prediction_peaks_at_the_shift(shift):
    y = spike_trains(duration=20000)  # sparse enough that the late spikes stay under the 0.002 FP rate
    probability = np.roll(y, shift, axis=1) * 0.9 + 0.01
    xcorr = ev.spike_timing_cross_correlation(y, probability)
    offsets, curve = np.array(xcorr["offsets_ms"]), np.array(xcorr["curve"])
    assert offsets[0] == -ev.CROSS_CORRELATION_HALF_WINDOW_MS and len(offsets) == len(curve) == 101
    assert offsets[np.argmax(curve)] == shift and curve.max() == pytest.approx(1.0)


# ---------------------------------------------------------------------------------------------------------
# Filters, voltage variants, subsets, the whole evaluation
# ---------------------------------------------------------------------------------------------------------

SPIKE_COUNTS = [0, 1, 18, 19, 24, 25, 30, 31, 90, 91]


def simulations_with_spike_counts(counts=SPIKE_COUNTS, duration=6000):
    """One simulation per count, its spikes after 500 ms, plus a noisy prediction and voltages."""
    rng = np.random.default_rng(9)
    y = np.zeros((len(counts), duration), dtype=bool)
    for trace, count in zip(y, counts):
        trace[rng.choice(np.arange(600, duration, 50), size=count, replace=False)] = True
    probability = np.clip(0.5 * y + 0.6 * rng.random(y.shape), 0, 1)
    soma = rng.normal(-65.0, 3.0, y.shape)
    return y, probability, soma, soma + rng.normal(0.0, 1.0, y.shape)


def test_filters_keep_exactly_the_right_simulations():
    y, probability, soma, soma_hat = simulations_with_spike_counts()
    expected = {(0, 18): [0, 1, 18], (1, 24): [1, 18, 19, 24], (0, 24): [0, 1, 18, 19, 24],
                (0, 30): [0, 1, 18, 19, 24, 25, 30], (0, 90): [0, 1, 18, 19, 24, 25, 30, 31, 90]}
    assert sorted(expected) == sorted(ev.SPIKE_COUNT_FILTERS.values())
    for count_range, counts in expected.items():
        kept = np.flatnonzero(ev.simulations_in_spike_count_range(y, count_range))
        assert [SPIKE_COUNTS[i] for i in kept] == counts
    results = ev.all_filter_results(y, probability, soma, {"uncalibrated": soma_hat})
    for key, count_range in ev.SPIKE_COUNT_FILTERS.items():
        assert results[key]["num_simulations"] == len(expected[tuple(count_range)])
        rows = ev.simulations_in_spike_count_range(y, count_range)
        assert results[key]["uncalibrated"] == pytest.approx(
            ev.key_results(y[rows, 500:], probability[rows, 500:], soma[rows, 500:], soma_hat[rows, 500:]))


def test_an_empty_filter_is_reported_or_refused(caplog):
    y, probability, soma, soma_hat = simulations_with_spike_counts([40, 50, 60])
    variants = {"uncalibrated": soma_hat}
    with pytest.raises(ev.EmptyFilterError, match=r"headline filter .*\[0,24\].* keeps no simulation"):
        ev.all_filter_results(y, probability, soma, variants)
    with caplog.at_level("WARNING"):
        results = ev.all_filter_results(y, probability, soma, variants, main_filter=None)
    assert results["starting_at_500ms_spikes_in_[0,24]_range"] == {"num_simulations": 0, "uncalibrated": None}
    assert results["starting_at_500ms_spikes_in_[0,90]_range"]["num_simulations"] == 3
    assert "reported as empty" in caplog.text
    # simulations without any spike after 500 ms leave the ROC curve undefined: also empty
    silent = np.zeros_like(y)
    silent[:, 100] = True
    with pytest.raises(ev.EmptyFilterError, match="without an output spike"):
        ev.all_filter_results(silent, probability, soma, variants)


def test_calibrated_and_uncalibrated_voltage_of_a_scaled_prediction():
    y, probability, soma, _ = simulations_with_spike_counts()
    scaled = 0.5 * (soma - soma.mean()) + soma.mean() + 3.0  # right shape, wrong gain and offset
    evaluation = ev.evaluate_predictions(y, probability, soma, scaled)
    headline = evaluation["results"][ev.MAIN_FILTER]
    calibrated, uncalibrated = headline["calibrated"], headline["uncalibrated"]
    assert calibrated["soma_explained_variance_percent"] == pytest.approx(100.0)
    assert calibrated["soma_RMSE"] == pytest.approx(0.0, abs=1e-9)
    kept = ev.filter_simulations([soma, scaled], y, ev.SPIKE_COUNT_FILTERS[ev.MAIN_FILTER])
    assert uncalibrated == pytest.approx(ev.key_results(y[:5, 500:], probability[:5, 500:], *kept))
    assert uncalibrated["soma_RMSE"] > 2.0 and uncalibrated["soma_explained_variance_percent"] < 100.0
    spike_keys = [key for key in calibrated if not key.startswith("soma")]
    assert {key: calibrated[key] for key in spike_keys} == {key: uncalibrated[key] for key in spike_keys}
    assert set(evaluation) == {"results", "cross_correlation"}


def test_subsets_are_reproducible():
    first = ev.subset_indices(100, seed=4)
    assert len(first) == ev.NUM_SUBSETS and all(len(rows) == 67 for rows in first)
    assert all(np.array_equal(rows, np.unique(rows)) for rows in first)
    assert all(np.array_equal(a, b) for a, b in zip(first, ev.subset_indices(100, seed=4)))
    assert not all(np.array_equal(a, b) for a, b in zip(first, ev.subset_indices(100, seed=5)))
    with pytest.raises(ev.errors.UserError, match="too few"):
        ev.subset_indices(1)


def test_evaluation_with_subsets():
    y, probability, soma, soma_hat = simulations_with_spike_counts(SPIKE_COUNTS * 3)
    evaluation = ev.evaluate_predictions(y, probability, soma, soma_hat, num_subsets=3, subset_seed=2)
    assert evaluation["subset_fraction"] == ev.SUBSET_FRACTION and evaluation["subset_seed"] == 2
    assert len(evaluation["subsets"]) == 3
    again = ev.evaluate_predictions(y, probability, soma, soma_hat, num_subsets=3, subset_seed=2)
    assert again["subsets"] == evaluation["subsets"]
    calibrated = ev.calibrate_soma_prediction(soma_hat, soma)
    for subset, rows in zip(evaluation["subsets"], ev.subset_indices(len(y), 3, seed=2)):
        assert set(subset) == set(ev.SPIKE_COUNT_FILTERS)
        expected = ev.filter_results(y[rows], probability[rows], soma[rows], {"calibrated": calibrated[rows]},
                                     (0, 24))
        assert subset[ev.MAIN_FILTER]["calibrated"] == pytest.approx(expected["calibrated"])


def test_evaluation_overlap_is_the_originals():
    assert ev.evaluation_overlap(400, 153) == 154
    assert ev.evaluation_overlap(400, 43) == 150
    assert ev.evaluation_overlap(1000, 400) == 250
    assert ev.evaluation_overlap(64, 13) == 14
    assert ev.evaluation_overlap(44, 43) == 43   # a one-layer network with W = T + 1: still advances


# ---------------------------------------------------------------------------------------------------------
# Whole-trace prediction of a real (tiny) network, streamed from dataset files
# ---------------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny_network():
    """Two causal layers (T = 13 ms, W = 64 ms) with weights large enough that every output varies."""
    pytest.importorskip("keras")
    from neuron_as_dnn.learning import models

    architecture = models.make_architecture_dict([9, 5], 8, input_window_size=64, initializer_std=0.3)
    model = models.build_model(architecture, num_dvt_components=2, num_input_channels=20)
    rng = np.random.default_rng(11)
    for head in ("spikes", "somatic", "dendritic"):  # the builder starts the heads nearly constant
        kernel = model.get_layer(head).kernel
        kernel.assign(rng.normal(0.0, 0.5, tuple(kernel.shape)).astype(np.float32))
    return architecture, model


def test_single_pass_and_overlapping_windows_agree_after_the_receptive_field(tiny_network):
    from neuron_as_dnn.learning import models
    from neuron_as_dnn.evaluation import prediction

    architecture, model = tiny_network
    inputs = (np.random.default_rng(10).random((3, 700, 20)) < 0.05).astype(np.float32)
    predict = prediction.model_predict_fn(model)
    single = prediction.predict_traces(predict, inputs,
                                       prediction.prediction_settings("single_pass", architecture, 700))
    settings = prediction.prediction_settings("overlapping_windows", architecture, 700)
    assert (settings.window_ms, settings.overlap_ms) == (64, 14)
    windowed = prediction.predict_traces(predict, inputs, settings)
    receptive_field = models.receptive_field_ms(architecture)
    assert receptive_field == 13 and len(single) == len(windowed) == 3
    assert np.std(single[0]) > 1e-3 and np.std(single[1]) > 1e-3
    for one_pass, windows in zip(single, windowed):
        np.testing.assert_allclose(windows[:, receptive_field:], one_pass[:, receptive_field:], atol=1e-5)
    # too small an overlap loses context: the windows then disagree after the first one
    short = prediction.PredictionSettings("overlapping_windows", 64, 4)
    assert not np.allclose(prediction.predict_traces(predict, inputs, short)[1][:, 64:], single[1][:, 64:], atol=1e-5)


def test_predictions_streamed_from_files_with_their_ground_truth(tiny_network, tmp_path):
    from neuron_as_dnn.data import dataset, synthetic_data
    from neuron_as_dnn.evaluation import prediction

    architecture, model = tiny_network
    folder = tmp_path / "L5PC_NMDA_test"
    for seed, count in ((1, 3), (2, 2)):
        params, sims = synthetic_data.make_synthetic_experiment(count, 800, num_segments=10, with_dvt=False, seed=seed)
        dataset.write_experiment_file(folder / dataset.dataset_file_name(params), params, sims)
    data = prediction.open_evaluation_data(folder, cache_dir=tmp_path / "cache")
    assert (data.num_simulations, data.duration_ms, data.num_channels, data.synapse_type) == (5, 800, 20, "NMDA")
    settings = prediction.prediction_settings("single_pass", architecture, data.duration_ms)
    streamed = prediction.predict_data(model, data, settings, batch_size=2, progress=False)
    tensors = [dataset.canonical_tensors(dataset.read_experiment_file(path)) for path in data.files]
    expected_outputs = [prediction.model_predict_fn(model)(t.X.astype(np.float32)) for t in tensors]
    np.testing.assert_array_equal(streamed.y_spike, np.concatenate([t.y_spike for t in tensors]))
    np.testing.assert_allclose(streamed.y_soma_mV, np.concatenate([t.y_soma for t in tensors]) + dataset.SOMA_BIAS_MV,
                               atol=1e-4)
    assert streamed.y_soma_mV.max() <= dataset.SOMA_CLIP_MV
    np.testing.assert_allclose(streamed.spike_probability,
                               np.concatenate([out[0][..., 0] for out in expected_outputs]), atol=1e-6)
    np.testing.assert_allclose(streamed.soma_prediction_mV,
                               np.concatenate([out[1][..., 0] for out in expected_outputs]) + dataset.SOMA_BIAS_MV,
                               atol=1e-4)
    assert streamed.dendritic_prediction.shape == (5, 800, 2) and streamed.dendritic_prediction.dtype == np.float16
    rows = [(file, sim) for file, count in enumerate(data.num_simulations_per_file) for sim in range(count)]
    assert sorted(data.num_simulations_per_file) == [2, 3]
    assert list(zip(streamed.file_index, streamed.simulation_index)) == rows

    path = streamed.save(tmp_path / "predictions" / "x__test.npz")
    loaded = prediction.Predictions.load(path)
    assert loaded.settings == settings and list(loaded.files) == [str(p.resolve()) for p in data.files]
    for name in ("spike_probability", "soma_prediction_mV", "dendritic_prediction", "y_spike", "y_soma_mV"):
        assert getattr(loaded, name).dtype == getattr(streamed, name).dtype
        np.testing.assert_array_equal(getattr(loaded, name), getattr(streamed, name))
    assert not list(path.parent.glob(".*"))  # written atomically: no temporary file left


def test_data_mistakes_are_user_errors(tmp_path):
    from neuron_as_dnn import errors
    from neuron_as_dnn.data import dataset, synthetic_data
    from neuron_as_dnn.evaluation import prediction

    with pytest.raises(errors.MissingFileError, match="does not exist"):
        prediction.open_evaluation_data(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(errors.MissingFileError, match="no dataset files"):
        prediction.open_evaluation_data(tmp_path / "empty")
    for duration in (400, 900):
        params, sims = synthetic_data.make_synthetic_experiment(1, duration, num_segments=4, with_dvt=False,
                                                                seed=duration)
        dataset.write_experiment_file(tmp_path / f"d{duration}" / dataset.dataset_file_name(params), params, sims)
    with pytest.raises(errors.UserError, match="need to be longer"):
        prediction.open_evaluation_data(tmp_path / "d400")
    (short_file,) = (tmp_path / "d400").glob("*.p")
    (tmp_path / "d900" / short_file.name).write_bytes(short_file.read_bytes())
    with pytest.raises(errors.UserError, match="differ in duration"):
        prediction.open_evaluation_data(tmp_path / "d900")
    assert prediction.data_synapse_type(tmp_path / "L5PC_AMPA_SK_valid") == "AMPA_SK"
    assert prediction.data_synapse_type(tmp_path / "L5PC_AMPA_test") == "AMPA"
    assert prediction.data_synapse_type(tmp_path / "my_data") is None
