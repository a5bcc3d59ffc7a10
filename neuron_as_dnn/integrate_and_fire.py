"""The integrate-and-fire neuron of Fig. 1 and its one-layer, one-filter temporal convolutional network.

ORIGINAL_IMPLEMENTATION.md §4. The neuron (§4.3):

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

import keras
import numpy as np
import scipy.optimize
import scipy.signal
from tqdm.auto import tqdm

from neuron_as_dnn import evaluation, synaptic_inputs, utils

log = logging.getLogger(__name__)

TRAIN_STREAM, TEST_STREAM, VALIDATION_SPLIT_STREAM, WINDOW_STREAM = 0, 1, 2, 3


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
        return _load_dataset(folder, neuron.num_synapses)

    packed_width = math.ceil(neuron.num_synapses / 8)
    shapes = dict(inputs_packed=((num_simulations, duration_ms, packed_width), np.uint8),
                  spikes=((num_simulations, duration_ms), bool), soma=((num_simulations, duration_ms), np.float32))
    if folder is None:
        arrays = {key: np.zeros(shape, dtype) for key, (shape, dtype) in shapes.items()}
    else:
        folder.mkdir(parents=True, exist_ok=True)
        arrays = {key: np.lib.format.open_memmap(folder / f".{key}.npy.partial", mode="w+", dtype=dtype, shape=shape)
                  for key, (shape, dtype) in shapes.items()}

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
    info = dict(description, generation_time_s=time.perf_counter() - started,
                exc_input_rate_hz=exc_spikes / (seconds * max(neuron.num_exc_synapses, 1)),
                inh_input_rate_hz=inh_spikes / (seconds * max(neuron.num_inh_synapses, 1)),
                **output_statistics(arrays["spikes"]))
    log.info("%s set: %d simulations in %.1f s; input %.2f Hz exc, %.2f Hz inh; output %.2f Hz, ISI CV %.2f",
             name, num_simulations, info["generation_time_s"], info["exc_input_rate_hz"], info["inh_input_rate_hz"],
             info["output_rate_hz"], info["isi_cv"])
    if folder is None:
        return IntegrateAndFireDataset(num_synapses=neuron.num_synapses, info=info, **arrays)
    for key, array in arrays.items():
        array.flush()
        os.replace(folder / f".{key}.npy.partial", folder / f"{key}.npy")
    utils.write_json(folder / "generation.json", info)
    return _load_dataset(folder, neuron.num_synapses)


def _load_dataset(folder: Path, num_synapses: int) -> IntegrateAndFireDataset:
    arrays = {key: np.load(folder / f"{key}.npy", mmap_mode="r") for key in ("inputs_packed", "spikes", "soma")}
    info = json.loads((folder / "generation.json").read_text())
    return IntegrateAndFireDataset(num_synapses=num_synapses, info=info, **arrays)


def output_statistics(spikes: np.ndarray) -> dict:
    """Output rate (Hz) and the coefficient of variation of the inter-spike intervals (within traces)."""
    spikes = np.asarray(spikes)
    intervals = np.concatenate([np.diff(np.flatnonzero(trace)) for trace in spikes]) if len(spikes) else np.array([])
    cv = float(intervals.std() / intervals.mean()) if len(intervals) > 1 else float("nan")
    return dict(output_rate_hz=float(spikes.sum() / (1e-3 * spikes.size)) if spikes.size else 0.0, isi_cv=cv,
                num_output_spikes=int(spikes.sum()))


# ----------------------------------------------------------------------------------------------------------
# The network
# ----------------------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class NetworkConfig:
    num_layers: int = 1
    filter_size_ms: int = 80
    num_filters: int = 1
    dilation_rate: int = 1
    activation: str = "linear"
    initializer_std: float = 0.25
    l2_regularization: float = 1e-8
    first_layer_bias: float = 0.1
    head_initializer_std: float = 0.05
    spike_head_bias: float = -2.5
    learning_rate: float = 3e-4
    loss_weights: tuple = (1.0, 0.003)


def build_network(num_synapses: int, config: NetworkConfig, window_size_ms: int | None = None) -> keras.Model:
    """Causal TCN (one 80-ms filter in the paper) with a sigmoid spike head and a linear soma head,
    each a 1×1 convolution. ``window_size_ms=None`` accepts inputs of any length."""
    regularizer = keras.regularizers.L2(config.l2_regularization)
    inputs = keras.Input((window_size_ms, num_synapses), name="synaptic_inputs")
    hidden = inputs
    for layer in range(config.num_layers):
        hidden = keras.layers.Conv1D(
            config.num_filters, config.filter_size_ms, padding="causal", dilation_rate=config.dilation_rate,
            activation=config.activation,
            kernel_initializer=keras.initializers.TruncatedNormal(stddev=config.initializer_std),
            kernel_regularizer=regularizer, bias_initializer=keras.initializers.Constant(config.first_layer_bias),
            name=f"layer_{layer + 1}")(hidden)
    head_initializer = keras.initializers.TruncatedNormal(stddev=config.head_initializer_std)
    spikes = keras.layers.Conv1D(1, 1, activation="sigmoid", kernel_initializer=head_initializer,
                                 bias_initializer=keras.initializers.Constant(config.spike_head_bias),
                                 kernel_regularizer=regularizer, name="spikes")(hidden)
    soma = keras.layers.Conv1D(1, 1, activation="linear", kernel_initializer=head_initializer,
                               kernel_regularizer=regularizer, name="soma")(hidden)
    model = keras.Model(inputs, [spikes, soma], name="integrate_and_fire_tcn")
    # XLA makes a training step of this 100-channel, 1-filter convolution ~3x faster on CPU under TensorFlow
    # (Keras's "auto" leaves it off there; JAX always compiles); torch.compile is left to "auto".
    model.compile(optimizer=keras.optimizers.Nadam(learning_rate=config.learning_rate),
                  loss=["binary_crossentropy", "mse"], loss_weights=list(config.loss_weights),
                  jit_compile=True if keras.backend.backend() in ("tensorflow", "jax") else "auto")
    return model


class WindowBatches(keras.utils.PyDataset):
    """Batches of one time window [start, start + W) over a set of simulations, unpacked on demand.

    ``set_window`` picks the window and reshuffles the simulations, so one object serves every subset.
    """

    def __init__(self, dataset: IntegrateAndFireDataset, sim_indices: np.ndarray, window_size_ms: int,
                 batch_size: int, soma_offset: float, rng: np.random.Generator | None = None):
        super().__init__()
        self.dataset, self.sim_indices = dataset, np.asarray(sim_indices)
        self.window_size_ms, self.batch_size, self.soma_offset = window_size_ms, batch_size, soma_offset
        self.rng, self.start, self.order = rng, 0, self.sim_indices

    def set_window(self, start: int) -> None:
        self.start = start
        self.order = self.rng.permutation(self.sim_indices) if self.rng is not None else self.sim_indices

    def __len__(self) -> int:
        return math.ceil(len(self.sim_indices) / self.batch_size)

    def __getitem__(self, index: int):
        sims = np.sort(self.order[index * self.batch_size:(index + 1) * self.batch_size])
        window = slice(self.start, self.start + self.window_size_ms)
        inputs = self.dataset.inputs(sims, self.start, self.window_size_ms)
        spikes = self.dataset.spikes[sims, window].astype(np.float32)[..., np.newaxis]
        soma = (self.dataset.soma[sims, window] - self.soma_offset).astype(np.float32)[..., np.newaxis]
        return inputs, (spikes, soma)


def split_train_validation(num_simulations: int, validation_fraction: float,
                           rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A random held-out validation split (the original took the last 5 % of simulations)."""
    num_validation = max(1, int(round(validation_fraction * num_simulations))) if validation_fraction > 0 else 0
    permutation = rng.permutation(num_simulations)
    return np.sort(permutation[num_validation:]), np.sort(permutation[:num_validation])


def train_network(model: keras.Model, dataset: IntegrateAndFireDataset, train_indices: np.ndarray,
                  validation_indices: np.ndarray, *, num_subsets: int, window_size_ms: int, batch_size: int,
                  soma_offset: float, rng: np.random.Generator, progress: bool = True) -> dict:
    """§4.4: ``num_subsets`` times, draw a window start in [0, T − W − 1) and fit one epoch on that window
    of every training simulation (batches of ``batch_size``, shuffled), then evaluate the validation
    simulations on the same window. Returns the per-subset losses and the window starts."""
    train_batches = WindowBatches(dataset, train_indices, window_size_ms, batch_size, soma_offset, rng)
    validation_batches = WindowBatches(dataset, validation_indices, window_size_ms, 4 * batch_size, soma_offset) \
        if len(validation_indices) else None
    history: dict[str, list] = {"window_start": []}
    subsets = tqdm(range(num_subsets), desc="training subsets", unit="subset", disable=not progress)
    for _ in subsets:
        start = int(rng.integers(0, dataset.duration_ms - window_size_ms - 1))
        train_batches.set_window(start)
        if validation_batches is not None:
            validation_batches.set_window(start)
        fitted = model.fit(train_batches, validation_data=validation_batches, epochs=1, verbose=0)
        history["window_start"].append(start)
        for key, values in fitted.history.items():
            history.setdefault(key, []).append(float(values[-1]))
        subsets.set_postfix(spikes=f"{history['spikes_loss'][-1]:.4f}", soma=f"{history['soma_loss'][-1]:.2f}")
    history["steps_per_subset"] = len(train_batches)
    return history


def predict_dataset(model: keras.Model, dataset: IntegrateAndFireDataset, *, window_size_ms: int | None,
                    overlap_ms: int, soma_offset: float, chunk_size: int = 50,
                    progress: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Spike probability and somatic voltage (mV) for every simulation of ``dataset``, chunk by chunk.

    With ``window_size_ms`` the traces are predicted with overlapping windows (§11.3), otherwise in one causal
    pass (the model must then accept inputs of any length)."""
    spike_probability = np.zeros(dataset.spikes.shape, dtype=np.float32)
    soma = np.zeros(dataset.spikes.shape, dtype=np.float32)
    for chunk_start in tqdm(range(0, len(dataset), chunk_size), desc="predicting", unit="chunk", disable=not progress):
        indices = np.arange(chunk_start, min(chunk_start + chunk_size, len(dataset)))
        inputs = dataset.inputs(indices)
        if window_size_ms is None:
            outputs = evaluation.predict_single_causal_pass(model.predict_on_batch, inputs)
        else:
            outputs = evaluation.predict_with_overlapping_windows(model.predict_on_batch, inputs, window_size_ms,
                                                                  overlap_ms)
        spike_probability[indices] = outputs[0][..., 0]
        soma[indices] = outputs[1][..., 0] + soma_offset
    return spike_probability, soma


def first_layer_filter(model: keras.Model, num_exc_synapses: int, sign_window_ms: int = 20) -> np.ndarray:
    """The first layer's first filter as (synapses, time), the last column being the current time.

    The sign of a linear filter is not identifiable (the heads can absorb it), so it is flipped when the
    excitatory weights summed over the last ``sign_window_ms`` are negative, as in the original."""
    kernel = keras.ops.convert_to_numpy(model.get_layer("layer_1").kernel)[:, :, 0].T
    if kernel[:num_exc_synapses, -sign_window_ms:].sum() < 0:
        kernel = -kernel
    return kernel


def fit_exponential_decay(profile_from_now: np.ndarray) -> dict:
    """Fit a·exp(−lag/τ) + c to a temporal profile given from lag 0 (current time) backwards."""
    lags = np.arange(len(profile_from_now), dtype=float)
    try:
        (amplitude, tau, offset), _ = scipy.optimize.curve_fit(
            lambda lag, a, tau, c: a * np.exp(-lag / tau) + c, lags, profile_from_now,
            p0=(profile_from_now[0] - profile_from_now[-1], 10.0, profile_from_now[-1]),
            bounds=([-np.inf, 0.1, -np.inf], [np.inf, 10.0 * len(lags), np.inf]))
    except (RuntimeError, ValueError):
        return dict(amplitude=float("nan"), tau_ms=float("nan"), offset=float("nan"))
    return dict(amplitude=float(amplitude), tau_ms=float(tau), offset=float(offset))


# ----------------------------------------------------------------------------------------------------------
# The experiment
# ----------------------------------------------------------------------------------------------------------
def neuron_from_params(params: dict) -> IntegrateAndFireNeuron:
    return IntegrateAndFireNeuron(**{field.name: params[field.name]
                                     for field in dataclasses.fields(IntegrateAndFireNeuron)})


def input_statistics_from_params(params: dict) -> IntegrateAndFireInputStatistics:
    return IntegrateAndFireInputStatistics(
        interval_options_ms=tuple(params["inst_rate_sampling_time_interval_options_ms"]),
        interval_jitter=params["inst_rate_sampling_time_interval_jitter_range"],
        sigma_options_ms=tuple(params["temporal_inst_rate_smoothing_sigma_options_ms"]),
        sigma_jitter=params["temporal_inst_rate_smoothing_sigma_jitter_range"],
        exc_spikes_per_100ms_range=tuple(params["num_exc_spikes_per_100ms_range"]),
        exc_inh_spike_diff_per_100ms_range=tuple(params["num_exc_inh_spike_diff_per_100ms_range"]))


def network_config_from_params(params: dict) -> NetworkConfig:
    config = {field.name: params[field.name] for field in dataclasses.fields(NetworkConfig)}
    config["loss_weights"] = tuple(config["loss_weights"])
    return NetworkConfig(**config)


def validate_params(params: dict) -> None:
    """Fail early, naming the parameter, before any long work starts."""
    def require(condition: bool, name: str, message: str) -> None:
        if not condition:
            raise ValueError(f"{name} = {params.get(name)!r}: {message}")

    for name in ("num_train_simulations", "num_test_simulations", "num_training_subsets", "batch_size",
                 "num_exc_synapses", "sim_duration_ms", "input_window_size_ms", "filter_size_ms", "num_filters",
                 "num_layers", "dilation_rate", "data_chunk_size"):
        require(int(params[name]) == params[name] and params[name] > 0, name, "must be a positive integer")
    require(params["num_inh_synapses"] >= 0, "num_inh_synapses", "must be >= 0")
    require(params["membrane_time_const_ms"] > 0, "membrane_time_const_ms", "must be > 0")
    require(params["v_threshold"] > params["v_reset"], "v_threshold", "must be above v_reset")
    require(params["input_window_size_ms"] + 1 < params["sim_duration_ms"], "input_window_size_ms",
            f"must be shorter than sim_duration_ms - 1 = {params['sim_duration_ms'] - 1}")
    require(params["filter_size_ms"] <= params["input_window_size_ms"], "filter_size_ms",
            "must not exceed input_window_size_ms")
    require(0 <= params["prediction_overlap_ms"] < params["input_window_size_ms"], "prediction_overlap_ms",
            "must lie in [0, input_window_size_ms)")
    receptive_field = params["num_layers"] * (params["filter_size_ms"] - 1) * params["dilation_rate"] + 1
    require(params["prediction_overlap_ms"] >= receptive_field - 1 or params["prediction_mode"] == "single_pass",
            "prediction_overlap_ms", f"must be >= receptive field - 1 = {receptive_field - 1} for exact traces")
    require(0.0 <= params["validation_fraction"] < 1.0, "validation_fraction", "must lie in [0, 1)")
    require(params["validation_fraction"] == 0 or params["num_train_simulations"] >= 2, "num_train_simulations",
            "needs >= 2 simulations to hold some out for validation")
    require(0.0 < params["desired_fp_rate"] < 1.0, "desired_fp_rate", "must lie in (0, 1)")
    require(params["num_scatter_points"] > 0, "num_scatter_points", "must be > 0")
    require(params["xcorr_half_window_ms"] > 0, "xcorr_half_window_ms", "must be > 0")
    require(params["learning_rate"] > 0, "learning_rate", "must be > 0")
    require(len(params["loss_weights"]) == 2, "loss_weights", "needs two values: spikes, soma")
    require(0 < params["xcorr_area_half_width_ms"] <= params["xcorr_half_window_ms"], "xcorr_area_half_width_ms",
            "must lie in (0, xcorr_half_window_ms]")
    zoom = params["zoom_fraction"]
    require(len(zoom) == 2 and 0 <= zoom[0] < zoom[1] <= 1, "zoom_fraction", "needs 0 <= start < end <= 1")
    require(params["prediction_mode"] in ("overlapping_windows", "single_pass"), "prediction_mode",
            "must be 'overlapping_windows' or 'single_pass'")
    for name in ("num_exc_spikes_per_100ms_range", "num_exc_inh_spike_diff_per_100ms_range"):
        require(len(params[name]) == 2 and params[name][0] <= params[name][1], name, "needs [low, high], low <= high")
    require(params["num_exc_spikes_per_100ms_range"][0] >= 0, "num_exc_spikes_per_100ms_range", "counts must be >= 0")


def run_experiment(params: dict, output_dir: str | os.PathLike, data_root: str | os.PathLike | None,
                   progress: bool = True) -> dict:
    """Generate, train, evaluate and draw Fig. 1; write ``results.json`` into ``output_dir``."""
    from neuron_as_dnn.figures import integrate_and_fire as figures  # matplotlib only when drawing

    validate_params(params)
    output_dir = Path(output_dir)
    timings: dict[str, float] = {}
    seed = params["random_seed"]
    neuron = neuron_from_params(params)
    input_statistics = input_statistics_from_params(params)
    duration, window = params["sim_duration_ms"], params["input_window_size_ms"]

    started = time.perf_counter()
    common = dict(folder_root=data_root, chunk_size=params["data_chunk_size"], progress=progress)
    train_set = generate_dataset(params["num_train_simulations"], neuron, input_statistics, duration, seed,
                                 TRAIN_STREAM, name="train", **common)
    test_set = generate_dataset(params["num_test_simulations"], neuron, input_statistics, duration, seed,
                                TEST_STREAM, name="test", **common)
    timings["data_generation_s"] = time.perf_counter() - started

    started = time.perf_counter()
    keras.utils.set_random_seed(seed)
    config = network_config_from_params(params)
    model = build_network(neuron.num_synapses, config)
    train_indices, validation_indices = split_train_validation(
        len(train_set), params["validation_fraction"], np.random.default_rng([seed, VALIDATION_SPLIT_STREAM]))
    soma_offset = float(np.mean(train_set.soma[train_indices]))
    history = train_network(model, train_set, train_indices, validation_indices,
                            num_subsets=params["num_training_subsets"], window_size_ms=window,
                            batch_size=params["batch_size"], soma_offset=soma_offset,
                            rng=np.random.default_rng([seed, WINDOW_STREAM]), progress=progress)
    timings["training_s"] = time.perf_counter() - started

    started = time.perf_counter()
    spike_probability, soma_prediction = predict_dataset(
        model, test_set, window_size_ms=window if params["prediction_mode"] == "overlapping_windows" else None,
        overlap_ms=params["prediction_overlap_ms"], soma_offset=soma_offset, progress=progress)
    timings["prediction_s"] = time.perf_counter() - started

    started = time.perf_counter()
    y_spikes, y_soma = np.asarray(test_set.spikes), np.asarray(test_set.soma)
    metrics = evaluation.key_results(y_spikes, spike_probability, y_soma, soma_prediction)
    fpr, tpr, thresholds = evaluation.roc_curve(y_spikes, spike_probability)
    point = evaluation.operating_point(fpr, tpr, thresholds, params["desired_fp_rate"])
    predicted_spikes = spike_probability > point.threshold
    xcorr = evaluation.spike_cross_correlation(y_spikes, predicted_spikes, params["xcorr_half_window_ms"])
    filter_weights = first_layer_filter(model, neuron.num_exc_synapses)
    exc_profile = filter_weights[:neuron.num_exc_synapses].mean(axis=0)[::-1]
    inh_profile = filter_weights[neuron.num_exc_synapses:].mean(axis=0)[::-1]
    exc_decay = fit_exponential_decay(exc_profile)
    headline = {
        "spike_AUC": metrics["AUC"],
        "TP_at_desired_FP": point.true_positive_rate,
        "TP_at_desired_FP_nearest_vertex": point.nearest_vertex_tpr,
        "desired_FP": point.desired_fpr,
        "threshold_at_desired_FP": point.threshold,
        "spike_xcorr_area_within_window": evaluation.cross_correlation_area(xcorr, params["xcorr_area_half_width_ms"]),
        "soma_explained_variance_percent": metrics["soma_explained_variance_percent"],
        "soma_RMSE_mV": metrics["soma_RMSE"],
        "soma_MAE_mV": metrics["soma_MAE"],
        "learned_exc_filter_decay_tau_ms": exc_decay["tau_ms"],
    }
    timings["evaluation_s"] = time.perf_counter() - started

    started = time.perf_counter()
    figure_data = figures.IntegrateAndFireFigureData(
        params=params, neuron=neuron, history=history, filter_weights=filter_weights,
        fpr=fpr, tpr=tpr, operating_point=point, xcorr=xcorr,
        y_spikes=y_spikes, y_soma=y_soma, spike_probability=spike_probability, soma_prediction=soma_prediction,
        predicted_spikes=predicted_spikes, test_set=test_set, train_set=train_set, metrics=headline)
    figure_files = figures.draw_all(figure_data, output_dir)
    timings["figures_s"] = time.perf_counter() - started

    results = dict(metrics=headline, key_results=metrics,
                   operating_point=dataclasses.asdict(point),
                   # Mean weights from the current ms backwards (index = lag in ms).
                   learned_filter=dict(exc_mean_by_lag=exc_profile, inh_mean_by_lag=inh_profile,
                                       exc_exponential_fit=exc_decay),
                   spike_cross_correlation=dict(offsets_ms=list(range(-params["xcorr_half_window_ms"],
                                                                      params["xcorr_half_window_ms"] + 1)),
                                                curve=xcorr),
                   data=dict(train=_public_info(train_set.info), test=_public_info(test_set.info),
                             num_training=len(train_indices), num_validation=len(validation_indices),
                             soma_offset_mV=soma_offset),
                   training_history=history, timings_s=timings, figures=[str(p.name) for p in figure_files],
                   params=params, environment=utils.environment_info())
    timings["total_s"] = sum(timings.values())
    utils.write_json(output_dir / "results.json", results)
    log.info("spike AUC %.4f, TP %.3f at FP %g, cross-correlation area ±%d ms %.3f, soma explained variance %.1f %%, "
             "RMSE %.2f mV; wrote %s", headline["spike_AUC"], headline["TP_at_desired_FP"], point.desired_fpr,
             params["xcorr_area_half_width_ms"], headline["spike_xcorr_area_within_window"],
             headline["soma_explained_variance_percent"], headline["soma_RMSE_mV"], output_dir / "results.json")
    return results


def _public_info(info: dict) -> dict:
    return {key: value for key, value in info.items() if key not in ("neuron", "input_statistics")}
