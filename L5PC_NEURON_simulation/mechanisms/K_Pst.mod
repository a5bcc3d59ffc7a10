COMMENT
Slow, non-inactivating ("persistent") K+ current (Korngreen & Sakmann 2000), shifted by -10 mV,
as in Hay et al. 2011.
Rates are tabulated every 0.05 mV (TABLE); set usetable_<SUFFIX> = 0 to compute them exactly.
ENDCOMMENT

NEURON {
    THREADSAFE
    SUFFIX K_Pst
    USEION k READ ek WRITE ik
    RANGE gK_Pstbar, gK_Pst
}

UNITS {
    (S) = (siemens)
    (mV) = (millivolt)
    (mA) = (milliamp)
}

PARAMETER {
    gK_Pstbar = 0.00001 (S/cm2)
}

ASSIGNED {
    v (mV)
    ek (mV)
    ik (mA/cm2)
    gK_Pst (S/cm2)
    mInf
    mTau (ms)
    hInf
    hTau (ms)
}

STATE { m h }

BREAKPOINT {
    SOLVE states METHOD cnexp
    gK_Pst = gK_Pstbar*m*m*h
    ik = gK_Pst*(v - ek)
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
    LOCAL qt, vs
    TABLE mInf, mTau, hInf, hTau FROM -150 TO 100 WITH 5000
    qt = 2.3^((34 - 21)/10)
    UNITSOFF
    vs = vm + 10
    mInf = 1/(1 + exp(-(vs + 1)/12))
    if (vs < -50) {
        mTau = (1.25 + 175.03*exp(0.026*vs))/qt
    } else {
        mTau = (1.25 + 13*exp(-0.026*vs))/qt
    }
    hInf = 1/(1 + exp((vs + 54)/11))
    hTau = (360 + (1010 + 24*(vs + 55))*exp(-((vs + 75)/48)^2))/qt
    UNITSON
}
