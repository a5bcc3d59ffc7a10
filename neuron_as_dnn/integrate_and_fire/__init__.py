"""Fig. 1, a pipeline of its own: the integrate-and-fire neuron, its data sets, its one-filter network and figures.

``neuron`` simulates the neuron and stores its data sets; ``experiment`` is the run behind
``integrate_and_fire_figure_replication.py`` (data, training, evaluation, one self-describing folder); ``figures``
draws Fig. 1 from that folder.

It sits above every stage and may import any of them (the input generator of ``simulation``, the network
builder of ``learning``, the metrics of ``evaluation``, the panels of ``figures``); nothing imports it except the
script and ``demo``.
"""
