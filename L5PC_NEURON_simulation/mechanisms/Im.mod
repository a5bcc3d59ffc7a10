COMMENT
Muscarinic K+ current, Im (Adams et al. 1982), as in Hay et al. 2011.
Rates are tabulated every 0.05 mV (TABLE); set usetable_<SUFFIX> = 0 to compute them exactly.
ENDCOMMENT

NEURON {
    THREADSAFE
    SUFFIX Im
    USEION k READ ek WRITE ik
    RANGE gImbar, gIm
}

UNITS {
    (S) = (siemens)
    (mV) = (millivolt)
    (mA) = (milliamp)
}

PARAMETER {
    gImbar = 0.00001 (S/cm2)
}

ASSIGNED {
    v (mV)
    ek (mV)
    ik (mA/cm2)
    gIm (S/cm2)
    mInf
    mTau (ms)
}

STATE { m }

BREAKPOINT {
    SOLVE states METHOD cnexp
    gIm = gImbar*m
    ik = gIm*(v - ek)
}

DERIVATIVE states {
    rates(v)
    m' = (mInf - m)/mTau
}

INITIAL {
    rates(v)
    m = mInf
}

PROCEDURE rates(vm (mV)) {
    LOCAL qt, mAlpha, mBeta
    TABLE mInf, mTau FROM -150 TO 100 WITH 5000
    qt = 2.3^((34 - 21)/10)
    UNITSOFF
    mAlpha = 3.3e-3*exp(2.5*0.04*(vm + 35))
    mBeta = 3.3e-3*exp(-2.5*0.04*(vm + 35))
    mInf = mAlpha/(mAlpha + mBeta)
    mTau = (1/(mAlpha + mBeta))/qt
    UNITSON
}
