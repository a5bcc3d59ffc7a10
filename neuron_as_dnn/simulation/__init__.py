"""Stage 1, the cell: the layer-5 pyramidal cell in NEURON and everything needed to simulate it.

Owns the morphology file and its checks (``morphology``), where each segment lies (``morphology_map``), the cell
with its biophysics and synapses (``cell``), the paper's random synaptic input (``synaptic_inputs``), one
simulation and its recording grid, spike detection and replay files (``simulator``), and the agreement of two
simulations (``fidelity``).

Imports only the shared services (``neuron_as_dnn.cli``, ``errors``, ``utils``, ``paths``): the cell knows no
dataset and no network.
"""
