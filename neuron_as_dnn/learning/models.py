"""TCN/FCN builder from the original's ``architecture_dict``, model names, saving and loading.

The network (``docs/training.md``, Network): per hidden layer ``k`` a causal ``Conv1D`` named
``layer_k`` with the activation inside it, then ``BatchNormalization`` named ``layer_k_BN`` (after the
activation, as the original); three 1x1 heads on the last BN output: ``spikes`` (sigmoid, bias -2),
``somatic`` (linear), ``dendritic`` (linear, one channel per DVT PCA component; left out when there are
none). The input ``input_layer`` has shape (time, 1278) with time left free, so a model trained on 400-ms
windows predicts a whole simulation in one causal pass.

Only ``keras`` APIs are used, so the same code runs under KERAS_BACKEND=tensorflow, jax or torch.

Loading the authors' Keras-2 ``*_model.h5`` files: ``load_model_file`` rebuilds the network with
``build_model`` (architecture given by the caller, e.g. from the companion pickle, else from the file's
``model_config`` JSON or the weight shapes) and copies the weights by layer name from the HDF5 groups,
which works whatever the Keras version that wrote the file. Which files make up a model, and their
companion pickles, is ``model_folder``'s business (``docs/model_folder.md``).
"""
from __future__ import annotations

import datetime
import json
import logging
import os
import zipfile
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from neuron_as_dnn import errors

log = logging.getLogger(__name__)

NUM_INPUT_CHANNELS = 1278
BN_MOMENTUM = 0.99      # Keras 2 defaults, which the original trained with
BN_EPSILON = 1e-3
LEAKY_RELU_SLOPE = 0.25  # the original's 'lrelu'
HEAD_L2 = 1e-8
HEAD_INITIALIZER_STD = {"spikes": 0.001, "somatic": 0.03, "dendritic": 0.05}
SPIKE_BIAS_INIT = -2.0  # starts the spike head near the (low) spike rate

ARCHITECTURE_KEYS = ("network_depth", "input_window_size", "num_filters_per_layer", "initializer_per_layer",
                     "filter_sizes_per_layer", "l2_regularization_per_layer", "activation_function_per_layer",
                     "strides_per_layer", "dilation_rates_per_layer")
PER_LAYER_KEYS = ARCHITECTURE_KEYS[2:]
ARCHITECTURE_ATTRIBUTE = "neuron_as_dnn_architecture_dict"
INPUT_PROJECTION = "input_projection_channels"  # optional entry and the name of its layer
PROJECTION_INITIALIZER_STD = 0.05  # about 13 of the 1278 inputs are active per ms


class ModelFileError(errors.FileContentError):
    """A model file cannot be used; the message names the file and the problem."""


# ---------------------------------------------------------------------------------------------------------
# Architecture description
# ---------------------------------------------------------------------------------------------------------

def make_architecture_dict(filter_sizes_per_layer: Sequence[int], num_filters_per_layer: int | Sequence[int] = 64,
                           input_window_size: int = 400, initializer_std: float | Sequence[float] = 0.002,
                           l2_regularization: float | Sequence[float] = 1e-8,
                           activation: str | Sequence[str] = "relu", strides: int | Sequence[int] = 1,
                           dilation_rates: int | Sequence[int] = 1, input_projection_channels: int = 0) -> dict:
    """The original's ``architecture_dict``; a scalar (or a one-element list) applies to every layer.

    ``input_projection_channels`` > 0 adds this project's optional entry of that name: a linear 1x1
    convolution of the 1278 inputs to that many channels before ``layer_1``, so the first temporal layer
    has few parameters per input (absent from the dict when 0, which keeps the original's format)."""
    depth = len(filter_sizes_per_layer)

    def per_layer(value, name, kind):
        values = list(value) if isinstance(value, (list, tuple)) else [value]
        if len(values) == 1:
            values = values * depth
        if len(values) != depth:
            raise ValueError(f"{name}: {len(values)} values for {depth} layers (give one, or one per layer)")
        return [kind(v) for v in values]

    architecture = {
        "network_depth": depth,
        "input_window_size": int(input_window_size),
        "num_filters_per_layer": per_layer(num_filters_per_layer, "num_filters_per_layer", int),
        "initializer_per_layer": per_layer(initializer_std, "initializer_per_layer", float),
        "filter_sizes_per_layer": [int(f) for f in filter_sizes_per_layer],
        "l2_regularization_per_layer": per_layer(l2_regularization, "l2_regularization_per_layer", float),
        "activation_function_per_layer": per_layer(activation, "activation_function_per_layer", str),
        "strides_per_layer": per_layer(strides, "strides_per_layer", int),
        "dilation_rates_per_layer": per_layer(dilation_rates, "dilation_rates_per_layer", int),
    }
    if input_projection_channels:
        architecture[INPUT_PROJECTION] = int(input_projection_channels)
    validate_architecture(architecture)
    return architecture


def validate_architecture(architecture: Mapping[str, Any]) -> None:
    missing = [key for key in ARCHITECTURE_KEYS if key not in architecture]
    if missing:
        raise ValueError(f"architecture_dict lacks {missing}")
    depth = architecture["network_depth"]
    if depth < 1:
        raise ValueError("network_depth must be at least 1")
    for key in PER_LAYER_KEYS:
        if len(architecture[key]) != depth:
            raise ValueError(f"architecture_dict[{key!r}] has {len(architecture[key])} entries, "
                             f"network_depth is {depth}")
    unknown = set(architecture["activation_function_per_layer"]) - {"relu", "lrelu", "linear", "elu", "tanh",
                                                                    "sigmoid", "gelu", "swish", "selu"}
    if unknown:
        raise ValueError(f"unknown activation(s) {sorted(unknown)}")
    if architecture.get(INPUT_PROJECTION, 0) < 0:
        raise ValueError(f"{INPUT_PROJECTION} must be 0 (none) or a number of channels")
    if architecture["input_window_size"] <= sum(architecture["filter_sizes_per_layer"]):
        raise ValueError(f"input_window_size {architecture['input_window_size']} must exceed the sum of the filter "
                         f"sizes {sum(architecture['filter_sizes_per_layer'])} (as the original asserts)")


def receptive_field_ms(architecture: Mapping[str, Any]) -> int:
    """T of the model name: sum of (filter size - 1) + 1, the original's formula (it ignores dilation)."""
    return int(sum(f - 1 for f in architecture["filter_sizes_per_layer"]) + 1)


def network_type(architecture: Mapping[str, Any]) -> str:
    """'FCN' when only the first layer looks at time (depth 1 or all later kernels 1), else 'TCN'."""
    depth = architecture["network_depth"]
    fully_connected = depth == 1 or sum(architecture["filter_sizes_per_layer"][1:]) == depth - 1
    return "FCN" if fully_connected else "TCN"


def architecture_prefix(synapse_type: str, architecture: Mapping[str, Any]) -> str:
    """``<TYPE>_<TCN|FCN>__DxWxT_<D>x<W>x<T>``, e.g. ``NMDA_TCN__DxWxT_7x128x153``."""
    width = int(np.mean(architecture["num_filters_per_layer"]))
    return (f"{synapse_type}_{network_type(architecture)}__DxWxT_"
            f"{architecture['network_depth']}x{width}x{receptive_field_ms(architecture)}")


def checkpoint_name(synapse_type: str, architecture: Mapping[str, Any], num_train_samples: int,
                    train_spike_logloss: float, valid_spike_logloss: float, model_id: int,
                    when: datetime.datetime | None = None) -> str:
    """The original's checkpoint name (``docs/training.md``, Checkpoints):
    ``<prefix>__<YYYY-MM-DD>__<HH>_<MM>__samples_<N>__LogLoss_train_<a>_valid_<b>__ID_<id>``."""
    when = when or datetime.datetime.now()
    stamp = when.strftime("%Y-%m-%d__%H_%M")
    return (f"{architecture_prefix(synapse_type, architecture)}__{stamp}__samples_{int(num_train_samples)}"
            f"__LogLoss_train_{int(10000 * train_spike_logloss)}_valid_{int(10000 * valid_spike_logloss)}"
            f"__ID_{int(model_id)}")


# ---------------------------------------------------------------------------------------------------------
# Builder
# ---------------------------------------------------------------------------------------------------------

def build_model(architecture: Mapping[str, Any], num_dvt_components: int = 20,
                num_input_channels: int = NUM_INPUT_CHANNELS, fixed_window: bool = False):
    """The original network; ``fixed_window=True`` pins the input length to ``input_window_size``
    (the original's ``input_layer`` shape), otherwise it is free."""
    import keras
    from keras import layers

    validate_architecture(architecture)
    time_steps = architecture["input_window_size"] if fixed_window else None
    inputs = keras.Input(shape=(time_steps, num_input_channels), name="input_layer")
    x = inputs
    if architecture.get(INPUT_PROJECTION, 0):
        x = layers.Conv1D(architecture[INPUT_PROJECTION], 1, use_bias=False, name=INPUT_PROJECTION,
                          kernel_initializer=keras.initializers.TruncatedNormal(stddev=PROJECTION_INITIALIZER_STD),
                          kernel_regularizer=keras.regularizers.L2(architecture["l2_regularization_per_layer"][0]))(x)
    for k in range(architecture["network_depth"]):
        activation = architecture["activation_function_per_layer"][k]
        x = layers.Conv1D(
            filters=architecture["num_filters_per_layer"][k],
            kernel_size=architecture["filter_sizes_per_layer"][k],
            strides=architecture["strides_per_layer"][k],
            dilation_rate=architecture["dilation_rates_per_layer"][k],
            padding="causal",
            activation=None if activation == "lrelu" else activation,
            kernel_initializer=keras.initializers.TruncatedNormal(stddev=architecture["initializer_per_layer"][k]),
            bias_initializer="zeros",
            kernel_regularizer=keras.regularizers.L2(architecture["l2_regularization_per_layer"][k]),
            name=f"layer_{k + 1}")(x)
        if activation == "lrelu":
            x = layers.LeakyReLU(negative_slope=LEAKY_RELU_SLOPE, name=f"layer_{k + 1}_lrelu")(x)
        x = layers.BatchNormalization(momentum=BN_MOMENTUM, epsilon=BN_EPSILON, name=f"layer_{k + 1}_BN")(x)

    def head(name, channels, activation, bias=0.0):
        return layers.Conv1D(channels, 1, padding="causal", activation=activation,
                             kernel_initializer=keras.initializers.TruncatedNormal(stddev=HEAD_INITIALIZER_STD[name]),
                             bias_initializer=keras.initializers.Constant(bias),
                             kernel_regularizer=keras.regularizers.L2(HEAD_L2), name=name)(x)

    outputs = [head("spikes", 1, "sigmoid", SPIKE_BIAS_INIT), head("somatic", 1, "linear")]
    if num_dvt_components > 0:
        outputs.append(head("dendritic", num_dvt_components, "linear"))
    return keras.Model(inputs, outputs, name="neuron_as_dnn")


def count_trainable_parameters(model) -> int:
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))


def count_parameters(architecture: Mapping[str, Any], num_dvt_components: int,
                     num_input_channels: int = NUM_INPUT_CHANNELS) -> int:
    """``count_trainable_parameters(build_model(...))`` without building the model (for tables of many
    models): per layer the kernel, the bias and BatchNorm's gamma and beta; then the three 1x1 heads."""
    total, channels = 0, num_input_channels
    if architecture.get(INPUT_PROJECTION, 0):
        total, channels = channels * architecture[INPUT_PROJECTION], architecture[INPUT_PROJECTION]
    for size, filters in zip(architecture["filter_sizes_per_layer"], architecture["num_filters_per_layer"]):
        total += size * channels * filters + filters + 2 * filters
        channels = filters
    return int(total + (channels + 1) * (2 + num_dvt_components))


def count_multiply_adds(architecture: Mapping[str, Any], num_dvt_components: int,
                        num_input_channels: int = NUM_INPUT_CHANNELS) -> int:
    """Multiply-adds per output millisecond of a dense causal pass: every kernel weight once (the input
    projection, the temporal layers, the three 1x1 heads); biases and BatchNorm are additions."""
    total, channels = 0, num_input_channels
    if architecture.get(INPUT_PROJECTION, 0):
        total, channels = channels * architecture[INPUT_PROJECTION], architecture[INPUT_PROJECTION]
    for size, filters in zip(architecture["filter_sizes_per_layer"], architecture["num_filters_per_layer"]):
        total += size * channels * filters
        channels = filters
    return int(total + channels * (2 + num_dvt_components))


def num_dvt_components_of(model) -> int:
    names = [layer.name for layer in model.layers]
    return int(model.get_layer("dendritic").filters) if "dendritic" in names else 0


# ---------------------------------------------------------------------------------------------------------
# Saving and loading
# ---------------------------------------------------------------------------------------------------------

def _atomic_model_save(model, path: Path, architecture: Mapping[str, Any] | None = None) -> None:
    # Keras decides the format from the suffix, so the temporary file keeps it
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")
    try:
        if path.suffix == ".h5":
            # without the optimiser: Keras 3's legacy writer pops it from the live model's compile config, so
            # a later .keras save would record (and reload) the wrong optimiser; the .keras file carries it
            model.save(tmp, include_optimizer=False)
        else:
            model.save(tmp)
        if path.suffix == ".h5" and architecture is not None:
            import h5py
            with h5py.File(tmp, "a") as h5file:  # so the file alone is enough to rebuild the network
                h5file.attrs[ARCHITECTURE_ATTRIBUTE] = json.dumps(dict(architecture))
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def save_model_files(model, base_path: str | os.PathLike, architecture: Mapping[str, Any] | None = None,
                     formats: Sequence[str] = ("keras", "h5")) -> list[Path]:
    """Write ``<base_path>.keras`` (native) and ``<base_path>.h5`` (the original's format), each atomically;
    the ``.h5`` also carries ``architecture`` (JSON attribute) for loaders without the companion pickle."""
    import warnings

    base_path = Path(base_path)
    written = []
    for suffix in formats:
        path = base_path.with_name(f"{base_path.name}.{suffix}")
        absl_logger = logging.getLogger("absl")
        previous_level = absl_logger.level
        absl_logger.setLevel(logging.ERROR)  # .h5 is written on purpose: silence Keras' "legacy format" advice
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=".*legacy.*")
                _atomic_model_save(model, path, architecture)
        finally:
            absl_logger.setLevel(previous_level)
        written.append(path)
    return written


def _decode(value) -> str:
    return value.decode("utf8") if isinstance(value, bytes) else str(value)


def _weights_root(h5file):
    """The group holding one subgroup per layer: ``model_weights`` in full-model files, the root in
    ``save_weights`` files."""
    return h5file["model_weights"] if "model_weights" in h5file else h5file


def _open_h5(path: Path):
    import h5py

    try:
        return h5py.File(path, "r")
    except OSError as error:
        raise ModelFileError(path, f"not an HDF5 model file ({error})") from None


def read_h5_weights(path: str | os.PathLike) -> dict[str, dict[str, np.ndarray]]:
    """``{layer name: {weight name: array}}`` from a Keras 2 or Keras 3 ``.h5`` file, found by walking the
    ``layer_names`` / ``weight_names`` attributes; weight names are reduced to ``kernel``, ``bias``,
    ``gamma``, ``beta``, ``moving_mean``, ``moving_variance``."""
    path = Path(path)
    with _open_h5(path) as h5file:
        root = _weights_root(h5file)
        if "layer_names" not in root.attrs:
            raise ModelFileError(path, "no 'layer_names' attribute: not a Keras model or weights file")
        weights = {}
        for layer_name in map(_decode, root.attrs["layer_names"]):
            group = root[layer_name]
            names = [_decode(n) for n in group.attrs.get("weight_names", [])]
            if names:
                weights[layer_name] = {_short_weight_name(name): np.asarray(group[name]) for name in names}
        return weights


def _short_weight_name(name: str) -> str:
    """``layer_1/layer_1/kernel:0`` -> ``kernel``."""
    return name.split("/")[-1].split(":")[0]


def _json_attribute(path: Path, name: str) -> Any:
    with _open_h5(path) as h5file:
        value = h5file.attrs.get(name)
    if value is None:
        return None
    value = json.loads(_decode(value))
    while isinstance(value, str):  # the original's *_json.json is double-encoded; be as lenient here
        value = json.loads(value)
    return value


def _keras_file_config(path: Path) -> dict:
    """The model configuration inside a ``.keras`` archive, read without loading the model."""
    try:
        with zipfile.ZipFile(path) as archive:
            return json.loads(archive.read("config.json"))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as error:
        raise ModelFileError(path, f"not a .keras model archive ({type(error).__name__}: {error})") from None


def architecture_from_model_config(config: Mapping[str, Any]) -> tuple[dict, int]:
    """``(architecture_dict, num_dvt_components)`` from a Keras 2 or 3 functional ``model_config``."""
    layer_list = config["config"]["layers"]
    layer_configs = {layer["config"]["name"]: layer for layer in layer_list}
    input_config = layer_configs["input_layer"]["config"]
    input_shape = input_config.get("batch_input_shape") or input_config.get("batch_shape")

    def first(value):
        return value[0] if isinstance(value, (list, tuple)) else value

    conv = []
    for layer in layer_list:
        name, layer_config = layer["config"]["name"], layer["config"]
        if name == f"layer_{len(conv) + 1}" and layer["class_name"] == "Conv1D":
            initializer = layer_config.get("kernel_initializer") or {}
            regularizer = (layer_config.get("kernel_regularizer") or {}).get("config", {})
            conv.append(dict(filters=layer_config["filters"], size=first(layer_config["kernel_size"]),
                             strides=first(layer_config.get("strides", 1)),
                             dilation=first(layer_config.get("dilation_rate", 1)),
                             activation=layer_config.get("activation", "linear"),
                             std=initializer.get("config", {}).get("stddev", 0.002), l2=regularizer.get("l2", 0.0)))
        elif layer["class_name"] == "LeakyReLU" and conv and conv[-1]["activation"] == "linear":
            # the original's 'lrelu' is a linear Conv1D followed by a LeakyReLU layer, before the BN
            conv[-1]["activation"] = "lrelu"
    if not conv:
        raise ValueError("no layer_1 ... layer_D convolutions in the model config")
    window = input_shape[1] if input_shape and input_shape[1] is not None else None
    projection = layer_configs.get(INPUT_PROJECTION)
    architecture = make_architecture_dict(
        [c["size"] for c in conv], [c["filters"] for c in conv],
        input_window_size=window or sum(c["size"] for c in conv) + 1,
        initializer_std=[c["std"] for c in conv], l2_regularization=[c["l2"] for c in conv],
        activation=[c["activation"] for c in conv], strides=[c["strides"] for c in conv],
        dilation_rates=[c["dilation"] for c in conv],
        input_projection_channels=projection["config"]["filters"] if projection else 0)
    dendritic = layer_configs.get("dendritic")
    return architecture, int(dendritic["config"]["filters"]) if dendritic else 0


def architecture_from_weights(weights: Mapping[str, Mapping[str, np.ndarray]],
                              input_window_size: int = 400) -> tuple[dict, int]:
    """A best guess from kernel shapes alone (weights-only files): activation relu, stride and dilation 1,
    the original's initializer and L2; these do not change predictions except the activation."""
    sizes, filters = [], []
    k = 1
    while f"layer_{k}" in weights:
        kernel = weights[f"layer_{k}"]["kernel"]
        sizes.append(kernel.shape[0])
        filters.append(kernel.shape[2])
        k += 1
    if not sizes:
        raise ValueError("no layer_1 kernel among the weights")
    window = max(input_window_size, sum(sizes) + 1)
    dendritic = weights.get("dendritic", {}).get("kernel")
    projection = weights.get(INPUT_PROJECTION, {}).get("kernel")
    return (make_architecture_dict(sizes, filters, input_window_size=window,
                                   input_projection_channels=0 if projection is None else projection.shape[2]),
            0 if dendritic is None else int(dendritic.shape[2]))


def set_weights_by_name(model, weights: Mapping[str, Mapping[str, np.ndarray]], path: str | os.PathLike = "<memory>"):
    """Copy the weights of every layer that has some, matching layers by name and weights by short name."""
    for layer in model.layers:
        if not layer.weights:
            continue
        if layer.name not in weights:
            raise ModelFileError(path, f"has no weights for layer {layer.name!r} (it has {sorted(weights)})")
        stored = weights[layer.name]
        values = []
        for variable in layer.weights:
            short = _short_weight_name(variable.name)
            if short not in stored:
                raise ModelFileError(path, f"layer {layer.name!r} lacks the weight {short!r}")
            if tuple(stored[short].shape) != tuple(variable.shape):
                raise ModelFileError(path, f"layer {layer.name!r} weight {short!r} has shape {stored[short].shape}, "
                                           f"the architecture needs {tuple(variable.shape)}")
            values.append(stored[short])
        layer.set_weights(values)
    return model


def _h5_kernel_shape(path: Path, layer_name: str) -> tuple | None:
    with _open_h5(path) as h5file:
        root = _weights_root(h5file)
        if layer_name not in root:
            return None
        group = root[layer_name]
        kernel = next((n for n in map(_decode, group.attrs.get("weight_names", []))
                       if _short_weight_name(n) == "kernel"), None)
        return None if kernel is None else tuple(group[kernel].shape)


def model_file_channels(path: str | os.PathLike) -> tuple[int, int]:
    """``(input channels, DVT components)`` of a model file, read from its configuration (``.keras``) or its
    ``layer_1`` and ``dendritic`` kernels (``.h5``) without loading the network."""
    path = Path(path)
    if path.suffix == ".keras":
        try:
            layer_list = _keras_file_config(path)["config"]["layers"]
            layers = {layer["config"]["name"]: layer["config"] for layer in layer_list}
            dendritic = layers.get("dendritic")
            return int(layers["input_layer"]["batch_shape"][-1]), int(dendritic["filters"]) if dendritic else 0
        except (KeyError, TypeError, IndexError) as error:
            raise ModelFileError(path, f"not a network of this project ({type(error).__name__}: {error})") from None
    first = _h5_kernel_shape(path, INPUT_PROJECTION) or _h5_kernel_shape(path, "layer_1")
    if first is None:
        raise ModelFileError(path, "has no layer_1 kernel")
    dendritic = _h5_kernel_shape(path, "dendritic")
    return int(first[1]), 0 if dendritic is None else int(dendritic[2])


def architecture_of_file(path: str | os.PathLike) -> dict:
    """The ``architecture_dict`` a model file describes: for ``.h5`` the attribute our files carry, else the
    Keras ``model_config``, else a guess from the weight shapes (logged); for ``.keras`` its configuration
    (whose free input length loses ``input_window_size``: it is set to the smallest valid window)."""
    path = Path(path)
    if path.suffix == ".keras":
        return architecture_from_model_config(_keras_file_config(path))[0]
    stored = _json_attribute(path, ARCHITECTURE_ATTRIBUTE)
    if stored is not None:
        return stored
    config = _json_attribute(path, "model_config")
    if config is not None:
        try:
            return architecture_from_model_config(config)[0]
        except (KeyError, TypeError, ValueError) as error:
            log.warning("%s: cannot read the architecture from model_config (%s); using the weights", path, error)
    log.warning("%s: architecture inferred from weight shapes (activation assumed relu)", path)
    return architecture_from_weights(read_h5_weights(path))[0]


def load_model_file(path: str | os.PathLike, architecture: Mapping[str, Any] | None = None,
                    num_dvt_components: int | None = None, num_input_channels: int = NUM_INPUT_CHANNELS):
    """Load a model for prediction (not compiled).

    ``.keras`` files go through ``keras.models.load_model``. ``.h5`` files (the authors' Keras-2
    ``*_model.h5`` or ``*_weights.h5``, or ours) are rebuilt with ``build_model`` and filled by layer name;
    the architecture comes from ``architecture`` if given (``model_folder`` passes the one of the companion
    pickle), else the architecture attribute our ``.h5`` files carry, else the file's ``model_config``, else
    the weight shapes."""
    import keras

    path = Path(path)
    if not path.is_file():
        raise errors.MissingFileError(f"model file {path} does not exist")
    if path.suffix == ".keras":
        _keras_file_config(path)  # a truncated or foreign archive, named before Keras reads it
        try:
            return keras.models.load_model(path, compile=False)
        except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile) as error:
            raise ModelFileError(path, f"cannot be loaded as a Keras model ({type(error).__name__}: {error})") \
                from None
    if path.suffix not in (".h5", ".hdf5"):
        raise ModelFileError(path, "unknown model format (expected .keras or .h5)")
    weights = read_h5_weights(path)
    if num_dvt_components is None:
        dendritic = weights.get("dendritic", {}).get("kernel")
        num_dvt_components = 0 if dendritic is None else int(dendritic.shape[2])
    kernel = weights.get(INPUT_PROJECTION, weights.get("layer_1", {})).get("kernel")
    if kernel is not None:
        num_input_channels = int(kernel.shape[1])
    model = build_model(architecture or architecture_of_file(path), num_dvt_components=num_dvt_components,
                        num_input_channels=num_input_channels)
    return set_weights_by_name(model, weights, path)
