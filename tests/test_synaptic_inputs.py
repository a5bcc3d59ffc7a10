"""The doubly stochastic input generator (§2.3, §4.3 item 6)."""
import json

import numpy as np
import pytest

from neuron_as_dnn.simulation import synaptic_inputs as si

L5PC_KWARGS = dict(
    interval_options_ms=[25, 30, 35, 40, 45, 55, 60, 65, 70, 75, 80, 85, 90, 100, 150, 200, 300, 450],
    interval_jitter=20,
    sigma_options_ms=[25, 30, 35, 40, 50, 60, 80, 100, 150, 200, 300, 400, 500, 600], sigma_jitter=20,
    bas_ex_range=[0, 800], bas_inh_diff_range=[-600, 200], apic_ex_range=[0, 800], apic_inh_diff_range=[-600, 200])
IF_KWARGS = dict(interval_options_ms=[25, 30, 35, 40, 50, 60, 70, 80, 90, 100], interval_jitter=20,
                 sigma_options_ms=[40, 60, 80, 100], sigma_jitter=20)

# A controlled tree: fixed interval, σ and counts, so the expected rate of every segment is known.
SHORT_UM, LONG_UM, MIN_UM = 10.0, 40.0, 10.0
CONTROLLED_LENGTHS = [SHORT_UM] * 10 + [LONG_UM] * 10 + [20.0] * 10
CONTROLLED_TYPES = ["basal"] * 20 + ["apical"] * 10
BASAL_EX_COUNT, BASAL_INH_DIFF, APICAL_INH_DIFF = 70.0, -30.0, 35.0
CONTROLLED_KWARGS = dict(interval_options_ms=[100], interval_jitter=0, sigma_options_ms=[20], sigma_jitter=0,
                         bas_ex_range=[BASAL_EX_COUNT] * 2, bas_inh_diff_range=[BASAL_INH_DIFF] * 2,
                         apic_ex_range=[0, 0], apic_inh_diff_range=[APICAL_INH_DIFF] * 2, min_seg_length_um=MIN_UM)


def small_tree():
    rng = np.random.default_rng(0)
    return rng.uniform(5, 30, size=25), ["basal"] * 10 + ["apical"] * 15


def test_l5pc_inputs_shapes_and_seeded_determinism():
    lengths, types = small_tree()
    first = si.generate_l5pc_inputs(lengths, types, 1000, np.random.default_rng(7), **L5PC_KWARGS)
    again = si.generate_l5pc_inputs(lengths, types, 1000, np.random.default_rng(7), **L5PC_KWARGS)
    other = si.generate_l5pc_inputs(lengths, types, 1000, np.random.default_rng(8), **L5PC_KWARGS)
    assert first.ex.shape == first.inh.shape == (25, 1000)
    assert first.ex.dtype == bool and first.stacked().shape == (50, 1000)
    np.testing.assert_array_equal(first.ex, again.ex)
    np.testing.assert_array_equal(first.inh, again.inh)
    assert (first.interval_ms, first.sigma_ms) == (again.interval_ms, again.sigma_ms)
    assert not np.array_equal(first.stacked(), other.stacked())
    assert set(first.counts_per_100ms) == {"basal_ex", "basal_inh", "apical_ex", "apical_inh"}


def test_generator_uses_only_the_generator_passed_in():
    np.random.seed(1)
    state = np.random.get_state()[1].copy()
    si.generate_if_inputs(8, 2, 500, np.random.default_rng(0), **IF_KWARGS)
    np.testing.assert_array_equal(np.random.get_state()[1], state)


def test_expected_per_segment_rates_and_length_weighting():
    duration = 60_000
    pattern = si.generate_l5pc_inputs(CONTROLLED_LENGTHS, CONTROLLED_TYPES, duration, np.random.default_rng(3),
                                      **CONTROLLED_KWARGS)
    assert (pattern.interval_ms, pattern.sigma_ms) == (100, 20)
    centre = slice(500, duration - 500)  # away from the 'same'-convolution attenuation at both ends
    basal_total = 10 * (SHORT_UM + MIN_UM) + 10 * (LONG_UM + MIN_UM)
    for rows, length in ((slice(0, 10), SHORT_UM), (slice(10, 20), LONG_UM)):
        expected_ex = BASAL_EX_COUNT / (basal_total * 100) * (length + MIN_UM)
        expected_inh = (BASAL_EX_COUNT + BASAL_INH_DIFF) / (basal_total * 100) * (length + MIN_UM)
        assert pattern.ex[rows, centre].mean() == pytest.approx(expected_ex, rel=0.05)
        assert pattern.inh[rows, centre].mean() == pytest.approx(expected_inh, rel=0.05)
    ratio = pattern.ex[10:20, centre].mean() / pattern.ex[0:10, centre].mean()
    assert ratio == pytest.approx((LONG_UM + MIN_UM) / (SHORT_UM + MIN_UM), rel=0.06)
    # The apical tree has its own counts: no excitation at all, inhibition at its own rate.
    assert not pattern.ex[20:].any()
    expected_apical_inh = APICAL_INH_DIFF / (10 * (20.0 + MIN_UM) * 100) * (20.0 + MIN_UM)
    assert pattern.inh[20:, centre].mean() == pytest.approx(expected_apical_inh, rel=0.05)


def test_smoothing_is_centred_and_attenuates_both_ends():
    rates = si.smoothed_rates(np.array([[1.0, 1.0, 1.0], [0.0, 3.0, 0.0]]), interval_ms=100, sigma_ms=10,
                              duration_ms=300)
    # Zero padding in a 'same' convolution: about half the rate in the first and last ms.
    assert rates[0, 0] == pytest.approx(0.5, abs=0.02) and rates[0, -1] == pytest.approx(0.5, abs=0.02)
    np.testing.assert_allclose(rates[0, 50:250], 1.0, atol=1e-9)
    # A centred window keeps the mass of a step where it was, and the step symmetric around its edges.
    assert rates[1].sum() == pytest.approx(300.0, rel=1e-6)
    assert rates[1, 100] == pytest.approx(1.5, abs=0.1) and rates[1, 199] == pytest.approx(1.5, abs=0.1)


def test_real_cell_typical_rates(reference_dir):
    segments = json.loads((reference_dir / "segments.json").read_text())
    rng = np.random.default_rng(11)
    patterns = [si.generate_l5pc_inputs(segments["seg_length_um"], segments["seg_type"], 6000, rng, **L5PC_KWARGS)
                for _ in range(10)]
    assert patterns[0].ex.shape == (639, 6000)
    exc_hz = 1000 * np.mean([p.ex.mean() for p in patterns])
    inh_hz = 1000 * np.mean([p.inh.mean() for p in patterns])
    # §2.3: a faithful port gave 12.5 Hz per excitatory and 9.7 Hz per inhibitory synapse.
    assert 10.0 < exc_hz < 15.0
    assert 7.5 < inh_hz < 12.0


def test_if_inputs_rates_and_layout():
    duration = 30_000
    pattern = si.generate_if_inputs(80, 20, duration, np.random.default_rng(5), interval_options_ms=[100],
                                    interval_jitter=0, sigma_options_ms=[20], sigma_jitter=0,
                                    ex_range=[40, 40], inh_diff_range=[-20, -20])
    assert pattern.ex.shape == (80, duration) and pattern.inh.shape == (20, duration)
    centre = slice(500, duration - 500)
    # Counts per 100 ms are divided by the number of synapses, no length weighting.
    assert pattern.ex[:, centre].mean() == pytest.approx(40 / (80 * 100), rel=0.05)
    assert pattern.inh[:, centre].mean() == pytest.approx(20 / (20 * 100), rel=0.05)
    stacked = pattern.stacked()
    np.testing.assert_array_equal(stacked[:80], pattern.ex)
    np.testing.assert_array_equal(stacked[80:], pattern.inh)


def test_if_inhibitory_counts_negative_draws_are_replaced():
    ex_counts, inh_counts = si.draw_spike_counts(1000, [0, 10], [-50, -15], np.random.default_rng(0))
    # U(max(0, N_ex − 50), N_ex − 15) is below 0 whenever N_ex < 15: replaced by 1e-4.
    assert np.all(inh_counts == si.NEGATIVE_COUNT_REPLACEMENT)
    ex_counts, inh_counts = si.draw_spike_counts(1000, [0, 50], [-50, -15], np.random.default_rng(0))
    assert np.all(inh_counts > 0)
    high = ex_counts > 15
    assert np.all(inh_counts[high] <= ex_counts[high] - 15)
    assert np.all(inh_counts[high] >= np.maximum(0, ex_counts[high] - 50))


def test_jitter_truncates_toward_zero():
    rng = np.random.default_rng(0)
    draws = np.array([si.draw_jittered_option([100], 20, rng) for _ in range(40_000)])
    assert draws.min() >= 81 and draws.max() <= 119
    assert set(np.unique(draws)) == set(range(81, 120))
    counts = np.bincount(draws - 81)
    zero_jitter = counts[100 - 81]
    others = np.delete(counts, 100 - 81).mean()
    assert zero_jitter / others == pytest.approx(2.0, rel=0.15)


def test_gaussian_window_length_and_normalisation():
    window = si.gaussian_smoothing_window(40)
    assert len(window) == 1 + 7 * 40
    assert window.sum() == pytest.approx(1.0)
    assert np.argmax(window) in (len(window) // 2 - 1, len(window) // 2)


def test_spike_times_dict_and_events_round_trip():
    lengths, types = small_tree()
    pattern = si.generate_l5pc_inputs(lengths, types, 2000, np.random.default_rng(9), **L5PC_KWARGS)
    ex_times, inh_times = pattern.spike_times_dicts()
    assert set(ex_times) == set(np.flatnonzero(pattern.ex.any(axis=1)).tolist())
    for times in list(ex_times.values()) + list(inh_times.values()):
        assert times == sorted(times) and len(times) > 0
    rebuilt = si.InputPattern.from_spike_times_dicts(ex_times, inh_times, 25, 25, 2000)
    np.testing.assert_array_equal(rebuilt.ex, pattern.ex)
    np.testing.assert_array_equal(rebuilt.inh, pattern.inh)
    events = pattern.events()
    assert len(events["ex_seg"]) == pattern.ex.sum()
    rebuilt = si.InputPattern.from_events(num_ex=25, num_inh=25, duration_ms=2000, **events)
    np.testing.assert_array_equal(rebuilt.stacked(), pattern.stacked())


@pytest.mark.parametrize("change, message", [
    (dict(segment_types=["basal", "oblique"]), "unknown types"),
    (dict(interval_options_ms=[10], interval_jitter=20), "interval_options_ms"),
    (dict(bas_ex_range=[10, 0]), "low 10.0 > high 0.0"),
])
def test_bad_arguments_fail_with_a_message(change, message):
    kwargs = dict(L5PC_KWARGS, segment_lengths_um=[10.0, 20.0], segment_types=["basal", "apical"],
                  duration_ms=100, rng=np.random.default_rng(0))
    kwargs.update(change)
    with pytest.raises(ValueError, match=message):
        si.generate_l5pc_inputs(**kwargs)
