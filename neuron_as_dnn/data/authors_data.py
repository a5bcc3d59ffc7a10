"""The authors' published data and pretrained models: download them from Kaggle and arrange them where the
scripts look (``data/L5PC_NMDA_{train,valid,test}/`` and ``models/best_models/``).

    python -m neuron_as_dnn.data.authors_data                       # download (kagglehub or the kaggle tool), then arrange
    python -m neuron_as_dnn.data.authors_data --source-dirs ~/Downloads/train-data ~/Downloads/test-data   # arrange only
    make authors-data

The two Kaggle datasets (about 115 GB together; the authors' README names them):

- ``selfishgene/single-neurons-as-deep-nets-nmda-train-data``: NMDA training simulations in folders
  ``full_ergodic_train_batch_1`` ... ``_10``; there is no validation folder, so the folders named by
  ``--valid-folders`` (batch 1 by default) become the validation set;
- ``selfishgene/single-neurons-as-deep-nets-nmda-test-data``: the NMDA test simulations (``Data_test/``)
  and the pretrained networks ("dataset and pretrained networks" in the authors' README), in the authors'
  best-model layout (docs/model_folder.md).

The folder names above are those that public code reading these datasets uses; only the default of
``--valid-folders`` depends on them.

Arranging: every file named like a dataset (``*_simulationRuns*_secDuration_*``, docs/dataset_format.md)
goes to ``data/L5PC_<TYPE>_<split>/``, the split read from its folder names (a ``--valid-folders`` name,
else "valid", "test" or "train" in a folder name, innermost first, else the dataset it came from); every
folder holding ``*_model.h5`` files goes to ``models/best_models/<folder name>/``. Files are symbolic links
to the download (``--copy`` copies them instead), so the 115 GB exist once; a link breaks if the download
cache is deleted. Existing files are never overwritten, and rerunning is harmless.
"""
from __future__ import annotations

import dataclasses
import fnmatch
import logging
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Iterable, Sequence

from neuron_as_dnn import cli, errors, paths, utils
from neuron_as_dnn.data import dataset

log = logging.getLogger(__name__)

TRAIN_DATASET = "selfishgene/single-neurons-as-deep-nets-nmda-train-data"
TEST_DATASET = "selfishgene/single-neurons-as-deep-nets-nmda-test-data"
DATASET_URL = "https://www.kaggle.com/datasets/{}"
SPLITS = dataset.SPLITS
DATASET_FILE_PATTERN = dataset.dataset_glob_pattern(None, None)   # *_simulationRuns*_secDuration_*
MODEL_FILE_SUFFIX = "_model.h5"
ARCHITECTURE_FOLDER = re.compile(r"^(NMDA|AMPA|AMPA_SK)_(TCN|FCN)__DxWxT_\d+x\d+x\d+$")
ARCHITECTURE_PREFIX = re.compile(r"^((?:NMDA|AMPA|AMPA_SK)_(?:TCN|FCN)__DxWxT_\d+x\d+x\d+)")

INSTRUCTIONS = (
    "cannot download the authors' data: neither the kagglehub package nor the kaggle command-line tool with "
    "credentials is available. Either install kagglehub (.venv/bin/python -m pip install kagglehub; public "
    "datasets need no token), or install the kaggle tool and put an API token (kaggle.com > Settings > API > "
    "Create New Token) in ~/.kaggle/kaggle.json or in KAGGLE_USERNAME and KAGGLE_KEY; or download "
    + " and ".join(DATASET_URL.format(handle) for handle in (TRAIN_DATASET, TEST_DATASET))
    + " by hand, unzip them and rerun with --source-dirs <train folder> <test folder>")


# ---------------------------------------------------------------------------------------------------------
# Download
# ---------------------------------------------------------------------------------------------------------

def split_hint(text: str, valid_folders: Sequence[str] = ()) -> str | None:
    """The split a folder (or dataset) name points to: a ``valid_folders`` name or "valid" is valid, then
    "test", then "train"; None when the name says nothing."""
    lowered = text.lower()
    if text in valid_folders or "valid" in lowered:
        return "valid"
    return next((split for split in ("test", "train") if split in lowered), None)


def kaggle_credentials_present() -> bool:
    config_dir = Path(os.environ.get("KAGGLE_CONFIG_DIR", Path.home() / ".kaggle"))
    return bool(os.environ.get("KAGGLE_USERNAME") and os.environ.get("KAGGLE_KEY")) \
        or (config_dir / "kaggle.json").is_file()


def download(handles: Sequence[str], download_dir: Path) -> list[tuple[Path, str | None]]:
    """Download the Kaggle datasets ``handles``; returns (folder, split hint) for each.

    kagglehub keeps its own cache (``$KAGGLEHUB_CACHE``, by default ``~/.cache/kagglehub``) and resumes there;
    the kaggle tool unzips into ``download_dir/<dataset name>/``."""
    try:
        import kagglehub
    except ImportError:
        kagglehub = None
    kaggle_tool = shutil.which("kaggle")
    if kagglehub is None and not (kaggle_tool and kaggle_credentials_present()):
        raise errors.UserError(INSTRUCTIONS)
    roots = []
    for handle in handles:
        log.info("downloading %s (the first time takes long: the two datasets are about 115 GB)", handle)
        if kagglehub is not None:
            try:
                folder = Path(kagglehub.dataset_download(handle))
            except Exception as error:  # network, authentication, disk: all the user's to fix, so one line
                raise errors.UserError(f"kagglehub could not download {handle} ({type(error).__name__}: {error}); "
                                       f"check the network and disk space, or download {DATASET_URL.format(handle)} "
                                       "by hand and rerun with --source-dirs") from None
        else:
            folder = download_dir / handle.split("/")[-1]
            command = [kaggle_tool, "datasets", "download", "-d", handle, "-p", str(folder), "--unzip"]
            completed = subprocess.run(command, capture_output=True, text=True)
            if completed.returncode != 0:
                last_line = (completed.stderr or completed.stdout).strip().splitlines()[-1:] or ["no message"]
                raise errors.UserError(f"'{' '.join(command[1:])}' failed: {last_line[0]}")
        roots.append((folder, split_hint(handle.split("/")[-1])))
    return roots


# ---------------------------------------------------------------------------------------------------------
# Arrangement
# ---------------------------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Placement:
    source: Path
    destination: Path
    kind: str  # "train", "valid", "test" or "model"


def _walk(root: Path) -> Iterable[tuple[Path, list[str]]]:
    """(folder, sorted file names) below ``root``, folders in sorted order, so plans are deterministic."""
    for folder, subfolders, files in os.walk(root, followlinks=True):
        subfolders.sort()
        yield Path(folder), sorted(name for name in files if not name.startswith("."))


def _dataset_split(folder: Path, root: Path, root_hint: str | None, valid_folders: Sequence[str]) -> str | None:
    for part in reversed(folder.relative_to(root).parts):  # the innermost folder name that says something
        hint = split_hint(part, valid_folders)
        if hint is not None:
            return hint
    return root_hint


def _model_folder_name(folder: Path, model_files: Sequence[str]) -> str:
    """The folder's own name when it is ``<TYPE>_<NN>__DxWxT_<D>x<W>x<T>``, else that prefix of its first
    model file's name, else the folder's name."""
    if ARCHITECTURE_FOLDER.match(folder.name):
        return folder.name
    match = ARCHITECTURE_PREFIX.match(model_files[0])
    return match.group(1) if match else folder.name


def plan_arrangement(roots: Sequence[tuple[Path, str | None]], data_dir: Path, models_dir: Path,
                     synapse_type: str = "NMDA", valid_folders: Sequence[str] = ()) -> tuple[list[Placement], list[Path]]:
    """Where every dataset file and model file below ``roots`` goes: (placements, files left where they are).

    Two different files with one name in one destination keep the first name and give the second its folder's
    name as a prefix (the loaders' glob still matches); a second copy of the same file (same name and size) is
    dropped."""
    placements: dict[Path, Placement] = {}
    unplaced: list[Path] = []
    for root, root_hint in roots:
        root = Path(root)
        for folder, names in _walk(root):
            model_files = [name for name in names if name.endswith(MODEL_FILE_SUFFIX)]
            if model_files:
                target = models_dir / _model_folder_name(folder, model_files)
                for name in names:
                    placements.setdefault(target / name, Placement(folder / name, target / name, "model"))
                continue
            for name in names:
                source = folder / name
                split = _dataset_split(folder, root, root_hint, valid_folders)
                if not fnmatch.fnmatch(name, DATASET_FILE_PATTERN) or split is None:
                    unplaced.append(source)
                    continue
                destination = paths.dataset_dir(synapse_type, split, data_dir) / name
                taken = placements.get(destination)
                if taken is not None and taken.source.stat().st_size == source.stat().st_size:
                    continue
                if taken is not None:
                    destination = destination.with_name(f"{folder.name}__{name}")
                placements[destination] = Placement(source, destination, split)
    return list(placements.values()), unplaced


def _already_placed(placement: Placement) -> bool:
    destination = placement.destination
    if destination.is_symlink():
        return destination.resolve() == placement.source.resolve()
    return destination.is_file() and destination.stat().st_size == placement.source.stat().st_size


def apply_arrangement(placements: Sequence[Placement], copy: bool = False, progress: bool = False) -> dict[str, int]:
    """Link (or copy) every placement whose destination is free; returns counts per outcome."""
    from tqdm import tqdm

    counts = {"placed": 0, "already there": 0, "kept existing": 0}
    for placement in tqdm(placements, desc="copy" if copy else "link", unit="file", disable=not progress):
        destination = placement.destination
        if destination.is_symlink() and not destination.exists():
            destination.unlink()  # a link into a download cache that has since moved: it holds nothing
        if destination.exists():
            outcome = "already there" if _already_placed(placement) else "kept existing"
            if outcome == "kept existing":
                log.warning("%s exists and is another file; kept (the authors' %s is not placed)", destination,
                            placement.source)
            counts[outcome] += 1
            continue
        destination.parent.mkdir(parents=True, exist_ok=True)
        if copy:
            with open(placement.source, "rb") as src, utils.atomic_write(destination, "wb") as dst:
                shutil.copyfileobj(src, dst, length=16 << 20)
        else:
            destination.symlink_to(placement.source.resolve())
        counts["placed"] += 1
    return counts


def summarise(placements: Sequence[Placement]) -> dict[str, int]:
    """Files per kind; model folders are counted once each."""
    summary = {split: sum(p.kind == split for p in placements) for split in SPLITS}
    summary["model folders"] = len({p.destination.parent for p in placements if p.kind == "model"})
    return summary


# ---------------------------------------------------------------------------------------------------------
# The command
# ---------------------------------------------------------------------------------------------------------

PARAMS = dict(
    datasets=[TRAIN_DATASET, TEST_DATASET],  # Kaggle datasets (owner/name) to download (unused with --source-dirs)
    source_dirs=None,  # already downloaded and unzipped folders: arrange these instead of downloading; None: download
    download_dir=None,  # where the kaggle tool unzips; None: data/kaggle/ (kagglehub uses its own cache)
    data_dir=None,  # where the dataset files go (in L5PC_<TYPE>_<split>/) and authors_data.json; None: data/
    models_dir=None,  # where the pretrained model folders go; None: models/best_models/
    synapse_type="NMDA",  # names the data folders; the Kaggle datasets are NMDA
    valid_folders=["full_ergodic_train_batch_1"],  # names of folders whose dataset files become the validation set
    copy=False,  # copy the files instead of symbolic links to the download (115 GB more on disk)
    dry_run=False,  # only report what would be placed where
    progress=True,  # show a progress bar over the files linked or copied
    log_level="INFO",  # logging level: DEBUG | INFO | WARNING | ERROR
)
SCRIPT = cli.Script("neuron_as_dnn.data.authors_data", PARAMS, description=__doc__,
                    choices={"synapse_type": list(dataset.SYNAPSE_TYPES)},
                    types={"download_dir": str, "data_dir": str, "models_dir": str, "source_dirs": str},
                    nargs={"source_dirs": "+", "valid_folders": "*"})


def run(params: dict) -> dict:
    from neuron_as_dnn.paths import DATA_DIR, MODELS_DIR

    data_dir = Path(params["data_dir"] or DATA_DIR)
    models_dir = Path(params["models_dir"] or MODELS_DIR / "best_models")
    if params["source_dirs"]:
        roots = []
        for folder in map(Path, params["source_dirs"]):
            if not folder.is_dir():
                raise errors.MissingFileError(f"--source-dirs: {folder} is not a folder")
            roots.append((folder, split_hint(folder.name)))
    else:
        roots = download(params["datasets"], Path(params["download_dir"] or DATA_DIR / "kaggle"))
    placements, unplaced = plan_arrangement(roots, data_dir, models_dir, params["synapse_type"],
                                            params["valid_folders"])
    summary = summarise(placements)
    log.info("found %s", ", ".join(f"{count} {kind}" + (" files" if kind in SPLITS else "")
                                   for kind, count in summary.items()))
    if unplaced:
        log.info("%d other files left where they are (e.g. %s)", len(unplaced), unplaced[0])
    if not placements:
        raise errors.UserError(f"no dataset files ({DATASET_FILE_PATTERN}) or model folders (*{MODEL_FILE_SUFFIX}) "
                               f"below {', '.join(str(root) for root, _ in roots)}")
    if summary["valid"] == 0 and summary["train"] > 0:
        log.warning("no validation files: fit_CNN.py needs data/L5PC_%s_valid/; name training folders with "
                    "--valid-folders", params["synapse_type"])
    if params["dry_run"]:
        for placement in placements:
            print(f"{placement.source} -> {placement.destination}")
        return summary
    counts = apply_arrangement(placements, params["copy"], params["progress"])
    log.info("%s", ", ".join(f"{count} {outcome}" for outcome, count in counts.items()))
    utils.write_provenance(data_dir / "authors_data.json", params, sources=[str(root) for root, _ in roots],
                           summary=summary, outcome=counts)
    return summary


def main(argv=None):
    return SCRIPT.run(run, argv)


if __name__ == "__main__":
    main()
