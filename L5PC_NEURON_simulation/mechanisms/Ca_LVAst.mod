COMMENT
Low-voltage-activated (T-type) Ca2+ current (Avery & Johnston 1996; time constants from
Randall 1997), shifted by -10 mV, as in Hay et al. 2011.
Rates are tabulated every 0.05 mV (TABLE); set usetable_<SUFFIX> = 0 to compute them exactly.
ENDCOMMENT

NEURON {
    THREADSAFE
    SUFFIX Ca_LVAst
    USEION ca READ eca WRITE ica
    RANGE gCa_LVAstbar, gCa_LVAst
}

UNITS {
    (S) = (siemens)
    (mV) = (millivolt)
    (mA) = (milliamp)
}

PARAMETER {
    gCa_LVAstbar = 0.00001 (S/cm2)
}

ASSIGNED {
    v (mV)
    eca (mV)
    ica (mA/cm2)
    gCa_LVAst (S/cm2)
    mInf
    mTau (ms)
    hInf
    hTau (ms)
}

STATE { m h }

BREAKPOINT {
    SOLVE states METHOD cnexp
    gCa_LVAst = gCa_LVAstbar*m*m*h
    ica = gCa_LVAst*(v - eca)
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
    mInf = 1.0000/(1 + exp((vs + 30)/-6))
    mTau = (5.0000 + 20.0000/(1 + exp((vs + 25)/5)))/qt
    hInf = 1.0000/(1 + exp((vs + 80)/6.4))
    hTau = (20.0000 + 50.0000/(1 + exp((vs + 40)/7)))/qt
    UNITSON
}
