"""Fig. S5: the best test accuracy reachable at each network depth, width and receptive field, per
biophysical model, with error bars from the test subsets.

Reads every ``evaluation/<checkpoint>__test.json`` below ``models/`` (written by evaluate_CNN_test.py, usually
for the best models that valid_fitting_results_exploration.py exported) and writes:

- ``models/best_models/best_results_test.csv``: one row per tested model with the original's columns plus
  the subset means and standard deviations (docs/evaluation.md), and its provenance ``best_results_test.json``;
- ``figures/model_selection/figureS5_accuracy_vs_complexity`` (2 x 3: AUC and explained variance against
  depth, width and T) and the scatters ``test_vs_*``, PNG and PDF.

    python test_accuracy_vs_complexity.py
    python test_accuracy_vs_complexity.py --models-dir models/best_models --show
"""
import logging

from neuron_as_dnn import cli

PARAMS = dict(
    models_dir=None,  # folder searched recursively for evaluation/*__test.json; None: models/
    out_dir=None,  # where best_results_test.csv (all test results) goes; None: models/best_models/
    figures_dir=None,  # folder of Fig. S5 and the test scatters; None: figures/model_selection/
    min_time_window=10,  # figures: only networks with a receptive field T (ms) from this (the original's range);
                         # None: no bound
    max_time_window=260,  # figures: only networks with a receptive field T (ms) up to this; None: no bound
    show=False,  # also show the figures on screen (they are always saved)
    progress=True,  # kept for the common block: this script shows no progress bar
    log_level="INFO",  # logging level: DEBUG | INFO | WARNING | ERROR
)
SCRIPT = cli.Script(__file__, PARAMS, description=__doc__,
                    types={"min_time_window": int, "max_time_window": int},
                    checks={"models_dir": cli.existing_folder, "out_dir": cli.writable_folder,
                            "figures_dir": cli.writable_folder, "min_time_window": cli.non_negative,
                            "max_time_window": cli.positive_int})
log = logging.getLogger("test_accuracy_vs_complexity")


def run(params: dict):
    import matplotlib

    from neuron_as_dnn import utils
    from neuron_as_dnn.evaluation import model_selection as ms

    if not params["show"]:
        matplotlib.use("Agg")  # files only
    import matplotlib.pyplot as plt

    from neuron_as_dnn.figures import model_selection as figures

    models_dir, out_dir, figures_dir = ms.resolve_folders(params)
    rows = ms.sort_rows(ms.collect_results(models_dir, "test"), ms.TEST_SORT)
    ms.write_table(out_dir / "best_results_test.csv", rows, ms.TEST_COLUMNS)
    plotted, dropped = ms.apply_bounds(rows, ms.bounds_from_params(params, ("min_time_window", "max_time_window")))
    ms.require_rows(plotted, len(rows), dropped, "test", "widen --min-time-window / --max-time-window")
    utils.write_provenance(out_dir / "best_results_test.json", params, num_results=len(rows),
                           num_plotted=len(plotted), dropped=dropped)

    close = not params["show"]
    figures.save_per_axis(lambda axis, title: figures.scatter_figure(plotted, axis, title), figures.SCATTER_AXES,
                          figures_dir, "test", "Test results", close)
    fig = figures.figure_s5(ms.duplicate_fcn_as_tcn(plotted))
    utils.save_figure(fig, figures_dir, "figureS5_accuracy_vs_complexity")
    print(ms.summary_table(rows, {"AUC std": "spikes AUC std of subsets"}))
    if params["show"]:
        plt.show()
    else:
        plt.close(fig)
    return rows


def main(argv=None):
    return SCRIPT.run(run, argv)


if __name__ == "__main__":
    main()
