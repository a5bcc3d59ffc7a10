"""The package's layout is its architecture: every import points down the pipeline's stages.

services <- simulation <- data <- learning <- evaluation <- figures <- integrate_and_fire, pretrained <- demo, campaign
(the cell knows no network, training does not score, scores do not draw). Function-level imports count too.
"""
import ast

import pytest

from neuron_as_dnn.paths import REPO_ROOT

PACKAGE = REPO_ROOT / "neuron_as_dnn"
SERVICES = {"cli", "errors", "utils", "paths", "safe_pickle"}
RANK = {"simulation": 1, "data": 2, "learning": 3, "evaluation": 4, "figures": 5, "integrate_and_fire": 6,
        "pretrained": 6, "demo": 7, "campaign": 7}


def unit_of(dotted: str) -> str:
    """``neuron_as_dnn.learning.training`` -> ``learning``; a service or the package itself -> ``services``."""
    parts = dotted.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in RANK else "services"


def rank_of(unit: str) -> int:
    return 0 if unit == "services" else RANK[unit]


def imports_of(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("neuron_as_dnn"):
            if node.module == "neuron_as_dnn":  # from neuron_as_dnn import cli, learning, ...
                yield from (f"neuron_as_dnn.{alias.name}" for alias in node.names)
            else:
                yield node.module
        elif isinstance(node, ast.ImportFrom) and node.level > 0:
            pytest.fail(f"{path.relative_to(REPO_ROOT)}: relative import (the package uses absolute imports)")
        elif isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names if alias.name.startswith("neuron_as_dnn"))


MODULES = sorted(path for path in PACKAGE.rglob("*.py") if "__pycache__" not in path.parts)


@pytest.mark.parametrize("path", MODULES, ids=lambda path: str(path.relative_to(PACKAGE)))
def test_imports_point_down_the_stages(path):
    dotted = ".".join(path.relative_to(REPO_ROOT).with_suffix("").parts).removesuffix(".__init__")
    own = unit_of(dotted)
    upward = [target for target in imports_of(path) if rank_of(unit_of(target)) > rank_of(own)]
    assert upward == [], f"{own} (rank {rank_of(own)}) imports {upward}"


def test_every_stage_is_a_subpackage_that_says_what_it_owns():
    for unit in RANK:
        folder = PACKAGE / unit
        if folder.is_dir():
            docstring = ast.get_docstring(ast.parse((folder / "__init__.py").read_text()))
            assert docstring and "import" in docstring.lower(), f"{unit}/__init__.py says what it owns and may import"
        else:
            assert (PACKAGE / f"{unit}.py").is_file()
    flat = {path.stem for path in PACKAGE.glob("*.py")} - {"__init__"}
    assert flat == SERVICES | {"pretrained", "demo", "campaign"}
