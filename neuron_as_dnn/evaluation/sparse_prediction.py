"""The network's first layer computed event by event: the same predictions for a fraction of the work.

The inputs are binary spike trains, (simulations, time, 1278) with about 1 % of the entries active. The
first layer that sees them is a causal ``Conv1D`` (``layer_1``, or the 1x1 ``input_projection_channels``
of an architecture that has one; ``models.build_model``). Its output is a linear function of the events::

    out[t] = sum_j X[t - (K - 1) + j] @ W[j] + bias          (rows before the start of the trace are zero)

so with ``X`` a sparse (T, 1278) matrix and the kernel stacked as ``W_s`` (1278, K * F), the product
``P = X @ W_s`` holds, in column block ``j``, the contribution ``X[u] @ W[j]`` of every row ``u``; each
block is added to the output shifted by ``K - 1 - j`` ms. That is ``nnz * K * F`` multiply-adds (about
0.5 G for a 6-s trace at 1.1 % and the paper's 45 x 128 first layer) instead of the dense convolution's
``T * 1278 * K * F`` (44 G). The sparse product runs in scipy (one core) on blocks of ``block_ms`` rows, so
that ``P`` stays small; the rest of the network (activation of the first layer, BatchNorm, the later layers
and the three heads) is the model's own layers, called through a Keras sub-model, so it runs on any backend.

    from neuron_as_dnn.evaluation.sparse_prediction import SparseFirstLayerPredictor
    predictor = SparseFirstLayerPredictor(model)                        # a model of models.build_model
    spikes, somatic, dendritic = predictor.predict(X)                   # X: dense (sims, T, 1278), as model(X)
    outputs = predictor.predict(pattern.events(), duration_ms=6000)     # or the events of one simulation
    outputs = predictor.predict([events_0, events_1], duration_ms=6000) # ... or of several

Event lists are the simulator's and the dataset generator's form: a mapping with ``ex_seg, ex_ms, inh_seg,
inh_ms`` (``synaptic_inputs.InputPattern.events()``, replay files) or an object with such an ``events()``
method; excitatory segment ``s`` is input channel ``s``, inhibitory segment ``s`` channel ``639 + s``
(``dataset.sparse_inputs``), and a repeated (channel, ms) event counts once, as in the datasets' binary
inputs. Only stride 1 and dilation rate 1 are handled in the first layer; anything else is refused with
``UnsupportedModelError`` (later layers may have any stride or dilation: Keras computes them).
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import scipy.sparse

from neuron_as_dnn import errors
from neuron_as_dnn.learning import models

DEFAULT_BLOCK_MS = 1024      # rows of the sparse product at a time: P is block x K x F floats (24 MB for 45 x 128)
DEFAULT_BATCH_SIZE = 16      # simulations per call of the rest of the network (prediction.DEFAULT_BATCH_SIZE)
EVENT_KEYS = ("ex_seg", "ex_ms", "inh_seg", "inh_ms")


class UnsupportedModelError(errors.UserError, ValueError):
    """The model's first layer cannot be computed from events here (stride, dilation, not a Conv1D ...)."""


# ---------------------------------------------------------------------------------------------------------
# Sparse inputs
# ---------------------------------------------------------------------------------------------------------

def events_to_sparse(ex_seg, ex_ms, inh_seg, inh_ms, duration_ms: int,
                     num_segments: int = models.NUM_INPUT_CHANNELS // 2) -> scipy.sparse.csr_matrix:
    """The binary input matrix (duration_ms, 2 * num_segments) of one simulation, float32 CSR, from its events
    (segment index, time in whole ms): excitatory segment ``s`` is channel ``s``, inhibitory ``num_segments + s``.

    Raises ValueError for a segment or time outside the trace or a time that is not a whole ms."""
    duration_ms = int(duration_ms)
    if duration_ms < 0:
        raise ValueError(f"duration_ms must be >= 0, got {duration_ms}")
    channels, times = [], []
    for name, segments, ms, offset in (("excitatory", ex_seg, ex_ms, 0), ("inhibitory", inh_seg, inh_ms, num_segments)):
        segments = np.asarray(segments).ravel()
        ms = np.asarray(ms).ravel()
        if segments.shape != ms.shape:
            raise ValueError(f"{name} events: {segments.size} segment indices but {ms.size} times")
        if segments.size:
            if np.any(segments != np.floor(segments)) or segments.min() < 0 or segments.max() >= num_segments:
                raise ValueError(f"{name} events: segment indices must be whole numbers in [0, {num_segments})")
            if np.any(ms != np.floor(ms)) or ms.min() < 0 or ms.max() >= duration_ms:
                raise ValueError(f"{name} events: times must be whole ms in [0, {duration_ms})")
        channels.append(segments.astype(np.int64) + offset)
        times.append(ms.astype(np.int64))
    rows, cols = np.concatenate(times), np.concatenate(channels)
    matrix = scipy.sparse.csr_matrix((np.ones(rows.size, np.float32), (rows, cols)),
                                     shape=(duration_ms, 2 * num_segments), dtype=np.float32)
    matrix.sum_duplicates()
    matrix.data[:] = 1.0  # binary, as the datasets' inputs: a repeated event is one active entry
    return matrix


def _event_arrays(item: Any) -> Mapping[str, Any] | None:
    """The event mapping of one simulation (a mapping or an object with ``events()``), else None."""
    if isinstance(item, Mapping) and all(key in item for key in EVENT_KEYS):
        return item
    events = getattr(item, "events", None)
    if callable(events):
        found = events()
        if isinstance(found, Mapping) and all(key in found for key in EVENT_KEYS):
            return found
    return None


def as_sparse_inputs(inputs: Any, duration_ms: int | None = None,
                     num_channels: int = models.NUM_INPUT_CHANNELS) -> list[scipy.sparse.csr_matrix]:
    """One float32 CSR matrix (time, channels) per simulation, from any of the accepted input forms:

    - a dense array (simulations, time, channels), as ``model(inputs)`` takes;
    - the events of one simulation: a mapping with ``ex_seg, ex_ms, inh_seg, inh_ms`` or an object with
      such an ``events()`` method (``synaptic_inputs.InputPattern``), with ``duration_ms`` (an
      ``InputPattern`` knows its own);
    - a sequence of such event sets, or of scipy sparse matrices (time, channels)."""
    if scipy.sparse.issparse(inputs) or _event_arrays(inputs) is not None:
        items = [inputs]
    elif isinstance(inputs, Mapping):
        raise ValueError(f"events need the keys {', '.join(EVENT_KEYS)}; got {', '.join(map(str, inputs))}")
    elif isinstance(inputs, (list, tuple)):
        items = list(inputs)
    else:  # a dense array (numpy, or a backend tensor)
        dense = np.asarray(inputs)
        if dense.ndim != 3 or dense.shape[2] != num_channels:
            raise ValueError(f"dense inputs must have shape (simulations, time, {num_channels}), got {dense.shape}")
        return [scipy.sparse.csr_matrix(simulation, dtype=np.float32) for simulation in dense]
    matrices = []
    for index, item in enumerate(items):
        if scipy.sparse.issparse(item):
            if item.ndim != 2 or item.shape[1] != num_channels:
                raise ValueError(f"simulation {index}: a sparse input must be (time, {num_channels}), got {item.shape}")
            matrices.append(scipy.sparse.csr_matrix(item, dtype=np.float32))
            continue
        events = _event_arrays(item)
        if events is None:
            raise TypeError(f"simulation {index}: expected events (a mapping with {', '.join(EVENT_KEYS)}, or an "
                            f"object with events()) or a scipy sparse matrix, got {type(item).__name__}")
        duration = duration_ms if duration_ms is not None else getattr(item, "duration_ms", None)
        if duration is None:
            raise ValueError("duration_ms is needed to predict from events (the trace may end after the last event)")
        matrices.append(events_to_sparse(*(events[key] for key in EVENT_KEYS), duration_ms=int(duration),
                                         num_segments=num_channels // 2))
    durations = {matrix.shape[0] for matrix in matrices}
    if len(durations) > 1:
        raise ValueError(f"the simulations differ in duration ({sorted(durations)} ms); predict them separately")
    return matrices


# ---------------------------------------------------------------------------------------------------------
# The sparse causal convolution
# ---------------------------------------------------------------------------------------------------------

class SparseCausalConv1D:
    """``Conv1D(padding='causal', strides=1, dilation_rate=1)`` before its activation, on a sparse input.

    ``kernel`` is Keras' (K, C, F) array, ``bias`` (F,) or None. ``__call__(x)`` takes a (T, C) scipy
    sparse matrix and returns the dense float32 (T, F) output."""

    def __init__(self, kernel: np.ndarray, bias: np.ndarray | None = None, block_ms: int = DEFAULT_BLOCK_MS):
        kernel = np.asarray(kernel, dtype=np.float32)
        if kernel.ndim != 3:
            raise ValueError(f"a Conv1D kernel is (kernel size, input channels, filters), got shape {kernel.shape}")
        self.kernel_size, self.num_input_channels, self.filters = kernel.shape
        # column block j of the stacked kernel is W[j]: one sparse product gives every lag at once
        self.stacked_kernel = np.ascontiguousarray(kernel.transpose(1, 0, 2).reshape(
            self.num_input_channels, self.kernel_size * self.filters))
        self.bias = None if bias is None else np.asarray(bias, dtype=np.float32).reshape(self.filters)
        if block_ms < 1:
            raise ValueError(f"block_ms must be at least 1, got {block_ms}")
        self.block_ms = int(block_ms)

    def __call__(self, x, out: np.ndarray | None = None) -> np.ndarray:
        x = scipy.sparse.csr_matrix(x, dtype=np.float32)
        duration, channels = x.shape
        if channels != self.num_input_channels:
            raise ValueError(f"the input has {channels} channels, the kernel {self.num_input_channels}")
        k, f = self.kernel_size, self.filters
        # rows K - 1 beyond the end collect the contributions that fall after the trace; they are dropped
        padded = np.zeros((duration + k - 1, f), np.float32)
        for start in range(0, duration, self.block_ms):
            stop = min(duration, start + self.block_ms)
            block = x[start:stop]
            if block.nnz == 0:
                continue
            products = np.asarray(block @ self.stacked_kernel).reshape(stop - start, k, f)
            for j in range(k):
                shift = k - 1 - j  # X[u] @ W[j] lands on out[u + K - 1 - j]
                padded[start + shift:stop + shift] += products[:, j]
        result = padded[:duration]
        if self.bias is not None:
            result += self.bias
        if out is not None:
            out[...] = result
            return out
        return result

    def multiply_adds(self, num_events: int) -> int:
        """Multiply-adds of one call on an input with ``num_events`` active entries."""
        return int(num_events) * self.kernel_size * self.filters


# ---------------------------------------------------------------------------------------------------------
# The model: sparse first layer, then the model's own layers
# ---------------------------------------------------------------------------------------------------------

def first_conv_layer(model):
    """The ``Conv1D`` that reads the model's input: ``input_projection_channels`` when the architecture has
    it, else ``layer_1``; ``UnsupportedModelError`` when it cannot be computed from events here."""
    import keras

    names = [layer.name for layer in model.layers]
    name = models.INPUT_PROJECTION if models.INPUT_PROJECTION in names else "layer_1"
    if name not in names:
        raise UnsupportedModelError(f"the model {model.name!r} has neither an {models.INPUT_PROJECTION!r} nor a "
                                    f"'layer_1' layer: not a network of models.build_model")
    layer = model.get_layer(name)
    if not isinstance(layer, keras.layers.Conv1D):
        raise UnsupportedModelError(f"the first layer {name!r} is a {type(layer).__name__}, not a Conv1D")
    if len(model.inputs) != 1 or layer.input is not model.inputs[0]:
        raise UnsupportedModelError(f"the first layer {name!r} does not read the model's only input")
    strides, dilation = tuple(layer.strides), tuple(layer.dilation_rate)
    if strides != (1,) or dilation != (1,):
        raise UnsupportedModelError(
            f"the first layer {name!r} has strides {strides[0]} and dilation rate {dilation[0]}: the sparse first "
            f"layer handles only strides 1 and dilation rate 1 (predict this model densely, "
            f"prediction.model_predict_fn)")
    kernel_size = int(layer.kernel_size[0])
    if layer.padding != "causal" and kernel_size != 1:
        raise UnsupportedModelError(f"the first layer {name!r} has padding {layer.padding!r}: only causal "
                                    f"convolutions (or 1x1 ones) can be computed from events here")
    if getattr(layer, "groups", 1) != 1 or getattr(layer, "data_format", "channels_last") != "channels_last":
        raise UnsupportedModelError(f"the first layer {name!r} is grouped or channels-first; not handled")
    return layer


class SparseFirstLayerPredictor:
    """A model of ``models.build_model`` whose first layer is computed from the input events.

    ``predict(inputs)`` returns what ``prediction.model_predict_fn(model)(inputs)`` returns, the list of head
    outputs as numpy arrays ((sims, T, 1) spike probability, (sims, T, 1) somatic, (sims, T, k) dendritic
    when the model has that head), for dense or event inputs (module docstring). The first layer's weights
    are read when the predictor is made: make a new one after changing them."""

    def __init__(self, model, block_ms: int = DEFAULT_BLOCK_MS):
        import keras

        self.model = model
        self.first_layer = first_conv_layer(model)
        weights = self.first_layer.get_weights()  # numpy on every backend: [kernel] or [kernel, bias]
        self.convolution = SparseCausalConv1D(weights[0], weights[1] if self.first_layer.use_bias else None,
                                              block_ms=block_ms)
        self.num_input_channels = int(model.inputs[0].shape[-1])
        # the rest of the network, from the first layer's output before its activation to the heads
        name = self.first_layer.name
        tail = keras.Model(self.first_layer.output, model.outputs, name=f"{model.name}_after_{name}")
        preactivation = keras.Input(shape=(None, self.convolution.filters), name=f"{name}_preactivation")
        activation = keras.activations.get(self.first_layer.activation)
        x = preactivation if activation is keras.activations.linear else \
            keras.layers.Activation(activation, name=f"{name}_activation")(preactivation)
        outputs = tail(x)
        self.rest_of_network = keras.Model(preactivation, list(outputs) if isinstance(outputs, (list, tuple))
                                           else [outputs], name=f"{model.name}_rest")

    @property
    def first_layer_name(self) -> str:
        return self.first_layer.name

    def first_layer_output(self, inputs, duration_ms: int | None = None) -> np.ndarray:
        """The first layer's output before its activation, float32 (sims, T, filters)."""
        matrices = as_sparse_inputs(inputs, duration_ms, self.num_input_channels)
        duration = matrices[0].shape[0] if matrices else 0
        out = np.empty((len(matrices), duration, self.convolution.filters), np.float32)
        for index, matrix in enumerate(matrices):
            self.convolution(matrix, out=out[index])
        return out

    def predict(self, inputs, duration_ms: int | None = None,
                batch_size: int = DEFAULT_BATCH_SIZE) -> list[np.ndarray]:
        """The model's outputs for ``inputs`` (dense (sims, T, channels), or events: module docstring);
        ``batch_size`` simulations go through the rest of the network per call."""
        import keras

        if batch_size < 1:
            raise errors.bad_parameter("batch_size", f"must be at least 1, got {batch_size}")
        matrices = as_sparse_inputs(inputs, duration_ms, self.num_input_channels)
        if not matrices:
            raise ValueError("no simulations to predict")
        duration = matrices[0].shape[0]
        chunks = []
        for start in range(0, len(matrices), batch_size):
            batch = matrices[start:start + batch_size]
            preactivation = np.empty((len(batch), duration, self.convolution.filters), np.float32)
            for index, matrix in enumerate(batch):
                self.convolution(matrix, out=preactivation[index])
            chunks.append([keras.ops.convert_to_numpy(output)
                           for output in self.rest_of_network(preactivation, training=False)])
        return [np.concatenate(parts) if len(parts) > 1 else parts[0] for parts in zip(*chunks)]

    __call__ = predict

    def predict_fn(self):
        """An ``evaluation.PredictFn`` (dense (sims, T, channels) or a list of per-simulation sparse matrices in,
        list of head outputs out), to use in place of ``prediction.model_predict_fn(model)`` (e.g. in
        ``prediction.predict_traces``)."""
        return lambda inputs: self.predict(inputs, batch_size=max(1, len(inputs)))

    def first_layer_multiply_adds(self, inputs, duration_ms: int | None = None) -> int:
        """Multiply-adds of the sparse first layer on ``inputs``: active entries x kernel size x filters."""
        return sum(self.convolution.multiply_adds(matrix.nnz)
                   for matrix in as_sparse_inputs(inputs, duration_ms, self.num_input_channels))
