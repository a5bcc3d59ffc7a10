"""The paper's evaluation maths (docs/evaluation.md), shared by the I&F and the L5PC stages.

- full-trace prediction, with overlapping causal windows or one full-length causal pass;
- key results: spike AUC, D′, TP rate at given FP rates, normalised partial AUC, somatic explained
  variance, RMSE and MAE. The TP rate at an FP rate is interpolated on the ROC curve; the original's
  nearest-vertex value is kept under a separate key;
- the spike-timing cross-correlation curve;
- the simulation filters and the original's oracle voltage calibration; ``evaluate_predictions`` puts
  them together: every filter, voltage metrics with and without calibration, random subsets for error bars.

Pure numpy / scikit-learn: a model enters only as a ``predict_fn`` callable.
"""
from __future__ import annotations

import dataclasses
import logging
import math
from typing import Callable, Mapping, Sequence

import numpy as np
import scipy.stats
import sklearn.metrics

from neuron_as_dnn import errors
from neuron_as_dnn.data.dataset import IGNORE_FIRST_MS as IGNORE_TIME_BEFORE_MS

log = logging.getLogger(__name__)

# The FP rates at which every key-results table reports TP rates and partial AUCs.
DESIRED_FP_LIST = (0.0001, 0.0005, 0.0010, 0.0015, 0.0020, 0.0025, 0.0050, 0.0100, 0.0200, 0.0300, 0.0400,
                   0.0500, 0.1000)

# The original's filters (key -> inclusive range of output spikes per simulation), applied from 500 ms on.
SPIKE_COUNT_FILTERS = {
    "starting_at_500ms_spikes_in_[0,18]_range": (0, 18),
    "starting_at_500ms_spikes_in_[1,24]_range": (1, 24),
    "starting_at_500ms_spikes_in_[0,24]_range": (0, 24),
    "starting_at_500ms_spikes_in_[0,30]_range": (0, 30),
    "starting_at_500ms_spikes_in_[0,90]_range": (0, 90),
}
MAIN_FILTER = "starting_at_500ms_spikes_in_[0,24]_range"

# The voltage metrics are reported twice: after the original's oracle calibration and as predicted.
VOLTAGE_VARIANTS = ("calibrated", "uncalibrated")

# The test script's error bars: 12 random subsets of int(0.67 N) simulations (the code, not its comment).
NUM_SUBSETS = 12
SUBSET_FRACTION = 0.67

CROSS_CORRELATION_FP = 0.002
CROSS_CORRELATION_HALF_WINDOW_MS = 50

PARTIAL_AUC_GRID_POINTS = 20000

PredictFn = Callable[[np.ndarray], "np.ndarray | Sequence[np.ndarray]"]


# ----------------------------------------------------------------------------------------------------------
# Full-trace prediction
# ----------------------------------------------------------------------------------------------------------
def num_overlapping_windows(duration: int, window: int, overlap: int) -> int:
    """Window count of the original, ``int(2 + (T - W)/(W - O))``: always enough to reach T."""
    return max(1, int(2 + (duration - window) / (window - overlap)))


def evaluation_overlap(window: int, receptive_field: int) -> int:
    """The original evaluation's overlap, min(max(T + 1, min(150, W − 50)), 250), kept below W so that a
    window always advances (it reaches W only for a one-layer network whose window is T + 1)."""
    return min(max(receptive_field + 1, min(150, window - 50)), 250, window - 1)


def _as_output_list(outputs) -> list[np.ndarray]:
    if isinstance(outputs, dict):
        outputs = list(outputs.values())
    if isinstance(outputs, (list, tuple)):
        return [np.asarray(output) for output in outputs]
    return [np.asarray(outputs)]


def predict_with_overlapping_windows(predict_fn: PredictFn, inputs: np.ndarray, window: int,
                                     overlap: int) -> list[np.ndarray]:
    """Predict whole traces from a model that sees ``window`` time steps (docs/evaluation.md).

    ``inputs``: (sims, time, channels). ``predict_fn`` maps (sims, window, channels) to one array or a list
    of arrays shaped (sims, window, k). Window k covers [k·stride, k·stride + W) with stride W − O, zero-padded
    past the end; window 0 fills [0, W) and every later window fills its part from offset O on. With
    O ≥ (receptive field − 1) the result equals one causal pass over the whole trace.
    Returns a list (one entry per model output) of arrays (sims, time, k).
    """
    num_sims, duration, num_channels = inputs.shape
    if not 0 <= overlap < window:
        raise ValueError(f"overlap must satisfy 0 <= overlap < window, got overlap={overlap}, window={window}")
    stride = window - overlap
    num_windows = num_overlapping_windows(duration, window, overlap)
    padded_length = (num_windows - 1) * stride + window
    padded = np.zeros((num_sims, max(padded_length, duration), num_channels), dtype=inputs.dtype)
    padded[:, :duration] = inputs
    predictions: list[np.ndarray] | None = None
    for k in range(num_windows):
        start = k * stride
        if k > 0 and start + overlap >= duration:
            break
        outputs = _as_output_list(predict_fn(padded[:, start:start + window]))
        if predictions is None:
            predictions = [np.zeros((num_sims, padded.shape[1], out.shape[-1]), dtype=out.dtype) for out in outputs]
        first = 0 if k == 0 else overlap
        for full, out in zip(predictions, outputs):
            full[:, start + first:start + window] = out[:, first:]
    return [full[:, :duration] for full in predictions]


def predict_single_causal_pass(predict_fn: PredictFn, inputs: np.ndarray) -> list[np.ndarray]:
    """Predict whole traces in one pass, for models built on inputs of any length (``Input((None, C))``)."""
    return _as_output_list(predict_fn(inputs))


# ----------------------------------------------------------------------------------------------------------
# Filters and calibration
# ----------------------------------------------------------------------------------------------------------
def simulations_in_spike_count_range(y_spikes: np.ndarray, count_range: Sequence[int]) -> np.ndarray:
    """Mask of simulations (rows) whose total output spike count over the whole trace lies in the
    inclusive range; like the original, the count includes the first 500 ms."""
    counts = np.asarray(y_spikes).sum(axis=1)
    return (counts >= count_range[0]) & (counts <= count_range[1])


def filter_simulations(arrays: Sequence[np.ndarray], y_spikes: np.ndarray, count_range: Sequence[int] | None = None,
                       ignore_time_before_ms: int = IGNORE_TIME_BEFORE_MS) -> list[np.ndarray]:
    """The original's filter on (sims, time) arrays: keep simulations in ``count_range`` and times ≥ the cut."""
    keep = np.ones(len(y_spikes), dtype=bool) if count_range is None else \
        simulations_in_spike_count_range(y_spikes, count_range)
    return [np.asarray(array)[keep, ignore_time_before_ms:] for array in arrays]


def calibrate_soma_prediction(y_soma_hat: np.ndarray, y_soma_gt: np.ndarray) -> np.ndarray:
    """The original's oracle affine calibration: z-score the prediction, then give it the ground truth's
    mean and std (over all simulations and times). Report metrics with and without it."""
    y_soma_hat = np.asarray(y_soma_hat, dtype=float)
    spread = y_soma_hat.std()
    if spread == 0:  # a constant prediction has no scale to rescale: it becomes the ground truth's mean
        return np.full_like(y_soma_hat, np.mean(y_soma_gt))
    return (y_soma_hat - y_soma_hat.mean()) / spread * np.std(y_soma_gt) + np.mean(y_soma_gt)


# ----------------------------------------------------------------------------------------------------------
# ROC, operating points, key results
# ----------------------------------------------------------------------------------------------------------
@dataclasses.dataclass
class OperatingPoint:
    """A point of the ROC curve at a requested FP rate.

    ``true_positive_rate`` is interpolated linearly between ROC vertices (the TP rate reachable by
    randomising between the two neighbouring thresholds). ``threshold`` is the vertex with the largest FP
    rate not above the request, so that ``p >= threshold`` is a deterministic classifier that respects it,
    with the rates ``threshold_fpr`` and ``threshold_tpr`` (``>`` would lose the bins scored exactly at the
    threshold, all of them for a prediction with few distinct values). ``threshold_index`` is that vertex,
    the point to mark on a drawn ROC curve; ``predicted_spikes`` is the one way to binarise a prediction.
    """

    desired_fpr: float
    true_positive_rate: float
    threshold: float
    threshold_fpr: float
    threshold_tpr: float
    nearest_vertex_tpr: float
    nearest_vertex_fpr: float
    nearest_vertex_threshold: float
    threshold_index: int

    def predicted_spikes(self, spike_probability: np.ndarray) -> np.ndarray:
        return np.asarray(spike_probability) >= self.threshold


def roc_curve(y_true: np.ndarray, y_score: np.ndarray):
    return sklearn.metrics.roc_curve(np.ravel(y_true), np.ravel(y_score))


def interpolated_tpr(fpr: np.ndarray, tpr: np.ndarray, desired_fpr: float) -> float:
    """TP rate on the ROC polyline at ``desired_fpr``; on a vertical run the top (best) value is taken."""
    above = int(np.searchsorted(fpr, desired_fpr, side="right"))
    below = above - 1  # last vertex with fpr <= desired: the top of any vertical run there
    if fpr[below] == desired_fpr or above == len(fpr):
        return float(tpr[below])
    fraction = (desired_fpr - fpr[below]) / (fpr[above] - fpr[below])
    return float(tpr[below] + fraction * (tpr[above] - tpr[below]))


def nearest_vertex_index(fpr: np.ndarray, desired_fpr: float) -> int:
    """The original's operating point: argmin |fpr − f|, forced to be ≥ 1."""
    return max(int(np.argmin(np.abs(fpr - desired_fpr))), 1)


def operating_point(fpr: np.ndarray, tpr: np.ndarray, thresholds: np.ndarray, desired_fpr: float) -> OperatingPoint:
    vertex = int(np.searchsorted(fpr, desired_fpr, side="right")) - 1
    nearest = nearest_vertex_index(fpr, desired_fpr)
    return OperatingPoint(desired_fpr=desired_fpr, true_positive_rate=interpolated_tpr(fpr, tpr, desired_fpr),
                          threshold=float(thresholds[vertex]), threshold_fpr=float(fpr[vertex]),
                          threshold_tpr=float(tpr[vertex]), nearest_vertex_tpr=float(tpr[nearest]),
                          nearest_vertex_fpr=float(fpr[nearest]), nearest_vertex_threshold=float(thresholds[nearest]),
                          threshold_index=vertex)


def normalised_partial_auc(fpr: np.ndarray, tpr: np.ndarray, desired_fpr: float) -> float:
    """The original's "AUC @ f FP": mean TP rate on a 20000-point FP grid over [0, f), ≈ (1/f)∫₀ᶠ TPR dFPR."""
    grid = np.linspace(0, 1, PARTIAL_AUC_GRID_POINTS)
    tpr_on_grid = np.interp(grid, fpr, tpr)
    last = int(np.clip(np.argmin(np.abs(grid - desired_fpr)), 1, PARTIAL_AUC_GRID_POINTS - 1))
    return float(tpr_on_grid[:last].mean())


def spike_d_prime(auc: float) -> float:
    """D′ = √2 Φ⁻¹(AUC), the exploration scripts' companion of the AUC."""
    return float(math.sqrt(2) * scipy.stats.norm.ppf(auc))


def tp_key(fp: float) -> str:
    return "TP @ %.4f FP" % fp


def spike_results(y_spikes_gt: np.ndarray, y_spikes_hat: np.ndarray,
                  desired_fp_list: Sequence[float] = DESIRED_FP_LIST) -> dict:
    """The spike half of the key results: TP rates and partial AUCs at every FP rate, AUC and D′."""
    fpr, tpr, thresholds = roc_curve(y_spikes_gt, y_spikes_hat)
    results: dict[str, float] = {}
    for fp in desired_fp_list:
        point = operating_point(fpr, tpr, thresholds, fp)
        results[tp_key(fp)] = point.true_positive_rate
        results[tp_key(fp) + " (nearest vertex)"] = point.nearest_vertex_tpr
        results["AUC @ %.4f FP" % fp] = normalised_partial_auc(fpr, tpr, fp)
    auc = float(sklearn.metrics.auc(fpr, tpr))
    results["AUC"] = auc
    results["D_prime"] = spike_d_prime(auc)
    return results


def key_results(y_spikes_gt: np.ndarray, y_spikes_hat: np.ndarray, y_soma_gt: np.ndarray, y_soma_hat: np.ndarray,
                desired_fp_list: Sequence[float] = DESIRED_FP_LIST) -> dict:
    """The original's key results on all (simulation, time) bins. ``'TP @ f FP'`` is interpolated on the
    ROC curve; ``'TP @ f FP (nearest vertex)'`` is the original's value."""
    results = spike_results(y_spikes_gt, y_spikes_hat, desired_fp_list)
    results.update(soma_results(y_soma_gt, y_soma_hat))
    return results


def soma_results(y_soma_gt: np.ndarray, y_soma_hat: np.ndarray) -> dict:
    gt, hat = np.ravel(y_soma_gt).astype(float), np.ravel(y_soma_hat).astype(float)
    return {"soma_explained_variance_percent": 100.0 * float(sklearn.metrics.explained_variance_score(gt, hat)),
            "soma_RMSE": float(np.sqrt(np.mean((gt - hat) ** 2))),
            "soma_MAE": float(np.mean(np.abs(gt - hat)))}


# ----------------------------------------------------------------------------------------------------------
# Spike timing
# ----------------------------------------------------------------------------------------------------------
def spike_cross_correlation(y_spikes_gt: np.ndarray, y_spikes_pred: np.ndarray, half_window_ms: int = 50) -> np.ndarray:
    """The original's spike-timing curve: around every ground-truth spike, the predicted (binary) spikes at
    offsets −H…H, summed over all ground-truth spikes (traces zero-padded at both ends) and normalised to sum 1.

    Index ``half_window_ms + d`` holds offset d (a predicted spike d ms after the true one). Returns zeros
    when there is no ground-truth spike or no predicted spike near one.
    """
    gt = np.atleast_2d(np.asarray(y_spikes_gt) > 0)
    pred = np.atleast_2d(np.asarray(y_spikes_pred) > 0)
    if gt.shape != pred.shape:
        raise ValueError(f"ground truth {gt.shape} and prediction {pred.shape} shapes differ")
    padded = np.pad(pred, ((0, 0), (half_window_ms, half_window_ms)))
    sims, times = np.nonzero(gt)
    offsets = np.arange(2 * half_window_ms + 1)
    counts = padded[sims[:, np.newaxis], times[:, np.newaxis] + offsets].sum(axis=0).astype(float)
    total = counts.sum()
    return counts / total if total > 0 else counts


def cross_correlation_area(curve: np.ndarray, within_ms: int = 10) -> float:
    """Mass of the cross-correlation curve within ±``within_ms`` of zero offset."""
    half_window = (len(curve) - 1) // 2
    return float(np.sum(curve[half_window - within_ms:half_window + within_ms + 1]))


def spike_timing_cross_correlation(y_spikes_gt: np.ndarray, spike_probability: np.ndarray,
                                   desired_fp: float = CROSS_CORRELATION_FP,
                                   half_window_ms: int = CROSS_CORRELATION_HALF_WINDOW_MS) -> dict:
    """The cross-correlation curve of the predictions thresholded at the ``desired_fp`` operating point,
    as ``{"offsets_ms": [-H…H], "curve": [...]}`` (the JSON shape of the evaluation results)."""
    point = operating_point(*roc_curve(y_spikes_gt, spike_probability), desired_fp)
    curve = spike_cross_correlation(y_spikes_gt, point.predicted_spikes(spike_probability), half_window_ms)
    return {"offsets_ms": list(range(-half_window_ms, half_window_ms + 1)), "curve": curve.tolist()}


# ----------------------------------------------------------------------------------------------------------
# A whole evaluation: filters x voltage variants, subsets
# ----------------------------------------------------------------------------------------------------------
class EmptyFilterError(errors.UserError, ValueError):
    """The headline filter keeps nothing that an ROC curve can be computed on."""


def subset_indices(num_simulations: int, num_subsets: int = NUM_SUBSETS, fraction: float = SUBSET_FRACTION,
                   seed: int = 0) -> list[np.ndarray]:
    """``num_subsets`` sorted random draws of int(fraction·N) simulations without replacement; the same
    seed gives the same subsets."""
    size = int(fraction * num_simulations)
    if size < 1:
        raise errors.UserError(f"{num_simulations} simulation(s) are too few for subsets of {fraction:.0%}")
    rng = np.random.default_rng(seed)
    return [np.sort(rng.choice(num_simulations, size=size, replace=False)) for _ in range(num_subsets)]


def _why_unusable(y_spikes_kept: np.ndarray) -> str | None:
    if len(y_spikes_kept) == 0:
        return "keeps no simulation"
    positives = int(np.count_nonzero(y_spikes_kept))
    if positives == 0:
        return f"keeps {len(y_spikes_kept)} simulation(s) without an output spike in the evaluated time, " \
               "so the ROC curve is undefined"
    if positives == y_spikes_kept.size:
        return "keeps only spike bins, so the ROC curve is undefined"
    return None


def _unusable_filter_message(key: str, reason: str, what: str, num_simulations: int) -> str:
    return f"filter {key} {reason} in {what} ({num_simulations} simulations)"


def check_main_filter(y_spikes: np.ndarray, main_filter: str = MAIN_FILTER,
                      filters: Mapping[str, Sequence[int]] = SPIKE_COUNT_FILTERS,
                      ignore_time_before_ms: int = IGNORE_TIME_BEFORE_MS, what: str = "the evaluation set") -> None:
    """``EmptyFilterError`` when the ground truth alone shows that the headline filter will be unusable, so
    that the evaluation can refuse before predicting anything."""
    (kept,) = filter_simulations([y_spikes], y_spikes, filters[main_filter], ignore_time_before_ms)
    reason = _why_unusable(kept)
    if reason is not None:
        raise EmptyFilterError(f"the headline {_unusable_filter_message(main_filter, reason, what, len(y_spikes))}; "
                               "evaluate on a larger data set")


def filter_results(y_spikes: np.ndarray, spike_probability: np.ndarray, y_soma: np.ndarray,
                   soma_variants: Mapping[str, np.ndarray], count_range: Sequence[int],
                   ignore_time_before_ms: int = IGNORE_TIME_BEFORE_MS,
                   desired_fp_list: Sequence[float] = DESIRED_FP_LIST) -> dict:
    """Key results of one filter for each voltage variant: ``{variant: key results, ..., "num_simulations": k}``.

    The spike metrics are shared by the variants (they do not depend on the voltage), so the ROC curve is
    computed once. A filter that leaves no usable data gives ``None`` per variant; ``reason`` says why."""
    kept_spikes, kept_probability, kept_soma, *kept_variants = filter_simulations(
        [y_spikes, spike_probability, y_soma, *soma_variants.values()], y_spikes, count_range, ignore_time_before_ms)
    outcome: dict = {"num_simulations": len(kept_spikes)}
    reason = _why_unusable(kept_spikes)
    if reason is not None:
        outcome.update({variant: None for variant in soma_variants}, reason=reason)
        return outcome
    spikes = spike_results(kept_spikes, kept_probability, desired_fp_list)
    for variant, kept_soma_hat in zip(soma_variants, kept_variants):
        outcome[variant] = {**spikes, **soma_results(kept_soma, kept_soma_hat)}
    return outcome


def all_filter_results(y_spikes, spike_probability, y_soma, soma_variants: Mapping[str, np.ndarray],
                       filters: Mapping[str, Sequence[int]] = SPIKE_COUNT_FILTERS,
                       main_filter: str | None = MAIN_FILTER,
                       what: str = "the evaluation set", warn: bool = True, **kwargs) -> dict:
    """``filter_results`` for every filter. An unusable ``main_filter`` raises ``EmptyFilterError``; another
    unusable filter is reported as empty (``None`` results), with a warning unless ``warn`` is False."""
    results = {}
    for key, count_range in filters.items():
        outcome = filter_results(y_spikes, spike_probability, y_soma, soma_variants, count_range, **kwargs)
        reason = outcome.pop("reason", None)
        if reason is not None:
            if key == main_filter:
                check_main_filter(y_spikes, main_filter, filters, kwargs.get("ignore_time_before_ms",
                                                                             IGNORE_TIME_BEFORE_MS), what)
            if warn:
                log.warning("%s: reported as empty", _unusable_filter_message(key, reason, what, len(y_spikes)))
        results[key] = outcome
    return results


def evaluate_predictions(y_spikes: np.ndarray, spike_probability: np.ndarray, y_soma: np.ndarray,
                         soma_prediction: np.ndarray, *, filters: Mapping[str, Sequence[int]] = SPIKE_COUNT_FILTERS,
                         main_filter: str = MAIN_FILTER, num_subsets: int = 0,
                         subset_fraction: float = SUBSET_FRACTION, subset_seed: int = 0,
                         ignore_time_before_ms: int = IGNORE_TIME_BEFORE_MS) -> dict:
    """The evaluation of a set of whole-simulation predictions, arrays (simulations, time).

    ``y_soma`` and ``soma_prediction`` in the same units (mV, or the network's mV + 67.7: the metrics do not
    change). The calibrated prediction is rescaled once over the whole set, as the original does, and the
    subsets reuse it. Returns ``{"results": {filter: {"calibrated", "uncalibrated", "num_simulations"}},
    "cross_correlation": {...} (main filter)}`` plus ``"subsets"`` (a list of ``{filter: {...}}``),
    ``"subset_fraction"`` and ``"subset_seed"`` when ``num_subsets`` > 0."""
    soma_variants = {"calibrated": calibrate_soma_prediction(soma_prediction, y_soma),
                     "uncalibrated": np.asarray(soma_prediction)}
    common = dict(filters=filters, ignore_time_before_ms=ignore_time_before_ms)
    evaluation = {"results": all_filter_results(y_spikes, spike_probability, y_soma, soma_variants,
                                                main_filter=main_filter, **common)}
    evaluation["cross_correlation"] = spike_timing_cross_correlation(
        *filter_simulations([y_spikes, spike_probability], y_spikes, filters[main_filter], ignore_time_before_ms))
    if num_subsets > 0:
        evaluation["subsets"] = [
            all_filter_results(y_spikes[rows], spike_probability[rows], y_soma[rows],
                               {variant: soma[rows] for variant, soma in soma_variants.items()},
                               main_filter=None, warn=False, **common)
            for rows in subset_indices(len(y_spikes), num_subsets, subset_fraction, subset_seed)]
        evaluation.update(subset_fraction=subset_fraction, subset_seed=subset_seed)
        # one line for all subsets: small evaluation sets leave filters empty in many of them
        empty = sum(any(outcome.get("calibrated") is None for outcome in subset.values())
                    for subset in evaluation["subsets"])
        if empty:
            log.warning("%d of %d subsets left some filters empty (no simulation, or no output spike after "
                        "%d ms): those subset results are reported as empty", empty, num_subsets,
                        ignore_time_before_ms)
    return evaluation
