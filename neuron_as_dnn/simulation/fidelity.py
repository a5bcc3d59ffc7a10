"""How closely one simulation reproduces another on the same input: the project's fidelity measure.

A fast integrator setting is held to the original's (CVode, exact rates) by three numbers: the output
spike count (within ±1), the soma voltage clipped at -55 mV (within 0.5 mV RMS at 1 ms, the part of
the trace the network learns) and the times of the spikes paired between the two runs (within 2 ms).
``benchmarks/bench_simulation.py`` and ``benchmarks/fidelity.py`` both report these numbers.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from neuron_as_dnn.simulation.simulator import SOMA_CLIP_MV

COUNT_TOLERANCE = 1
RMS_TOLERANCE_MV = 0.5
SHIFT_TOLERANCE_MS = 2.0


def clipped_rms(soma_v: np.ndarray, reference_soma_v: np.ndarray, clip_mV: float = SOMA_CLIP_MV) -> float:
    """RMS difference (mV) of two voltage traces clipped at ``clip_mV``: spikes differ in height and
    sampling between integrators, so only the subthreshold trace is compared."""
    a = np.minimum(np.asarray(soma_v, dtype=np.float64), clip_mV)
    b = np.minimum(np.asarray(reference_soma_v, dtype=np.float64), clip_mV)
    if a.shape != b.shape:
        raise ValueError(f"traces of different shapes: {a.shape} and {b.shape}")
    return float(np.sqrt(np.mean((a - b) ** 2)))


def match_spikes(spikes_ms, reference_ms) -> list[tuple[int, int]]:
    """Pairs (i, j) of ``spikes_ms[i]`` with ``reference_ms[j]``, one-to-one, closest pairs first.

    Greedy rather than index-aligned, so that one extra or missing spike leaves one spike unpaired
    instead of shifting every later pair by an interspike interval.
    """
    a, b = np.asarray(spikes_ms, dtype=np.float64), np.asarray(reference_ms, dtype=np.float64)
    if a.size == 0 or b.size == 0:
        return []
    distance = np.abs(a[:, None] - b[None, :])
    # stable sort: ties go to the earlier spike, so the pairing does not depend on the platform
    order = np.argsort(distance, axis=None, kind="stable")
    used_a, used_b = np.zeros(a.size, bool), np.zeros(b.size, bool)
    pairs = []
    for flat in order:
        i, j = divmod(int(flat), b.size)
        if used_a[i] or used_b[j]:
            continue
        used_a[i] = used_b[j] = True
        pairs.append((i, j))
        if len(pairs) == min(a.size, b.size):
            break
    return sorted(pairs)


@dataclass(frozen=True)
class Agreement:
    """One run against a reference run of the same input."""
    spikes: int
    reference_spikes: int
    unmatched: int  # spikes of the run left without a partner in the reference
    unmatched_reference: int
    max_shift_ms: float  # largest |time difference| of the paired spikes; 0 when nothing is paired
    rms_mV: float  # soma voltage clipped at -55 mV, 1-ms samples

    @property
    def count_difference(self) -> int:
        return self.spikes - self.reference_spikes

    @property
    def within_tolerance(self) -> bool:
        return (abs(self.count_difference) <= COUNT_TOLERANCE and self.rms_mV < RMS_TOLERANCE_MV
                and self.max_shift_ms <= SHIFT_TOLERANCE_MS)

    def failures(self) -> list[str]:
        """What is outside the tolerance, in words (empty when within it)."""
        failed = []
        if abs(self.count_difference) > COUNT_TOLERANCE:
            failed.append(f"{self.spikes} spikes against {self.reference_spikes}")
        if self.rms_mV >= RMS_TOLERANCE_MV:
            failed.append(f"RMS {self.rms_mV:.3f} mV")
        if self.max_shift_ms > SHIFT_TOLERANCE_MS:
            failed.append(f"a spike shifted by {self.max_shift_ms:.3f} ms")
        return failed

    def as_dict(self) -> dict:
        return dict(asdict(self), count_difference=self.count_difference, within_tolerance=self.within_tolerance)


def compare(spikes_ms, soma_v_1ms, reference_spikes_ms, reference_soma_v_1ms) -> Agreement:
    """Agreement of a run (output spike times, soma voltage at 1 ms) with a reference run."""
    a, b = np.asarray(spikes_ms, dtype=np.float64), np.asarray(reference_spikes_ms, dtype=np.float64)
    pairs = match_spikes(a, b)
    shifts = [abs(a[i] - b[j]) for i, j in pairs]
    return Agreement(spikes=int(a.size), reference_spikes=int(b.size), unmatched=int(a.size - len(pairs)),
                     unmatched_reference=int(b.size - len(pairs)), max_shift_ms=float(max(shifts, default=0.0)),
                     rms_mV=clipped_rms(soma_v_1ms, reference_soma_v_1ms))


def events_before(events, duration_ms: float) -> tuple:
    """(ex_seg, ex_ms, inh_seg, inh_ms) keeping the events before ``duration_ms``: a run shorter
    than its input pattern."""
    ex_seg, ex_ms, inh_seg, inh_ms = (np.asarray(e) for e in events)
    keep_ex, keep_inh = ex_ms < duration_ms, inh_ms < duration_ms
    return ex_seg[keep_ex], ex_ms[keep_ex], inh_seg[keep_inh], inh_ms[keep_inh]
