"""Figs. 2 and 3 of the paper for one trained model: evaluation, predictions and first-layer filters.

From a model folder (ours, or the authors' best_models/<name>/ with its _model.h5) and its test predictions
(predictions/<checkpoint>__test.npz, written by evaluate_CNN_test.py; made here from the test data when
missing), draws the morphology by subtree, a network diagram, the ROC curve with the FP-0.002 operating
point, the spike-timing cross-correlation, the voltage scatter, single and multiple prediction traces, the
first-layer filters per subtree, and the paper's combined layouts (v2 = Fig. 2, v3 = one row). Fig. 3 is the
same figure for an AMPA model. Files: <out_dir>/<model folder name>__<panel>.{png,pdf}. Examples:

    python main_figure_replication.py --model-dir models/NMDA/<run folder>
    python main_figure_replication.py --model-dir best_models/NMDA_TCN__DxWxT_7x128x153 --filters 91 93 114
    python main_figure_replication.py --model-dir models/demo/<run folder> --test-data-dir data/demo
"""
import logging
from pathlib import Path

from neuron_as_dnn import cli, errors, paths

PARAMS = dict(
    model_dir=None,          # model folder (fit_CNN.py's run folder, or the authors' best_models/<name>/), or a
                             # folder holding exactly one (required)
    checkpoint=None,         # checkpoint name within the folder; None: the one evaluated on the test set, else the
                             # one with test predictions, else the latest
    test_data_dir=None,      # test data folder, used only when there are no test predictions yet;
                             # None: data/L5PC_<TYPE>_test/
    out_dir=None,            # folder of the figures and their provenance; None: figures/<TYPE>/
    trace_index=None,        # test trace of the trace figures; None: the one whose spike count is nearest the median
                             # of those with 3-10 spikes
    zoom_fraction=None,      # start stop of the zoomed part of the trace, as fractions of it (e.g. 0.34 0.65);
                             # None: a window around the trace's spikes
    filters=None,            # first-layer filter indices to draw (e.g. 91 93 114); None: the three with the largest
                             # weight mass
    num_single_traces=3,     # single-trace figures: trace_index, then random traces with 3-10 spikes
    rescale_voltage=True,    # draw the somatic prediction after the paper's oracle rescaling (docs/evaluation.md);
                             # --no-rescale-voltage: raw
    morphology=None,         # cell1.asc for the morphology panels; None: $L5PC_MORPHOLOGY or the downloaded copy
    seed=None,               # random traces and scatter points; None: random, then recorded
    show=False,              # also open the figures in a window
    progress=True,           # show a progress bar when the test predictions have to be made
    log_level="INFO",        # logging level: DEBUG | INFO | WARNING | ERROR
)
SCRIPT = cli.Script(__file__, PARAMS, description=__doc__,
                    types={"trace_index": int, "zoom_fraction": float, "filters": int},
                    nargs={"zoom_fraction": 2, "filters": "+"},
                    checks={"model_dir": cli.existing_folder, "test_data_dir": cli.existing_folder,
                            "out_dir": cli.writable_folder, "trace_index": cli.non_negative,
                            "zoom_fraction": cli.increasing_fractions, "filters": cli.each(cli.non_negative),
                            "num_single_traces": cli.positive_int, "morphology": cli.existing_file})
log = logging.getLogger("main_figure_replication")


def format_metrics(metrics: dict) -> str:
    lines = []
    for variant, values in metrics.items():
        lines.append(f"  {variant:>12}: AUC {values['AUC']:.4f}, TP @ 0.25% FP {values['TP @ 0.0025 FP']:.3f}, "
                     f"explained variance {values['soma_explained_variance_percent']:.2f} %, "
                     f"RMSE {values['soma_RMSE']:.3f} mV, MAE {values['soma_MAE']:.3f} mV")
    return "\n".join(lines)


def run(params: dict) -> dict:
    if not params["model_dir"]:
        raise errors.bad_parameter("model_dir", "give the model folder to draw, e.g. --model-dir models/NMDA/<run>")
    import matplotlib

    if not params["show"]:
        matplotlib.use("Agg")
    logging.getLogger("fontTools").setLevel(logging.WARNING)  # PDF font subsetting logs every table at INFO
    from neuron_as_dnn import utils
    from neuron_as_dnn.figures import main_figure, morphology
    from neuron_as_dnn.learning.model_folder import ModelFolder

    folder = ModelFolder.open_one(params["model_dir"])
    checkpoint = main_figure.choose_checkpoint(folder, params["checkpoint"])
    out_dir = Path(params["out_dir"] or paths.FIGURES_DIR / folder.synapse_type)
    params["out_dir"] = str(out_dir)
    data, metrics = main_figure.load_figure_data(folder, checkpoint, params["test_data_dir"],
                                                 params["rescale_voltage"], params["progress"])
    choices = main_figure.plot_all(data, out_dir, morphology=morphology.try_load_morphology(params["morphology"]),
                                   trace_index=params["trace_index"], zoom_fraction=params["zoom_fraction"],
                                   filters=params["filters"], num_single_traces=params["num_single_traces"],
                                   seed=params["seed"])
    written = choices.pop("paths")
    utils.write_provenance(out_dir / f"{folder.name}__figures.json", params, model_folder=str(folder.path),
                           checkpoint=checkpoint.name, choices=choices, headline_metrics=metrics)
    print(f"{folder.name} / {checkpoint.name}, test set, headline filter {main_figure.metrics.MAIN_FILTER}:\n"
          f"{format_metrics(metrics)}\n"
          f"trace {choices['trace_index']} (zoom {choices['zoom_ms'][0]}-{choices['zoom_ms'][1]} ms), "
          f"filters {choices['filters']}: {len(written)} files in {out_dir}")
    if params["show"]:
        main_figure.show_saved_figures(written)
    return {"metrics": metrics, **choices}


def main(argv=None):
    return SCRIPT.run(run, argv)


if __name__ == "__main__":
    main()
