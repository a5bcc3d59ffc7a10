"""The Hay et al. (2011) cell #1 reconstruction: find it, verify it, refetch it.

The repository ships the file (``L5PC_NEURON_simulation/morphologies/cell1.asc``, with a README giving its
source and SHA-256), as the authors' repository does. Resolution order:
1. an explicit path given by the caller,
2. the environment variable ``L5PC_MORPHOLOGY`` (another local copy),
3. the shipped copy, downloaded there again from the public sources if it was deleted.
Every file is checked against the published SHA-256 before use.
"""
from __future__ import annotations

import hashlib
import io
import logging
import os
import urllib.request
import zipfile
from pathlib import Path

from neuron_as_dnn.errors import UserError
from neuron_as_dnn.paths import NEURON_MODEL_DIR
from neuron_as_dnn.utils import atomic_write

log = logging.getLogger(__name__)

MORPHOLOGY_SHA256 = "a8afc0925afec1dd9241528ee6ccfdcb1c321904d876835990592c2573567383"
ENV_VAR = "L5PC_MORPHOLOGY"
DEFAULT_PATH = NEURON_MODEL_DIR / "morphologies" / "cell1.asc"

# (url, member inside a zip archive or None for a plain file)
SOURCES = [
    ("https://raw.githubusercontent.com/SelfishGene/neuron_as_deep_net/master/"
     "L5PC_NEURON_simulation/morphologies/cell1.asc", None),
    ("https://modeldb.science/download/139653", "morphologies/cell1.asc"),
]

HOW_TO_GET_IT = (
    "The repository ships it: restore it with `git checkout -- L5PC_NEURON_simulation/morphologies`, fetch it "
    "again with `make morphology` (downloads it and checks its SHA-256), or point the "
    f"{ENV_VAR} environment variable at a local copy of the Hay et al. 2011 cell1.asc "
    "(ModelDB accession 139653, or L5PC_NEURON_simulation/morphologies/cell1.asc in "
    "github.com/SelfishGene/neuron_as_deep_net)."
)


class MorphologyError(UserError, RuntimeError):
    """The morphology is missing or is not the expected file."""


def sha256_of(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def verify(path: Path) -> Path:
    path = Path(path)
    if not path.is_file():
        raise MorphologyError(f"morphology file {path} does not exist. {HOW_TO_GET_IT}")
    digest = sha256_of(path)
    if digest != MORPHOLOGY_SHA256:
        raise MorphologyError(
            f"morphology file {path} has SHA-256 {digest}, expected {MORPHOLOGY_SHA256}: "
            f"it is not the Hay et al. 2011 cell #1 reconstruction. {HOW_TO_GET_IT}")
    return path


def _fetch(url: str, member: str | None, timeout: float) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        payload = response.read()
    if member is None:
        return payload
    with zipfile.ZipFile(io.BytesIO(payload)) as archive:
        names = [n for n in archive.namelist() if n.endswith(member)]
        if not names:
            raise MorphologyError(f"{url} does not contain {member}")
        return archive.read(names[0])


def download(destination: Path = DEFAULT_PATH, timeout: float = 60.0) -> Path:
    """Download cell1.asc from the first source that answers with the right checksum."""
    destination = Path(destination)
    errors = []
    for url, member in SOURCES:
        try:
            log.info("downloading the morphology from %s", url)
            payload = _fetch(url, member, timeout)
        except Exception as exc:  # network errors of any kind: try the next source
            errors.append(f"{url}: {exc}")
            continue
        digest = hashlib.sha256(payload).hexdigest()
        if digest != MORPHOLOGY_SHA256:
            errors.append(f"{url}: wrong SHA-256 {digest}")
            continue
        with atomic_write(destination, "wb") as handle:
            handle.write(payload)
        log.info("saved %s (SHA-256 verified)", destination)
        return destination
    raise MorphologyError("could not download the morphology (" + "; ".join(errors) + f"). {HOW_TO_GET_IT}")


def locate(path: str | os.PathLike | None = None, allow_download: bool = True) -> Path:
    """Return the path of a verified cell1.asc (see the module docstring for the order)."""
    if path is not None:
        return verify(Path(path))
    if os.environ.get(ENV_VAR):
        return verify(Path(os.environ[ENV_VAR]))
    if DEFAULT_PATH.is_file():
        return verify(DEFAULT_PATH)
    if not allow_download:
        raise MorphologyError(f"no morphology at {DEFAULT_PATH}. {HOW_TO_GET_IT}")
    return download(DEFAULT_PATH)


def main(argv=None) -> None:
    """`python -m neuron_as_dnn.simulation.morphology [--source PATH]`: verify the copy in use, or install a verified one."""
    import shutil

    from neuron_as_dnn.cli import Script

    def install(params):
        if params["source"]:
            verify(Path(params["source"]))
            DEFAULT_PATH.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(params["source"], DEFAULT_PATH)
            print(f"installed {DEFAULT_PATH} (SHA-256 verified)")
        else:
            present = os.environ.get(ENV_VAR) or DEFAULT_PATH.is_file()
            path = locate()
            print(f"{path} {'is present' if present else 'downloaded'} (SHA-256 verified)")

    params = dict(
        source=None,  # copy (and verify) this local cell1.asc to L5PC_NEURON_simulation/morphologies/;
                      # None: verify the copy in use ($L5PC_MORPHOLOGY, else that path), downloading it if missing
        progress=True,  # kept for the common block: the download shows no progress bar
        log_level="INFO",  # logging level: DEBUG | INFO | WARNING | ERROR
    )
    script = Script("neuron_as_dnn.simulation.morphology", params, description=main.__doc__)
    script.run(install, argv)


if __name__ == "__main__":
    main()
