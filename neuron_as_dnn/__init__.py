"""Single cortical neurons as deep artificial neural networks (Beniaguev, Segev & London, 2021).

One module per stage of the pipeline:

- ``morphology``        locate / download / verify the Hay et al. 2011 reconstruction
- ``cell``              the layer-5 pyramidal cell in NEURON (biophysics, synapses, segment table)
- ``synaptic_inputs``   the paper's doubly stochastic input generator (L5PC and I&F)
- ``simulation``        replaying one input pattern, running many (workers, MPI), spike detection
- ``dataset``           the authors' pickle format (read/write), compact cache, canonical tensors
- ``integrate_and_fire``the I&F neuron of Fig. 1
- ``models``            TCN/FCN builder, legacy Keras-2 ``.h5`` loading
- ``training``          window sampler, DVT PCA, learning schedule, checkpoints, resume
- ``evaluation``        full-trace prediction and the paper's metrics
- ``figures``           one function per panel, composed into the paper's figures
- ``cli`` / ``utils``   parameter blocks with command-line overrides; atomic files, logging, provenance
"""

__version__ = "0.1.0"
