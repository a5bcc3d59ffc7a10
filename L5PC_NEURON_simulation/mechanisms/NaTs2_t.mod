COMMENT
Fast inactivating somatodendritic Na+ current: the axonal NaTa_t shifted by +6 mV, as in Hay et al. 2011.
Rates follow the reference equations; kinetics use a fixed Q10 factor for 34 degC,
independent of celsius (as the published model).
Rates are tabulated every 0.05 mV (TABLE); set usetable_<SUFFIX> = 0 to compute them exactly.
ENDCOMMENT

NEURON {
    THREADSAFE
    SUFFIX NaTs2_t
    USEION na READ ena WRITE ina
    RANGE gNaTs2_tbar, gNaTs2_t
}

UNITS {
    (S) = (siemens)
    (mV) = (millivolt)
    (mA) = (milliamp)
}

PARAMETER {
    gNaTs2_tbar = 0.00001 (S/cm2)
}

ASSIGNED {
    v (mV)
    ena (mV)
    ina (mA/cm2)
    gNaTs2_t (S/cm2)
    mInf
    mTau (ms)
    hInf
    hTau (ms)
}

STATE { m h }

BREAKPOINT {
    SOLVE states METHOD cnexp
    gNaTs2_t = gNaTs2_tbar*m*m*m*h
    ina = gNaTs2_t*(v - ena)
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
    if (vv == -32) { vv = vv + 0.0001 }
    mAlpha = (0.182*(vv + 32))/(1 - exp(-(vv + 32)/6))
    mBeta = (0.124*(-vv - 32))/(1 - exp(-(-vv - 32)/6))
    mInf = mAlpha/(mAlpha + mBeta)
    mTau = (1/(mAlpha + mBeta))/qt

    vv = vm
    if (vv == -60) { vv = vv + 0.0001 }
    hAlpha = (-0.015*(vv + 60))/(1 - exp((vv + 60)/6))
    hBeta = (-0.015*(-vv - 60))/(1 - exp((-vv - 60)/6))
    hInf = hAlpha/(hAlpha + hBeta)
    hTau = (1/(hAlpha + hBeta))/qt
    UNITSON
}
