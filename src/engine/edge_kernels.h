// Message passing over the edges of the neighbour list: one team per receiving atom i, its
// threads spread over feature channels, one edge (i, j) at a time. The per-edge filter W(d_ij)
// is recomputed in both passes, so no edges x features array is ever stored.
//
// Filter channels: W = [Ws, WR, Wv] at row offsets off_s, off_R, off_v of the filter output
// (painn: 0, F, 2F; mlff-distiller stores [phi_s, phi_1 (v_j), phi_2 (r_hat)]: 0, 2F, F).
// Messages: s_i += Ws * xs_j ; v_i += (WR * xR_j) u_ij + (Wv * xv_j) * v_j, with
// u_ij = r_ij / (d_ij + eps), r_ij = x_j - x_i. Context x_j = MLP(s_j) for painn,
// [s_j, 1, 1] for mlff-distiller.
#pragma once

#include "dense_ops.h"

namespace mlff {

// Team reduction value: dE/dd and dE/du for one edge.
template <class T>
struct EdgeGrad {
  T d = 0, u0 = 0, u1 = 0, u2 = 0;
  KOKKOS_INLINE_FUNCTION EdgeGrad() {}
  KOKKOS_INLINE_FUNCTION EdgeGrad& operator+=(const EdgeGrad& o) {
    d += o.d; u0 += o.u0; u1 += o.u1; u2 += o.u2;
    return *this;
  }
  KOKKOS_INLINE_FUNCTION void operator+=(const volatile EdgeGrad& o) volatile {
    d += o.d; u0 += o.u0; u1 += o.u1; u2 += o.u2;
  }
};

}  // namespace mlff

namespace Kokkos {
template <class T>
struct reduction_identity<mlff::EdgeGrad<T>> {
  KOKKOS_FORCEINLINE_FUNCTION static mlff::EdgeGrad<T> sum() { return mlff::EdgeGrad<T>(); }
};
}  // namespace Kokkos

namespace mlff {

template <class Exec, class Real, class Mem>
struct EdgeCommon {
  using member_t = typename Kokkos::TeamPolicy<Exec>::member_type;
  using Scratch = Kokkos::View<Real*, typename Exec::scratch_memory_space,
                               Kokkos::MemoryTraits<Kokkos::Unmanaged>>;

  Kokkos::View<const double**, Kokkos::LayoutRight, Mem> x;  // [nall, 3]
  Kokkos::View<const int*, Mem> offsets, nbrs;               // CSR full list of local atoms
  RadialBasis<Real, Mem> basis;
  double rc_d = 0;  // edge test in double so every precision sees the same edge set
  Real rc = 0, dir_eps = 0;
  bool painn = true;
  int F = 0, K = 0, H = 1, act = 0;
  int off[3] = {0, 0, 0};
  DeviceLinear<Real, Mem> A;        // painn filter, K -> 3F
  DeviceLinear<Real, Mem> B1, B2;   // distiller filter MLP, K -> H -> 3F
  Mat<Real, Mem> S, V, C;           // layer inputs s, v (all atoms) and painn context

  // Edge geometry; false when the pair is beyond the cutoff.
  KOKKOS_INLINE_FUNCTION bool geometry(int i, int j, double r[3], Real& d, Real u[3]) const {
    r[0] = x(j, 0) - x(i, 0);
    r[1] = x(j, 1) - x(i, 1);
    r[2] = x(j, 2) - x(i, 2);
    const double dd = ::sqrt(r[0] * r[0] + r[1] * r[1] + r[2] * r[2]);
    if (dd > rc_d) return false;
    d = static_cast<Real>(dd);
    const Real inv = Real(1) / (d + dir_eps);
    for (int a = 0; a < 3; ++a) u[a] = static_cast<Real>(r[a]) * inv;
    return true;
  }

  // Fills e (and de = de/dd when wanted) with the filter input; for the distiller also the
  // hidden layer (pre-activation hp, activation z). Ends with a barrier.
  KOKKOS_INLINE_FUNCTION void filter_inputs(const member_t& t, Real d, Real fc, Real dfc,
                                            const Scratch& e, const Scratch& de,
                                            const Scratch& hp, const Scratch& z,
                                            bool want_de) const {
    Kokkos::parallel_for(Kokkos::TeamThreadRange(t, K), [&](const int k) {
      Real p, dp;
      basis.eval(k, d, p, dp);
      e(k) = painn ? p : p * fc;
      if (want_de) de(k) = painn ? dp : dp * fc + p * dfc;
    });
    t.team_barrier();
    if (painn) return;
    Kokkos::parallel_for(Kokkos::TeamThreadRange(t, H), [&](const int h) {
      Real a = B1.b(h);
      for (int k = 0; k < K; ++k) a += B1.W(h, k) * e(k);
      hp(h) = a;
      z(h) = act_value(act, a);
    });
    t.team_barrier();
  }

  // Filter values w[q] of channel f; for painn also the pre-cutoff value P[q] and dP/dd.
  KOKKOS_INLINE_FUNCTION void filter_channel(int f, Real fc, const Scratch& e, const Scratch& de,
                                             const Scratch& z, Real w[3], Real P[3],
                                             Real dP[3], bool want_de) const {
    for (int q = 0; q < 3; ++q) {
      const int c = off[q] + f;
      if (painn) {
        Real a = A.b(c), da = 0;
        for (int k = 0; k < K; ++k) a += A.W(c, k) * e(k);
        if (want_de)
          for (int k = 0; k < K; ++k) da += A.W(c, k) * de(k);
        P[q] = a;
        dP[q] = da;
        w[q] = a * fc;
      } else {
        Real a = B2.b(c);
        for (int h = 0; h < H; ++h) a += B2.W(c, h) * z(h);
        w[q] = a;
      }
    }
  }

  KOKKOS_INLINE_FUNCTION void context(int j, int f, Real& xs, Real& xR, Real& xv) const {
    if (painn) {
      xs = C(j, f);
      xR = C(j, F + f);
      xv = C(j, 2 * F + f);
    } else {
      xs = S(j, f);
      xR = 1;
      xv = 1;
    }
  }
};

// Forward: Sm(i) += sum_j messages, Vm(i) likewise (Sm, Vm hold S, V of i on entry).
template <class Exec, class Real, class Mem>
struct MessageForward : EdgeCommon<Exec, Real, Mem> {
  using Base = EdgeCommon<Exec, Real, Mem>;
  using typename Base::member_t;
  using typename Base::Scratch;
  Mat<Real, Mem> Sm, Vm;

  KOKKOS_INLINE_FUNCTION void operator()(const member_t& t) const {
    const int i = t.league_rank();
    const int n = this->K > this->H ? this->K : this->H;
    Scratch e(t.team_scratch(0), n), de(t.team_scratch(0), n), hp(t.team_scratch(0), n),
        z(t.team_scratch(0), n);
    const int F = this->F;
    for (int jj = this->offsets(i); jj < this->offsets(i + 1); ++jj) {
      const int j = this->nbrs(jj);
      double r[3];
      Real d, u[3];
      if (!this->geometry(i, j, r, d, u)) continue;
      Real fc, dfc;
      cosine_cutoff(d, this->rc, fc, dfc);
      this->filter_inputs(t, d, fc, dfc, e, de, hp, z, false);
      Kokkos::parallel_for(Kokkos::TeamThreadRange(t, F), [&](const int f) {
        Real w[3], P[3], dP[3], xs, xR, xv;
        this->filter_channel(f, fc, e, de, z, w, P, dP, false);
        this->context(j, f, xs, xR, xv);
        Sm(i, f) += w[0] * xs;
        for (int a = 0; a < 3; ++a)
          Vm(i, a * F + f) += w[1] * xR * u[a] + w[2] * xv * this->V(j, a * F + f);
      });
      t.team_barrier();
    }
  }
};

// Backward: given the adjoints Sbm, Vbm of the message outputs of local atoms, scatters the
// adjoints of the senders' inputs (Cbar for painn contexts or Sbi for distiller s_j; Vbi for
// v_j) and the position gradient of every edge into forces and pair_grad.
template <class Exec, class Real, class Acc, class Mem>
struct MessageBackward : EdgeCommon<Exec, Real, Mem> {
  using Base = EdgeCommon<Exec, Real, Mem>;
  using typename Base::member_t;
  using typename Base::Scratch;
  Mat<Real, Mem> Sbm, Vbm;         // [nlocal, F], [nlocal, 3F]
  Mat<Real, Mem> Cbar, Sbi, Vbi;   // [nall, 3F], [nall, F], [nall, 3F]
  Kokkos::View<Acc**, Kokkos::LayoutRight, Mem> f;          // [nall, 3] forces
  Kokkos::View<Acc**, Kokkos::LayoutRight, Mem> pair_grad;  // [nnz, 3] dE/dr_ij, zeroed by caller

  KOKKOS_INLINE_FUNCTION void operator()(const member_t& t) const {
    const int i = t.league_rank();
    const int n = this->K > this->H ? this->K : this->H;
    const int F = this->F;
    Scratch e(t.team_scratch(0), n), de(t.team_scratch(0), n), hp(t.team_scratch(0), n),
        z(t.team_scratch(0), n), wb(t.team_scratch(0), 3 * F);
    for (int jj = this->offsets(i); jj < this->offsets(i + 1); ++jj) {
      const int j = this->nbrs(jj);
      double r[3];
      Real d, u[3];
      if (!this->geometry(i, j, r, d, u)) continue;
      Real fc, dfc;
      cosine_cutoff(d, this->rc, fc, dfc);
      this->filter_inputs(t, d, fc, dfc, e, de, hp, z, true);

      EdgeGrad<Acc> g;
      Kokkos::parallel_reduce(
          Kokkos::TeamThreadRange(t, F),
          [&](const int c, EdgeGrad<Acc>& acc) {
            Real w[3], P[3], dP[3], xs, xR, xv;
            this->filter_channel(c, fc, e, de, z, w, P, dP, true);
            this->context(j, c, xs, xR, xv);
            const Real sb = Sbm(i, c);
            Real vb[3], p = 0, q = 0;
            for (int a = 0; a < 3; ++a) {
              vb[a] = Vbm(i, a * F + c);
              p += vb[a] * u[a];
              q += vb[a] * this->V(j, a * F + c);
            }
            const Real wbar[3] = {sb * xs, p * xR, q * xv};
            if (this->painn) {
              Kokkos::atomic_add(&Cbar(j, c), w[0] * sb);
              Kokkos::atomic_add(&Cbar(j, F + c), w[1] * p);
              Kokkos::atomic_add(&Cbar(j, 2 * F + c), w[2] * q);
              Real dd = 0;
              for (int k = 0; k < 3; ++k) dd += wbar[k] * (dP[k] * fc + P[k] * dfc);
              acc.d += dd;
            } else {
              Kokkos::atomic_add(&Sbi(j, c), w[0] * sb);
              for (int k = 0; k < 3; ++k) wb(this->off[k] + c) = wbar[k];
            }
            for (int a = 0; a < 3; ++a) Kokkos::atomic_add(&Vbi(j, a * F + c), w[2] * xv * vb[a]);
            acc.u0 += vb[0] * w[1] * xR;
            acc.u1 += vb[1] * w[1] * xR;
            acc.u2 += vb[2] * w[1] * xR;
          },
          g);

      if (!this->painn) {
        // dE/dd through the filter MLP: zbar = B2^T wbar, hbar = zbar act'(hp), e' = de.
        t.team_barrier();
        Acc dd = 0;
        Kokkos::parallel_reduce(
            Kokkos::TeamThreadRange(t, this->H),
            [&](const int h, Acc& s) {
              Real zb = 0;
              for (int c = 0; c < 3 * F; ++c) zb += this->B2.W(c, h) * wb(c);
              const Real hb = zb * act_deriv(this->act, hp(h));
              Real ed = 0;
              for (int k = 0; k < this->K; ++k) ed += this->B1.W(h, k) * de(k);
              s += hb * ed;
            },
            dd);
        g.d += dd;
      }

      Kokkos::single(Kokkos::PerTeam(t), [&]() {
        // dE/dr = dE/dd r/d + (du/dr)^T dE/du,  du/dr = I/(d+eps) - r r^T / (d (d+eps)^2)
        const Acc dl = d, de1 = d + this->dir_eps;
        const Acc ub[3] = {g.u0, g.u1, g.u2};
        const Acc rdotu = r[0] * ub[0] + r[1] * ub[1] + r[2] * ub[2];
        for (int a = 0; a < 3; ++a) {
          const Acc ga = g.d * r[a] / dl + ub[a] / de1 - r[a] * rdotu / (dl * de1 * de1);
          pair_grad(jj, a) += ga;  // summed over layers; one team owns jj
          Kokkos::atomic_add(&f(i, a), ga);
          Kokkos::atomic_add(&f(j, a), -ga);
        }
      });
      t.team_barrier();
    }
  }
};

}  // namespace mlff
