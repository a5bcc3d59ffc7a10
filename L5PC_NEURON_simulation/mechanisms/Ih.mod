COMMENT
Hyperpolarisation-activated cation current, Ih (Kole et al. 2006), as in Hay et al. 2011,
with a voltage shift parameter (vshift) applied to the activation curve.
The singularity guard tests v == vhalf (not vhalf + vshift), as the published model does.
ENDCOMMENT

NEURON {
    THREADSAFE
    SUFFIX Ih
    NONSPECIFIC_CURRENT ihcn
    RANGE gIhbar, gIh, ehcn, vshift
}

UNITS {
    (S) = (siemens)
    (mV) = (millivolt)
    (mA) = (milliamp)
}

PARAMETER {
    gIhbar = 0.00001 (S/cm2)
    ehcn = -45.0 (mV)
    vhalf = -154.9 (mV)
    vshift = 0 (mV)
}

ASSIGNED {
    v (mV)
    ihcn (mA/cm2)
    gIh (S/cm2)
    mInf
    mTau (ms)
}

STATE { m }

BREAKPOINT {
    SOLVE states METHOD cnexp
    gIh = gIhbar*m
    ihcn = gIh*(v - ehcn)
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
    LOCAL vv, mAlpha, mBeta
    UNITSOFF
    vv = vm
    if (vv == vhalf) { vv = vv + 0.0001 }
    mAlpha = 0.001*6.43*(vv - (vhalf + vshift))/(exp((vv - (vhalf + vshift))/11.9) - 1)
    mBeta = 0.001*193*exp((vv - vshift)/33.1)
    mInf = mAlpha/(mAlpha + mBeta)
    mTau = 1/(mAlpha + mBeta)
    UNITSON
}
