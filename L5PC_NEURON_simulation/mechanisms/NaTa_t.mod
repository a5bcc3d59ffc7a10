COMMENT
Fast inactivating Na+ current of the axon (Colbert & Pan 2002), as in Hay et al. 2011.
Rates follow the reference equations; kinetics use a fixed Q10 factor for 34 degC,
independent of celsius (as the published model).
Rates are tabulated every 0.05 mV (TABLE); set usetable_<SUFFIX> = 0 to compute them exactly.
ENDCOMMENT

NEURON {
    THREADSAFE
    SUFFIX NaTa_t
    USEION na READ ena WRITE ina
    RANGE gNaTa_tbar, gNaTa_t
}

UNITS {
    (S) = (siemens)
    (mV) = (millivolt)
    (mA) = (milliamp)
}

PARAMETER {
    gNaTa_tbar = 0.00001 (S/cm2)
}

ASSIGNED {
    v (mV)
    ena (mV)
    ina (mA/cm2)
    gNaTa_t (S/cm2)
    mInf
    mTau (ms)
    hInf
    hTau (ms)
}

STATE { m h }

BREAKPOINT {
    SOLVE states METHOD cnexp
    gNaTa_t = gNaTa_tbar*m*m*m*h
    ina = gNaTa_t*(v - ena)
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
    LOCAL qt, vv, mAlpha, mBeta, hAlpha, hBeta
    TABLE mInf, mTau, hInf, hTau FROM -150 TO 100 WITH 5000
    qt = 2.3^((34 - 21)/10)
    UNITSOFF
    : the removable singularities of the rate functions are stepped over by 1e-4 mV
    vv = vm
    if (vv == -38) { vv = vv + 0.0001 }
    mAlpha = (0.182*(vv + 38))/(1 - exp(-(vv + 38)/6))
    mBeta = (0.124*(-vv - 38))/(1 - exp(-(-vv - 38)/6))
    mInf = mAlpha/(mAlpha + mBeta)
    mTau = (1/(mAlpha + mBeta))/qt

    vv = vm
    if (vv == -66) { vv = vv + 0.0001 }
    hAlpha = (-0.015*(vv + 66))/(1 - exp((vv + 66)/6))
    hBeta = (-0.015*(-vv - 66))/(1 - exp((-vv - 66)/6))
    hInf = hAlpha/(hAlpha + hBeta)
    hTau = (1/(hAlpha + hBeta))/qt
    UNITSON
}
