COMMENT
High-voltage-activated Ca2+ current (Reuveni et al. 1993), as in Hay et al. 2011. No Q10 factor.
Rates are tabulated every 0.05 mV (TABLE); set usetable_<SUFFIX> = 0 to compute them exactly.
ENDCOMMENT

NEURON {
    THREADSAFE
    SUFFIX Ca_HVA
    USEION ca READ eca WRITE ica
    RANGE gCa_HVAbar, gCa_HVA
}

UNITS {
    (S) = (siemens)
    (mV) = (millivolt)
    (mA) = (milliamp)
}

PARAMETER {
    gCa_HVAbar = 0.00001 (S/cm2)
}

ASSIGNED {
    v (mV)
    eca (mV)
    ica (mA/cm2)
    gCa_HVA (S/cm2)
    mInf
    mTau (ms)
    hInf
    hTau (ms)
}

STATE { m h }

BREAKPOINT {
    SOLVE states METHOD cnexp
    gCa_HVA = gCa_HVAbar*m*m*h
    ica = gCa_HVA*(v - eca)
}

DERIVATIVE states {
    rates(v)
    m' = (mInf - m)/mTau
    h' = (hInf - h)/hTau
}

INITIAL {
    rates(v)
    m = mInf
    h = hInf
}

PROCEDURE rates(vm (mV)) {
    LOCAL vv, mAlpha, mBeta, hAlpha, hBeta
    TABLE mInf, mTau, hInf, hTau FROM -150 TO 100 WITH 5000
    UNITSOFF
    vv = vm
    if (vv == -27) { vv = vv + 0.0001 }
    mAlpha = (0.055*(-27 - vv))/(exp((-27 - vv)/3.8) - 1)
    mBeta = 0.94*exp((-75 - vv)/17)
    mInf = mAlpha/(mAlpha + mBeta)
    mTau = 1/(mAlpha + mBeta)
    hAlpha = 0.000457*exp((-13 - vm)/50)
    hBeta = 0.0065/(exp((-vm - 15)/28) + 1)
    hInf = hAlpha/(hAlpha + hBeta)
    hTau = 1/(hAlpha + hBeta)
    UNITSON
}
