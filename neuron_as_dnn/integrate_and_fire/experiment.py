"""Fig. 1's experiment: the one-filter network of the integrate-and-fire neuron, trained, evaluated and saved.

The network and its training are described in docs/integrate_and_fire.md, the prediction of whole traces and
the metrics in docs/evaluation.md. ``run_experiment`` generates the data sets (``integrate_and_fire``), trains,
predicts the test set and writes one self-describing folder, from which ``figures.integrate_and_fire.redraw``
draws every figure again, in seconds:

    network.keras     the trained network (Keras native format)
    predictions.npz   everything the figures draw: test predictions and ground truth, example inputs, learned
                      filter, ROC, cross-correlation, training history
    results.json      metrics, learned-filter fit, data statistics, timings
    run.json          provenance (``utils.write_provenance``), written last: its presence marks a complete run
    <figure>.png/.pdf the figures of ``figures.integrate_and_fire.FIGURES``
"""
from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import os
import time
from pathlib import Path

import keras
import numpy as np
import scipy.optimize
from tqdm.auto import tqdm

from neuron_as_dnn import utils
from neuron_as_dnn.evaluation import metrics
from neuron_as_dnn.integrate_and_fire import neuron as iaf
from neuron_as_dnn.integrate_and_fire.parameters import duration_ms, validate_params
from neuron_as_dnn.integrate_and_fire import figures
from neuron_as_dnn.integrate_and_fire.figures import PREDICTIONS_FILE, RESULTS_FILE, RUN_FILE
from neuron_as_dnn.learning import models

log = logging.getLogger(__name__)

TRAIN_STREAM, TEST_STREAM, VALIDATION_SPLIT_STREAM, WINDOW_STREAM = 0, 1, 2, 3
NETWORK_FILE = "network.keras"


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

    @classmethod
    def from_params(cls, params: dict) -> "NetworkConfig":
        config = {field.name: params[field.name] for field in dataclasses.fields(cls)}
        return cls(**dict(config, loss_weights=tuple(config["loss_weights"])))


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
# Training on windows
# ----------------------------------------------------------------------------------------------------------
class WindowBatches(keras.utils.PyDataset):
    """Batches of one time window [start, start + W) over a set of simulations, unpacked on demand.

    ``set_window`` picks the window and reshuffles the simulations, so one object serves every subset.
    """

    def __init__(self, dataset: iaf.IntegrateAndFireDataset, sim_indices: np.ndarray, window_size_ms: int,
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


def train_network(model: keras.Model, dataset: iaf.IntegrateAndFireDataset, train_indices: np.ndarray,
                  validation_indices: np.ndarray, *, num_subsets: int, window_size_ms: int, batch_size: int,
                  soma_offset: float, rng: np.random.Generator, progress: bool = True) -> dict:
    """``num_subsets`` times, draw a window start in [0, T − W − 1) and fit one epoch on that window of every
    training simulation (batches of ``batch_size``, shuffled), then evaluate the validation simulations on
    the same window. Returns the per-subset losses and the window starts."""
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


@dataclasses.dataclass
class TrainedNetwork:
    model: keras.Model
    history: dict
    soma_offset: float   # mean training voltage (mV), subtracted from the soma target
    num_training: int
    num_validation: int


def fit_network(params: dict, train_set: iaf.IntegrateAndFireDataset, progress: bool = True) -> TrainedNetwork:
    """Build the network of ``params`` and train it on random windows of ``train_set``."""
    seed = params["seed"]
    keras.utils.set_random_seed(seed)
    model = build_network(train_set.num_synapses, NetworkConfig.from_params(params))
    train_indices, validation_indices = split_train_validation(
        len(train_set), params["validation_fraction"], np.random.default_rng([seed, VALIDATION_SPLIT_STREAM]))
    soma_offset = float(np.mean(train_set.soma[train_indices]))
    history = train_network(model, train_set, train_indices, validation_indices,
                            num_subsets=params["num_training_subsets"], window_size_ms=params["input_window_size_ms"],
                            batch_size=params["batch_size"], soma_offset=soma_offset,
                            rng=np.random.default_rng([seed, WINDOW_STREAM]), progress=progress)
    return TrainedNetwork(model, history, soma_offset, len(train_indices), len(validation_indices))


# ----------------------------------------------------------------------------------------------------------
# Prediction and evaluation
# ----------------------------------------------------------------------------------------------------------
def predict_dataset(model: keras.Model, dataset: iaf.IntegrateAndFireDataset, *, window_size_ms: int | None,
                    overlap_ms: int, soma_offset: float, chunk_size: int = 50,
                    progress: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Spike probability and somatic voltage (mV) for every simulation of ``dataset``, chunk by chunk.

    With ``window_size_ms`` the traces are predicted with overlapping windows, otherwise in one causal pass
    (the model must then accept inputs of any length); both are ``evaluation``'s."""
    spike_probability = np.zeros(dataset.spikes.shape, dtype=np.float32)
    soma = np.zeros(dataset.spikes.shape, dtype=np.float32)
    for chunk_start in tqdm(range(0, len(dataset), chunk_size), desc="predicting", unit="chunk", disable=not progress):
        indices = np.arange(chunk_start, min(chunk_start + chunk_size, len(dataset)))
        inputs = dataset.inputs(indices)
        if window_size_ms is None:
            outputs = metrics.predict_single_causal_pass(model.predict_on_batch, inputs)
        else:
            outputs = metrics.predict_with_overlapping_windows(model.predict_on_batch, inputs, window_size_ms,
                                                                  overlap_ms)
        spike_probability[indices] = outputs[0][..., 0]
        soma[indices] = outputs[1][..., 0] + soma_offset
    return spike_probability, soma


def learned_filter_summary(filter_weights: np.ndarray, num_exc: int) -> dict:
    """Mean excitatory and inhibitory weights from the current ms backwards (index = lag in ms), and the
    exponential fit of the excitatory one (its τ is compared with the membrane's)."""
    exc, inh = (filter_weights[rows].mean(axis=0)[::-1] for rows in (slice(0, num_exc), slice(num_exc, None)))
    return dict(exc_mean_by_lag=exc, inh_mean_by_lag=inh, exc_exponential_fit=fit_exponential_decay(exc))


def evaluate(params: dict, trained: TrainedNetwork, train_set: iaf.IntegrateAndFireDataset,
             test_set: iaf.IntegrateAndFireDataset, spike_probability: np.ndarray, soma_prediction: np.ndarray):
    """The metrics and everything the figures draw: ``(figure data, results entries)``."""
    y_spikes, y_soma = np.asarray(test_set.spikes), np.asarray(test_set.soma)
    key_results = metrics.key_results(y_spikes, spike_probability, y_soma, soma_prediction)
    fpr, tpr, thresholds = metrics.roc_curve(y_spikes, spike_probability)
    point = metrics.operating_point(fpr, tpr, thresholds, params["desired_fp_rate"])
    xcorr = metrics.spike_cross_correlation(y_spikes, point.predicted_spikes(spike_probability),
                                               params["xcorr_half_window_ms"])
    filter_weights = first_layer_filter(trained.model, params["num_exc_synapses"])
    learned_filter = learned_filter_summary(filter_weights, params["num_exc_synapses"])
    headline = {
        "spike_AUC": key_results["AUC"],
        "TP_at_desired_FP": point.true_positive_rate,
        "TP_at_desired_FP_nearest_vertex": point.nearest_vertex_tpr,
        "desired_FP": point.desired_fpr,
        "threshold_at_desired_FP": point.threshold,
        "spike_xcorr_area_within_window": metrics.cross_correlation_area(xcorr, params["xcorr_area_half_width_ms"]),
        "soma_explained_variance_percent": key_results["soma_explained_variance_percent"],
        "soma_RMSE_mV": key_results["soma_RMSE"],
        "soma_MAE_mV": key_results["soma_MAE"],
        "learned_exc_filter_decay_tau_ms": learned_filter["exc_exponential_fit"]["tau_ms"],
    }
    example = figures.choose_example_trace(y_spikes, params["example_test_trace"])
    data = figures.IntegrateAndFireFigureData(
        params=params, metrics=headline, history=trained.history, filter_weights=filter_weights, fpr=fpr, tpr=tpr,
        operating_index=point.threshold_index,
        spike_threshold=point.threshold, xcorr=xcorr, y_spikes=y_spikes, y_soma=y_soma,
        spike_probability=spike_probability, soma_prediction=soma_prediction, example_trace=example,
        example_inputs=_input_rows(test_set, [example])[0],
        train_examples=_input_rows(train_set, range(figures.OVERVIEW_EXAMPLES), figures.OVERVIEW_MS),
        test_examples=_input_rows(test_set, range(figures.OVERVIEW_EXAMPLES), figures.OVERVIEW_MS))
    half_window = params["xcorr_half_window_ms"]
    results = dict(metrics=headline, key_results=key_results, operating_point=dataclasses.asdict(point),
                   learned_filter=learned_filter,
                   spike_cross_correlation=dict(offsets_ms=list(range(-half_window, half_window + 1)), curve=xcorr),
                   data=dict(train=_public_info(train_set.info), test=_public_info(test_set.info),
                             num_training=trained.num_training, num_validation=trained.num_validation,
                             soma_offset_mV=trained.soma_offset),
                   training_history=trained.history)
    return data, results


def _input_rows(dataset: iaf.IntegrateAndFireDataset, sims, length: int | None = None) -> np.ndarray:
    """Inputs of the simulations ``sims`` that exist, as booleans (sims, synapses, time): a raster's layout."""
    length = dataset.duration_ms if length is None else min(length, dataset.duration_ms)
    sims = [sim for sim in sims if sim < len(dataset)]
    return dataset.inputs(sims, 0, length, dtype=bool).transpose(0, 2, 1)


def _public_info(info: dict) -> dict:
    return {key: value for key, value in info.items() if key not in ("neuron", "input_statistics")}


# ----------------------------------------------------------------------------------------------------------
# The experiment and its folder
# ----------------------------------------------------------------------------------------------------------
@contextlib.contextmanager
def _timed(timings: dict, key: str):
    started = time.perf_counter()
    yield
    timings[key] = time.perf_counter() - started


def generate_data_sets(params: dict, data_root: str | os.PathLike | None, progress: bool = True):
    """The training and test sets of ``params`` (reused from ``data_root`` when already generated)."""
    common = dict(neuron=iaf.neuron_from_params(params), input_statistics=iaf.input_statistics_from_params(params),
                  duration_ms=duration_ms(params), seed=params["seed"], folder_root=data_root,
                  chunk_size=params["data_chunk_size"], progress=progress)
    return (iaf.generate_dataset(params["num_train_simulations"], stream=TRAIN_STREAM, name="train", **common),
            iaf.generate_dataset(params["num_test_simulations"], stream=TEST_STREAM, name="test", **common))


def run_experiment(params: dict, out_dir: str | os.PathLike, data_root: str | os.PathLike | None,
                   progress: bool = True, show: bool = False) -> dict:
    """Generate, train, evaluate, save and draw Fig. 1 into ``out_dir`` (see the module docstring); the
    parameters are resolved (``cli.Script.parse``: the seed is an int)."""
    validate_params(params)
    out_dir = Path(out_dir)
    timings: dict[str, float] = {}
    with _timed(timings, "data_generation_s"):
        train_set, test_set = generate_data_sets(params, data_root, progress)
    with _timed(timings, "training_s"):
        trained = fit_network(params, train_set, progress)
    with _timed(timings, "prediction_s"):
        window = params["input_window_size_ms"] if params["prediction_mode"] == "overlapping_windows" else None
        spike_probability, soma_prediction = predict_dataset(
            trained.model, test_set, window_size_ms=window, overlap_ms=params["prediction_overlap_ms"],
            soma_offset=trained.soma_offset, progress=progress)
    with _timed(timings, "evaluation_s"):
        data, results = evaluate(params, trained, train_set, test_set, spike_probability, soma_prediction)
    with _timed(timings, "saving_s"):
        models.save_model_files(trained.model, out_dir / Path(NETWORK_FILE).stem, formats=("keras",))
        data.save(out_dir / PREDICTIONS_FILE)
    with _timed(timings, "figures_s"):
        figure_files = figures.draw_all(data, out_dir, show=show)
    timings["total_s"] = sum(timings.values())
    results.update(timings_s=timings, figures=sorted({path.stem for path in figure_files}))
    utils.write_json(out_dir / RESULTS_FILE, results)
    utils.write_provenance(out_dir / RUN_FILE, params, outputs=[NETWORK_FILE, PREDICTIONS_FILE, RESULTS_FILE,
                                                                *(path.name for path in figure_files)])
    headline = results["metrics"]
    log.info("spike AUC %.4f, TP %.3f at FP %g, cross-correlation area ±%d ms %.3f, soma explained variance %.1f %%, "
             "RMSE %.2f mV; wrote %s", headline["spike_AUC"], headline["TP_at_desired_FP"], headline["desired_FP"],
             params["xcorr_area_half_width_ms"], headline["spike_xcorr_area_within_window"],
             headline["soma_explained_variance_percent"], headline["soma_RMSE_mV"], out_dir)
    return results

