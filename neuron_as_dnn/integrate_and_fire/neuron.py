"""The integrate-and-fire neuron of Fig. 1, its inputs, and its bit-packed data sets.

The neuron (docs/integrate_and_fire.md):

- every synaptic spike train is convolved causally with k_n = exp(−n/τ), n = 0…int(7τ) (exponential current);
- the somatic current is the weighted sum over synapses (+1 excitatory, −1 inhibitory);
- V(t) = v_reset + c·I(t), c the current-to-voltage factor;
- sequentially in t: if V(t) > v_threshold, a spike is recorded at t and (V(t+1) − v_reset)·k_n is
  subtracted from V(t+1+n), which puts V(t+1) at v_reset and lets the reset decay with τ (a crossing in
  the last ms is recorded as a spike too, with nothing left to reset).

The reset is applied as a recursively updated reset term, vectorised across simulations, rather than by
writing into the future of each trace. Data sets are generated in chunks and stored with the synapse axis
bit-packed (13 bytes per ms for 100 synapses), in memory or memory-mapped under ``data/IF/``, so the paper's
12,000 × 6 s training set takes 0.9 GB instead of 7.2 GB, and training draws its windows batch by batch.
The network trained on these data sets is in ``integrate_and_fire_experiment``.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import math
import os
import time
from pathlib import Path

import numpy as np
import scipy.signal
from tqdm.auto import tqdm

from neuron_as_dnn import utils
from neuron_as_dnn.simulation import synaptic_inputs

log = logging.getLogger(__name__)

DATASET_ARRAYS = ("inputs_packed", "spikes", "soma")


# ----------------------------------------------------------------------------------------------------------
# The neuron and its inputs
# ----------------------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class IntegrateAndFireNeuron:
    num_exc_synapses: int = 80
    num_inh_synapses: int = 20
    exc_synaptic_weight: float = 1.0
    inh_synaptic_weight: float = -1.0
    v_reset: float = -75.0
    v_threshold: float = -55.0
    current_to_voltage_mult_factor: float = 2.0
    membrane_time_const_ms: float = 20.0

    @property
    def num_synapses(self) -> int:
        return self.num_exc_synapses + self.num_inh_synapses

    @property
    def synaptic_weights(self) -> np.ndarray:
        return np.concatenate([np.full(self.num_exc_synapses, self.exc_synaptic_weight),
                               np.full(self.num_inh_synapses, self.inh_synaptic_weight)])

    @property
    def kernel(self) -> np.ndarray:
        """exp(−n/τ) for n = 0…int(7τ): the synaptic current and the reset share it."""
        return np.exp(-np.arange(int(7 * self.membrane_time_const_ms) + 1) / self.membrane_time_const_ms)

    @property
    def clipped_spike_voltage(self) -> float:
        """What the somatic target holds at spike times (the original's v_threshold + 0.1)."""
        return self.v_threshold + 0.1


@dataclasses.dataclass(frozen=True)
class IntegrateAndFireInputStatistics:
    interval_options_ms: tuple = (25, 30, 35, 40, 50, 60, 70, 80, 90, 100)
    interval_jitter: int = 20
    sigma_options_ms: tuple = (40, 60, 80, 100)
    sigma_jitter: int = 20
    exc_spikes_per_100ms_range: tuple = (0, 50)
    exc_inh_spike_diff_per_100ms_range: tuple = (-50, -15)

    def generate(self, neuron: IntegrateAndFireNeuron, duration_ms: int,
                 rng: np.random.Generator) -> synaptic_inputs.InputPattern:
        return synaptic_inputs.generate_if_inputs(
            neuron.num_exc_synapses, neuron.num_inh_synapses, duration_ms, rng,
            interval_options_ms=self.interval_options_ms, interval_jitter=self.interval_jitter,
            sigma_options_ms=self.sigma_options_ms, sigma_jitter=self.sigma_jitter,
            ex_range=self.exc_spikes_per_100ms_range, inh_diff_range=self.exc_inh_spike_diff_per_100ms_range)


def simulate_integrate_and_fire(inputs: np.ndarray, neuron: IntegrateAndFireNeuron,
                                clip_spikes: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Simulate a batch of input patterns.

    ``inputs``: (sims, synapses, time) or (synapses, time), spikes per 1-ms bin (exc rows then inh rows).
    Returns ``spikes`` (bool) and ``soma`` (float, mV) of shape (sims, time) (or (time,)); with
    ``clip_spikes`` the voltage at spike times is set to v_threshold + 0.1 as in the training target.
    """
    inputs = np.asarray(inputs)
    single = inputs.ndim == 2
    batch = inputs[np.newaxis] if single else inputs
    if batch.shape[1] != neuron.num_synapses:
        raise ValueError(f"inputs have {batch.shape[1]} synapse rows, the neuron has {neuron.num_synapses}")
    weights = neuron.synaptic_weights
    # One simulation at a time: a float copy of a whole batch of inputs would be 8 bytes per bool.
    somatic_input = np.stack([weights @ pattern for pattern in batch])
    spikes, soma = simulate_from_somatic_input(somatic_input, neuron, clip_spikes)
    return (spikes[0], soma[0]) if single else (spikes, soma)


def simulate_from_somatic_input(somatic_input: np.ndarray, neuron: IntegrateAndFireNeuron,
                                clip_spikes: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Simulate from the weighted synaptic input summed per ms, shape (sims, time)."""
    kernel = neuron.kernel
    current = scipy.signal.lfilter(kernel, [1.0], somatic_input, axis=-1)
    free_voltage = neuron.v_reset + neuron.current_to_voltage_mult_factor * current
    spikes, voltage = _apply_spike_resets(np.ascontiguousarray(free_voltage.T), kernel, neuron.v_reset,
                                          neuron.v_threshold)
    spikes, voltage = spikes.T, voltage.T
    if clip_spikes:
        voltage = np.where(voltage > neuron.v_threshold, neuron.clipped_spike_voltage, voltage)
    return np.ascontiguousarray(spikes), np.ascontiguousarray(voltage)


def _apply_spike_resets(free_voltage: np.ndarray, kernel: np.ndarray, v_reset: float,
                        v_threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """The sequential spike/reset rule on (time, sims) arrays, vectorised over sims.

    A spike at s subtracts a_s·k_{t−s−1} from V(t) for t in [s+1, s+K] (K = len(kernel)), with
    a_s = V(s+1) − v_reset just before the reset. Since k is exp(−n/τ), the summed reset obeys
    R(t+1) = e^{−1/τ}·R(t) + a_t − e^{−K/τ}·a_{t−K}: the last term removes the contribution that leaves
    the truncated kernel, so the result equals the truncated convolution of the definition.
    """
    duration, num_sims = free_voltage.shape
    kernel_length = len(kernel)
    decay = kernel[1] if kernel_length > 1 else 0.0
    expiring_factor = kernel[-1] * decay
    spikes = np.zeros((duration, num_sims), dtype=bool)
    voltage = np.empty_like(free_voltage)
    reset = np.zeros(num_sims)
    # Ring buffer of reset amplitudes; slot t % (K+1) holds a_t, and at step t slot (t+1) % (K+1) holds a_{t−K}.
    amplitudes = np.zeros((kernel_length + 1, num_sims))
    for t in range(duration):
        voltage[t] = free_voltage[t] - reset
        fired = voltage[t] > v_threshold
        spikes[t] = fired
        if t + 1 == duration:
            break
        reset = decay * reset - expiring_factor * amplitudes[(t + 1) % (kernel_length + 1)]
        amplitude = np.where(fired, free_voltage[t + 1] - reset - v_reset, 0.0)
        amplitudes[t % (kernel_length + 1)] = amplitude
        reset += amplitude
    return spikes, voltage


# ----------------------------------------------------------------------------------------------------------
# Data sets: chunked generation, bit-packed storage
# ----------------------------------------------------------------------------------------------------------
@dataclasses.dataclass
class IntegrateAndFireDataset:
    """``inputs_packed`` (sims, time, ceil(synapses/8)) uint8, ``spikes`` (sims, time) bool and ``soma``
    (sims, time) float32 mV; any of them may be a read-only memory map."""

    inputs_packed: np.ndarray
    spikes: np.ndarray
    soma: np.ndarray
    num_synapses: int
    info: dict = dataclasses.field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.spikes)

    @property
    def duration_ms(self) -> int:
        return self.spikes.shape[1]

    def inputs(self, sim_indices, start: int = 0, length: int | None = None, dtype=np.float32) -> np.ndarray:
        """Unpacked inputs (sims, length, synapses) for the time slice [start, start + length)."""
        stop = self.duration_ms if length is None else start + length
        packed = self.inputs_packed[np.asarray(sim_indices), start:stop]
        return np.unpackbits(packed, axis=-1, count=self.num_synapses).astype(dtype)


def _simulation_rng(seed: int, stream: int, index: int) -> np.random.Generator:
    # One independent stream per simulation: simulation i is the same whatever the chunk size.
    return np.random.default_rng([seed, stream, index])


def _generate_chunk(neuron, input_statistics, duration_ms, seed, stream, indices):
    inputs = np.stack([input_statistics.generate(neuron, duration_ms, _simulation_rng(seed, stream, i)).stacked()
                       for i in indices])
    spikes, soma = simulate_integrate_and_fire(inputs, neuron)
    return np.packbits(inputs.transpose(0, 2, 1), axis=-1), spikes, soma.astype(np.float32), \
        inputs[:, :neuron.num_exc_synapses].sum(), inputs[:, neuron.num_exc_synapses:].sum()


def _dataset_description(neuron, input_statistics, duration_ms, num_simulations, seed, stream) -> dict:
    return dict(neuron=dataclasses.asdict(neuron), input_statistics=dataclasses.asdict(input_statistics),
                duration_ms=duration_ms, num_simulations=num_simulations, seed=seed, stream=stream,
                format_version=1)


def _dataset_folder(root: Path, name: str, description: dict) -> Path:
    digest = hashlib.sha1(json.dumps(description, sort_keys=True, default=list).encode()).hexdigest()[:10]
    return Path(root) / f"{name}_{description['num_simulations']}sims_{description['duration_ms']}ms_" \
                        f"seed{description['seed']}_{digest}"


def _allocate(num_simulations: int, duration_ms: int, num_synapses: int, folder: Path | None) -> dict:
    """Zeroed arrays in memory, or ``.partial`` memory maps in ``folder`` that are renamed only when full."""
    shapes = dict(inputs_packed=((num_simulations, duration_ms, math.ceil(num_synapses / 8)), np.uint8),
                  spikes=((num_simulations, duration_ms), bool), soma=((num_simulations, duration_ms), np.float32))
    if folder is None:
        return {key: np.zeros(shape, dtype) for key, (shape, dtype) in shapes.items()}
    folder.mkdir(parents=True, exist_ok=True)
    return {key: np.lib.format.open_memmap(folder / f".{key}.npy.partial", mode="w+", dtype=dtype, shape=shape)
            for key, (shape, dtype) in shapes.items()}


def _fill(arrays: dict, neuron, input_statistics, duration_ms, seed, stream, *, name: str, chunk_size: int,
          progress: bool) -> dict:
    """Simulate into ``arrays`` chunk by chunk; returns the generation time and the input rates."""
    num_simulations = len(arrays["spikes"])
    started = time.perf_counter()
    exc_spikes = inh_spikes = 0
    for chunk_start in tqdm(range(0, num_simulations, chunk_size), desc=f"simulating {name} set", unit="chunk",
                            disable=not progress):
        indices = np.arange(chunk_start, min(chunk_start + chunk_size, num_simulations))
        packed, spikes, soma, chunk_exc, chunk_inh = _generate_chunk(neuron, input_statistics, duration_ms, seed,
                                                                     stream, indices)
        arrays["inputs_packed"][indices], arrays["spikes"][indices], arrays["soma"][indices] = packed, spikes, soma
        exc_spikes += int(chunk_exc)
        inh_spikes += int(chunk_inh)
    seconds = 1e-3 * duration_ms * num_simulations
    return dict(generation_time_s=time.perf_counter() - started,
                exc_input_rate_hz=exc_spikes / (seconds * max(neuron.num_exc_synapses, 1)),
                inh_input_rate_hz=inh_spikes / (seconds * max(neuron.num_inh_synapses, 1)))


def generate_dataset(num_simulations: int, neuron: IntegrateAndFireNeuron,
                     input_statistics: IntegrateAndFireInputStatistics, duration_ms: int, seed: int, stream: int,
                     *, name: str = "data", folder_root: str | os.PathLike | None = None, chunk_size: int = 100,
                     progress: bool = True) -> IntegrateAndFireDataset:
    """Generate (or reload) ``num_simulations`` simulations, ``chunk_size`` at a time.

    With ``folder_root`` the arrays are written as ``.npy`` memory maps into a folder named after the
    configuration (with ``generation.json`` describing it, written last) and reloaded memory-mapped; a
    folder that already holds the same configuration is reused. Without it, everything stays in memory.
    """
    if num_simulations <= 0:
        raise ValueError(f"num_simulations must be > 0, got {num_simulations}")
    description = _dataset_description(neuron, input_statistics, duration_ms, num_simulations, seed, stream)
    folder = None if folder_root is None else _dataset_folder(folder_root, name, description)
    if folder is not None and (folder / "generation.json").is_file():
        log.info("reusing the %s set in %s", name, folder)
        return load_dataset(folder, neuron.num_synapses)

    arrays = _allocate(num_simulations, duration_ms, neuron.num_synapses, folder)
    info = dict(description, **_fill(arrays, neuron, input_statistics, duration_ms, seed, stream, name=name,
                                     chunk_size=chunk_size, progress=progress), **output_statistics(arrays["spikes"]))
    log.info("%s set: %d simulations in %.1f s; input %.2f Hz exc, %.2f Hz inh; output %.2f Hz, ISI CV %.2f",
             name, num_simulations, info["generation_time_s"], info["exc_input_rate_hz"], info["inh_input_rate_hz"],
             info["output_rate_hz"], info["isi_cv"])
    if folder is None:
        return IntegrateAndFireDataset(num_synapses=neuron.num_synapses, info=info, **arrays)
    for key, array in arrays.items():
        array.flush()
        os.replace(folder / f".{key}.npy.partial", folder / f"{key}.npy")
    utils.write_json(folder / "generation.json", info)  # last: its presence marks a complete folder
    return load_dataset(folder, neuron.num_synapses)


def load_dataset(folder: str | os.PathLike, num_synapses: int) -> IntegrateAndFireDataset:
    """A data set folder written by ``generate_dataset``, memory-mapped read-only."""
    folder = Path(folder)
    arrays = {key: np.load(folder / f"{key}.npy", mmap_mode="r") for key in DATASET_ARRAYS}
    info = json.loads((folder / "generation.json").read_text())
    return IntegrateAndFireDataset(num_synapses=num_synapses, info=info, **arrays)


def output_statistics(spikes: np.ndarray) -> dict:
    """Output rate (Hz) and the coefficient of variation of the inter-spike intervals (within traces)."""
    spikes = np.asarray(spikes)
    intervals = inter_spike_intervals(spikes)
    cv = float(intervals.std() / intervals.mean()) if len(intervals) > 1 else float("nan")
    return dict(output_rate_hz=float(spikes.sum() / (1e-3 * spikes.size)) if spikes.size else 0.0, isi_cv=cv,
                num_output_spikes=int(spikes.sum()))


def inter_spike_intervals(spikes: np.ndarray) -> np.ndarray:
    """Intervals (ms) between consecutive spikes of the same trace, all traces of (sims, time) together."""
    spikes = np.atleast_2d(np.asarray(spikes))
    if not len(spikes):
        return np.array([], dtype=np.int64)
    return np.concatenate([np.diff(np.flatnonzero(trace)) for trace in spikes])


def neuron_from_params(params: dict) -> IntegrateAndFireNeuron:
    """The neuron described by the entries of a parameter block named as its fields."""
    return IntegrateAndFireNeuron(**{field.name: params[field.name]
                                     for field in dataclasses.fields(IntegrateAndFireNeuron)})


def input_statistics_from_params(params: dict) -> IntegrateAndFireInputStatistics:
    """The input statistics from the script's parameter names (the original's)."""
    return IntegrateAndFireInputStatistics(
        interval_options_ms=tuple(params["inst_rate_sampling_time_interval_options_ms"]),
        interval_jitter=params["inst_rate_sampling_time_interval_jitter_range"],
        sigma_options_ms=tuple(params["temporal_inst_rate_smoothing_sigma_options_ms"]),
        sigma_jitter=params["temporal_inst_rate_smoothing_sigma_jitter_range"],
        exc_spikes_per_100ms_range=tuple(params["num_exc_spikes_per_100ms_range"]),
        exc_inh_spike_diff_per_100ms_range=tuple(params["num_exc_inh_spike_diff_per_100ms_range"]))
