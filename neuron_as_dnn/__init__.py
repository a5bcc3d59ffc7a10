"""Single cortical neurons as deep artificial neural networks (Beniaguev, Segev & London, 2021).

The package's folders are the paper's stages, in pipeline order; each imports only the stages before it
(docs/architecture.md has the map and the files that flow between the stages):

- ``simulation``  the L5PC in NEURON: morphology, cell, synaptic inputs, simulator, fidelity
- ``data``        dataset files (the authors' format), training cache, dataset generation, the authors' data
- ``learning``    networks, dendritic targets, training windows, training, the model folder
- ``evaluation``  metrics, prediction, evaluation runs, model selection, dataset statistics
- ``figures``     the paper's figures, drawn into figures they are handed
- ``integrate_and_fire``  Fig. 1's own small pipeline (neuron, run, figures), above every stage

Above them, ``pretrained`` (ship a trained model, and open the shipped ones), ``demo`` (``make demo``) and
``campaign`` (``make campaign``: the depth campaign of Figs. 3 and S5); beside
them, the services every stage uses: ``cli`` (the scripts' contract), ``errors`` (the user's mistakes),
``utils`` (logging, atomic files, provenance), ``paths`` (where things live), ``safe_pickle`` (pickles from
outside).
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
