"""The network shipped in pretrained/: it loads with no dataset present, predicts as when it was shipped, and
its folder is what the README says (small, with its evaluation and learning curves)."""
import numpy as np
import pytest

from neuron_as_dnn import pretrained
from neuron_as_dnn.learning import models

keras = pytest.importorskip("keras")


@pytest.fixture(scope="module")
def shipped():
    return pretrained.open_shipped()


def test_the_shipped_folder_is_complete_and_small(shipped):
    names = {p.name for p in shipped.path.iterdir()}
    assert {"config.json", "architecture.json", "learning_schedule.json", "history.json", "data.json", "dvt_pca.npz",
            "checkpoints", "evaluation", pretrained.RESULTS_FILE, pretrained.EXAMPLE_FILE} <= names
    assert sum(p.stat().st_size for p in shipped.path.rglob("*") if p.is_file()) <= pretrained.MAX_BYTES
    results = pretrained.utils.read_json(shipped.path / pretrained.RESULTS_FILE)
    assert results["checkpoint"] == shipped.latest_checkpoint().name
    assert 0.5 < results["spike_auc"] <= 1.0 and results["soma_rmse_mV"] > 0
    aucs = [a for a in shipped.history["val_spikes_auc"] if a is not None]
    assert aucs and max(aucs) > 0.8  # it learned more than the base rate


def test_the_shipped_network_predicts_a_short_input_as_when_shipped(shipped):
    model = shipped.load_model()
    assert shipped.num_input_channels == models.NUM_INPUT_CHANNELS
    outputs = pretrained.predict_example(model, shipped.num_input_channels)
    example = np.load(shipped.path / pretrained.EXAMPLE_FILE)
    spikes, soma = outputs[0], outputs[1]
    assert spikes.shape == (1, pretrained.EXAMPLE_MS, 1) and np.all((spikes >= 0) & (spikes <= 1))
    assert np.isfinite(soma).all()
    for k, output in enumerate(outputs):
        np.testing.assert_allclose(output, example[f"output_{k}"], atol=1e-5)
    # the dendritic head's components turn back into 639 dendritic voltages
    assert shipped.dvt_pca.inverse_transform(outputs[2][0]).shape == (pretrained.EXAMPLE_MS, 639)
