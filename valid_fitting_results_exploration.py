"""Collect the validation results of every evaluated checkpoint, keep the best model per architecture, plot
accuracy against complexity, and export the best models in the authors' layout.

Reads every ``evaluation/<checkpoint>__valid.json`` below ``models/`` (written by evaluate_CNN_valid.py) and
writes:

- ``models/best_models/best_results_valid.csv``: the best checkpoint per (depth, width, T, TCN/FCN,
  biophysical type), with the original's columns (docs/evaluation.md, "Model selection"), and its
  provenance ``best_results_valid.json``;
- ``models/best_models/<TYPE>_<TCN|FCN>__DxWxT_<D>x<W>x<T>/``: the exported best models
  (docs/model_folder.md, "The authors' layout"), with the real validation evaluation pickle;
- ``figures/model_selection/``: scatters of all selected results (``valid_all_vs_*``, jittered) and of the
  best ones (``valid_best_vs_*``), and the envelopes of the best (``valid_envelope_vs_*``), PNG and PDF.

The thresholds are the original's; runs trained on CPU see far fewer than its 50,000 training windows, e.g.
    python valid_fitting_results_exploration.py --min-train-samples 0 --plot-min-train-samples 0
    python valid_fitting_results_exploration.py --models-dir models/NMDA --select-by RMSE --no-export
"""
import logging

from neuron_as_dnn import cli

PARAMS = dict(
    models_dir=None,  # folder searched recursively for evaluation/*__valid.json; None: models/
    out_dir=None,  # where best_results_valid.csv and the exported best models go; None: models/best_models/
    figures_dir=None,  # folder of the scatter and envelope figures; None: figures/model_selection/
    # ---- selection (the original's values; None switches a bound off)
    min_d_prime=0.5,  # drop results with a lower spike D'; None: no bound
    min_auc=0.6,  # drop results with a lower spike AUC; None: no bound
    min_explained_variance=60.0,  # drop results with a lower soma explained variance (%); None: no bound
    max_width=256,  # drop networks with more filters per layer (W); None: no bound
    max_time_window=260,  # drop networks with a longer receptive field T (ms); None: no bound
    min_train_samples=50000,  # drop networks trained on fewer windows (Σ num_train_samples); None: no bound
    max_train_samples=5000000,  # drop networks trained on more windows; None: no bound
    select_by="AUC",  # best per architecture: AUC (highest spike AUC) | RMSE (lowest soma RMSE)
    # ---- figures of the best models: further bounds, envelope threshold, jitter of the all-results scatters
    plot_min_time_window=10,  # figures of the best models: only networks with T (ms) from this; None: no bound
    plot_min_train_samples=100000,  # figures of the best models: only networks trained on at least this many
                                    # windows; None: no bound
    change_threshold=0.02,  # envelopes keep a point when it improves by more than this fraction of the range
    jitter=1.0,  # x jitter of the all-results scatters, in units of the original's per-axis jitter (0: none)
    export=True,  # export the best models in the authors' layout into out_dir (--no-export: tables and figures only)
    seed=None,  # the jitter's random seed; None: random, then recorded
    show=False,  # also show the figures on screen (they are always saved)
    progress=True,  # show a progress bar over the exported models
    log_level="INFO",  # logging level: DEBUG | INFO | WARNING | ERROR
)
SCRIPT = cli.Script(__file__, PARAMS, description=__doc__, choices={"select_by": ["AUC", "RMSE"]},
                    types={name: float for name in ("min_d_prime", "min_auc", "min_explained_variance",
                                                    "change_threshold", "jitter")}
                    | {name: int for name in ("max_width", "max_time_window", "min_train_samples",
                                              "max_train_samples", "plot_min_time_window",
                                              "plot_min_train_samples")}
                    | {"models_dir": str, "out_dir": str, "figures_dir": str},
                    checks={"models_dir": cli.existing_folder, "out_dir": cli.writable_folder,
                            "figures_dir": cli.writable_folder, "min_auc": cli.non_negative,
                            "max_width": cli.positive_int, "max_time_window": cli.positive_int,
                            "min_train_samples": cli.non_negative, "max_train_samples": cli.positive_int,
                            "plot_min_time_window": cli.non_negative, "plot_min_train_samples": cli.non_negative,
                            "change_threshold": cli.non_negative, "jitter": cli.non_negative})
SELECTION = ("min_d_prime", "min_auc", "min_explained_variance", "max_width", "max_time_window",
             "min_train_samples", "max_train_samples")
log = logging.getLogger("valid_fitting_results_exploration")


def run(params: dict):
    import matplotlib
    import numpy as np

    from neuron_as_dnn import utils
    from neuron_as_dnn.evaluation import model_selection as ms

    if not params["show"]:
        matplotlib.use("Agg")  # files only
    import matplotlib.pyplot as plt

    from neuron_as_dnn.figures import model_selection as figures

    models_dir, out_dir, figures_dir = ms.resolve_folders(params)
    rows = ms.collect_results(models_dir, "valid", prefer_outside=out_dir)
    selected, dropped = ms.apply_bounds(rows, ms.bounds_from_params(params, SELECTION))
    ms.require_rows(selected, len(rows), dropped, "validation",
                    "lower the thresholds named (--help lists them), e.g. --min-train-samples 0 for CPU-scale runs")
    log.info("%d of %d results pass the selection (%s)", len(selected), len(rows), ms.describe_drops(dropped))
    best = ms.best_per_architecture(selected, params["select_by"])
    ms.write_table(out_dir / "best_results_valid.csv", best, ms.VALID_COLUMNS)
    utils.write_provenance(out_dir / "best_results_valid.json", params, num_results=len(rows),
                           num_selected=len(selected), dropped=dropped, num_best=len(best))

    close = not params["show"]
    rng = np.random.default_rng(params["seed"])
    figures.save_per_axis(lambda axis, title: figures.scatter_figure(selected, axis, title, params["jitter"], rng),
                          figures.SCATTER_AXES, figures_dir, "valid_all", "Validation results", close)
    plotted, _ = ms.apply_bounds(best, ms.bounds_from_params(params, ("plot_min_time_window",
                                                                      "plot_min_train_samples")))
    if plotted:
        figures.save_per_axis(lambda axis, title: figures.scatter_figure(plotted, axis, title),
                              figures.SCATTER_AXES, figures_dir, "valid_best", "Best model per architecture", close)
        envelope_rows = ms.duplicate_fcn_as_tcn(plotted)
        figures.save_per_axis(
            lambda axis, title: figures.envelope_figure(envelope_rows, axis, title, params["change_threshold"]),
            figures.ENVELOPE_AXES, figures_dir, "valid_envelope", "Best validation accuracy reachable", close)
    else:
        log.warning("no best model passes --plot-min-time-window / --plot-min-train-samples: no figures of the best")

    if params["export"]:
        from tqdm import tqdm

        exported = [ms.export_best_model(row, out_dir, params)
                    for row in tqdm(best, desc="export", unit="model", disable=not params["progress"])]
        log.info("exported %d of %d best models to %s", sum(p is not None for p in exported), len(best), out_dir)
    print(ms.summary_table(best))
    if params["show"]:
        plt.show()
    return best


def main(argv=None):
    return SCRIPT.run(run, argv)


if __name__ == "__main__":
    main()
