"""Stage 2, the data: many simulations as dataset files, in the authors' published format.

Owns the dataset file format and its folder naming (``dataset``), the compact training cache beside each data
folder (``cache``), generating datasets with workers, MPI and resume (``dataset_generation``), learnable synthetic
datasets for tests and benchmarks (``synthetic_data``), and the authors' Kaggle data (``authors_data``).

Imports the shared services and ``simulation``; nothing about networks.
"""
