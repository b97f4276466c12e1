// Message passing over the edges of the neighbour list, forward and backward, without atomics.
//
// One team per local atom a, its threads spread over feature channels. Edges come in chunks of
// `chunk` neighbours: the team first fills the chunk's radial inputs in scratch (basis values
// and their d-derivatives; for the distiller also its hidden filter layer), then each thread
// runs its own channels over the whole chunk. The per-edge filter W(d) is recomputed in both
// passes, so no edges x features array is ever stored.
//
// Filter channels: W = [Ws, WR, Wv] at row offsets off[0..2] of the filter output (painn: 0, F,
// 2F; mlff-distiller stores [phi_s, phi_1 (v_j), phi_2 (r_hat)]: 0, 2F, F).
// Messages: s_a += Ws * xs_k ; v_a += (WR * xR_k) u_ak + (Wv * xv_k) * v_k, with
// u_ak = r_ak / (d + eps), r_ak = x_k - x_a. Context x_k = MLP(s_k) for painn, [s_k, 1, 1]
// for mlff-distiller.
//
// Backward ("pull"): the caller gives the message adjoints Smb, Vmb of every atom, ghosts
// included (forward-exchanged like features). W depends on d only, so atom a can do both roles
// of each of its edges {a, k}: as receiver (a <- k) it gets dE/dr_ak; as sender (k <- a) it
// gets the adjoints of its own inputs and dE/dr_ka. Every output row then belongs to one team:
// no atomics, no reverse communication, and forces land on local atoms only.
#pragma once

#include "dense_ops.h"

namespace mlff {

// Per-team sums of the backward pass: force on a and its receiver edges' virial.
template <class T>
struct AtomTotals {
  T f[3] = {0, 0, 0};
  T w[6] = {0, 0, 0, 0, 0, 0};  // xx yy zz xy xz yz of -r_ak (x) dE/dr_ak
  KOKKOS_INLINE_FUNCTION AtomTotals() {}
  KOKKOS_INLINE_FUNCTION AtomTotals& operator+=(const AtomTotals& o) {
    for (int k = 0; k < 3; ++k) f[k] += o.f[k];
    for (int k = 0; k < 6; ++k) w[k] += o.w[k];
    return *this;
  }
  KOKKOS_INLINE_FUNCTION void operator+=(const volatile AtomTotals& o) volatile {
    for (int k = 0; k < 3; ++k) f[k] += o.f[k];
    for (int k = 0; k < 6; ++k) w[k] += o.w[k];
  }
};

}  // namespace mlff

namespace Kokkos {
template <class T>
struct reduction_identity<mlff::AtomTotals<T>> {
  KOKKOS_FORCEINLINE_FUNCTION static mlff::AtomTotals<T> sum() { return mlff::AtomTotals<T>(); }
};
}  // namespace Kokkos

namespace mlff {

// Work tags: the tabulated and the exact filter are separate kernels, so the table's simpler
// kernel is not held to the registers the filter network needs.
struct ExactFilter {};
struct TabulatedFilter {};

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
  int F = 0, K = 0, H = 0, act = 0, chunk = 1;
  int off[3] = {0, 0, 0};
  DeviceLinear<Real, Mem> A;         // painn filter, K -> 3F (its bias)
  DeviceLinear<Real, Mem> B1, B2;    // distiller filter MLP, K -> H -> 3F
  Kokkos::View<Real**, Kokkos::LayoutRight, Mem> AT, B2T;  // A^T [K, 3F], B2^T [H, 3F]
  // Tabulated filter (filter_table.h): when `tab`, W and dW/dd come from T; no scratch is used.
  Kokkos::View<Real**, Kokkos::LayoutRight, Mem> T;
  bool tab = false;
  int N = 0;
  Real inv_h = 0;
  Mat<Real, Mem> S, V, C;            // layer inputs s, v (all atoms) and painn context

  // One chunk's edge inputs in team scratch, computed once per edge rather than once per
  // channel thread: the geometry (d < 0 marks an edge beyond the cutoff; r = x_k - x_a and the
  // two reciprocals 1/d, 1/(d + eps)), and for the exact filter the radial inputs.
  struct Radial {
    Scratch d, r, inv;              // [n], [n 3], [n 2]
    Scratch fc, dfc, e, de, z, dz;  // [n], [n], [n K] x2, [n H] x2 (distiller)
  };

  // Team scratch bytes of one chunk's edge inputs (each view padded for alignment).
  size_t radial_bytes() const {
    size_t n = 6 * size_t(chunk);
    if (!tab) n += 2 * size_t(chunk) * (1 + K + (painn ? 0 : H));
    return n * sizeof(Real) + 9 * 64;
  }

  template <bool Tab>
  KOKKOS_INLINE_FUNCTION Radial radial_scratch(const member_t& t) const {
    Radial s;
    s.d = Scratch(t.team_scratch(0), chunk);
    s.r = Scratch(t.team_scratch(0), 3 * chunk);
    s.inv = Scratch(t.team_scratch(0), 2 * chunk);
    if constexpr (Tab) return s;
    s.fc = Scratch(t.team_scratch(0), chunk);
    s.dfc = Scratch(t.team_scratch(0), chunk);
    s.e = Scratch(t.team_scratch(0), chunk * K);
    s.de = Scratch(t.team_scratch(0), chunk * K);
    if (!painn) {
      s.z = Scratch(t.team_scratch(0), chunk * H);
      s.dz = Scratch(t.team_scratch(0), chunk * H);
    }
    return s;
  }

  // Fills the edge inputs of edges [base, base + n) of atom a and ends with a barrier. The
  // cutoff test is in double, so every precision sees the same edge set. For the exact filter
  // also the radial inputs: painn keeps the raw basis (the cutoff multiplies the filter output),
  // the distiller the basis times the cutoff and its hidden layer z = act(B1 e + b1) with dz/dd
  // (forward-mode).
  template <bool Tab>
  KOKKOS_INLINE_FUNCTION void prepare(const member_t& t, int a, int base, int n, const Radial& s,
                                      bool want_d) const {
    Kokkos::parallel_for(Kokkos::TeamThreadRange(t, n), [&](const int e) {
      const int k = nbrs(base + e);
      const double r0 = x(k, 0) - x(a, 0), r1 = x(k, 1) - x(a, 1), r2 = x(k, 2) - x(a, 2);
      const double dd = ::sqrt(r0 * r0 + r1 * r1 + r2 * r2);
      const Real d = static_cast<Real>(dd);
      s.d(e) = dd > rc_d ? Real(-1) : d;
      s.r(3 * e) = static_cast<Real>(r0);
      s.r(3 * e + 1) = static_cast<Real>(r1);
      s.r(3 * e + 2) = static_cast<Real>(r2);
      s.inv(2 * e) = d > 0 ? Real(1) / d : Real(0);
      s.inv(2 * e + 1) = Real(1) / (d + dir_eps);
    });
    t.team_barrier();
    if constexpr (Tab) return;
    Kokkos::parallel_for(Kokkos::TeamThreadRange(t, n * K), [&](const int idx) {
      const int e = idx / K, k = idx % K;
      const Real d = s.d(e);
      if (d < 0) {
        if (k == 0) s.fc(e) = -1;
        return;
      }
      Real fc, dfc, p, dp;
      cosine_cutoff(d, rc, fc, dfc);
      if (k == 0) {
        s.fc(e) = fc;
        s.dfc(e) = dfc;
      }
      basis.eval(k, d, p, dp);
      s.e(idx) = painn ? p : p * fc;
      if (want_d) s.de(idx) = painn ? dp : dp * fc + p * dfc;
    });
    t.team_barrier();
    if (painn) return;
    Kokkos::parallel_for(Kokkos::TeamThreadRange(t, n * H), [&](const int idx) {
      const int e = idx / H, h = idx % H;
      if (s.fc(e) < 0) return;
      Real hp = B1.b(h), dh = 0;
      for (int k = 0; k < K; ++k) hp += B1.W(h, k) * s.e(e * K + k);
      if (want_d)
        for (int k = 0; k < K; ++k) dh += B1.W(h, k) * s.de(e * K + k);
      s.z(idx) = act_value(act, hp);
      if (want_d) s.dz(idx) = act_deriv(act, hp) * dh;
    });
    t.team_barrier();
  }

  // Chunk edge e's distance (false beyond the cutoff) and unit vector u = r / (d + eps).
  KOKKOS_INLINE_FUNCTION bool edge(const Radial& s, int e, Real& d, Real u[3]) const {
    d = s.d(e);
    if (d < 0) return false;
    const Real inv = s.inv(2 * e + 1);
    for (int a = 0; a < 3; ++a) u[a] = s.r(3 * e + a) * inv;
    return true;
  }

  // Filter values w[q] of channel c for chunk edge e at distance d, and dw[q] = dw/dd when
  // wanted.
  template <bool Tab>
  KOKKOS_INLINE_FUNCTION void filter(int c, int e, Real d, const Radial& s, Real w[3], Real dw[3],
                                     bool want_d) const {
    if constexpr (Tab) {  // the interval's cubic in t = d / h - i
      const Real x = d * inv_h;
      int i = static_cast<int>(x);
      if (i > N - 1) i = N - 1;
      const Real t = x - Real(i);
      for (int q = 0; q < 3; ++q) {
        const int col = off[q] + c;
        const Real a0 = T(4 * i, col), a1 = T(4 * i + 1, col), a2 = T(4 * i + 2, col),
                   a3 = T(4 * i + 3, col);
        w[q] = a0 + t * (a1 + t * (a2 + t * a3));
        dw[q] = (a1 + t * (2 * a2 + 3 * t * a3)) * inv_h;
      }
    } else {
      for (int q = 0; q < 3; ++q) {
        const int col = off[q] + c;
        Real p, dp = 0;
        if (painn) {
          p = A.b(col);
          for (int k = 0; k < K; ++k) p += AT(k, col) * s.e(e * K + k);
          if (want_d)
            for (int k = 0; k < K; ++k) dp += AT(k, col) * s.de(e * K + k);
          dw[q] = dp * s.fc(e) + p * s.dfc(e);
          w[q] = p * s.fc(e);
        } else {
          p = B2.b(col);
          for (int h = 0; h < H; ++h) p += B2T(h, col) * s.z(e * H + h);
          if (want_d)
            for (int h = 0; h < H; ++h) dp += B2T(h, col) * s.dz(e * H + h);
          w[q] = p;
          dw[q] = dp;
        }
      }
    }
  }

  KOKKOS_INLINE_FUNCTION void context(int j, int c, Real& xs, Real& xR, Real& xv) const {
    if (painn) {
      xs = C(j, c);
      xR = C(j, F + c);
      xv = C(j, 2 * F + c);
    } else {
      xs = S(j, c);
      xR = 1;
      xv = 1;
    }
  }
};

// Forward: Sm(a) = S(a) + sum_k messages, Vm(a) likewise.
template <class Exec, class Real, class Mem>
struct MessageForward : EdgeCommon<Exec, Real, Mem> {
  using Base = EdgeCommon<Exec, Real, Mem>;
  using typename Base::member_t;
  Mat<Real, Mem> Sm, Vm;

  KOKKOS_INLINE_FUNCTION void operator()(ExactFilter, const member_t& t) const { run<false>(t); }
  KOKKOS_INLINE_FUNCTION void operator()(TabulatedFilter, const member_t& t) const { run<true>(t); }

  template <bool Tab>
  KOKKOS_INLINE_FUNCTION void run(const member_t& t) const {
    const int a = t.league_rank(), F = this->F;
    const auto s = this->template radial_scratch<Tab>(t);
    // Chunks of edges; an atom without edges has one empty chunk (it writes the residual).
    const int begin = this->offsets(a), end = this->offsets(a + 1);
    for (int base = begin; base == begin || base < end; base += this->chunk) {
      const int n = end - base < this->chunk ? end - base : this->chunk;
      this->template prepare<Tab>(t, a, base, n, s, false);
      Kokkos::parallel_for(Kokkos::TeamThreadRange(t, F), [&](const int c) {
        // The residual: the first chunk starts from a's own features, later ones from the sum.
        const auto& s0 = base == begin ? this->S : Sm;
        const auto& v0 = base == begin ? this->V : Vm;
        Real sm = s0(a, c), vm[3];
        for (int al = 0; al < 3; ++al) vm[al] = v0(a, al * F + c);
        for (int e = 0; e < n; ++e) {
          const int k = this->nbrs(base + e);
          Real d, u[3], w[3], dw[3], xs, xR, xv;
          if (!this->edge(s, e, d, u)) continue;
          this->template filter<Tab>(c, e, d, s, w, dw, false);
          this->context(k, c, xs, xR, xv);
          sm += w[0] * xs;
          for (int al = 0; al < 3; ++al)
            vm[al] += w[1] * xR * u[al] + w[2] * xv * this->V(k, al * F + c);
        }
        Sm(a, c) = sm;
        for (int al = 0; al < 3; ++al) Vm(a, al * F + c) = vm[al];
      });
      t.team_barrier();
    }
  }
};

// Backward: from the message adjoints Smb, Vmb (all atoms), writes the adjoints of a's inputs
// (Sbi, Vbi: the residual's Smb, Vmb of a plus the sender-role terms; painn's context terms go
// to Cbar), and adds the force on a and the virial of a's receiver edges to f(a) and vir(a);
// pair_grad(jj) += dE/dr_ak when pair_grad is allocated.
template <class Exec, class Real, class Acc, class Mem>
struct MessageBackward : EdgeCommon<Exec, Real, Mem> {
  using Base = EdgeCommon<Exec, Real, Mem>;
  using typename Base::member_t;
  using AccScratch = Kokkos::View<Acc*, typename Exec::scratch_memory_space,
                                  Kokkos::MemoryTraits<Kokkos::Unmanaged>>;
  Mat<Real, Mem> Smb, Vmb;         // [nall, F], [nall, 3F]
  Mat<Real, Mem> Cbar, Sbi, Vbi;   // [nlocal, 3F], [nlocal, F], [nlocal, 3F]
  Kokkos::View<Acc**, Kokkos::LayoutRight, Mem> f, vir;     // [nlocal, 3], [nlocal, 6]
  Kokkos::View<Acc**, Kokkos::LayoutRight, Mem> pair_grad;  // [nnz, 3] or empty

  size_t scratch_bytes() const {
    return this->radial_bytes() + (pair_grad.extent(0) > 0 ? 3 * size_t(this->chunk) * sizeof(Acc) + 64 : 0);
  }

  KOKKOS_INLINE_FUNCTION void operator()(ExactFilter, const member_t& t) const { run<false>(t); }
  KOKKOS_INLINE_FUNCTION void operator()(TabulatedFilter, const member_t& t) const { run<true>(t); }

  template <bool Tab>
  KOKKOS_INLINE_FUNCTION void run(const member_t& t) const {
    const int a = t.league_rank();
    const auto s = this->template radial_scratch<Tab>(t);
    const bool want_pg = pair_grad.extent(0) > 0;
    AccScratch pg;
    if (want_pg) pg = AccScratch(t.team_scratch(0), 3 * this->chunk);
    AtomTotals<Acc> total;
    // As in the forward pass: an atom without edges has one empty chunk.
    const int begin = this->offsets(a), end = this->offsets(a + 1);
    for (int base = begin; base == begin || base < end; base += this->chunk) {
      const int n = end - base < this->chunk ? end - base : this->chunk;
      if (want_pg)
        Kokkos::parallel_for(Kokkos::TeamThreadRange(t, 3 * n), [&](const int k) { pg(k) = 0; });
      this->template prepare<Tab>(t, a, base, n, s, true);
      AtomTotals<Acc> part;
      Kokkos::parallel_reduce(
          Kokkos::TeamThreadRange(t, this->F),
          [&](const int c, AtomTotals<Acc>& acc) {
            channel<Tab>(a, c, base, n, base == begin, s, pg, want_pg, acc);
          },
          part);
      total += part;
      if (want_pg) {
        t.team_barrier();
        Kokkos::parallel_for(Kokkos::TeamThreadRange(t, 3 * n), [&](const int k) {
          pair_grad(base + k / 3, k % 3) += pg(k);  // summed over layers; one team owns the row
        });
      }
      t.team_barrier();
    }
    Kokkos::single(Kokkos::PerTeam(t), [&]() {
      for (int k = 0; k < 3; ++k) f(a, k) += total.f[k];
      for (int k = 0; k < 6; ++k) vir(a, k) += total.w[k];
    });
  }

  // Channel c of atom a over one chunk of edges; the first chunk also writes the residual
  // (Sbi, Vbi start from Smb, Vmb of a).
  template <bool Tab>
  KOKKOS_INLINE_FUNCTION void channel(int a, int c, int base, int n, bool first,
                                      const typename Base::Radial& s, const AccScratch& pg,
                                      bool want_pg, AtomTotals<Acc>& acc) const {
    const int F = this->F;
    Real xsA, xRA, xvA, vbA[3], vA[3];
    this->context(a, c, xsA, xRA, xvA);
    const Real sbA = Smb(a, c);
    for (int al = 0; al < 3; ++al) {
      vbA[al] = Vmb(a, al * F + c);
      vA[al] = this->V(a, al * F + c);
    }
    Real cb[3] = {0, 0, 0}, vbi[3] = {0, 0, 0};
    for (int e = 0; e < n; ++e) {
      const int k = this->nbrs(base + e);
      Real d, u[3], w[3], dw[3], xsK, xRK, xvK;
      if (!this->edge(s, e, d, u)) continue;
      this->template filter<Tab>(c, e, d, s, w, dw, true);
      this->context(k, c, xsK, xRK, xvK);
      const Real sbK = Smb(k, c);
      Real vbK[3], pA = 0, qA = 0, pK = 0, qK = 0;
      for (int al = 0; al < 3; ++al) {
        vbK[al] = Vmb(k, al * F + c);
        pA += vbA[al] * u[al];
        qA += vbA[al] * this->V(k, al * F + c);
        pK -= vbK[al] * u[al];  // u_ka = -u_ak
        qK += vbK[al] * vA[al];
      }
      // dE/dd of the edge in its two roles, and dE/du (receiver: w.r.t. u_ak; sender: u_ka).
      const Real ddR = sbA * xsK * dw[0] + pA * xRK * dw[1] + qA * xvK * dw[2];
      const Real ddS = sbK * xsA * dw[0] + pK * xRA * dw[1] + qK * xvA * dw[2];
      cb[0] += w[0] * sbK;
      cb[1] += w[1] * pK;
      cb[2] += w[2] * qK;
      for (int al = 0; al < 3; ++al) vbi[al] += w[2] * xvA * vbK[al];

      // dE/dr = dE/dd r/d + J dE/du with J = I/(d+eps) - r r^T / (d (d+eps)^2), even in r, so
      // G_ak = ddR r/d + J ubR, G_ka = -ddS r/d + J ubS, and F_a += G_ak - G_ka. The edge's
      // reciprocals come from scratch: no division or fp64 arithmetic per channel in fp32.
      const Acc id = s.inv(2 * e), id1 = s.inv(2 * e + 1), c3 = id * id1 * id1;
      const Acc r[3] = {s.r(3 * e), s.r(3 * e + 1), s.r(3 * e + 2)};
      Acc ubR[3], ubD[3], rR = 0, rD = 0;
      for (int al = 0; al < 3; ++al) {
        ubR[al] = Acc(vbA[al] * w[1] * xRK);
        ubD[al] = ubR[al] - Acc(vbK[al] * w[1] * xRA);
        rR += r[al] * ubR[al];
        rD += r[al] * ubD[al];
      }
      const Acc gR = Acc(ddR) * id - rR * c3, gD = Acc(ddR + ddS) * id - rD * c3;
      Acc g[3];
      for (int al = 0; al < 3; ++al) {
        g[al] = gR * r[al] + ubR[al] * id1;
        acc.f[al] += gD * r[al] + ubD[al] * id1;
      }
      acc.w[0] -= r[0] * g[0];
      acc.w[1] -= r[1] * g[1];
      acc.w[2] -= r[2] * g[2];
      acc.w[3] -= r[0] * g[1];
      acc.w[4] -= r[0] * g[2];
      acc.w[5] -= r[1] * g[2];
      if (want_pg)
        for (int al = 0; al < 3; ++al) Kokkos::atomic_add(&pg(3 * e + al), g[al]);
    }
    if (this->painn) {
      for (int q = 0; q < 3; ++q) Cbar(a, q * F + c) += cb[q];
      if (first) Sbi(a, c) = sbA;
    } else {
      Sbi(a, c) = (first ? sbA : Sbi(a, c)) + cb[0];
    }
    for (int al = 0; al < 3; ++al)
      Vbi(a, al * F + c) = (first ? vbA[al] : Vbi(a, al * F + c)) + vbi[al];
  }
};

}  // namespace mlff
