COMMENT
Glutamatergic synapse with an AMPA and an NMDA component, each a peak-normalised double
exponential, sharing gmax and the event weight (the paper's "NMDA" synapse).
The NMDA conductance is gated by the Mg2+ block of Jahr & Stevens (1990):
    mggate = 1/(1 + exp(-0.08 v) * mg/3.57)
Release is deterministic (see DoubleExpSynapse.mod).
ENDCOMMENT

NEURON {
    THREADSAFE
    POINT_PROCESS AmpaNmdaSynapse
    NONSPECIFIC_CURRENT i
    RANGE tau_r_AMPA, tau_d_AMPA, tau_r_NMDA, tau_d_NMDA, gmax, e, mg
    RANGE g_AMPA, g_NMDA, i_AMPA, i_NMDA, mggate, i
}

UNITS {
    (nA) = (nanoamp)
    (mV) = (millivolt)
    (uS) = (microsiemens)
    (mM) = (milli/liter)
}

PARAMETER {
    tau_r_AMPA = 0.2 (ms)
    tau_d_AMPA = 1.7 (ms)
    tau_r_NMDA = 0.29 (ms)
    tau_d_NMDA = 43 (ms)
    gmax = 0.001 (uS)
    e = 0 (mV)
    mg = 1 (mM)
}

ASSIGNED {
    v (mV)
    i (nA)
    i_AMPA (nA)
    i_NMDA (nA)
    g_AMPA (uS)
    g_NMDA (uS)
    mggate
    factor_AMPA
    factor_NMDA
}

STATE {
    A_AMPA
    B_AMPA
    A_NMDA
    B_NMDA
}

INITIAL {
    A_AMPA = 0
    B_AMPA = 0
    A_NMDA = 0
    B_NMDA = 0
    factor_AMPA = peak_normalisation(tau_r_AMPA, tau_d_AMPA)
    factor_NMDA = peak_normalisation(tau_r_NMDA, tau_d_NMDA)
}

FUNCTION peak_normalisation(tau_r (ms), tau_d (ms)) {
    LOCAL t_peak
    t_peak = (tau_r*tau_d)/(tau_d - tau_r)*log(tau_d/tau_r)
    peak_normalisation = 1/(exp(-t_peak/tau_d) - exp(-t_peak/tau_r))
}

BREAKPOINT {
    SOLVE state METHOD cnexp
    mggate = 1/(1 + exp(-0.08 (/mV)*v)*(mg/3.57 (mM)))
    g_AMPA = gmax*(B_AMPA - A_AMPA)
    g_NMDA = gmax*(B_NMDA - A_NMDA)*mggate
    i_AMPA = g_AMPA*(v - e)
    i_NMDA = g_NMDA*(v - e)
    i = i_AMPA + i_NMDA
}

DERIVATIVE state {
    A_AMPA' = -A_AMPA/tau_r_AMPA
    B_AMPA' = -B_AMPA/tau_d_AMPA
    A_NMDA' = -A_NMDA/tau_r_NMDA
    B_NMDA' = -B_NMDA/tau_d_NMDA
}

NET_RECEIVE (weight) {
    A_AMPA = A_AMPA + weight*factor_AMPA
    B_AMPA = B_AMPA + weight*factor_AMPA
    A_NMDA = A_NMDA + weight*factor_NMDA
    B_NMDA = B_NMDA + weight*factor_NMDA
}
