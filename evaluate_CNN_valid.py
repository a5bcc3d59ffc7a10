"""Evaluate every checkpoint of the trained models on the validation data.

For each model folder at or below `models_dir` (default `models/<synapse_type>/`, NMDA when unset) and each
of its checkpoints without validation results yet, predict every simulation of `data_dir` (default
`data/L5PC_<model's type>_valid/`) and write, in the model folder:

    evaluation/<checkpoint>__valid.json     metrics of the five spike-count filters, voltage calibrated and not
    evaluation/<checkpoint>__valid.pickle   the original's evaluation pickle
    predictions/<checkpoint>__valid.npz     the predictions and ground truth, for figures

then rewrite `<models_dir>/evaluation_valid.csv` (one row per checkpoint, headline filter [0,24]) and print
the best rows. Examples:

    python evaluate_CNN_valid.py                                   # models/NMDA/ on data/L5PC_NMDA_valid/
    python evaluate_CNN_valid.py --synapse-type AMPA
    python evaluate_CNN_valid.py --models-dir models/NMDA/<run> --re-evaluate
    python evaluate_CNN_valid.py --prediction-mode overlapping_windows   # the original's windowed prediction

The metrics and the file formats are described in docs/evaluation.md.
"""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up chatter hides the results

from neuron_as_dnn import cli, evaluation_runs  # noqa: E402

PARAMS = dict(
    synapse_type=None,  # None: every model found (models/NMDA/ by default); else only models of this type
    models_dir=None,  # a model folder or a folder of them; None: models/<synapse_type>/
    data_dir=None,  # None: data/L5PC_<model's type>_valid/
    cache_dir=None,  # None: a .cache folder beside the data
    re_evaluate=False,  # also checkpoints that already have __valid.json results
    prediction_mode="single_pass",  # single_pass | single_pass_sparse (first layer from events) | overlapping_windows
    batch_size=16,  # simulations per model call
    save_predictions=True,
    num_subsets=0,  # random 67 % subsets scored apart (error bars); the test script uses 12
    seed=0,  # of the subsets
    progress=True,
    log_level="INFO",
)
SCRIPT = cli.Script(__file__, PARAMS, description=__doc__, help=evaluation_runs.PARAMS_HELP,
                    choices=evaluation_runs.PARAMS_CHOICES)


def main(argv=None):
    return SCRIPT.run(lambda params: evaluation_runs.run(params, "valid"), argv)


if __name__ == "__main__":
    main()
