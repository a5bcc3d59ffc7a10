"""Where things live. Everything is relative to the repository root, found from this file."""
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = REPO_ROOT / "data"
MODELS_DIR = REPO_ROOT / "models"
FIGURES_DIR = REPO_ROOT / "figures"
NEURON_MODEL_DIR = REPO_ROOT / "L5PC_NEURON_simulation"
MECHANISMS_DIR = NEURON_MODEL_DIR / "mechanisms"
# the network shipped with the repository (neuron_as_dnn.pretrained): part of the checkout, never written by the code
PRETRAINED_DIR = REPO_ROOT / "pretrained"
# the working copies of shipped networks, where their evaluations and predictions are written
PRETRAINED_COPIES_DIR = MODELS_DIR / "pretrained"
# simulations of the original model on given inputs, read by the tests and the fidelity benchmarks
REFERENCE_SIMULATIONS_DIR = REPO_ROOT / "tests" / "data" / "reference"


def dataset_dir(synapse_type: str, split: str, root: Path = DATA_DIR) -> Path:
    """The folder of a dataset split: ``data/L5PC_<TYPE>_<split>/`` (split: train, valid or test)."""
    return Path(root) / f"L5PC_{synapse_type}_{split}"


def models_dir(synapse_type: str | None = None) -> Path:
    """Where ``fit_CNN.py`` puts a synapse type's model folders, ``models/<TYPE>/``; all types: ``models/``."""
    return MODELS_DIR / synapse_type if synapse_type else MODELS_DIR
