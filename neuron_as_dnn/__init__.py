"""Single cortical neurons as deep artificial neural networks (Beniaguev, Segev & London, 2021).

One module per job, in the order of the pipeline (the README has the map; ``docs/`` the reference):

- ``morphology`` / ``morphology_map``  get and verify cell1.asc / where each segment lies, its subtree
- ``cell``                  the layer-5 pyramidal cell in NEURON (biophysics as data, synapses, segments)
- ``synaptic_inputs``       the paper's doubly stochastic input generator (L5PC and I&F)
- ``simulation``            one simulator, spike detection, replay of an input file
- ``dataset_generation``    many simulations: presets, seeds, workers, MPI, resume, one file
- ``dataset`` / ``cache``   the authors' file format / the compact training cache
- ``synthetic_data``        learnable fake datasets for tests and benchmarks
- ``dataset_statistics``    the numbers of dataset_exploration.py
- ``integrate_and_fire`` / ``integrate_and_fire_experiment``  the I&F neuron and its data / Fig. 1's run
- ``models``                TCN/FCN builder, legacy Keras-2 ``.h5`` loading
- ``dendritic_targets``     the dendritic-voltage PCA (transform and inverse)
- ``sampler``               random training windows from the cache
- ``training``              configuration, learning schedule and the training loop
- ``model_folder``          a trained model as a folder: configuration, checkpoints, evaluations
- ``prediction``            whole-simulation prediction (one causal pass or overlapping windows)
- ``evaluation`` / ``evaluation_runs``  the paper's metrics and filters / evaluating model folders
- ``model_selection``       best model per architecture, envelopes, exports (Fig. S5 tables)
- ``authors_data``          the authors' Kaggle data and models: download and arrange
- ``figures``               panels and the paper's figures (one module per figure family)
- ``cli`` / ``errors`` / ``utils`` / ``safe_pickle``  script contract; user errors; files, logging,
  provenance; pickles from outside
"""

import os
import sys

__version__ = "0.1.0"


def _quiet_tensorflow() -> None:
    """TensorFlow's C++ start-up lines (absl, oneDNN, CPU features) reach stderr before a script can set up
    logging, and would bury a one-line error; they show only with ``--log-level DEBUG``."""
    argv = " ".join(sys.argv[1:]).replace("=", " ").upper()
    if "--LOG-LEVEL DEBUG" not in argv:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


_quiet_tensorflow()
