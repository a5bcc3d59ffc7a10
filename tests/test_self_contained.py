"""The repository stands on its own: nothing reads outside the checkout, and the README's example runs."""
import re
import subprocess
import sys

import pytest

from neuron_as_dnn.paths import REPO_ROOT

# what a user's clone never has beside it, spelled as code would reach it
OUTSIDE = re.compile(r"\.\./shared|parent\s*/\s*[\"']shared[\"']|[\"']shared[\"']\s*/|\bshared/(reference|data|docs)\b")


def checked_files():
    files = sorted((REPO_ROOT / "neuron_as_dnn").rglob("*.py")) + sorted((REPO_ROOT / "tests").rglob("*.py"))
    files += sorted(REPO_ROOT.glob("*.py")) + sorted((REPO_ROOT / "benchmarks").glob("*.py"))
    return files + [REPO_ROOT / "Makefile", REPO_ROOT / ".ci" / "run"]


def test_no_file_refers_to_a_folder_beside_the_checkout():
    this_file = __file__
    offenders = [str(path.relative_to(REPO_ROOT)) for path in checked_files()
                 if str(path) != this_file and OUTSIDE.search(path.read_text())]
    assert offenders == []


def test_the_pattern_catches_the_ways_of_spelling_it():
    dots = "." * 2  # spelled in pieces, so that this file does not itself refer to the folder
    for spelling in [f'Path("{dots}/shared/reference")', "REPO_ROOT.parent / " + '"shared" / "x"',
                     "root / 'shared' / 'data'", "the format of shared/reference/README.md"]:
        assert OUTSIDE.search(spelling), spelling
    assert not OUTSIDE.search("the panels shared by the figures")


def readme_python_blocks():
    return re.findall(r"^```python\n(.*?)^```", (REPO_ROOT / "README.md").read_text(), re.S | re.M)


def test_readme_has_one_python_example():
    assert len(readme_python_blocks()) == 1


@pytest.mark.xdist_group("pretrained")
def test_readme_python_example_runs_as_written():
    (example,) = readme_python_blocks()
    result = subprocess.run([sys.executable, "-c", example], cwd=REPO_ROOT, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip(), "the example prints what it computed"
