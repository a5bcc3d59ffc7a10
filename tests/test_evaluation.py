"""The evaluation maths of §11: metrics against sklearn, operating points, cross-correlation, full traces."""
import numpy as np
import pytest
import scipy.stats
import sklearn.metrics

from neuron_as_dnn import evaluation as ev


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
    results = ev.filtered_key_results(y_spikes, y_spikes, other, other, (0, 24))
    assert results["fraction_of_simulations_kept"] == pytest.approx(2 / 3)
    gt = np.random.default_rng(5).normal(-65, 3, size=(4, 100))
    calibrated = ev.calibrate_soma_prediction(0.1 * gt + 7, gt)
    assert calibrated.mean() == pytest.approx(gt.mean()) and calibrated.std() == pytest.approx(gt.std())
