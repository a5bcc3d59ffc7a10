"""The networks shipped in pretrained/, one per synapse type: each loads with no dataset present, predicts as
when it was shipped, and its folder is what the README says (small, with its evaluation and learning curves)."""
import numpy as np
import pytest

from neuron_as_dnn import pretrained
from neuron_as_dnn.learning import models
from neuron_as_dnn.learning.model_folder import ModelFolder

keras = pytest.importorskip("keras")

SHIPPED_FOLDERS = sorted(p for p in pretrained.PRETRAINED_DIR.iterdir() if p.is_dir() and not p.name.startswith("."))


def test_pretrained_holds_one_network_per_synapse_type_and_is_small():
    networks = pretrained.shipped_networks()
    assert "NMDA" in networks and set(networks) <= set(pretrained.SYNAPSE_TYPES)
    assert sorted(folder.path for folder in networks.values()) == SHIPPED_FOLDERS  # every folder is a network
    assert pretrained.open_shipped().path == networks["NMDA"].path  # the README's example opens the NMDA one
    for kind, folder in networks.items():
        assert pretrained.open_shipped(synapse_type=kind).path == folder.path
    total = sum(p.stat().st_size for p in pretrained.PRETRAINED_DIR.rglob("*") if p.is_file())
    assert total <= pretrained.MAX_BYTES


@pytest.fixture(scope="module", params=SHIPPED_FOLDERS, ids=[p.name.split("__")[0] for p in SHIPPED_FOLDERS])
def shipped(request):
    return ModelFolder.open(request.param)


def dvt_head(folder):
    """The number of DVT components of the shipped network itself (0: no dendritic head)."""
    return models.model_file_channels(folder.latest_checkpoint().model_path)[1]


def test_the_shipped_folder_is_complete_and_small(shipped):
    names = {p.name for p in shipped.path.iterdir()}
    assert {"config.json", "architecture.json", "learning_schedule.json", "history.json", "data.json",
            "checkpoints", "evaluation", pretrained.RESULTS_FILE, pretrained.EXAMPLE_FILE} <= names
    assert ("dvt_pca.npz" in names) == (dvt_head(shipped) > 0)  # only with a dendritic head
    assert shipped.num_dvt_components == dvt_head(shipped)
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
    with_dvt = dvt_head(shipped) > 0
    assert len(outputs) == (3 if with_dvt else 2)
    assert sorted(key for key in example.files if key.startswith("output_")) == [
        f"output_{k}" for k in range(len(outputs))]
    spikes, soma = outputs[0], outputs[1]
    assert spikes.shape == (1, pretrained.EXAMPLE_MS, 1) and np.all((spikes >= 0) & (spikes <= 1))
    assert np.isfinite(soma).all()
    for k, output in enumerate(outputs):
        np.testing.assert_allclose(output, example[f"output_{k}"], atol=1e-5)
    if with_dvt:  # the dendritic head's components turn back into 639 dendritic voltages
        assert shipped.dvt_pca.inverse_transform(outputs[2][0]).shape == (pretrained.EXAMPLE_MS, 639)
