"""Explore a dataset folder: input, output and voltage statistics, as figures and a summary table.

The original's dataset_exploration.py, with numbers: for one folder of simulation files it draws the input
raster and per-subtree input rates of a typical simulation, the rates of every synapse group, the
excitation / inhibition balance, output spike counts and inter-spike intervals, the somatic and nexus
voltage distributions and, when the files hold them, the dendritic voltages and their correlations; it
writes every statistic to summary.csv and summary.json beside the figures. Examples:

    python dataset_exploration.py                                  # data/L5PC_NMDA_test/
    python dataset_exploration.py --data-dir data/demo             # the demo's two simulations
    python dataset_exploration.py --data-dir data/L5PC_AMPA_test --max-files 2 --show
"""
import logging
from pathlib import Path

from neuron_as_dnn import cli, paths

PARAMS = dict(
    data_dir=None,         # folder of dataset files to explore; None: data/L5PC_NMDA_test/
    max_files=None,        # use only the first N files of the folder (sorted by name); None: all
    out_dir=None,          # folder for the figures, summary.csv, summary.json and provenance.json;
                           # None: figures/<data folder name>/
    example_index=None,    # simulation (row over all files) of the example figures; None: typical (spike count
                           # nearest the median of those with 3-30 spikes)
    morphology=None,       # cell1.asc for the morphology panels; None: $L5PC_MORPHOLOGY or the downloaded copy
    seed=None,             # picks the random example traces; None: random, then recorded
    show=False,            # also show the figures in a window after saving them
    progress=True,         # show a progress bar while the dataset caches are built
    log_level="INFO",      # logging level: DEBUG | INFO | WARNING | ERROR
)


def default_folders(params: dict) -> None:
    params["data_dir"] = str(params["data_dir"] or paths.dataset_dir("NMDA", "test"))
    params["out_dir"] = str(params["out_dir"] or paths.FIGURES_DIR / Path(params["data_dir"]).resolve().name)


SCRIPT = cli.Script(__file__, PARAMS, description=__doc__, defaults=default_folders,
                    types={"max_files": int, "example_index": int},
                    checks={"data_dir": cli.existing_folder, "max_files": cli.positive_int,
                            "out_dir": cli.writable_folder, "example_index": cli.non_negative,
                            "morphology": cli.existing_file})
log = logging.getLogger("dataset_exploration")


def run(params: dict) -> dict:
    import matplotlib

    if not params["show"]:
        matplotlib.use("Agg")
    logging.getLogger("fontTools").setLevel(logging.WARNING)  # PDF font subsetting logs every table at INFO
    from neuron_as_dnn import utils
    from neuron_as_dnn.evaluation import dataset_statistics
    from neuron_as_dnn.figures import dataset_exploration, morphology

    data_dir, out_dir = Path(params["data_dir"]), Path(params["out_dir"])
    data = dataset_statistics.load_folder(data_dir, params["max_files"], progress=params["progress"])
    summary = dataset_statistics.summarize(data)
    written = dataset_statistics.write_summary(out_dir, summary)
    cell = morphology.try_load_morphology(params["morphology"])
    written += dataset_exploration.plot_all(data, out_dir, example=params["example_index"], morphology=cell,
                                            seed=params["seed"])
    utils.write_provenance(out_dir / "provenance.json", params, files=[str(p) for p in data.files])
    print(f"{data.num_simulations} simulations of {len(data.files)} file(s) in {data_dir}: "
          f"{summary['output_rate_hz_mean']:.2f} Hz output, {summary['spikes_per_simulation_mean']:.1f} spikes "
          f"per simulation, ISI CV {summary['isi_cv_all_intervals']:.2f}; "
          f"{len(written)} files in {out_dir}")
    if params["show"]:
        from neuron_as_dnn.figures.main_figure import show_saved_figures

        show_saved_figures(written)
    return summary


def main(argv=None):
    return SCRIPT.run(run, argv)


if __name__ == "__main__":
    main()
