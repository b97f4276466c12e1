// Radial basis phi_k(d), its derivative, and the cosine cutoff fc(d) with its derivative.
#pragma once

#include "math.h"

namespace mlff {

template <class Real, class Mem>
struct RadialBasis {
  int type = 0;  // 0 = gaussian exp(-gamma (d-mu)^2), 1 = bessel sin(w d)/d
  int size = 0;
  Kokkos::View<Real*, Mem> p0;  // gaussian: centers; bessel: frequencies
  Kokkos::View<Real*, Mem> p1;  // gaussian: gammas

  KOKKOS_INLINE_FUNCTION void eval(int k, Real d, Real& phi, Real& dphi) const {
    if (type == 0) {
      // Values below exp(-80) ~ 2e-35 are flushed to zero: in fp32 they would be subnormal,
      // which x86 cores multiply some 100x slower, and they are 1e-35 of the basis' peak.
      const Real x = d - p0(k), g = p1(k) * x * x;
      phi = g < Real(80) ? m_exp(-g) : Real(0);
      dphi = Real(-2) * p1(k) * x * phi;
    } else {
      const Real w = p0(k);
      const Real s = m_sin(w * d), c = m_cos(w * d);
      phi = s / d;
      dphi = (w * c - s / d) / d;
    }
  }
};

// Cosine cutoff: 0.5 (cos(pi d / rc) + 1) for d < rc, else 0.
template <class Real>
KOKKOS_INLINE_FUNCTION void cosine_cutoff(Real d, Real rc, Real& fc, Real& dfc) {
  if (d < rc) {
    const Real a = Real(kPi) / rc;
    fc = Real(0.5) * (m_cos(a * d) + Real(1));
    dfc = Real(-0.5) * a * m_sin(a * d);
  } else {
    fc = 0;
    dfc = 0;
  }
}

}  // namespace mlff
