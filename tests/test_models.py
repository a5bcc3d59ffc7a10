"""Model builder, names, and loading of our files and of Keras-2 layout .h5 files."""
import json
import re

import h5py
import numpy as np
import pytest

from neuron_as_dnn import errors
from neuron_as_dnn.learning import models

keras = pytest.importorskip("keras")


def small_architecture(**overrides):
    options = dict(num_filters_per_layer=[6, 5], input_window_size=60, activation=["relu", "lrelu"],
                   initializer_std=0.05)
    options.update(overrides)
    return models.make_architecture_dict([7, 3], **options)


def randomise_weights(model, seed: int = 0):
    """Non-trivial weights, BN statistics and biases, so that loading them (or computing the network another
    way) is tested: the builder's small initial weights leave most outputs nearly constant."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if layer.weights:
            layer.set_weights([rng.normal(0, 0.3, w.shape).astype("float32") if "variance" not in w.name
                               else rng.uniform(0.5, 2.0, w.shape).astype("float32") for w in layer.weights])
    return model


def randomised_small_model():
    return randomise_weights(models.build_model(small_architecture(), num_dvt_components=4))


@pytest.fixture(scope="module")
def small_model():
    return randomised_small_model()


@pytest.fixture(scope="module")
def inputs():
    return (np.random.default_rng(1).random((2, 90, 1278)) < 0.02).astype("float32")


def assert_same_predictions(model_a, model_b, x, atol=1e-5):
    for a, b in zip(model_a.predict(x, verbose=0), model_b.predict(x, verbose=0)):
        np.testing.assert_allclose(a, b, atol=atol)


def test_paper_parameter_counts_and_names():
    best = models.make_architecture_dict([45] + [19] * 6, 128)
    fcn = models.make_architecture_dict([43], 128)
    assert models.count_trainable_parameters(models.build_model(best, 20)) == 9_234_582
    assert models.count_trainable_parameters(models.build_model(fcn, 20)) == 7_037_334
    assert models.architecture_prefix("NMDA", best) == "NMDA_TCN__DxWxT_7x128x153"
    assert models.architecture_prefix("AMPA", fcn) == "AMPA_FCN__DxWxT_1x128x43"
    assert models.network_type(models.make_architecture_dict([45, 1, 1], 128)) == "FCN"
    assert models.architecture_prefix("NMDA", models.make_architecture_dict([54, 24, 24], 64)) == \
        "NMDA_TCN__DxWxT_3x64x100"


def test_checkpoint_name_parses_like_the_original_scripts():
    import datetime

    architecture = models.make_architecture_dict([45] + [19] * 6, 128)
    name = models.checkpoint_name("AMPA_SK", architecture, 23040, 0.02345, 0.031, 4242,
                                  when=datetime.datetime(2024, 3, 5, 14, 7))
    assert name == ("AMPA_SK_TCN__DxWxT_7x128x153__2024-03-05__14_07__samples_23040__LogLoss_train_234_valid_310"
                    "__ID_4242")
    assert name.split("__")[1].split("x")[-1] == "153"
    assert name.split("__20")[0] == "AMPA_SK_TCN__DxWxT_7x128x153"


def test_layers_follow_the_original_order_and_heads(small_model):
    names = [layer.name for layer in small_model.layers]
    assert names == ["input_layer", "layer_1", "layer_1_BN", "layer_2", "layer_2_lrelu", "layer_2_BN",
                     "spikes", "somatic", "dendritic"]
    assert small_model.input_shape == (None, None, 1278)
    bn = small_model.get_layer("layer_1_BN")
    assert bn.epsilon == pytest.approx(1e-3) and bn.momentum == pytest.approx(0.99)
    assert small_model.get_layer("layer_1").activation.__name__ == "relu"
    assert small_model.get_layer("layer_1").padding == "causal"
    fresh = models.build_model(small_architecture(), num_dvt_components=0)
    assert [layer.name for layer in fresh.layers][-2:] == ["spikes", "somatic"]
    np.testing.assert_allclose(fresh.get_layer("spikes").get_weights()[1], [-2.0])
    assert models.build_model(small_architecture(), 4, fixed_window=True).input_shape == (None, 60, 1278)


def test_model_is_causal_and_runs_on_any_length(small_model, inputs):
    long = small_model.predict(inputs, verbose=0)
    short = small_model.predict(inputs[:, :50], verbose=0)
    for a, b in zip(long, short):
        np.testing.assert_allclose(a[:, :50], b, atol=1e-5)


def test_architecture_validation():
    with pytest.raises(ValueError, match="must exceed the sum of the filter sizes"):
        models.make_architecture_dict([300, 200], 8, input_window_size=400)
    with pytest.raises(ValueError, match="2 values for 3 layers"):
        models.make_architecture_dict([5, 5, 5], [8, 8])
    with pytest.raises(ValueError, match="unknown activation"):
        models.make_architecture_dict([5], 8, activation="wobble")


def test_keras_and_h5_files_reload_identically(small_model, inputs, tmp_path):
    architecture = small_architecture()
    written = models.save_model_files(small_model, tmp_path / "net", architecture)
    assert [p.name for p in written] == ["net.keras", "net.h5"]
    assert not list(tmp_path.glob(".*"))  # no temporary files left behind
    for path in written:
        assert_same_predictions(small_model, models.load_model_file(path), inputs, atol=1e-6)
    # without our architecture attribute, the Keras 3 model_config is enough
    with h5py.File(tmp_path / "net.h5", "a") as h5file:
        del h5file.attrs[models.ARCHITECTURE_ATTRIBUTE]
    assert_same_predictions(small_model, models.load_model_file(tmp_path / "net.h5"), inputs, atol=1e-6)


def keras2_model_config(architecture, num_dvt, window):
    """A Keras 2.2-style functional config of the original network (batch_input_shape, list kernel sizes,
    LeakyReLU as its own layer with an automatic name)."""
    def conv(name, filters, size, activation, std, l2):
        return {"class_name": "Conv1D", "config": {
            "name": name, "trainable": True, "filters": filters, "kernel_size": [size], "strides": [1],
            "padding": "causal", "data_format": "channels_last", "dilation_rate": [1], "activation": activation,
            "use_bias": True, "kernel_initializer": {"class_name": "TruncatedNormal",
                                                     "config": {"mean": 0.0, "stddev": std, "seed": None}},
            "bias_initializer": {"class_name": "Zeros", "config": {}},
            "kernel_regularizer": {"class_name": "L1L2", "config": {"l1": 0.0, "l2": l2}}}}

    layers = [{"class_name": "InputLayer", "config": {"batch_input_shape": [None, window, 1278],
                                                      "dtype": "float32", "sparse": False, "name": "input_layer"}}]
    for k in range(architecture["network_depth"]):
        activation = architecture["activation_function_per_layer"][k]
        layers.append(conv(f"layer_{k + 1}", architecture["num_filters_per_layer"][k],
                           architecture["filter_sizes_per_layer"][k], "linear" if activation == "lrelu" else activation,
                           architecture["initializer_per_layer"][k], architecture["l2_regularization_per_layer"][k]))
        if activation == "lrelu":
            layers.append({"class_name": "LeakyReLU", "config": {"name": f"leaky_re_lu_{k + 1}", "alpha": 0.25}})
        layers.append({"class_name": "BatchNormalization", "config": {"name": f"layer_{k + 1}_BN", "axis": -1,
                                                                      "momentum": 0.99, "epsilon": 0.001}})
    layers += [conv("spikes", 1, 1, "sigmoid", 0.001, 1e-8), conv("somatic", 1, 1, "linear", 0.03, 1e-8),
               conv("dendritic", num_dvt, 1, "linear", 0.05, 1e-8)]
    return {"class_name": "Model", "config": {"name": "model_1", "layers": layers}}


def write_keras2_h5(path, model, model_config=None, weights_only=False):
    """The layout Keras 2 wrote: model_weights/<layer>/<layer>/kernel:0 with layer_names / weight_names."""
    with h5py.File(path, "w") as h5file:
        if not weights_only:
            h5file.attrs["keras_version"] = b"2.2.4"
            h5file.attrs["backend"] = b"tensorflow"
            h5file.attrs["model_config"] = json.dumps(model_config).encode()
            h5file.attrs["training_config"] = json.dumps(
                {"optimizer_config": {"class_name": "Nadam", "config": {"lr": 1e-4}},
                 "loss": ["binary_crossentropy", "mse", "mse"], "loss_weights": [1.0, 0.02, 5e-6]}).encode()
        root = h5file if weights_only else h5file.create_group("model_weights")
        names = []
        for layer in model.layers:
            names.append(layer.name.encode())
            group = root.create_group(layer.name)
            weight_names = []
            for variable, value in zip(layer.weights, layer.get_weights()):
                weight_name = f"{layer.name}/{variable.name}:0"
                group.create_dataset(weight_name, data=value)
                weight_names.append(weight_name.encode())
            group.attrs["weight_names"] = weight_names
        root.attrs["layer_names"] = names


def test_authors_keras2_h5_loads_and_predicts_like_its_source(small_model, inputs, tmp_path):
    architecture = small_architecture()
    path = tmp_path / "NMDA_TCN__DxWxT_2x5x9__2019-06-01__12_00__samples_100__ID_1_model.h5"
    write_keras2_h5(path, small_model, keras2_model_config(architecture, 4, 400))
    with h5py.File(path, "r") as h5file:
        assert "model_weights/layer_1/layer_1/kernel:0" in h5file
    assert set(models.read_h5_weights(path)["layer_2_BN"]) == {"gamma", "beta", "moving_mean", "moving_variance"}
    loaded = models.load_model_file(path)
    assert_same_predictions(small_model, loaded, inputs)
    # the architecture read back from the Keras-2 config, lrelu included
    inferred, num_dvt = models.architecture_from_model_config(keras2_model_config(architecture, 4, 400))
    assert num_dvt == 4 and inferred["activation_function_per_layer"] == ["relu", "lrelu"]
    assert inferred["filter_sizes_per_layer"] == [7, 3] and inferred["input_window_size"] == 400
    assert inferred["initializer_per_layer"] == [0.05, 0.05]


def test_weights_only_file_loads_with_a_given_or_guessed_architecture(small_model, inputs, tmp_path):
    architecture = small_architecture()
    weights_path = tmp_path / "net_weights.h5"
    write_keras2_h5(weights_path, small_model, weights_only=True)
    # weights alone cannot tell the activation; the architecture is given (model_folder passes the companion's)
    assert_same_predictions(small_model, models.load_model_file(weights_path, architecture=architecture), inputs)
    guessed, num_dvt = models.architecture_from_weights(models.read_h5_weights(weights_path))
    assert guessed["filter_sizes_per_layer"] == [7, 3] and guessed["num_filters_per_layer"] == [6, 5]
    assert num_dvt == 4
    assert models.architecture_of_file(weights_path)["activation_function_per_layer"] == ["relu", "relu"]


def test_parameters_and_channels_are_read_without_building_the_model(small_model, tmp_path):
    for architecture, num_dvt in ((models.make_architecture_dict([45] + [19] * 6, 128), 20),
                                  (models.make_architecture_dict([43], 128), 30), (small_architecture(), 0)):
        assert models.count_parameters(architecture, num_dvt) == \
            models.count_trainable_parameters(models.build_model(architecture, num_dvt))
    assert models.count_parameters(small_architecture(), 4, num_input_channels=10) == \
        models.count_trainable_parameters(models.build_model(small_architecture(), 4, num_input_channels=10))
    keras_path, h5_path = models.save_model_files(small_model, tmp_path / "net", small_architecture())
    keras2_path = tmp_path / "net_model.h5"
    write_keras2_h5(keras2_path, small_model, keras2_model_config(small_architecture(), 4, 400))
    for path in (keras_path, h5_path, keras2_path):
        assert models.model_file_channels(path) == (1278, 4)
        assert models.architecture_of_file(path)["activation_function_per_layer"] == ["relu", "lrelu"]
    assert models.architecture_of_file(h5_path) == small_architecture()


def test_bad_model_files(small_model, tmp_path):
    not_h5 = tmp_path / "junk.h5"
    not_h5.write_bytes(b"not hdf5 at all")
    with pytest.raises(models.ModelFileError, match=re.escape(str(not_h5)) + ".*not an HDF5 model file"):
        models.load_model_file(not_h5)
    empty = tmp_path / "empty.h5"
    with h5py.File(empty, "w") as h5file:
        h5file.create_group("something")
    with pytest.raises(models.ModelFileError, match="no 'layer_names'"):
        models.load_model_file(empty)
    mismatched = tmp_path / "mismatch.h5"
    write_keras2_h5(mismatched, small_model, weights_only=True)
    other = models.make_architecture_dict([9, 3], [6, 5], input_window_size=60)
    with pytest.raises(models.ModelFileError, match="layer 'layer_1' weight 'kernel' has shape"):
        models.load_model_file(mismatched, architecture=other)
    with pytest.raises(errors.MissingFileError):
        models.load_model_file(tmp_path / "absent.h5")
    assert issubclass(models.ModelFileError, errors.UserError)  # a user's wrong file: one line, no traceback


def test_input_projection_round_trips_through_every_file_format(inputs, tmp_path):
    architecture = small_architecture(input_projection_channels=3)
    assert models.make_architecture_dict([7, 3], [6, 5], input_window_size=60) == \
        {k: v for k, v in small_architecture(initializer_std=0.002, activation="relu").items()}  # no entry when 0
    model = models.build_model(architecture, num_dvt_components=4)
    assert model.get_layer(models.INPUT_PROJECTION).kernel.shape == (1, 1278, 3)
    assert model.get_layer("layer_1").kernel.shape == (7, 3, 6)  # few parameters per input
    assert models.count_parameters(architecture, 4) == models.count_trainable_parameters(model)
    randomise_weights(model, seed=2)
    keras_path, h5_path = models.save_model_files(model, tmp_path / "net", architecture)
    for path in (keras_path, h5_path):
        assert models.model_file_channels(path) == (1278, 4)
        assert models.architecture_of_file(path)[models.INPUT_PROJECTION] == 3
        assert_same_predictions(model, models.load_model_file(path), inputs, atol=1e-6)
    guessed, _ = models.architecture_from_weights(models.read_h5_weights(h5_path), 60)
    assert guessed[models.INPUT_PROJECTION] == 3


def test_first_layer_kernel_over_the_inputs_composes_the_projection(inputs):
    from neuron_as_dnn.figures.main_figure import first_layer_kernel

    architecture = small_architecture(input_projection_channels=3, activation=["linear", "relu"])
    model = models.build_model(architecture, num_dvt_components=0)
    rng = np.random.default_rng(3)
    for name in (models.INPUT_PROJECTION, "layer_1"):
        layer = model.get_layer(name)
        layer.set_weights([rng.normal(0, 0.3, w.shape).astype("float32") for w in layer.weights])
    kernel, bias = first_layer_kernel(model), model.get_layer("layer_1").get_weights()[1]
    assert kernel.shape == (7, 1278, 6)
    first_layer = keras.Model(model.inputs, model.get_layer("layer_1").output)
    expected = keras.ops.convert_to_numpy(first_layer(inputs[:1]))[0]
    padded = np.concatenate([np.zeros((6, 1278), np.float32), inputs[0]])
    by_hand = np.stack([np.einsum("ki,kif->f", padded[t:t + 7], kernel) for t in range(inputs.shape[1])]) + bias
    np.testing.assert_allclose(by_hand, expected, atol=1e-4)
