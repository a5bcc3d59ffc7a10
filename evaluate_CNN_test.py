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
from neuron_as_dnn import cli
from neuron_as_dnn.evaluation import evaluation_runs

PARAMS = dict(
    synapse_type=None,  # evaluate only the models of this type (NMDA, AMPA, AMPA_SK); None: every model found
                        # (in models/NMDA/ by default)
    models_dir=None,  # a model folder, a folder of model folders, or the authors' best_models/;
                      # None: models/<synapse_type>/
    checkpoint=None,  # the checkpoint name to evaluate; None: each folder's best on validation (headline AUC),
                      # else its latest
    data_dir=None,  # the dataset folder to evaluate on; None: data/L5PC_<model's type>_test/
    cache_dir=None,  # where the dataset caches go; None: a .cache folder beside the data
    re_evaluate=False,  # evaluate again checkpoints that already have __test.json results (results computed on
                        # other data files are always redone)
    prediction_mode="single_pass",  # single_pass (one causal pass over the whole trace) | single_pass_sparse (the
                                    # same, the first layer computed from the input events) | overlapping_windows
                                    # (the original's)
    batch_size=16,  # simulations per model call
    save_predictions=True,  # save the predictions and ground truth in the model folder's
                            # predictions/<checkpoint>__test.npz (for the figures)
    num_subsets=12,  # random subsets of 67 % of the simulations, scored apart for error bars as the original's
                     # (0: none)
    seed=0,  # seed of the random subsets: the same seed gives the same subsets
    progress=True,  # show progress bars (caching the data, predicting)
    log_level="INFO",  # logging level: DEBUG | INFO | WARNING | ERROR
)
SCRIPT = cli.Script(__file__, PARAMS, description=__doc__, choices=evaluation_runs.PARAMS_CHOICES,
                    checks=evaluation_runs.PARAMS_CHECKS)


def main(argv=None):
    return SCRIPT.run(lambda params: evaluation_runs.run(params, "test"), argv)


if __name__ == "__main__":
    main()
