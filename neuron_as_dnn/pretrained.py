"""The networks shipped in ``pretrained/``, at most one per synapse type (NMDA, AMPA, AMPA_SK): made from
trained and tested model folders, found by the API, the demo and the benchmarks.

``python -m neuron_as_dnn.pretrained --model-dir models/NMDA/<run folder>`` copies what a user needs to load
and judge the network into ``pretrained/<run folder>/``, and nothing that needs the data:

- the description of the run: ``config.json`` (provenance), ``architecture.json``, ``learning_schedule.json``,
  ``history.json`` (the learning curves, the validation spike AUC per schedule epoch), ``data.json``,
  ``dvt_pca.npz`` (to turn the dendritic head's outputs back into voltages; absent for a network without
  dendritic targets);
- one checkpoint, ``checkpoints/<name>.keras`` with its companion ``<name>.pickle`` (the evaluated one by
  default);
- its test evaluation ``evaluation/<name>__test.json`` (``evaluate_CNN_test.py``) and, in one short file,
  ``eval_results.json``: the headline numbers, the data they come from and the commands;
- ``example_io.npz``: a fixed input (500 ms of random spikes) with the network's outputs for it, so a test
  can tell that the shipped network loads and predicts as it did when it was shipped.

A network of another synapse type already in ``pretrained/`` is left alone; one of the same type is replaced
only with ``--replace``. The whole ``pretrained/`` folder stays under ``MAX_BYTES``. Each shipped folder stays a
model folder: every script that takes ``--model-dir`` reads it (``pretrained/<run folder>``), and
``--models-dir pretrained`` evaluates every shipped network. ``open_shipped(synapse_type=...)`` opens one.
"""
from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np

from neuron_as_dnn import cli, errors, paths, utils
from neuron_as_dnn.data import dataset
from neuron_as_dnn.evaluation import metrics
from neuron_as_dnn.learning import model_folder
from neuron_as_dnn.learning.model_folder import ModelFolder

log = logging.getLogger(__name__)

PRETRAINED_DIR = paths.PRETRAINED_DIR
DESCRIPTION_FILES = (model_folder.CONFIG_FILE, model_folder.ARCHITECTURE_FILE, model_folder.LEARNING_SCHEDULE_FILE,
                     model_folder.HISTORY_FILE, model_folder.DATA_FILE, model_folder.DVT_PCA_FILE)
TEST_SPLIT = "test"
RESULTS_FILE = "eval_results.json"
EXAMPLE_FILE = "example_io.npz"
EXAMPLE_MS, EXAMPLE_ACTIVE_FRACTION, EXAMPLE_SEED = 500, 0.01, 0
MAX_BYTES = 10 * 1024 ** 2  # the whole pretrained/ folder, every shipped network together
SYNAPSE_TYPES = dataset.SYNAPSE_TYPES
DEFAULT_SYNAPSE_TYPE = "NMDA"


def _networks_in(root: Path) -> list[ModelFolder]:
    """The model folders directly in ``root`` (hidden ones, e.g. a shipping in progress, left out), sorted."""
    if not root.is_dir():
        return []
    return [ModelFolder.open(path) for path in sorted(root.iterdir())
            if path.is_dir() and not path.name.startswith(".") and ModelFolder.at(path).layout]


def shipped_networks(root: str | Path = PRETRAINED_DIR) -> dict[str, ModelFolder]:
    """The networks shipped in ``root`` by synapse type ({} when it holds none; ``root`` may also be one model
    folder); two of one type are a user error that names them."""
    root = Path(root)
    folders = [ModelFolder.open(root)] if root.is_dir() and ModelFolder.at(root).layout else _networks_in(root)
    networks: dict[str, ModelFolder] = {}
    for folder in folders:
        same = [other.name for other in folders if other.synapse_type == folder.synapse_type]
        if len(same) > 1:
            raise errors.UserError(f"{root} holds {len(same)} {folder.synapse_type} networks ({', '.join(same)}); "
                                   "keep one per synapse type")
        networks[folder.synapse_type] = folder
    return networks


def open_shipped(root: str | Path = PRETRAINED_DIR, synapse_type: str = DEFAULT_SYNAPSE_TYPE) -> ModelFolder:
    """The network of ``synapse_type`` shipped in ``root`` (by default the NMDA network in ``pretrained/``)."""
    if synapse_type not in SYNAPSE_TYPES:
        raise errors.bad_parameter("synapse_type", f"{synapse_type!r} is not one of {', '.join(SYNAPSE_TYPES)}")
    networks = shipped_networks(root)
    if synapse_type not in networks:
        held = ", ".join(f"{kind} ({folder.name})" for kind, folder in sorted(networks.items())) or "none"
        checkout = synapse_type == DEFAULT_SYNAPSE_TYPE and Path(root).resolve() == PRETRAINED_DIR.resolve()
        hint = "; restore it with `git checkout -- pretrained`" if checkout else ""  # the one always shipped
        raise errors.MissingFileError(f"{root} holds no shipped {synapse_type} network (shipped there: {held}){hint}")
    return networks[synapse_type]


def example_inputs(num_channels: int) -> np.ndarray:
    """The fixed example input (1, 500 ms, channels): each input active in 1 % of the milliseconds."""
    rng = np.random.default_rng(EXAMPLE_SEED)
    return (rng.random((1, EXAMPLE_MS, num_channels)) < EXAMPLE_ACTIVE_FRACTION).astype(np.float32)


def predict_example(model, num_channels: int) -> list[np.ndarray]:
    from neuron_as_dnn.evaluation.prediction import model_predict_fn
    return model_predict_fn(model)(example_inputs(num_channels))


def headline_results(record: dict) -> dict:
    """The numbers of the README's results row, from an ``evaluation/<checkpoint>__test.json`` record."""
    results = record["results"][metrics.MAIN_FILTER]
    calibrated, uncalibrated = results["calibrated"], results["uncalibrated"]
    return dict(
        filter=metrics.MAIN_FILTER, test_simulations=record["data"]["num_simulations"],
        test_simulations_in_filter=results["num_simulations"], test_files=record["data"]["files"],
        spike_auc=calibrated["AUC"], spike_tp_at_0_25_percent_fp=calibrated["TP @ 0.0025 FP"],
        spike_tp_at_0_1_percent_fp=calibrated["TP @ 0.0010 FP"],
        soma_rmse_mV=uncalibrated["soma_RMSE"], soma_explained_variance_percent=uncalibrated[
            "soma_explained_variance_percent"],
        soma_rmse_mV_rescaled=calibrated["soma_RMSE"],
        soma_explained_variance_percent_rescaled=calibrated["soma_explained_variance_percent"],
        evaluated_by=record.get("command_line"), evaluated_at_commit=record.get("git_commit"))


def ship(source: ModelFolder, checkpoint_name: str | None, destination_root: Path, replace: bool = False) -> Path:
    checkpoint = source.checkpoint(checkpoint_name) if checkpoint_name else _evaluated_checkpoint(source)
    test_record_path = source.results_path(checkpoint.name, TEST_SPLIT)
    if not test_record_path.is_file():
        raise errors.MissingFileError(f"{source.path} has no test evaluation of {checkpoint.name}: run "
                                      f"evaluate_CNN_test.py --models-dir {source.path} --checkpoint {checkpoint.name}")
    destination = destination_root / source.name
    synapse_type = source.synapse_type
    # only a network of the same synapse type (or a folder of the same name) is in the way; the others stay
    replaced = [folder.path for folder in _networks_in(destination_root)
                if folder.synapse_type == synapse_type or folder.path == destination]
    if destination.exists() and destination not in replaced:
        replaced.append(destination)
    if replaced and not replace:
        raise errors.bad_parameter("replace", f"{destination_root} already holds a shipped {synapse_type} network "
                                              f"({', '.join(p.name for p in replaced)}); give --replace to put this "
                                              "one in its place")
    staging = destination_root / f".{source.name}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    shipped = ModelFolder(staging, "ours")
    shipped.checkpoints_dir.mkdir(parents=True)
    shipped.evaluation_dir.mkdir()
    for name in DESCRIPTION_FILES:
        if (source.path / name).is_file():
            shutil.copy2(source.path / name, staging / name)
            if name.endswith(".json"):
                _relative_paths(staging / name)
    if checkpoint.model_path.suffix != ".keras":
        raise errors.bad_parameter("checkpoint", f"{checkpoint.name} has no .keras file; ship a checkpoint saved "
                                                 "with --save-formats keras")
    for path in (checkpoint.model_path, checkpoint.companion_path):
        shutil.copy2(path, shipped.checkpoints_dir / path.name)
    shipped_record_path = shipped.results_path(checkpoint.name, TEST_SPLIT)
    shutil.copy2(test_record_path, shipped_record_path)
    _relative_paths(shipped_record_path)
    record = utils.read_json(shipped_record_path)
    utils.write_json(staging / RESULTS_FILE, dict(checkpoint=checkpoint.name, **headline_results(record)))
    model = source.load_model(checkpoint)
    channels = source.num_input_channels
    outputs = predict_example(model, channels)
    np.savez_compressed(staging / EXAMPLE_FILE, seed=EXAMPLE_SEED, duration_ms=EXAMPLE_MS,
                        active_fraction=EXAMPLE_ACTIVE_FRACTION,
                        **{f"output_{k}": output for k, output in enumerate(outputs)})
    size = _bytes(staging)
    kept = sum(_bytes(path) for path in destination_root.iterdir()
               if not path.name.startswith(".") and path not in replaced)
    if size + kept > MAX_BYTES:
        shutil.rmtree(staging)
        with_kept = f" and the {kept / 1024 ** 2:.1f} MB kept there" if kept else ""
        raise errors.UserError(f"{destination_root} would hold {(size + kept) / 1024 ** 2:.1f} MB with this network "
                               f"({size / 1024 ** 2:.1f} MB){with_kept}, more than {MAX_BYTES / 1024 ** 2:.0f} MB: "
                               "ship a smaller network")
    for path in replaced:
        shutil.rmtree(path)
    staging.rename(destination)
    log.info("shipped %s (%.2f MB) to %s", checkpoint.name, size / 1024 ** 2, destination)
    return destination


def _bytes(path: Path) -> int:
    """The size of a file, or of every file below a folder."""
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _relative_paths(json_path: Path) -> None:
    """Paths inside the repository written relative to it: the shipped files name no machine's folders."""
    text = json_path.read_text()
    json_path.write_text(text.replace(str(paths.REPO_ROOT) + "/", ""))


def _evaluated_checkpoint(source: ModelFolder):
    evaluated = [c for c in source.checkpoints() if source.results_path(c.name, TEST_SPLIT).is_file()]
    if len(evaluated) == 1:
        return evaluated[0]
    if not evaluated:
        raise errors.MissingFileError(f"{source.path}: no checkpoint has a test evaluation; run evaluate_CNN_test.py "
                                      f"--models-dir {source.path} first")
    raise errors.bad_parameter("checkpoint", f"{len(evaluated)} checkpoints of {source.path} have test evaluations; "
                                             "name the one to ship")


PARAMS = dict(
    model_dir=None,     # the trained and tested model folder to ship (required)
    checkpoint=None,    # checkpoint name to ship (it needs a .keras file); None: the one with a test evaluation
    out_dir=None,       # folder that holds the shipped networks, in <out_dir>/<model folder name>/; None: pretrained/
    replace=False,      # replace the network of the same synapse type shipped there now (without it, one there is
                        # an error); networks of the other types are always kept
    progress=True,      # kept for the common block: shipping shows no progress bar
    log_level="INFO",   # logging level: DEBUG | INFO | WARNING | ERROR
)
SCRIPT = cli.Script("neuron_as_dnn.pretrained", PARAMS, description=__doc__, types={"model_dir": str})


def run(params: dict) -> Path:
    if not params["model_dir"]:
        raise errors.bad_parameter("model_dir", "is required: the model folder to ship")
    source = ModelFolder.open(params["model_dir"])
    destination = ship(source, params["checkpoint"], Path(params["out_dir"] or PRETRAINED_DIR), params["replace"])
    print(f"shipped: {destination}")
    return destination


def main(argv=None):
    return SCRIPT.run(run, argv)


if __name__ == "__main__":
    main()
