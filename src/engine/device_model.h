// The model's weights as Kokkos views in the engine's floating type, laid out per layer so the
// kernels never need to know whether the file shared filters or interaction blocks.
#pragma once

#include <string>
#include <vector>

#include "../weights/model_spec.h"
#include "filter_table.h"
#include "radial.h"

namespace mlff {

// Where the filter output holds W = [Ws, WR, Wv] (the message order, edge_kernels.h): column
// offset of part q in 0..2. painn: 0, F, 2F; mlff-distiller stores [Ws, Wv, WR]: 0, 2F, F.
inline int filter_offset(Family family, int F, int q) {
  if (family == Family::PaiNN || q == 0) return q * F;
  return (3 - q) * F;
}

// Columns a hidden layer's activations carry after its outputs: [1, 0, 0, 0]. The next layer
// then multiplies them by Wb = [W | b | 0 0 0], so its bias is added inside the matrix product
// and no pass over the output is left (4, not 1: rows stay 16-byte aligned for cuBLAS).
constexpr int kBiasPad = 4;

template <class Real, class Mem>
struct DeviceLinear {
  Kokkos::View<Real**, Kokkos::LayoutRight, Mem> W;   // [out, in]
  Kokkos::View<Real*, Mem> b;                         // [out], or empty for no bias
  Kokkos::View<Real**, Kokkos::LayoutRight, Mem> Wb;  // [out, in + kBiasPad] when b is there
  Kokkos::View<Real**, Kokkos::LayoutRight, Mem> Wt;  // [in, out]: W^T (small batches, filters)
  int in = 0, out = 0;
};

template <class Real, class Mem>
struct DeviceLayer {
  // painn
  DeviceLinear<Real, Mem> filter;          // K -> 3F, multiplied by fc afterwards
  DeviceLinear<Real, Mem> ctx0, ctx1;      // F -> F -> 3F on s_j
  DeviceLinear<Real, Mem> chan_mix;        // F -> 2F on each x/y/z component, no bias
  DeviceLinear<Real, Mem> mix0, mix1;      // 2F -> F -> 3F on [s, |V|]
  // mlff-distiller
  DeviceLinear<Real, Mem> filt0, filt1;    // K -> H_f -> 3F on e = phi fc
  DeviceLinear<Real, Mem> upd0, upd1;      // 2F -> H_u -> 3F on [s, |v|]
  Kokkos::View<Real**, Kokkos::LayoutRight, Mem> M;  // 3x3 x/y/z mixing
  // both families, when tabulated: [N, 3F] cells of 4 coefficients (filter_table.h), columns
  // in message order (edge_kernels.h)
  Kokkos::View<Cubic<Real>**, Kokkos::LayoutRight, Mem> table;
};

template <class Real, class Mem>
struct DeviceModel {
  Family family = Family::PaiNN;
  int F = 0, L = 0, act = 0;
  Real cutoff = 0, norm_eps = 0, dir_eps = 0;
  double energy_scale = 1, energy_shift = 0;
  int table_points = 0;  // N intervals of the tabulated filters; 0: the filter network itself
  RadialBasis<Real, Mem> basis;
  Kokkos::View<Real**, Kokkos::LayoutRight, Mem> embedding;  // [rows, F]
  Kokkos::View<int*, Mem> species_row;                       // species index -> embedding row
  Kokkos::View<double*, Mem> species_eref;                   // species index -> eV per atom
  std::vector<DeviceLayer<Real, Mem>> layers;
  std::vector<DeviceLinear<Real, Mem>> readout;
  // The first layer's context of a neighbour of each species (edge_kernels.h, FirstLayer): that
  // layer's input s is the species' embedding row, so its context is one row per species.
  // painn [species, 2F]: [xs, xR] of the context MLP (its xv multiplies v = 0); mlff-distiller
  // [species, F]: s itself.
  Kokkos::View<Real**, Kokkos::LayoutRight, Mem> first_context;

  DeviceModel(const ModelSpec& spec, int table_points);
};

namespace detail {

template <class Real, class Mem>
Kokkos::View<Real*, Mem> to_view1(const std::vector<double>& v, const std::string& label) {
  Kokkos::View<Real*, Mem> d(label, v.size());
  auto h = Kokkos::create_mirror_view(d);
  for (size_t i = 0; i < v.size(); ++i) h(i) = static_cast<Real>(v[i]);
  Kokkos::deep_copy(d, h);
  return d;
}

// Rows [row0, row0 + rows) of a 2-D host tensor.
template <class Real, class Mem>
Kokkos::View<Real**, Kokkos::LayoutRight, Mem> to_view2(const Tensor& t, const std::string& label,
                                                       long row0 = 0, long rows = -1) {
  if (rows < 0) rows = t.rows();
  const long cols = t.cols();
  Kokkos::View<Real**, Kokkos::LayoutRight, Mem> d(label, rows, cols);
  auto h = Kokkos::create_mirror_view(d);
  for (long r = 0; r < rows; ++r)
    for (long c = 0; c < cols; ++c) h(r, c) = static_cast<Real>(t.data[(row0 + r) * cols + c]);
  Kokkos::deep_copy(d, h);
  return d;
}

// [cols, rows] copy of a device matrix: the edge kernels' channel threads then read
// consecutive addresses.
template <class Real, class Mem>
Kokkos::View<Real**, Kokkos::LayoutRight, Mem> transposed(
    const Kokkos::View<Real**, Kokkos::LayoutRight, Mem>& m, const std::string& label) {
  auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), m);
  Kokkos::View<Real**, Kokkos::LayoutRight, Mem> d(label, m.extent(1), m.extent(0));
  auto ht = Kokkos::create_mirror_view(d);
  for (size_t r = 0; r < m.extent(0); ++r)
    for (size_t c = 0; c < m.extent(1); ++c) ht(c, r) = h(r, c);
  Kokkos::deep_copy(d, ht);
  return d;
}

template <class Real, class Mem>
DeviceLinear<Real, Mem> linear(const ModelSpec& s, const std::string& name, bool bias = true,
                               long row0 = 0, long rows = -1) {
  const Tensor& w = s.tensor(name + ".weight");
  DeviceLinear<Real, Mem> lin;
  lin.W = to_view2<Real, Mem>(w, name + ".weight", row0, rows);
  lin.out = static_cast<int>(lin.W.extent(0));
  lin.in = static_cast<int>(lin.W.extent(1));
  lin.Wt = transposed(lin.W, name + ".weight.T");
  if (bias) {
    const Tensor& b = s.tensor(name + ".bias");
    std::vector<double> part(b.data.begin() + row0, b.data.begin() + row0 + lin.out);
    lin.b = to_view1<Real, Mem>(part, name + ".bias");
    lin.Wb = Kokkos::View<Real**, Kokkos::LayoutRight, Mem>(name + ".weight_bias", lin.out,
                                                            lin.in + kBiasPad);
    auto h = Kokkos::create_mirror_view(lin.Wb);
    const long cols = w.cols();
    for (int o = 0; o < lin.out; ++o) {
      for (int i = 0; i < lin.in; ++i) h(o, i) = static_cast<Real>(w.data[(row0 + o) * cols + i]);
      h(o, lin.in) = static_cast<Real>(part[o]);
      for (int i = lin.in + 1; i < lin.in + kBiasPad; ++i) h(o, i) = 0;
    }
    Kokkos::deep_copy(lin.Wb, h);
  }
  return lin;
}

// DeviceModel::first_context, computed on the host in double precision.
template <class Real, class Mem>
Kokkos::View<Real**, Kokkos::LayoutRight, Mem> first_layer_context(const ModelSpec& s, int act) {
  const int F = s.features, n = static_cast<int>(s.species.size());
  const bool painn = s.family == Family::PaiNN;
  Kokkos::View<Real**, Kokkos::LayoutRight, Mem> v("first_context", n, painn ? 2 * F : F);
  auto h = Kokkos::create_mirror_view(v);
  const Tensor& emb = s.tensor("embedding.weight");
  // painn: the first layer's context MLP, F -> F -> 2F (host_affine's derivatives: unused).
  const std::string pre = "interactions.0.context.";
  std::vector<double> e(F), zero(F, 0.0), hid, dhid, out, dout;
  for (int sp = 0; sp < n; ++sp) {
    const long row = s.species[sp].embedding_row;
    for (int f = 0; f < F; ++f) e[f] = emb.data[row * emb.cols() + f];
    if (!painn) {
      for (int f = 0; f < F; ++f) h(sp, f) = static_cast<Real>(e[f]);
      continue;
    }
    const Tensor& W0 = s.tensor(pre + "0.weight");
    host_affine(W0, s.tensor(pre + "0.bias"), 0, W0.rows(), e, zero, hid, dhid);
    std::vector<double> dzero(hid.size(), 0.0);
    for (double& x : hid) x = act_value(act, x);
    host_affine(s.tensor(pre + "1.weight"), s.tensor(pre + "1.bias"), 0, 2 * F, hid, dzero, out,
                dout);
    for (int c = 0; c < 2 * F; ++c) h(sp, c) = static_cast<Real>(out[c]);
  }
  Kokkos::deep_copy(v, h);
  return v;
}

}  // namespace detail

template <class Real, class Mem>
DeviceModel<Real, Mem>::DeviceModel(const ModelSpec& s, int table_points_)
    : table_points(table_points_) {
  using namespace detail;
  family = s.family;
  F = s.features;
  L = s.layers;
  act = s.activation == Activation::SiLU ? 0 : 1;
  cutoff = static_cast<Real>(s.cutoff);
  norm_eps = static_cast<Real>(s.norm_epsilon);
  dir_eps = static_cast<Real>(s.direction_epsilon);
  energy_scale = s.energy_scale;
  energy_shift = s.energy_shift;

  basis.type = s.basis == BasisType::Gaussian ? 0 : 1;
  basis.size = s.basis_size();
  basis.p0 = to_view1<Real, Mem>(basis.type == 0 ? s.centers : s.frequencies, "basis.p0");
  basis.p1 = to_view1<Real, Mem>(basis.type == 0 ? s.gammas : s.frequencies, "basis.p1");

  embedding = to_view2<Real, Mem>(s.tensor("embedding.weight"), "embedding");
  species_row = Kokkos::View<int*, Mem>("species_row", s.species.size());
  species_eref = Kokkos::View<double*, Mem>("species_eref", s.species.size());
  auto hr = Kokkos::create_mirror_view(species_row);
  auto he = Kokkos::create_mirror_view(species_eref);
  for (size_t k = 0; k < s.species.size(); ++k) {
    hr(k) = s.species[k].embedding_row;
    he(k) = s.species[k].reference_energy;
  }
  Kokkos::deep_copy(species_row, hr);
  Kokkos::deep_copy(species_eref, he);

  layers.resize(L);
  for (int l = 0; l < L; ++l) {
    DeviceLayer<Real, Mem>& d = layers[l];
    if (family == Family::PaiNN) {
      const long fl = s.shared_filters ? 0 : l;
      const std::string bi = "interactions." + std::to_string(s.shared_interactions ? 0 : l);
      const std::string bm = "mixing." + std::to_string(s.shared_interactions ? 0 : l);
      d.filter = linear<Real, Mem>(s, "filter_net", true, 3 * F * fl, 3 * F);
      d.ctx0 = linear<Real, Mem>(s, bi + ".context.0");
      d.ctx1 = linear<Real, Mem>(s, bi + ".context.1");
      d.chan_mix = linear<Real, Mem>(s, bm + ".channel_mix", false);
      d.mix0 = linear<Real, Mem>(s, bm + ".context.0");
      d.mix1 = linear<Real, Mem>(s, bm + ".context.1");
    } else {
      const std::string p = "interactions." + std::to_string(l) + ".";
      d.filt0 = linear<Real, Mem>(s, p + "filter.0");
      d.filt1 = linear<Real, Mem>(s, p + "filter.1");
      d.upd0 = linear<Real, Mem>(s, p + "update.0");
      d.upd1 = linear<Real, Mem>(s, p + "update.1");
      d.M = to_view2<Real, Mem>(s.tensor(p + "mixing_matrix"), p + "mixing_matrix");
    }
    if (table_points > 0) {
      // Columns in message order [Ws, WR, Wv] (filter_offset).
      const std::vector<double> rows = tabulate_filter(s, l, table_points);
      d.table = decltype(d.table)("filter_table." + std::to_string(l), table_points, 3 * F);
      auto h = Kokkos::create_mirror_view(d.table);
      for (int i = 0; i < table_points; ++i)
        for (int q = 0; q < 3; ++q)
          for (int c = 0; c < F; ++c)
            for (int m = 0; m < 4; ++m)
              h(i, q * F + c).a[m] =
                  static_cast<Real>(rows[(size_t(4) * i + m) * 3 * F + filter_offset(family, F, q) + c]);
      Kokkos::deep_copy(d.table, h);
    }
  }
  for (size_t k = 0; k + 1 < s.readout.size(); ++k)
    readout.push_back(linear<Real, Mem>(s, "readout." + std::to_string(k)));
  first_context = first_layer_context<Real, Mem>(s, act);
}

}  // namespace mlff
