COMMENT
Persistent Na+ current (Magistretti & Alonso 1999), as in Hay et al. 2011.
Activation time constant reuses the NaTa_t activation rates scaled by 6.
Rates are tabulated every 0.05 mV (TABLE); set usetable_<SUFFIX> = 0 to compute them exactly.
ENDCOMMENT

NEURON {
    THREADSAFE
    SUFFIX Nap_Et2
    USEION na READ ena WRITE ina
    RANGE gNap_Et2bar, gNap_Et2
}

UNITS {
    (S) = (siemens)
    (mV) = (millivolt)
    (mA) = (milliamp)
}

PARAMETER {
    gNap_Et2bar = 0.00001 (S/cm2)
}

ASSIGNED {
    v (mV)
    ena (mV)
    ina (mA/cm2)
    gNap_Et2 (S/cm2)
    mInf
    mTau (ms)
    hInf
    hTau (ms)
}

STATE { m h }

BREAKPOINT {
    SOLVE states METHOD cnexp
    gNap_Et2 = gNap_Et2bar*m*m*m*h
    ina = gNap_Et2*(v - ena)
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
    mInf = 1.0/(1 + exp((vm + 52.6)/-4.6))
    vv = vm
    if (vv == -38) { vv = vv + 0.0001 }
    mAlpha = (0.182*(vv + 38))/(1 - exp(-(vv + 38)/6))
    mBeta = (0.124*(-vv - 38))/(1 - exp(-(-vv - 38)/6))
    mTau = 6*(1/(mAlpha + mBeta))/qt

    hInf = 1.0/(1 + exp((vm + 48.8)/10))
    vv = vm
    if (vv == -17) { vv = vv + 0.0001 }
    hAlpha = -2.88e-6*(vv + 17)/(1 - exp((vv + 17)/4.63))
    vv = vm
    if (vv == -64.4) { vv = vv + 0.0001 }
    hBeta = 6.94e-6*(vv + 64.4)/(1 - exp(-(vv + 64.4)/2.63))
    hTau = (1/(hAlpha + hBeta))/qt
    UNITSON
}
