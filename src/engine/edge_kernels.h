// Message passing over the edges of the neighbour list, forward and backward, without atomics.
//
// One team per local atom a, its threads spread over feature channels. Edges come in chunks of
// `chunk` neighbours: the team first fills the chunk's radial inputs in scratch (basis values
// and their d-derivatives; for the distiller also its hidden filter layer), then each thread
// runs its own channels over the whole chunk. The per-edge filter W(d) is recomputed in both
// passes, so no edges x features array is ever stored. painn's one-layer filter, with 20 basis
// functions, runs with each channel's weights held in registers (ResidentFilter); otherwise the
// filter network reads its weights per edge (ExactFilter), or a cubic table replaces it.
//
// Filter channels: W = [Ws, WR, Wv] at row offsets off[0..2] of the filter output (painn: 0, F,
// 2F; mlff-distiller stores [phi_s, phi_1 (v_j), phi_2 (r_hat)]: 0, 2F, F); a table holds them
// in message order, at 0, F, 2F, for both families.
//
// Width: the kernels are compiled once for the feature width kFixedWidth (FC, the shipped
// models' F = 64), where every neighbour-row offset is a constant, and once for any F (FC = 0).
// Neighbour rows are read through pointers with 32-bit offsets: in the issue-bound inner loops
// the 64-bit index arithmetic of View::operator() costs more than the arithmetic proper.
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

// Work tags, one kernel each, so that each is held only to the registers it needs:
struct TabulatedFilter {};  // cubic table rows per edge (filter_table.h)
struct ExactFilter {};      // the filter network, its weights read for every edge
// painn's filter K -> 3F with one channel's 3K weights held in registers: read once per chunk
// instead of once per edge (K fixed at compile time so the weights can live in registers).
template <int K>
struct ResidentFilter {};

template <class Tag>
constexpr bool is_resident = false;
template <int K>
constexpr bool is_resident<ResidentFilter<K>> = true;

// The first layer's kernels, compiled apart: every atom's v is zero there (the embedding sets
// only s), so the v-filter channel Wv, the context's xv and the neighbours' v rows drop out of
// both passes, and the backward pass writes no input adjoints (they reach only the embedding,
// which positions do not move). Its input s is the embedding too, so a neighbour's context is
// its species' row of a small table (DeviceModel::first_context) instead of a per-atom row:
// per edge and channel 32 instead of 72 bytes forward, 48 instead of 88 backward (fp32 table).
template <class Tag>
struct FirstLayer {};
template <class Tag>
struct EdgeTagTraits {
  using filter = Tag;
  static constexpr bool layer0 = false;
};
template <class Tag>
struct EdgeTagTraits<FirstLayer<Tag>> {
  using filter = Tag;
  static constexpr bool layer0 = true;
};
// The filter kind of a kernel tag, and the filter outputs the kernel uses (Ws, WR[, Wv]).
template <class Tag>
using filter_of = typename EdgeTagTraits<Tag>::filter;
template <class Tag>
constexpr int filter_outputs = EdgeTagTraits<Tag>::layer0 ? 2 : 3;

// What one channel thread keeps between edges: nothing, or its resident filter weights.
template <class Real, class Tag>
struct ChannelFilter {};
template <class Real, int K>
struct ChannelFilter<Real, ResidentFilter<K>> {
  static constexpr int size = K;
  Real a[K][3], b[3];
};

// The feature width compiled into the edge kernels besides the general one (see above).
constexpr int kFixedWidth = 64;

template <class Exec, class Real, class Mem, int FC = 0>
struct EdgeCommon {
  using member_t = typename Kokkos::TeamPolicy<Exec>::member_type;
  using Scratch = Kokkos::View<Real*, typename Exec::scratch_memory_space,
                               Kokkos::MemoryTraits<Kokkos::Unmanaged>>;
  using IndexScratch = Kokkos::View<int*, typename Exec::scratch_memory_space,
                                    Kokkos::MemoryTraits<Kokkos::Unmanaged>>;

  Kokkos::View<const double**, Kokkos::LayoutRight, Mem> x;  // [nall, 3]
  Kokkos::View<const int*, Mem> offsets, nbrs;               // CSR full list of local atoms
  // Where the engine keeps no ghost rows (GhostExchange::owners): ghost g's rows are those of
  // local atom owner(g - nlocal). Empty: every atom has rows of its own.
  Kokkos::View<const int*, Mem> owner;
  int nlocal = 0;
  RadialBasis<Real, Mem> basis;
  double rc_d = 0;  // edge test in double so every precision sees the same edge set
  Real rc = 0, dir_eps = 0;
  bool painn = true;
  int F = 0, K = 0, H = 0, act = 0, chunk = 1;
  // F as the kernel sees it: a constant when compiled for a fixed width.
  KOKKOS_INLINE_FUNCTION int width() const { return FC > 0 ? FC : F; }
  int off[3] = {0, 0, 0};
  DeviceLinear<Real, Mem> A;         // painn filter, K -> 3F (its bias)
  DeviceLinear<Real, Mem> B1, B2;    // distiller filter MLP, K -> H -> 3F
  Kokkos::View<Real**, Kokkos::LayoutRight, Mem> AT, B2T;  // A^T [K, 3F], B2^T [H, 3F]
  // Tabulated filter (filter_table.h): when `tab`, W and dW/dd come from T ([N, 3F], message
  // order); no scratch is used.
  Kokkos::View<const Cubic<Real>**, Kokkos::LayoutRight, Mem> T;
  bool tab = false;
  int N = 0;
  Real inv_h = 0;
  Mat<Real, Mem> S, V, C;  // layer inputs s, v (all atoms) and painn context [xs, xR, xv]
  // The first layer's kernels: the neighbours' context by species (DeviceModel::first_context,
  // painn [xs, xR], the distiller s) and each atom's species; S holds local rows only, V none.
  Mat<Real, Mem> C0;
  Kokkos::View<const int*, Mem> species;  // [nall]

  // One chunk's edge inputs in team scratch, computed once per edge rather than once per
  // channel thread: the neighbour's row (so that channel threads find it without a global load),
  // the geometry (d < 0 marks an edge beyond the cutoff; r = x_k - x_a and the two
  // reciprocals 1/d, 1/(d + eps)), and for the exact filter the radial inputs.
  struct Radial {
    IndexScratch k, sp;             // [n]: neighbour's row, and its species (the first layer)
    Scratch d, r, inv;              // [n], [n 3], [n 2]
    Scratch fc, dfc, e, de, z, dz;  // [n], [n], [n K] x2, [n H] x2 (distiller)
  };

  // Team scratch bytes of one chunk's edge inputs (each view padded for alignment).
  size_t radial_bytes() const {
    size_t n = 6 * size_t(chunk);
    if (!tab) n += 2 * size_t(chunk) * (1 + K + (painn ? 0 : H));
    return n * sizeof(Real) + 2 * size_t(chunk) * sizeof(int) + 11 * 64;
  }

  template <bool Tab>
  KOKKOS_INLINE_FUNCTION Radial radial_scratch(const member_t& t) const {
    Radial s;
    s.k = IndexScratch(t.team_scratch(0), chunk);
    s.sp = IndexScratch(t.team_scratch(0), chunk);
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

  // Fills the edge inputs of edges [base, base + n) of atom a (the first layer's kernels, NQ = 2,
  // also their species) and ends with a barrier. The cutoff test is in double, so every
  // precision sees the same edge set. For the exact filter also the radial inputs: painn keeps
  // the raw basis (the cutoff multiplies the filter output), the distiller the basis times the
  // cutoff and its hidden layer z = act(B1 e + b1) with dz/dd (forward-mode).
  template <bool Tab, int NQ>
  KOKKOS_INLINE_FUNCTION void prepare(const member_t& t, int a, int base, int n, const Radial& s,
                                      bool want_d) const {
    Kokkos::parallel_for(Kokkos::TeamThreadRange(t, n), [&](const int e) {
      const int k = nbrs(base + e);
      s.k(e) = k < nlocal || owner.extent(0) == 0 ? k : owner(k - nlocal);
      if constexpr (NQ == 2) s.sp(e) = species(k);
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

  // Loads channel c's resident filter weights of the first NQ outputs (a no-op for the other
  // filters).
  template <class Tag, int NQ = 3>
  KOKKOS_INLINE_FUNCTION void load(int c, ChannelFilter<Real, Tag>& r) const {
    if constexpr (is_resident<Tag>) {
      for (int q = 0; q < NQ; ++q) {
        const int col = off[q] + c;
        r.b[q] = A.b(col);
        MLFF_UNROLL
        for (int k = 0; k < r.size; ++k) r.a[k][q] = AT(k, col);
      }
    }
  }

  // Filter values w[q] of channel c for chunk edge e at distance d, and dw[q] = dw/dd when
  // wanted, for the first NQ outputs q (the others are left unset).
  template <class Tag, int NQ = 3>
  KOKKOS_INLINE_FUNCTION void filter(const ChannelFilter<Real, Tag>& r, int c, int e, Real d,
                                     const Radial& s, Real w[3], Real dw[3], bool want_d) const {
    if constexpr (is_resident<Tag>) {
      // Each basis value is read once from scratch and used by all three outputs.
      constexpr int KC = ChannelFilter<Real, Tag>::size;
      Real p[3] = {r.b[0], r.b[1], r.b[2]}, dp[3] = {0, 0, 0};
      MLFF_UNROLL
      for (int k = 0; k < KC; ++k) {
        const Real ek = s.e(e * KC + k);
        for (int q = 0; q < NQ; ++q) p[q] += r.a[k][q] * ek;
      }
      if (want_d) {
        MLFF_UNROLL
        for (int k = 0; k < KC; ++k) {
          const Real dek = s.de(e * KC + k);
          for (int q = 0; q < NQ; ++q) dp[q] += r.a[k][q] * dek;
        }
      }
      const Real fc = s.fc(e), dfc = s.dfc(e);
      for (int q = 0; q < NQ; ++q) {
        w[q] = p[q] * fc;
        dw[q] = dp[q] * fc + p[q] * dfc;
      }
    } else if constexpr (std::is_same_v<Tag, TabulatedFilter>) {  // cubic in t = d / h - i
      const Real x = d * inv_h;
      int i = static_cast<int>(x);
      if (i > N - 1) i = N - 1;
      const Real t = x - Real(i);
      const Cubic<Real>* row = T.data() + (i * 3 * this->width() + c);
      for (int q = 0; q < NQ; ++q) {
        const Cubic<Real> k = row[q * this->width()];  // one vector load per cell
        w[q] = k.a[0] + t * (k.a[1] + t * (k.a[2] + t * k.a[3]));
        dw[q] = (k.a[1] + t * (2 * k.a[2] + 3 * t * k.a[3])) * inv_h;
      }
    } else {
      for (int q = 0; q < NQ; ++q) {
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

  // Neighbour rows of chunk edge e in channel c into cur (self.gather: what the pass needs of
  // the neighbour). With the resident filter they come from the copy requested one edge
  // before (for edge 0: by first_rows, before the loop), and edge e + 1's are requested now,
  // so that their latency overlaps edge e's arithmetic; the table kernel has no registers to
  // spare and loads them when needed.
  template <class Tag, int NQ, class Self, class Rows>
  KOKKOS_INLINE_FUNCTION void first_rows(const Self& self, const Radial& s, int n, int c,
                                         Rows& ahead) const {
    if (is_resident<Tag> && n > 0) self.template gather<NQ>(s, 0, c, ahead);
  }
  template <class Tag, int NQ, class Self, class Rows>
  KOKKOS_INLINE_FUNCTION void neighbour_rows(const Self& self, const Radial& s, int e, int n, int c,
                                             Rows& ahead, Rows& cur) const {
    if constexpr (is_resident<Tag>) {
      cur = ahead;
      if (e + 1 < n) self.template gather<NQ>(s, e + 1, c, ahead);
    } else {
      self.template gather<NQ>(s, e, c, cur);
    }
  }

  KOKKOS_INLINE_FUNCTION void context(int j, int c, Real& xs, Real& xR, Real& xv) const {
    const int W = width();
    if (painn) {
      const Real* x = C.data() + (j * 3 * W + c);
      xs = x[0];
      xR = x[W];
      xv = x[2 * W];
    } else {
      xs = S.data()[j * W + c];
      xR = 1;
      xv = 1;
    }
  }
  // Context of chunk edge e's neighbour in channel c: its own row, or in the first layer's
  // kernels (NQ = 2, no xv) its species' row.
  template <int NQ>
  KOKKOS_INLINE_FUNCTION void neighbour_context(const Radial& s, int e, int c, Real& xs, Real& xR,
                                                Real& xv) const {
    if constexpr (NQ == 3)
      context(s.k(e), c, xs, xR, xv);
    else
      first_context(s.sp(e), c, xs, xR);
  }
  // The first layer's context of an atom of species sp (a row of a table of a few species,
  // which stays in cache).
  KOKKOS_INLINE_FUNCTION void first_context(int sp, int c, Real& xs, Real& xR) const {
    const int W = width();
    if (painn) {
      const Real* x = C0.data() + (sp * 2 * W + c);
      xs = x[0];
      xR = x[W];
    } else {
      xs = C0.data()[sp * W + c];
      xR = 1;
    }
  }
};

// Forward: Sm(a) = S(a) + sum_k messages, Vm(a) likewise.
template <class Exec, class Real, class Mem, int FC = 0>
struct MessageForward : EdgeCommon<Exec, Real, Mem, FC> {
  using Base = EdgeCommon<Exec, Real, Mem, FC>;
  using typename Base::member_t;
  Mat<Real, Mem> Sm, Vm;

  // What edge {a, k} needs of k in channel c: its context xs, xR, xv and v_k (the first
  // layer, NQ = 2: xs and xR only).
  struct Gathered {
    Real xs, xR, xv, v[3];
  };
  template <int NQ>
  KOKKOS_INLINE_FUNCTION void gather(const typename Base::Radial& s, int e, int c,
                                     Gathered& g) const {
    this->template neighbour_context<NQ>(s, e, c, g.xs, g.xR, g.xv);
    if constexpr (NQ == 3) {
      const int W = this->width();
      const Real* v = this->V.data() + (s.k(e) * 3 * W + c);
      for (int al = 0; al < 3; ++al) g.v[al] = v[al * W];
    }
  }

  template <class Tag>
  KOKKOS_INLINE_FUNCTION void operator()(Tag, const member_t& t) const {
    run<filter_of<Tag>, filter_outputs<Tag>>(t);
  }

  template <class Tag, int NQ>
  KOKKOS_INLINE_FUNCTION void run(const member_t& t) const {
    constexpr bool Tab = std::is_same_v<Tag, TabulatedFilter>;
    const int a = t.league_rank(), F = this->width();
    const auto s = this->template radial_scratch<Tab>(t);
    // Chunks of edges; an atom without edges has one empty chunk (it writes the residual).
    const int begin = this->offsets(a), end = this->offsets(a + 1);
    for (int base = begin; base == begin || base < end; base += this->chunk) {
      const int n = end - base < this->chunk ? end - base : this->chunk;
      this->template prepare<Tab, NQ>(t, a, base, n, s, false);
      Kokkos::parallel_for(Kokkos::TeamThreadRange(t, F), [&](const int c) {
        // The residual: the first chunk starts from a's own features, later ones from the sum.
        const auto& s0 = base == begin ? this->S : Sm;
        const auto& v0 = base == begin ? this->V : Vm;
        Real sm = s0(a, c), vm[3];
        for (int al = 0; al < 3; ++al)  // the first layer has no v
          vm[al] = NQ == 2 && base == begin ? Real(0) : v0(a, al * F + c);
        ChannelFilter<Real, Tag> fr;
        this->template load<Tag, NQ>(c, fr);
        Gathered ahead, k;
        this->template first_rows<Tag, NQ>(*this, s, n, c, ahead);
        for (int e = 0; e < n; ++e) {
          this->template neighbour_rows<Tag, NQ>(*this, s, e, n, c, ahead, k);
          Real d, u[3], w[3], dw[3];
          if (!this->edge(s, e, d, u)) continue;
          this->template filter<Tag, NQ>(fr, c, e, d, s, w, dw, false);
          sm += w[0] * k.xs;
          for (int al = 0; al < 3; ++al) {
            if constexpr (NQ == 3)
              vm[al] += w[1] * k.xR * u[al] + w[2] * k.xv * k.v[al];
            else
              vm[al] += w[1] * k.xR * u[al];
          }
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
// pair_grad(jj) += dE/dr_ak when pair_grad is allocated (with `assign`, these three are set).
// Every row a < nlocal is written, an atom without edges included: nothing needs zeroing first.
// The first layer's kernel (FirstLayer) writes no input adjoints: Cbar, Sbi and Vbi are left as
// they are.
template <class Exec, class Real, class Acc, class Mem, int FC = 0>
struct MessageBackward : EdgeCommon<Exec, Real, Mem, FC> {
  using Base = EdgeCommon<Exec, Real, Mem, FC>;
  using typename Base::member_t;
  using AccScratch = Kokkos::View<Acc*, typename Exec::scratch_memory_space,
                                  Kokkos::MemoryTraits<Kokkos::Unmanaged>>;
  Mat<Real, Mem> Smb, Vmb;         // [nall, F], [nall, 3F]
  Mat<Real, Mem> Cbar, Sbi, Vbi;   // [nlocal, 3F], [nlocal, F], [nlocal, 3F]
  Kokkos::View<Acc**, Kokkos::LayoutRight, Mem> f, vir;     // [nlocal, 3], [nlocal, 6]
  Kokkos::View<Acc**, Kokkos::LayoutRight, Mem> pair_grad;  // [nnz, 3] or empty
  bool assign = false;  // the first layer run backward: f, vir, pair_grad are set, not added to
  bool want_vir = true;  // false: vir is neither computed nor written

  // What edge {a, k} needs of k in channel c: context, message adjoints and v_k (the first
  // layer, NQ = 2: no xv, no v_k).
  struct Gathered {
    Real xs, xR, xv, sb, vb[3], v[3];
  };
  template <int NQ>
  KOKKOS_INLINE_FUNCTION void gather(const typename Base::Radial& s, int e, int c,
                                     Gathered& g) const {
    const int k = s.k(e), W = this->width();
    this->template neighbour_context<NQ>(s, e, c, g.xs, g.xR, g.xv);
    g.sb = Smb.data()[k * W + c];
    const int row = k * 3 * W + c;  // V and Vmb: the same row length
    const Real* vb = Vmb.data() + row;
    for (int al = 0; al < 3; ++al) {
      g.vb[al] = vb[al * W];
      if constexpr (NQ == 3) g.v[al] = this->V.data()[row + al * W];  // the first layer: no V
    }
  }

  size_t scratch_bytes() const {
    return this->radial_bytes() + (pair_grad.extent(0) > 0 ? 3 * size_t(this->chunk) * sizeof(Acc) + 64 : 0);
  }

  template <class Tag>
  KOKKOS_INLINE_FUNCTION void operator()(Tag, const member_t& t) const {
    run<filter_of<Tag>, filter_outputs<Tag>>(t);
  }

  template <class Tag, int NQ>
  KOKKOS_INLINE_FUNCTION void run(const member_t& t) const {
    constexpr bool Tab = std::is_same_v<Tag, TabulatedFilter>;
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
      this->template prepare<Tab, NQ>(t, a, base, n, s, true);
      AtomTotals<Acc> part;
      Kokkos::parallel_reduce(
          Kokkos::TeamThreadRange(t, this->width()),
          [&](const int c, AtomTotals<Acc>& acc) {
            channel<Tag, NQ>(a, c, n, base == begin, s, pg, want_pg, acc);
          },
          part);
      total += part;
      if (want_pg) {
        t.team_barrier();
        Kokkos::parallel_for(Kokkos::TeamThreadRange(t, 3 * n), [&](const int k) {
          // summed over layers; one team owns the row
          pair_grad(base + k / 3, k % 3) = (assign ? Acc(0) : pair_grad(base + k / 3, k % 3)) + pg(k);
        });
      }
      t.team_barrier();
    }
    Kokkos::single(Kokkos::PerTeam(t), [&]() {
      for (int k = 0; k < 3; ++k) f(a, k) = (assign ? Acc(0) : f(a, k)) + total.f[k];
      if (want_vir)
        for (int k = 0; k < 6; ++k) vir(a, k) = (assign ? Acc(0) : vir(a, k)) + total.w[k];
    });
  }

  // Channel c of atom a over one chunk of edges; the first chunk also writes the residual
  // (Sbi, Vbi start from Smb, Vmb of a). With NQ = 2 (the first layer: v and Wv drop out)
  // only the force, virial and pair gradients.
  template <class Tag, int NQ>
  KOKKOS_INLINE_FUNCTION void channel(int a, int c, int n, bool first,
                                      const typename Base::Radial& s, const AccScratch& pg,
                                      bool want_pg, AtomTotals<Acc>& acc) const {
    constexpr bool all = NQ == 3;
    const int F = this->width();
    Real xsA, xRA, xvA, vbA[3], vA[3];
    if constexpr (all)
      this->context(a, c, xsA, xRA, xvA);
    else
      this->first_context(this->species(a), c, xsA, xRA);
    const Real sbA = Smb(a, c);
    for (int al = 0; al < 3; ++al) {
      vbA[al] = Vmb(a, al * F + c);
      if constexpr (all) vA[al] = this->V(a, al * F + c);
    }
    Real cb[3] = {0, 0, 0}, vbi[3] = {0, 0, 0};
    ChannelFilter<Real, Tag> fr;
    this->template load<Tag, NQ>(c, fr);
    Gathered ahead, cur;
    this->template first_rows<Tag, NQ>(*this, s, n, c, ahead);
    for (int e = 0; e < n; ++e) {
      this->template neighbour_rows<Tag, NQ>(*this, s, e, n, c, ahead, cur);
      Real d, u[3], w[3], dw[3];
      if (!this->edge(s, e, d, u)) continue;
      this->template filter<Tag, NQ>(fr, c, e, d, s, w, dw, true);
      const Real xsK = cur.xs, xRK = cur.xR, xvK = cur.xv, sbK = cur.sb;
      const Real* vbK = cur.vb;
      Real pA = 0, qA = 0, pK = 0, qK = 0;
      for (int al = 0; al < 3; ++al) {
        pA += vbA[al] * u[al];
        pK -= vbK[al] * u[al];  // u_ka = -u_ak
        if constexpr (all) {
          qA += vbA[al] * cur.v[al];
          qK += vbK[al] * vA[al];
        }
      }
      // dE/dd of the edge in its two roles, and dE/du (receiver: w.r.t. u_ak; sender: u_ka).
      Real ddR, ddS;
      if constexpr (all) {
        ddR = sbA * xsK * dw[0] + pA * xRK * dw[1] + qA * xvK * dw[2];
        ddS = sbK * xsA * dw[0] + pK * xRA * dw[1] + qK * xvA * dw[2];
        cb[0] += w[0] * sbK;
        cb[1] += w[1] * pK;
        cb[2] += w[2] * qK;
        for (int al = 0; al < 3; ++al) vbi[al] += w[2] * xvA * vbK[al];
      } else {
        ddR = sbA * xsK * dw[0] + pA * xRK * dw[1];
        ddS = sbK * xsA * dw[0] + pK * xRA * dw[1];
      }

      // dE/dr = dE/dd r/d + J dE/du with J = I/(d+eps) - r r^T / (d (d+eps)^2), even in r, so
      // G_ak = ddR r/d + J ubR, G_ka = -ddS r/d + J ubS, and F_a += G_ak - G_ka. The edge's
      // reciprocals come from scratch: no division or fp64 arithmetic per channel in fp32.
      const Acc id = s.inv(2 * e), id1 = s.inv(2 * e + 1), c3 = id * id1 * id1;
      const Acc r[3] = {s.r(3 * e), s.r(3 * e + 1), s.r(3 * e + 2)};
      Acc ubR[3], ubD[3], rD = 0;
      for (int al = 0; al < 3; ++al) {
        ubR[al] = Acc(vbA[al] * w[1] * xRK);
        ubD[al] = ubR[al] - Acc(vbK[al] * w[1] * xRA);
        rD += r[al] * ubD[al];
      }
      const Acc gD = Acc(ddR + ddS) * id - rD * c3;
      for (int al = 0; al < 3; ++al) acc.f[al] += gD * r[al] + ubD[al] * id1;
      // G_ak itself only for the virial and the pair gradients (most MD steps want neither).
      if (want_vir || want_pg) {
        const Acc rR = r[0] * ubR[0] + r[1] * ubR[1] + r[2] * ubR[2];
        const Acc gR = Acc(ddR) * id - rR * c3;
        Acc g[3];
        for (int al = 0; al < 3; ++al) g[al] = gR * r[al] + ubR[al] * id1;
        if (want_vir) {
          acc.w[0] -= r[0] * g[0];
          acc.w[1] -= r[1] * g[1];
          acc.w[2] -= r[2] * g[2];
          acc.w[3] -= r[0] * g[1];
          acc.w[4] -= r[0] * g[2];
          acc.w[5] -= r[1] * g[2];
        }
        if (want_pg)
          for (int al = 0; al < 3; ++al) Kokkos::atomic_add(&pg(3 * e + al), g[al]);
      }
    }
    if constexpr (all) {  // the first layer's input adjoints are unused
      if (this->painn) {
        for (int q = 0; q < 3; ++q)
          Cbar(a, q * F + c) = (first ? Real(0) : Cbar(a, q * F + c)) + cb[q];
        if (first) Sbi(a, c) = sbA;
      } else {
        Sbi(a, c) = (first ? sbA : Sbi(a, c)) + cb[0];
      }
      for (int al = 0; al < 3; ++al)
        Vbi(a, al * F + c) = (first ? vbA[al] : Vbi(a, al * F + c)) + vbi[al];
    }
  }
};

}  // namespace mlff
