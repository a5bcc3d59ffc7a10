"""Shared fixtures. ``../shared`` (beside the checkout) holds the morphology and reference runs."""
import os
from pathlib import Path

import pytest

from neuron_as_dnn.paths import REPO_ROOT

SHARED_DIR = REPO_ROOT.parent / "shared"
SHARED_MORPHOLOGY = SHARED_DIR / "data" / "morphologies" / "cell1.asc"
REFERENCE_DIR = SHARED_DIR / "reference"

# Tests never download: they read the copy in ../shared unless the caller points elsewhere.
if SHARED_MORPHOLOGY.is_file():
    os.environ.setdefault("L5PC_MORPHOLOGY", str(SHARED_MORPHOLOGY))


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED_DIR.is_dir():
        pytest.fail(f"{SHARED_DIR} is missing: tests need ../shared beside the checkout")
    return SHARED_DIR


@pytest.fixture(scope="session")
def morphology_path(shared_dir) -> Path:
    return SHARED_MORPHOLOGY
