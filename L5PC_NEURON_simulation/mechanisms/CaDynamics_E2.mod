COMMENT
Intracellular Ca2+ in a submembrane shell: influx from ica scaled by gamma (the free fraction)
over a shell of given depth, first-order removal towards minCai (Hay et al. 2011).
No INITIAL block: cai starts at NEURON's cai0, as in the published model.
ENDCOMMENT

NEURON {
    THREADSAFE
    SUFFIX CaDynamics_E2
    USEION ca READ ica WRITE cai
    RANGE decay, gamma, minCai, depth
}

UNITS {
    (mV) = (millivolt)
    (mA) = (milliamp)
    FARADAY = (faraday) (coulombs)
    (molar) = (1/liter)
    (mM) = (millimolar)
    (um) = (micron)
}

PARAMETER {
    gamma = 0.05
    decay = 80 (ms)
    depth = 0.1 (um)
    minCai = 1e-4 (mM)
}

ASSIGNED { ica (mA/cm2) }

STATE { cai (mM) }

BREAKPOINT { SOLVE states METHOD cnexp }

DERIVATIVE states {
    cai' = -(10000)*(ica*gamma/(2*FARADAY*depth)) - (cai - minCai)/decay
}
