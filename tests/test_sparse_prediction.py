"""The sparse first layer (neuron_as_dnn.evaluation.sparse_prediction) against the dense model on the same inputs."""
import numpy as np
import pytest

from neuron_as_dnn.evaluation import sparse_prediction
from neuron_as_dnn.learning import models

from test_models import randomise_weights, small_architecture  # noqa: E402

keras = pytest.importorskip("keras")

DURATION_MS, NUM_SIMULATIONS, DENSITY = 300, 2, 0.01
ATOL = 1e-4


def randomised_model(seed=0, **overrides):
    """tests/test_models.py's small TCN (kernels 7 and 3, relu then lrelu) with random weights, biases and BN
    statistics, so that every output depends on the input."""
    return randomise_weights(models.build_model(small_architecture(**overrides), num_dvt_components=4), seed)


@pytest.fixture(scope="module")
def inputs():
    return (np.random.default_rng(1).random((NUM_SIMULATIONS, DURATION_MS, 1278)) < DENSITY).astype("float32")


def events_of(simulation: np.ndarray) -> dict:
    """The (segment, ms) events of one dense (T, 1278) input, as synaptic_inputs.InputPattern.events()."""
    times, channels = np.nonzero(simulation)
    excitatory = channels < 639
    return dict(ex_seg=channels[excitatory], ex_ms=times[excitatory],
                inh_seg=channels[~excitatory] - 639, inh_ms=times[~excitatory])


def dense_outputs(model, x):
    return [keras.ops.convert_to_numpy(output) for output in model(x, training=False)]


def assert_same_outputs(expected, actual):
    assert len(actual) == len(expected) == 3  # spikes, somatic, dendritic
    for dense, sparse in zip(expected, actual):
        assert sparse.shape == dense.shape
        assert np.std(dense) > 1e-3  # the outputs vary with the input, so that equality means something
        np.testing.assert_allclose(sparse, dense, rtol=0, atol=ATOL)


@pytest.mark.parametrize("projection", [0, 4], ids=["layer_1", "input_projection"])
def test_sparse_first_layer_equals_the_dense_model(inputs, projection):
    model = randomised_model(input_projection_channels=projection)
    predictor = sparse_prediction.SparseFirstLayerPredictor(model)
    assert predictor.first_layer_name == (models.INPUT_PROJECTION if projection else "layer_1")
    expected = dense_outputs(model, inputs)

    assert_same_outputs(expected, predictor.predict(inputs))
    # the same simulations as event lists, one model call per simulation
    assert_same_outputs(expected, predictor.predict([events_of(x) for x in inputs], duration_ms=DURATION_MS,
                                                    batch_size=1))


def test_events_count_once_and_form_the_dense_input(inputs):
    model = randomised_model(seed=3)
    predictor = sparse_prediction.SparseFirstLayerPredictor(model)
    events = events_of(inputs[0])
    repeated = {key: np.concatenate([values, values[:5]]) for key, values in events.items()}
    matrix = sparse_prediction.events_to_sparse(**repeated, duration_ms=DURATION_MS)
    np.testing.assert_array_equal(matrix.toarray(), inputs[0])
    assert_same_outputs(dense_outputs(model, inputs[:1]), predictor.predict(repeated, duration_ms=DURATION_MS))
    with pytest.raises(ValueError, match="whole ms"):
        sparse_prediction.events_to_sparse([0], [DURATION_MS], [], [], duration_ms=DURATION_MS)
    with pytest.raises(ValueError, match="duration_ms"):
        predictor.predict(events)


def test_sparse_convolution_across_blocks_matches_a_direct_sum():
    """Kernel longer than a block: the shifted contributions must cross block boundaries and stop at the end."""
    rng = np.random.default_rng(2)
    x = (rng.random((40, 9)) < 0.2).astype(np.float32)
    kernel, bias = rng.normal(size=(7, 9, 3)).astype(np.float32), rng.normal(size=3).astype(np.float32)
    expected = np.array([sum(x[t - 6 + j] @ kernel[j] for j in range(7) if t - 6 + j >= 0) + bias
                         for t in range(40)])
    for block_ms in (1, 5, 64):
        convolution = sparse_prediction.SparseCausalConv1D(kernel, bias, block_ms=block_ms)
        np.testing.assert_allclose(convolution(x), expected, rtol=0, atol=1e-5)


@pytest.mark.parametrize("setting", [dict(dilation_rates=[2, 1]), dict(strides=[2, 1])], ids=["dilated", "strided"])
def test_dilated_or_strided_first_layer_is_refused(setting):
    model = models.build_model(models.make_architecture_dict([7, 3], 4, input_window_size=60, **setting), 2)
    with pytest.raises(sparse_prediction.UnsupportedModelError, match="dilation rate 1"):
        sparse_prediction.SparseFirstLayerPredictor(model)


def test_a_dilated_layer_after_the_projection_is_computed_by_keras(inputs):
    model = randomised_model(seed=4, input_projection_channels=4, dilation_rates=[2, 1])
    predictor = sparse_prediction.SparseFirstLayerPredictor(model)
    assert_same_outputs(dense_outputs(model, inputs), predictor.predict(inputs))


def test_a_cached_file_gives_its_sparse_inputs_without_a_dense_array(tmp_path):
    from neuron_as_dnn.data import dataset, synthetic_data

    params, simulations = synthetic_data.make_synthetic_experiment(3, 700, with_dvt=False, seed=5)
    path = dataset.write_experiment_file(tmp_path / dataset.dataset_file_name(params), params, simulations)
    inputs = dataset.sparse_inputs(dataset.read_experiment_file(path))
    dense = inputs.dense()
    for sim in range(inputs.num_simulations):
        matrix = inputs.csr(sim)
        assert matrix.dtype == np.float32 and matrix.shape == dense[sim].shape
        np.testing.assert_array_equal(matrix.toarray(), dense[sim])
