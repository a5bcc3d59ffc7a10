"""Stage 4, evaluation: what a trained network is worth.

Owns the paper's metrics and spike-count filters (``metrics``), whole-simulation prediction (``prediction``,
``sparse_prediction``), evaluating model folders on a split and the tables of their results (``evaluation_runs``),
the best model per architecture, envelopes and exports (``model_selection``), and the numbers that describe a
dataset in the evaluation's terms (``dataset_statistics``).

Imports the shared services, ``simulation``, ``data`` and ``learning``; scores do not draw (that is ``figures``).
"""
