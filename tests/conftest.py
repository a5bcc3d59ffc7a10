"""Shared fixtures. ``../shared`` (beside the checkout) holds the morphology and reference runs."""
from pathlib import Path

import pytest

from neuron_as_dnn.paths import REPO_ROOT

SHARED_DIR = REPO_ROOT.parent / "shared"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED_DIR.is_dir():
        pytest.fail(f"{SHARED_DIR} is missing: tests need ../shared beside the checkout")
    return SHARED_DIR
