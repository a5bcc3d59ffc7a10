"""Stage 3, learning: the networks and their training.

Owns the TCN/FCN builder and model files (``models``), the dendritic-voltage PCA targets (``dendritic_targets``),
random training windows from the cache (``sampler``), the training configuration, schedule and loop
(``training``), and a trained model as a folder: its layout, checkpoints, evaluation and prediction files, and
resume points (``model_folder``).

Imports the shared services, ``simulation`` and ``data``; training does not score (that is ``evaluation``).
"""
