// Scalar math usable on host and device for float and double, and the activations with
// their derivatives (the backward pass needs act'(h) at the stored pre-activation h).
#pragma once

#include <Kokkos_Core.hpp>
#include <cmath>

// Full unrolling of a loop of compile-time length, so that arrays indexed by it stay in
// registers on GPUs (resident filter weights). Device compilation passes only: the host
// compiler does not know the pragma.
#if defined(__CUDA_ARCH__) || defined(__HIP_DEVICE_COMPILE__)
#define MLFF_UNROLL _Pragma("unroll")
#else
#define MLFF_UNROLL
#endif

namespace mlff {

KOKKOS_INLINE_FUNCTION double m_exp(double x) { return ::exp(x); }
KOKKOS_INLINE_FUNCTION float m_exp(float x) { return ::expf(x); }
KOKKOS_INLINE_FUNCTION double m_log1p(double x) { return ::log1p(x); }
KOKKOS_INLINE_FUNCTION float m_log1p(float x) { return ::log1pf(x); }
KOKKOS_INLINE_FUNCTION double m_sqrt(double x) { return ::sqrt(x); }
KOKKOS_INLINE_FUNCTION float m_sqrt(float x) { return ::sqrtf(x); }
KOKKOS_INLINE_FUNCTION double m_sin(double x) { return ::sin(x); }
KOKKOS_INLINE_FUNCTION float m_sin(float x) { return ::sinf(x); }
KOKKOS_INLINE_FUNCTION double m_cos(double x) { return ::cos(x); }
KOKKOS_INLINE_FUNCTION float m_cos(float x) { return ::cosf(x); }

constexpr double kPi = 3.14159265358979323846;
constexpr double kLn2 = 0.69314718055994530942;

// 0 = SiLU, 1 = shifted softplus (matches mlff::Activation order).
template <class Real>
KOKKOS_INLINE_FUNCTION Real act_value(int kind, Real x) {
  if (kind == 0) return x / (Real(1) + m_exp(-x));
  // softplus(x) - ln 2 as schnetpack defines it (torch's softplus returns x above 20),
  // written to avoid overflow for large negative x.
  if (x > Real(20)) return x - Real(kLn2);
  const Real ax = x < 0 ? -x : x;
  return (x > 0 ? x : Real(0)) + m_log1p(m_exp(-ax)) - Real(kLn2);
}

template <class Real>
KOKKOS_INLINE_FUNCTION Real act_deriv(int kind, Real x) {
  const Real sig = Real(1) / (Real(1) + m_exp(-x));
  if (kind == 0) return sig * (Real(1) + x * (Real(1) - sig));
  return x > Real(20) ? Real(1) : sig;
}

}  // namespace mlff
