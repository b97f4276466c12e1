// The per-atom update block of one layer, forward and backward, for both families. Inputs are
// the post-message features (Sm [n, F], Vm [n, 3F], component a of channel f at a*F + f); the
// backward pass recomputes the block's intermediates from them, or (small systems: one block
// per layer, engine.h) uses those the forward pass left.
#pragma once

#include "dense_ops.h"

namespace mlff {

template <class Exec, class Real, class Mem>
class UpdateBlock {
 public:
  using M2 = Mat<Real, Mem>;

  UpdateBlock(const DeviceModel<Real, Mem>& m) : m_(m) {}

  // An empty Vout: the vector outputs are not wanted (the last layer's).
  void forward(int n, int l, const M2& Sm, const M2& Vm, const M2& Sout, const M2& Vout) {
    const int F = m_.F;
    const bool want_v = Vout.extent(0) > 0;
    M2 O = prepare(n, l, Sm, Vm);
    auto ctx = ctx_;
    auto VW = VW_;
    if (m_.family == Family::PaiNN) {
      for_entries<Exec>(
          "mlff::painn_update", n, F, KOKKOS_LAMBDA(const int i, const int f) {
            Real dot = 0;
            for (int a = 0; a < 3; ++a) dot += VW(3 * i + a, f) * VW(3 * i + a, F + f);
            Sout(i, f) = Sm(i, f) + O(i, f) + O(i, 2 * F + f) * dot;
            if (want_v)
              for (int a = 0; a < 3; ++a)
                Vout(i, a * F + f) = Vm(i, a * F + f) + O(i, F + f) * VW(3 * i + a, F + f);
          });
    } else {
      auto M = m_.layers[l].M;
      for_entries<Exec>(
          "mlff::distiller_update", n, F, KOKKOS_LAMBDA(const int i, const int f) {
            Sout(i, f) = Sm(i, f) + O(i, f);
            if (!want_v) return;
            const Real g1 = O(i, F + f), g2 = O(i, 2 * F + f);
            Real v[3];
            for (int a = 0; a < 3; ++a) v[a] = Vm(i, a * F + f);
            for (int a = 0; a < 3; ++a) {
              const Real mv = M(a, 0) * v[0] + M(a, 1) * v[1] + M(a, 2) * v[2];
              Vout(i, a * F + f) = v[a] * g1 + mv * g2;
            }
          });
    }
  }

  // Given adjoints Sbo, Vbo of the outputs (rows < n), writes the adjoints Smb, Vmb of Sm, Vm,
  // which may be Sbo and Vbo themselves (each entry is read before it is written over).
  // The block's intermediates are recomputed, or with `kept` taken as this block's last
  // forward pass left them (the same layer l and rows).
  void backward(int n, int l, const M2& Sm, const M2& Vm, const M2& Sbo, const M2& Vbo,
                const M2& Smb, const M2& Vmb, bool kept = false) {
    const int F = m_.F;
    M2 O = kept ? mlp_.output() : prepare(n, l, Sm, Vm);
    ensure(Ob_, n, 3 * F, "update.Ob");
    ensure(ctxb_, n, 2 * F, "update.ctxb");
    auto Ob = Ob_;
    auto ctx = ctx_;
    auto ctxb = ctxb_;
    const bool painn = m_.family == Family::PaiNN;
    if (painn) {
      ensure(VWb_, size_t(n) * 3, 2 * F, "update.VWb");
      auto VW = VW_;
      auto VWb = VWb_;
      for_entries<Exec>(
          "mlff::painn_update_bwd", n, F, KOKKOS_LAMBDA(const int i, const int f) {
            const Real sb = Sbo(i, f);
            Real dot = 0, bb = 0;
            for (int a = 0; a < 3; ++a) {
              const Real Va = VW(3 * i + a, f), Wa = VW(3 * i + a, F + f);
              const Real vb = Vbo(i, a * F + f);
              dot += Va * Wa;
              bb += vb * Wa;
              VWb(3 * i + a, F + f) = vb * O(i, F + f) + sb * O(i, 2 * F + f) * Va;
              VWb(3 * i + a, f) = sb * O(i, 2 * F + f) * Wa;
            }
            Ob(i, f) = sb;
            Ob(i, F + f) = bb;
            Ob(i, 2 * F + f) = sb * dot;
          });
    } else {
      auto M = m_.layers[l].M;
      for_entries<Exec>(
          "mlff::distiller_update_bwd", n, F, KOKKOS_LAMBDA(const int i, const int f) {
            const Real g1 = O(i, F + f), g2 = O(i, 2 * F + f);
            Real v[3], vb[3], b1 = 0, b2 = 0;
            for (int a = 0; a < 3; ++a) {
              v[a] = Vm(i, a * F + f);
              vb[a] = Vbo(i, a * F + f);
            }
            for (int a = 0; a < 3; ++a) {
              b1 += vb[a] * v[a];
              b2 += vb[a] * (M(a, 0) * v[0] + M(a, 1) * v[1] + M(a, 2) * v[2]);
              Vmb(i, a * F + f) =
                  vb[a] * g1 + (M(0, a) * vb[0] + M(1, a) * vb[1] + M(2, a) * vb[2]) * g2;
            }
            Ob(i, f) = Sbo(i, f);
            Ob(i, F + f) = b1;
            Ob(i, 2 * F + f) = b2;
          });
    }
    const auto& L = m_.layers[l];
    if (painn)
      mlp_.backward(n, {&L.mix0, &L.mix1}, Ob, ctxb, m_.act, false);
    else
      mlp_.backward(n, {&L.upd0, &L.upd1}, Ob, ctxb, m_.act, false);

    // Through the norm: d|x|/dx = x/|x|, taken as 0 where the norm is exactly 0.
    if (painn) {
      auto VW = VW_;
      auto VWb = VWb_;
      const bool copy_v = Vmb.data() != Vbo.data();  // Vmb = Vbo + (channel mix adjoint, below)
      for_entries<Exec>(
          "mlff::painn_norm_bwd", n, F, KOKKOS_LAMBDA(const int i, const int f) {
            Smb(i, f) = Sbo(i, f) + ctxb(i, f);
            const Real nrm = ctx(i, F + f);
            if (nrm > 0)
              for (int a = 0; a < 3; ++a)
                VWb(3 * i + a, f) += ctxb(i, F + f) * VW(3 * i + a, f) / nrm;
            if (copy_v)
              for (int a = 0; a < 3; ++a) Vmb(i, a * F + f) = Vbo(i, a * F + f);
          });
      M2 Vmb_rows(Vmb.data(), size_t(n) * 3, F);
      dense_backward<Exec>(n * 3, L.chan_mix, VWb_, Vmb_rows, true);
    } else {
      for_entries<Exec>(
          "mlff::distiller_norm_bwd", n, F, KOKKOS_LAMBDA(const int i, const int f) {
            Smb(i, f) = Sbo(i, f) + ctxb(i, f);
            const Real nrm = ctx(i, F + f);
            if (nrm > 0)
              for (int a = 0; a < 3; ++a)
                Vmb(i, a * F + f) += ctxb(i, F + f) * Vm(i, a * F + f) / nrm;
          });
    }
  }

  size_t bytes() const {
    return mlp_.bytes() +
           (VW_.span() + VWb_.span() + ctx_.span() + ctxb_.span() + Ob_.span()) * sizeof(Real);
  }

  // Public only because CUDA forbids device lambdas inside private member functions.
  // Builds [s, |v|] (painn: |V| of the channel-mixed V) and runs the block's MLP; returns O.
  M2 prepare(int n, int l, const M2& Sm, const M2& Vm) {
    const int F = m_.F;
    const Real eps = m_.norm_eps;
    const auto& L = m_.layers[l];
    ensure(ctx_, n, 2 * F, "update.ctx");
    auto ctx = ctx_;
    if (m_.family == Family::PaiNN) {
      ensure(VW_, size_t(n) * 3, 2 * F, "update.VW");
      M2 Vm_rows(Vm.data(), size_t(n) * 3, F);
      dense_forward<Exec>(n * 3, L.chan_mix, Vm_rows, VW_);
      auto VW = VW_;
      for_entries<Exec>(
          "mlff::painn_ctx", n, F, KOKKOS_LAMBDA(const int i, const int f) {
            Real s2 = 0;
            for (int a = 0; a < 3; ++a) s2 += VW(3 * i + a, f) * VW(3 * i + a, f);
            ctx(i, f) = Sm(i, f);
            ctx(i, F + f) = m_sqrt(s2 + eps);
          });
      return mlp_.forward(n, {&L.mix0, &L.mix1}, ctx_, m_.act);
    }
    for_entries<Exec>(
        "mlff::distiller_ctx", n, F, KOKKOS_LAMBDA(const int i, const int f) {
          Real s2 = 0;
          for (int a = 0; a < 3; ++a) s2 += Vm(i, a * F + f) * Vm(i, a * F + f);
          ctx(i, f) = Sm(i, f);
          ctx(i, F + f) = m_sqrt(s2 + eps);
        });
    return mlp_.forward(n, {&L.upd0, &L.upd1}, ctx_, m_.act);
  }

 private:
  const DeviceModel<Real, Mem>& m_;
  MlpRunner<Exec, Real, Mem> mlp_;
  M2 VW_, VWb_, ctx_, ctxb_, Ob_;
};

}  // namespace mlff
