"""The paper's doubly stochastic input generator, shared by the L5PC and the integrate-and-fire neuron.

One simulation's inputs are drawn in four stages (docs/synaptic_inputs.md):

1. a piecewise-constant interval Δ and a smoothing width σ, each an option plus ``int(U(-j, j))``,
   drawn once per simulation and shared by every row (excitatory and inhibitory, every tree);
2. per interval and per group of rows (a dendritic tree, or all I&F synapses), an excitatory spike
   count per 100 ms ``N_ex ~ U(lo, hi)`` and an inhibitory one ``N_inh ~ U(max(0, N_ex + d_lo), N_ex + d_hi)``;
3. the count is spread over the group's rows (in proportion to segment length for the L5PC, evenly
   for the I&F), multiplied by an independent ``U(0.5, 1.5)`` per (row, interval), expanded to 1-ms
   bins and smoothed in time by a normalised Gaussian window of 1 + 7σ samples ('same', zero padding);
4. per (row, ms): ``λ ~ Exponential(mean = rate)``, spike iff ``U(0, 1) < λ``.

Every random number comes from the ``numpy.random.Generator`` passed in; the global state is never used.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Mapping, Sequence

import numpy as np
import scipy.signal

from neuron_as_dnn.errors import ConfigError

SEGMENT_TYPES = ("basal", "apical")

# Spike-count draws whose upper bound is negative (only reachable with negative 'diff' ranges, as in
# the I&F parameters) would give a negative rate; the original replaces them by this tiny positive value.
NEGATIVE_COUNT_REPLACEMENT = 1e-4


@dataclasses.dataclass
class InputPattern:
    """The input spike trains of one simulation, on a 1-ms grid.

    ``ex[i, t]`` / ``inh[i, t]``: an excitatory / inhibitory spike on row ``i`` (a dendritic segment, or an
    I&F synapse) in the millisecond bin ``t``. ``interval_ms`` and ``sigma_ms`` are the values drawn for this
    simulation; ``counts_per_100ms`` maps ``'<group>_ex'`` / ``'<group>_inh'`` to the per-interval spike counts
    of that group, so that the input statistics can be saved next to a data set.
    """

    ex: np.ndarray
    inh: np.ndarray
    interval_ms: int
    sigma_ms: int
    counts_per_100ms: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        self.ex = np.asarray(self.ex, dtype=bool)
        self.inh = np.asarray(self.inh, dtype=bool)
        if self.ex.ndim != 2 or self.inh.ndim != 2 or self.ex.shape[1] != self.inh.shape[1]:
            raise ValueError(f"ex and inh must be (rows, time) with the same duration, got "
                             f"{self.ex.shape} and {self.inh.shape}")

    @property
    def duration_ms(self) -> int:
        return self.ex.shape[1]

    def stacked(self) -> np.ndarray:
        """Excitatory rows then inhibitory rows, the canonical network input layout (§13.4)."""
        return np.concatenate([self.ex, self.inh], axis=0)

    def spike_times_dicts(self) -> tuple[dict[int, list[int]], dict[int, list[int]]]:
        """The authors' form: ``({segment: [t_ms, ...]}, {...})`` for exc and inh, spiking rows only."""
        return binary_to_spike_times_dict(self.ex), binary_to_spike_times_dict(self.inh)

    def events(self) -> dict[str, np.ndarray]:
        """Event arrays ``ex_seg, ex_ms, inh_seg, inh_ms`` (row-major: by segment, then time)."""
        ex_seg, ex_ms = np.nonzero(self.ex)
        inh_seg, inh_ms = np.nonzero(self.inh)
        return dict(ex_seg=ex_seg, ex_ms=ex_ms, inh_seg=inh_seg, inh_ms=inh_ms)

    @classmethod
    def from_spike_times_dicts(cls, ex_times: Mapping[int, Sequence[float]], inh_times: Mapping[int, Sequence[float]],
                               num_ex: int, num_inh: int, duration_ms: int, **kwargs) -> "InputPattern":
        return cls(spike_times_dict_to_binary(ex_times, num_ex, duration_ms),
                   spike_times_dict_to_binary(inh_times, num_inh, duration_ms), **_pattern_defaults(kwargs))

    @classmethod
    def from_events(cls, ex_seg, ex_ms, inh_seg, inh_ms, num_ex: int, num_inh: int, duration_ms: int,
                    **kwargs) -> "InputPattern":
        ex = np.zeros((num_ex, duration_ms), dtype=bool)
        inh = np.zeros((num_inh, duration_ms), dtype=bool)
        ex[np.asarray(ex_seg, dtype=int), np.asarray(ex_ms, dtype=int)] = True
        inh[np.asarray(inh_seg, dtype=int), np.asarray(inh_ms, dtype=int)] = True
        return cls(ex, inh, **_pattern_defaults(kwargs))


def _pattern_defaults(kwargs: dict) -> dict:
    # Patterns rebuilt from saved spike times do not know the drawn Δ and σ (the original never saved them).
    kwargs.setdefault("interval_ms", -1)
    kwargs.setdefault("sigma_ms", -1)
    return kwargs


def binary_to_spike_times_dict(spikes: np.ndarray) -> dict[int, list[int]]:
    """``{row: [t_ms, ...]}`` in ascending time, only for rows with at least one spike."""
    rows, times = np.nonzero(spikes)  # row-major, so times ascend within each row
    spiking_rows, first_event = np.unique(rows, return_index=True)
    return {int(row): row_times.tolist() for row, row_times in zip(spiking_rows, np.split(times, first_event[1:]))}


def spike_times_dict_to_binary(spike_times: Mapping[int, Sequence[float]], num_rows: int,
                               duration_ms: int) -> np.ndarray:
    """Inverse of :func:`binary_to_spike_times_dict`; times are floored to their 1-ms bin."""
    binary = np.zeros((num_rows, duration_ms), dtype=bool)
    for row, times in spike_times.items():
        binary[int(row), np.floor(np.asarray(times, dtype=float)).astype(int)] = True
    return binary


def draw_jittered_option(options: Sequence[int], jitter: int, rng: np.random.Generator) -> int:
    """A random option plus ``int(U(-jitter, jitter))``: truncation toward 0, so the jitter lies in
    [-(jitter-1), jitter-1] and 0 is twice as likely as any other value, as in the original."""
    return int(rng.choice(np.asarray(options))) + int(rng.uniform(-jitter, jitter))


def _check_jittered_options(name: str, options: Sequence[int], jitter: int) -> None:
    if len(options) == 0:
        raise ConfigError(f"{name}: needs at least one option")
    if jitter < 0:
        raise ConfigError(f"{name}: jitter must be >= 0, got {jitter}")
    if min(options) - max(jitter - 1, 0) < 1:
        raise ConfigError(f"{name}: smallest option {min(options)} minus the jitter {jitter} can reach a "
                         f"value < 1 ms")


def _check_range(name: str, value_range: Sequence[float]) -> tuple[float, float]:
    if len(value_range) != 2:
        raise ConfigError(f"{name}: expected [low, high], got {value_range!r}")
    low, high = float(value_range[0]), float(value_range[1])
    if low > high:
        raise ConfigError(f"{name}: low {low} > high {high}")
    return low, high


def draw_spike_counts(num_intervals: int, ex_range: Sequence[float], inh_diff_range: Sequence[float],
                      rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Per interval: excitatory and inhibitory spike counts per 100 ms for one group of rows."""
    ex_low, ex_high = _check_range("excitatory range", ex_range)
    diff_low, diff_high = _check_range("inhibitory diff range", inh_diff_range)
    ex_counts = rng.uniform(ex_low, ex_high, size=num_intervals)
    # Written out rather than Generator.uniform, which rejects low > high: that happens when
    # N_ex + d_hi < 0, and the original (legacy numpy) then draws from the reversed interval.
    inh_low = np.maximum(0.0, ex_counts + diff_low)
    inh_counts = inh_low + (ex_counts + diff_high - inh_low) * rng.random(num_intervals)
    inh_counts[inh_counts < 0] = NEGATIVE_COUNT_REPLACEMENT
    return ex_counts, inh_counts


def gaussian_smoothing_window(sigma_ms: int) -> np.ndarray:
    window = scipy.signal.windows.gaussian(int(1 + 7 * sigma_ms), std=sigma_ms)
    return window / window.sum()


def smoothed_rates(rates_per_interval: np.ndarray, interval_ms: int, sigma_ms: int, duration_ms: int) -> np.ndarray:
    """Stage 3 after the spatial factor: expand each interval to 1-ms bins and smooth every row in time.

    ``rates_per_interval[row, k]``: expected spikes per ms on ``row`` during interval ``k``.
    """
    interval_of_bin = np.arange(duration_ms) // interval_ms
    rates = rates_per_interval[:, interval_of_bin]
    # FFT convolution gives the same numbers as direct convolution up to round-off, much faster for the
    # long windows (up to 1 + 7·619 samples); round-off can leave tiny negatives where the rate is 0.
    smoothed = scipy.signal.fftconvolve(rates, gaussian_smoothing_window(sigma_ms)[np.newaxis, :],
                                        mode="same", axes=1)
    return np.maximum(smoothed, 0.0, out=smoothed)


def doubly_stochastic_spikes(rates_per_interval: np.ndarray, interval_ms: int, sigma_ms: int, duration_ms: int,
                             rng: np.random.Generator) -> np.ndarray:
    """Stages 3 and 4 for every row at once: smoothed rates, then per (row, ms) an intensity
    λ ~ Exponential(mean = rate) and a spike iff U(0, 1) < λ. Returns a bool array (rows, duration_ms)."""
    rates = smoothed_rates(rates_per_interval, interval_ms, sigma_ms, duration_ms)
    intensity = rates * rng.standard_exponential(rates.shape)
    return rng.random(rates.shape) < intensity


def _draw_timescales(rng, duration_ms, interval_options_ms, interval_jitter, sigma_options_ms, sigma_jitter):
    """(rate interval, smoothing sigma, number of intervals) of one simulation, the first draws of its seed."""
    if duration_ms <= 0:
        raise ValueError(f"duration_ms must be > 0, got {duration_ms}")
    _check_jittered_options("interval_options_ms", interval_options_ms, interval_jitter)
    _check_jittered_options("sigma_options_ms", sigma_options_ms, sigma_jitter)
    interval_ms = draw_jittered_option(interval_options_ms, interval_jitter, rng)
    sigma_ms = draw_jittered_option(sigma_options_ms, sigma_jitter, rng)
    return interval_ms, sigma_ms, math.ceil(duration_ms / interval_ms)


def _spatial_factors(rng: np.random.Generator, num_rows: int, num_intervals: int) -> np.ndarray:
    return rng.uniform(0.5, 1.5, size=(num_rows, num_intervals))


def _modulated_spikes(ex_rates: np.ndarray, inh_rates: np.ndarray, interval_ms: int, sigma_ms: int,
                      duration_ms: int, rng: np.random.Generator) -> np.ndarray:
    """Every row's rates times its own U(0.5, 1.5) factor per interval, then the spikes (excitatory rows
    first). The order of the draws is part of what a seed means: same seed, same inputs."""
    ex_rates = ex_rates * _spatial_factors(rng, *ex_rates.shape)
    inh_rates = inh_rates * _spatial_factors(rng, *inh_rates.shape)
    return doubly_stochastic_spikes(np.concatenate([ex_rates, inh_rates]), interval_ms, sigma_ms, duration_ms, rng)


def generate_l5pc_inputs(segment_lengths_um: Sequence[float], segment_types: Sequence[str], duration_ms: int,
                         rng: np.random.Generator, *, interval_options_ms: Sequence[int], interval_jitter: int,
                         sigma_options_ms: Sequence[int], sigma_jitter: int,
                         bas_ex_range: Sequence[float], bas_inh_diff_range: Sequence[float],
                         apic_ex_range: Sequence[float], apic_inh_diff_range: Sequence[float],
                         min_seg_length_um: float = 10.0) -> InputPattern:
    """One simulation's inputs for the L5PC: one excitatory and one inhibitory row per dendritic segment.

    Counts are per 100 ms for a whole tree (basal or apical) and are shared among its segments in proportion
    to ``length + min_seg_length_um``.
    """
    lengths = np.asarray(segment_lengths_um, dtype=float)
    types = np.asarray(segment_types)
    if lengths.ndim != 1 or lengths.shape != types.shape:
        raise ValueError(f"segment_lengths_um {lengths.shape} and segment_types {types.shape} must be 1-D "
                         f"and of equal length")
    unknown = set(types.tolist()) - set(SEGMENT_TYPES)
    if unknown:
        raise ValueError(f"segment_types: unknown types {sorted(unknown)}; expected {SEGMENT_TYPES}")
    interval_ms, sigma_ms, num_intervals = _draw_timescales(rng, duration_ms, interval_options_ms, interval_jitter,
                                                            sigma_options_ms, sigma_jitter)
    adjusted_lengths = lengths + min_seg_length_um
    ex_rates = np.zeros((len(lengths), num_intervals))
    inh_rates = np.zeros((len(lengths), num_intervals))
    counts = {}
    for tree, ex_range, inh_diff_range in (("basal", bas_ex_range, bas_inh_diff_range),
                                           ("apical", apic_ex_range, apic_inh_diff_range)):
        ex_counts, inh_counts = draw_spike_counts(num_intervals, ex_range, inh_diff_range, rng)
        counts[f"{tree}_ex"], counts[f"{tree}_inh"] = ex_counts, inh_counts
        in_tree = types == tree
        # Spikes per µm per ms for the whole tree, times the segment's length share.
        length_share = adjusted_lengths[in_tree, np.newaxis] / (adjusted_lengths[in_tree].sum() * 100.0)
        ex_rates[in_tree] = length_share * ex_counts[np.newaxis, :]
        inh_rates[in_tree] = length_share * inh_counts[np.newaxis, :]
    spikes = _modulated_spikes(ex_rates, inh_rates, interval_ms, sigma_ms, duration_ms, rng)
    return InputPattern(spikes[:len(lengths)], spikes[len(lengths):], interval_ms, sigma_ms, counts)


def generate_if_inputs(num_exc: int, num_inh: int, duration_ms: int, rng: np.random.Generator, *,
                       interval_options_ms: Sequence[int], interval_jitter: int,
                       sigma_options_ms: Sequence[int], sigma_jitter: int,
                       ex_range: Sequence[float] = (0, 50), inh_diff_range: Sequence[float] = (-50, -15)
                       ) -> InputPattern:
    """One simulation's inputs for the integrate-and-fire neuron (§4.3 item 6).

    The counts per 100 ms are for all ``num_exc`` (resp. ``num_inh``) synapses together and are divided
    evenly among them (no length weighting); the U(0.5, 1.5) factor still applies per synapse and interval.
    """
    if num_exc < 0 or num_inh < 0:
        raise ValueError(f"num_exc and num_inh must be >= 0, got {num_exc}, {num_inh}")
    interval_ms, sigma_ms, num_intervals = _draw_timescales(rng, duration_ms, interval_options_ms, interval_jitter,
                                                            sigma_options_ms, sigma_jitter)
    ex_counts, inh_counts = draw_spike_counts(num_intervals, ex_range, inh_diff_range, rng)
    ex_rates = np.broadcast_to(ex_counts / (max(num_exc, 1) * 100.0), (num_exc, num_intervals))
    inh_rates = np.broadcast_to(inh_counts / (max(num_inh, 1) * 100.0), (num_inh, num_intervals))
    spikes = _modulated_spikes(ex_rates, inh_rates, interval_ms, sigma_ms, duration_ms, rng)
    return InputPattern(spikes[:num_exc], spikes[num_exc:], interval_ms, sigma_ms,
                        {"all_ex": ex_counts, "all_inh": inh_counts})
