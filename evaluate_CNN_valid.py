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
from neuron_as_dnn import cli
from neuron_as_dnn.evaluation import evaluation_runs

PARAMS = dict(
    synapse_type=None,  # evaluate only the models of this type (NMDA, AMPA, AMPA_SK); None: every model found
                        # (in models/NMDA/ by default)
    models_dir=None,  # a model folder, a folder of model folders, or the authors' best_models/;
                      # None: models/<synapse_type>/
    data_dir=None,  # the dataset folder to evaluate on; None: data/L5PC_<model's type>_valid/
    cache_dir=None,  # where the dataset caches go; None: a .cache folder beside the data
    re_evaluate=False,  # evaluate again checkpoints that already have __valid.json results (results computed on
                        # other data files are always redone)
    prediction_mode="single_pass",  # single_pass (one causal pass over the whole trace) | single_pass_sparse (the
                                    # same, the first layer computed from the input events) | overlapping_windows
                                    # (the original's)
    batch_size=16,  # simulations per model call
    save_predictions=True,  # save the predictions and ground truth in the model folder's
                            # predictions/<checkpoint>__valid.npz (for the figures)
    num_subsets=0,  # random 67 % subsets of the simulations, scored apart for error bars (0: none); the test
                    # script uses 12
    seed=0,  # seed of the random subsets: the same seed gives the same subsets
    progress=True,  # show progress bars (caching the data, predicting)
    log_level="INFO",  # logging level: DEBUG | INFO | WARNING | ERROR
)
SCRIPT = cli.Script(__file__, PARAMS, description=__doc__, choices=evaluation_runs.PARAMS_CHOICES,
                    checks=evaluation_runs.PARAMS_CHECKS)


def main(argv=None):
    return SCRIPT.run(lambda params: evaluation_runs.run(params, "valid"), argv)


if __name__ == "__main__":
    main()
