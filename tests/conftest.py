"""Fixtures. Everything the tests read lives in the checkout: the shipped morphology and ``tests/data/``."""
from pathlib import Path

import pytest

from neuron_as_dnn import paths
from neuron_as_dnn.simulation import morphology



@pytest.fixture(scope="session")
def reference_dir() -> Path:
    """Simulations of the original model on given inputs (tests/data/reference/README.md)."""
    return paths.REFERENCE_SIMULATIONS_DIR


@pytest.fixture(scope="session")
def morphology_path() -> Path:
    return morphology.verify(morphology.DEFAULT_PATH)
