COMMENT
Small-conductance Ca2+-activated K+ current (Koehler et al. 1996), as in Hay et al. 2011.
Instantaneous Hill-type Ca2+ dependence relaxed with a 1-ms time constant.
ENDCOMMENT

NEURON {
    THREADSAFE
    SUFFIX SK_E2
    USEION k READ ek WRITE ik
    USEION ca READ cai
    RANGE gSK_E2bar, gSK_E2
}

UNITS {
    (S) = (siemens)
    (mV) = (millivolt)
    (mA) = (milliamp)
    (mM) = (milli/liter)
}

PARAMETER {
    gSK_E2bar = 0.000001 (S/cm2)
    zTau = 1 (ms)
}

ASSIGNED {
    v (mV)
    ek (mV)
    cai (mM)
    ik (mA/cm2)
    gSK_E2 (S/cm2)
    zInf
}

STATE { z }

BREAKPOINT {
    SOLVE states METHOD cnexp
    gSK_E2 = gSK_E2bar*z
    ik = gSK_E2*(v - ek)
}

DERIVATIVE states {
    rates(cai)
    z' = (zInf - z)/zTau
}

INITIAL {
    rates(cai)
    z = zInf
}

PROCEDURE rates(ca (mM)) {
    LOCAL c
    UNITSOFF
    : a floor keeps the Hill function finite when calcium is (numerically) zero
    c = ca
    if (c < 1e-7) { c = c + 1e-7 }
    zInf = 1/(1 + (0.00043/c)^4.8)
    UNITSON
}
