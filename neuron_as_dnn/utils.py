"""Small shared services: logging, atomic files, output-folder locks, CSV tables, provenance, figure saving."""
from __future__ import annotations

import contextlib
import csv
import datetime
import json
import logging
import os
import platform
import shlex
import socket
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Sequence

import numpy as np

log = logging.getLogger(__name__)


def setup_logging(level: int | str = logging.INFO) -> None:
    """Configure the root logger for a script (timestamps, module names) at ``level``."""
    from neuron_as_dnn import errors

    if isinstance(level, str):
        if level.upper() not in logging.getLevelNamesMapping():
            raise errors.bad_parameter("log_level", f"unknown level {level!r}; use DEBUG, INFO, WARNING or ERROR")
        level = level.upper()
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        datefmt="%H:%M:%S")
    logging.getLogger().setLevel(level)


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


LOCK_NAME = ".lock"


def _lock_holder_alive(pid: int, host: str) -> bool:
    """Whether the process that wrote a lock still runs; one on another host cannot be asked, so it counts as alive."""
    if host != socket.gethostname():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it runs, as another user
        return True
    return True


@contextlib.contextmanager
def output_lock(folder: str | os.PathLike, what: str) -> Iterator[Path]:
    """Hold ``<folder>/.lock`` while ``what`` writes into ``folder``: one run per output folder at a time.

    The lock holds the holder's pid, host, start time and ``what`` as JSON. A second run on the folder
    refuses (a ``UserError`` naming the holder); a lock left by a dead process of this host is taken over
    with a warning. The lock is removed on exit, whatever the outcome."""
    from neuron_as_dnn import errors

    folder = Path(folder)
    path = folder / LOCK_NAME
    record = {"pid": os.getpid(), "host": socket.gethostname(), "what": what,
              "started": datetime.datetime.now().isoformat(timespec="seconds")}
    # written whole beside the lock, then hard-linked into place: a link fails when the lock exists, so a
    # reader never sees a lock half-written
    fd, tmp = tempfile.mkstemp(prefix=f"{LOCK_NAME}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(record, handle)
        while True:
            try:
                os.link(tmp, path)
                break
            except FileExistsError:
                pass
            try:
                holder = read_json(path)
                pid, host = int(holder["pid"]), str(holder["host"])
                described = f"pid {pid} on {host}, {holder.get('what', 'a run')} started {holder.get('started', '?')}"
            except FileNotFoundError:  # released meanwhile: try again
                continue
            except (OSError, ValueError, KeyError, TypeError) as error:
                raise errors.FileContentError(path, f"is not a lock this project wrote ({error}); remove it if no "
                                                    f"run is writing into {folder}") from None
            if _lock_holder_alive(pid, host):
                raise errors.UserError(f"{folder} is in use by another run ({described}); wait for it to finish "
                                       f"or choose another output folder (if that run is gone, remove {path})")
            # two runs taking over the same stale lock at the same instant could both succeed; a killed run is
            # rerun by hand, so that race is left open rather than paid for with a lock server
            log.warning("taking over the lock %s of a run that no longer runs (%s)", path, described)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
    finally:
        os.unlink(tmp)
    try:
        yield path
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


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


def invocation(script: str, argv: Sequence[str]) -> dict:
    """The script and the command line that ran it, as provenance records them."""
    return {"script": script, "command_line": " ".join(["python", script, *map(shlex.quote, argv)])}


def git_commit() -> str | None:
    """The repository's commit, with ``+uncommitted`` when the working tree differs; None outside git."""
    from neuron_as_dnn.paths import REPO_ROOT

    def git(*args):
        return subprocess.run(["git", "-C", str(REPO_ROOT), *args], capture_output=True, text=True, timeout=10)

    try:
        head = git("rev-parse", "HEAD")
        if head.returncode != 0:
            return None
        dirty = git("status", "--porcelain", "--untracked-files=no").stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return head.stdout.strip() + ("+uncommitted" if dirty else "")


def provenance_record(params: Mapping[str, Any], **extra) -> dict:
    """How an output was made: script, command line, resolved parameters, git commit, versions, time.

    The one shape of every configuration record the project writes (dataset ``configs/*.json``, a model
    folder's ``config.json``, the I&F run's ``run.json``); ``extra`` adds stage-specific entries."""
    # a script's Parameters carry their invocation; other callers are recorded as this process was started
    called = getattr(params, "invocation", None) or invocation(Path(sys.argv[0]).name, sys.argv[1:])
    record = {**called, "params": dict(params), "git_commit": git_commit(), "environment": environment_info()}
    record.update(extra)
    return record


def write_provenance(path: str | os.PathLike, params: Mapping[str, Any], **extra) -> dict:
    record = provenance_record(params, **extra)
    write_json(path, record)
    return record


def csv_cell(value: Any) -> str:
    """A table cell: None empty, a float (numpy's too) at full precision as Python prints it (``nan`` for NaN)."""
    if value is None:
        return ""
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    return str(value)


def write_csv(path: str | os.PathLike, rows: Iterable[Mapping[str, Any]], columns: Sequence[str]) -> Path:
    """Write ``rows`` as a CSV table (atomically): a header of ``columns``, then one line per row with its
    entries of ``columns`` in order (``csv_cell``; a missing entry is an empty cell, other entries are left out)."""
    path = Path(path)
    with atomic_write(path, "w") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([csv_cell(row.get(column)) for column in columns] for row in rows)
    return path


def read_json(path: str | os.PathLike) -> Any:
    with open(path, encoding="utf8") as handle:
        return json.load(handle)


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
