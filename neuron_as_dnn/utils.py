"""Small shared services: logging, atomic files, provenance, figure saving."""
from __future__ import annotations

import contextlib
import datetime
import json
import logging
import os
import platform
import sys
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any, Iterator

import numpy as np

log = logging.getLogger(__name__)


def setup_logging(level: int | str = logging.INFO) -> None:
    """Configure the root logger once for a script (timestamps, module names)."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        datefmt="%H:%M:%S")


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb") -> Iterator[Any]:
    """Write to a temporary file beside ``path`` and rename it into place only on success,
    so a crash never leaves a truncated file under the final name."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the usual permissions
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, (datetime.date, datetime.datetime)):
        return obj.isoformat()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def write_json(path: str | os.PathLike, obj: Any) -> None:
    with atomic_write(path, "w") as handle:
        json.dump(obj, handle, indent=2, default=_json_default)
        handle.write("\n")


def environment_info() -> dict:
    """Versions and machine facts recorded next to every output."""
    info = {"python": sys.version.split()[0], "platform": platform.platform(),
            "created": datetime.datetime.now().isoformat(timespec="seconds")}
    for package in ("neuron_as_dnn", "numpy", "scipy", "neuron", "keras", "tensorflow-cpu", "tensorflow",
                    "jax", "torch", "scikit-learn", "h5py"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            info[package] = metadata.version(package)
    if "neuron_as_dnn" not in info:
        from neuron_as_dnn import __version__
        info["neuron_as_dnn"] = __version__
    backend = os.environ.get("KERAS_BACKEND")
    if backend:
        info["KERAS_BACKEND"] = backend
    return info


def save_figure(fig, folder: str | os.PathLike, name: str, dpi: int = 150) -> list[Path]:
    """Save ``fig`` as ``folder/name.png`` and ``folder/name.pdf`` (deterministic names, atomic)."""
    folder = Path(folder)
    paths = []
    for ext in ("png", "pdf"):
        path = folder / f"{name}.{ext}"
        with atomic_write(path, "wb") as handle:
            fig.savefig(handle, format=ext, dpi=dpi, bbox_inches="tight")
        paths.append(path)
    log.info("saved figure %s.{png,pdf} in %s", name, folder)
    return paths
