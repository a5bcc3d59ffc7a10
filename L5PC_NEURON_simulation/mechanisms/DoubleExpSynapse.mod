COMMENT
Conductance-based synapse with a double-exponential time course, peak-normalised:
one event of NetCon weight w produces a conductance peaking at w*gmax.
Serves the paper's AMPA (0.3/3 ms, 0 mV), GABA_A (0.2/8 ms, -80 mV) and GABA_B (3.5/260.9 ms, -97 mV).

Release is deterministic: every event is transmitted. The published model reached the same
behaviour through a stochastic release rule whose random draw was undefined (and which
silenced a synapse receiving an event at t = 0); neither is reproduced here.
ENDCOMMENT

NEURON {
    THREADSAFE
    POINT_PROCESS DoubleExpSynapse
    NONSPECIFIC_CURRENT i
    RANGE tau_r, tau_d, gmax, e, g, i
}

UNITS {
    (nA) = (nanoamp)
    (mV) = (millivolt)
    (uS) = (microsiemens)
}

PARAMETER {
    tau_r = 0.2 (ms)
    tau_d = 1.7 (ms)
    gmax = 0.001 (uS)
    e = 0 (mV)
}

ASSIGNED {
    v (mV)
    i (nA)
    g (uS)
    factor
}

STATE {
    A
    B
}

INITIAL {
    LOCAL t_peak
    A = 0
    B = 0
    t_peak = (tau_r*tau_d)/(tau_d - tau_r)*log(tau_d/tau_r)
    factor = 1/(exp(-t_peak/tau_d) - exp(-t_peak/tau_r))
}

BREAKPOINT {
    SOLVE state METHOD cnexp
    g = gmax*(B - A)
    i = g*(v - e)
}

DERIVATIVE state {
    A' = -A/tau_r
    B' = -B/tau_d
}

NET_RECEIVE (weight) {
    A = A + weight*factor
    B = B + weight*factor
}
