"""Evaluate the chosen model(s) on the test data, with error bars from random subsets.

`models_dir` is a model folder, a folder of model folders (default `models/<synapse_type>/`, NMDA when
unset) or the authors' `best_models/` folder. Each folder's `checkpoint` is the one named, else its best
validation checkpoint (headline AUC of evaluate_CNN_valid.py's results), else its latest. Every simulation
of `data_dir` (default `data/L5PC_<model's type>_test/`) is predicted and scored on the five spike-count
filters, and on `num_subsets` random subsets of 67 % of the simulations (seeded by `seed`). Written in the
model folder:

    evaluation/<checkpoint>__test.json     metrics (voltage calibrated and not), subsets
    evaluation/<checkpoint>__test.pickle   the original's evaluation pickle
    predictions/<checkpoint>__test.npz     the predictions and ground truth, for figures

then `<models_dir>/evaluation_test.csv` is rewritten and the headline results ([0,24]) are printed.
Examples:

    python evaluate_CNN_test.py                                    # models/NMDA/ on data/L5PC_NMDA_test/
    python evaluate_CNN_test.py --models-dir best_models --synapse-type AMPA
    python evaluate_CNN_test.py --models-dir models/NMDA/<run> --checkpoint <checkpoint name>

The metrics and the file formats are described in docs/evaluation.md.
"""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up chatter hides the results

from neuron_as_dnn import cli, evaluation_runs  # noqa: E402

PARAMS = dict(
    synapse_type=None,  # None: every model found (models/NMDA/ by default); else only models of this type
    models_dir=None,  # a model folder, a folder of them or best_models/; None: models/<synapse_type>/
    checkpoint=None,  # None: the best on validation (headline AUC), else the latest
    data_dir=None,  # None: data/L5PC_<model's type>_test/
    cache_dir=None,  # None: a .cache folder beside the data
    re_evaluate=False,  # also checkpoints that already have __test.json results
    prediction_mode="single_pass",  # single_pass | single_pass_sparse (first layer from events) | overlapping_windows
    batch_size=16,  # simulations per model call
    save_predictions=True,
    num_subsets=12,  # random subsets of 67 % of the simulations, as the original's error bars
    seed=0,  # of the subsets: the same seed gives the same subsets
    progress=True,
    log_level="INFO",
)
SCRIPT = cli.Script(__file__, PARAMS, description=__doc__,
                    help={**evaluation_runs.PARAMS_HELP,
                          "checkpoint": "the checkpoint name to evaluate (unset: best on validation, else latest)"},
                    choices=evaluation_runs.PARAMS_CHOICES)


def main(argv=None):
    return SCRIPT.run(lambda params: evaluation_runs.run(params, "test"), argv)


if __name__ == "__main__":
    main()
