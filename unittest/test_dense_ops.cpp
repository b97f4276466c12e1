// The per-atom dense layers (dense_ops.h) against an fp64 host reference, on whatever back end
// the build has: on CUDA, batches above kSmallBatch rows run through cuBLAS and the bias and
// activation passes, smaller ones one warp per output; on the host back ends, blocks of
// kDenseBlock outputs per thread. Shapes are those of the shipped models (64 -> 192, 128 -> 64,
// the 3n-row channel mix) with row counts that leave partial tiles, and a hidden layer's input
// that carries the bias columns (kBiasPad), forward, input gradient through the activation,
// and accumulated input gradient.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>

#include "engine/dense_ops.h"
#include "engine/engine_instances.h"
#include "fd_helpers.h"

using namespace mlff;

namespace {

using Mem = ExecSpace::memory_space;

struct Shape {
  int n, in, out;
  bool bias;
  int act;
};

ModelSpec layer_spec(const Shape& s, std::mt19937& g) {
  std::normal_distribution<double> w(0.0, 1.0 / std::sqrt(double(s.in)));
  ModelSpec spec;
  Tensor W;
  W.shape = {s.out, s.in};
  for (long k = 0; k < long(s.out) * s.in; ++k) W.data.push_back(w(g));
  spec.tensors["lin.weight"] = W;
  Tensor b;
  b.shape = {s.out};
  for (int k = 0; k < s.out; ++k) b.data.push_back(w(g));
  spec.tensors["lin.bias"] = b;
  return spec;
}

// A device matrix [n, w] of random numbers (rounded to Real) and its host copy in double.
template <class Real>
Mat<Real, Mem> random_matrix(int n, int w, std::mt19937& g, std::vector<double>& host) {
  std::normal_distribution<double> d(0.0, 1.0);
  Mat<Real, Mem> m("m", n, w);
  auto h = Kokkos::create_mirror_view(m);
  host.assign(size_t(n) * w, 0.0);
  for (int r = 0; r < n; ++r)
    for (int c = 0; c < w; ++c) host[size_t(r) * w + c] = h(r, c) = static_cast<Real>(d(g));
  Kokkos::deep_copy(m, h);
  return m;
}

template <class Real>
std::vector<double> to_host(const Mat<Real, Mem>& m, int n, int w) {
  auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), m);
  std::vector<double> v(size_t(n) * w);
  for (int r = 0; r < n; ++r)
    for (int c = 0; c < w; ++c) v[size_t(r) * w + c] = h(r, c);
  return v;
}

// Largest |a - b| over the largest |b|.
double rel_error(const std::vector<double>& a, const std::vector<double>& b) {
  double num = 0, den = 0;
  for (size_t k = 0; k < a.size(); ++k) {
    num = std::max(num, std::fabs(a[k] - b[k]));
    den = std::max(den, std::fabs(b[k]));
  }
  return num / den;
}

template <class Real>
void check_layer(const Shape& s, double tol) {
  std::mt19937 g(1234 + s.n + s.in * 7 + s.out * 13);
  const ModelSpec spec = layer_spec(s, g);
  const auto lin = detail::linear<Real, Mem>(spec, "lin", s.bias);
  const auto& W = spec.tensor("lin.weight").data;
  const auto& b = spec.tensor("lin.bias").data;
  const bool hidden = s.act >= 0;
  const std::string what = std::string(sizeof(Real) == 4 ? "fp32" : "fp64") + " n=" +
                           std::to_string(s.n) + " " + std::to_string(s.in) + "->" +
                           std::to_string(s.out);

  // Forward. A hidden layer's input carries the bias columns [1, 0, 0, 0], as MlpRunner's
  // activations do: the product must use W and b (folded or not) and ignore nothing else.
  std::vector<double> x;
  const int xw = s.bias ? s.in + kBiasPad : s.in;
  Mat<Real, Mem> X = random_matrix<Real>(s.n, xw, g, x);
  if (s.bias) {
    auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), X);
    for (int r = 0; r < s.n; ++r)
      for (int j = 0; j < kBiasPad; ++j) h(r, s.in + j) = j == 0 ? 1 : 0;
    Kokkos::deep_copy(X, h);
  }
  Mat<Real, Mem> Y("Y", s.n, s.out), Z;
  if (hidden) Z = Mat<Real, Mem>("Z", s.n, s.out);
  dense_forward<ExecSpace>(s.n, lin, X, Y, Z, hidden ? s.act : 0);
  std::vector<double> y_ref(size_t(s.n) * s.out), z_ref(y_ref.size());
  for (int r = 0; r < s.n; ++r)
    for (int o = 0; o < s.out; ++o) {
      double acc = s.bias ? b[o] : 0.0;
      for (int i = 0; i < s.in; ++i) acc += W[size_t(o) * s.in + i] * x[size_t(r) * xw + i];
      y_ref[size_t(r) * s.out + o] = acc;
      z_ref[size_t(r) * s.out + o] = hidden ? act_value(s.act, acc) : 0.0;
    }
  const double ey = rel_error(to_host(Y, s.n, s.out), y_ref);
  mlff::test::figure((what + " forward rel error").c_str(), ey);
  EXPECT_LE(ey, tol) << what;
  if (hidden) {
    const double ez = rel_error(to_host(Z, s.n, s.out), z_ref);
    EXPECT_LE(ez, tol) << what << " activation";
  }

  // Input gradient, through the activation derivative at random pre-activations H, then
  // accumulated onto a second, random Xbar.
  std::vector<double> yb, hh, x0;
  Mat<Real, Mem> Ybar = random_matrix<Real>(s.n, s.out, g, yb);
  Mat<Real, Mem> H = random_matrix<Real>(s.n, s.in, g, hh);
  Mat<Real, Mem> Xbar("Xbar", s.n, s.in);
  dense_backward<ExecSpace>(s.n, lin, Ybar, Xbar, false, H, 1);
  std::vector<double> g_ref(size_t(s.n) * s.in);
  for (int r = 0; r < s.n; ++r)
    for (int i = 0; i < s.in; ++i) {
      double acc = 0;
      for (int o = 0; o < s.out; ++o) acc += W[size_t(o) * s.in + i] * yb[size_t(r) * s.out + o];
      g_ref[size_t(r) * s.in + i] = acc;
    }
  std::vector<double> gh_ref(g_ref);
  for (size_t k = 0; k < gh_ref.size(); ++k) gh_ref[k] *= act_deriv(1, hh[k]);
  const double eg = rel_error(to_host(Xbar, s.n, s.in), gh_ref);
  mlff::test::figure((what + " input gradient rel error").c_str(), eg);
  EXPECT_LE(eg, tol) << what << " input gradient";

  Mat<Real, Mem> Acc = random_matrix<Real>(s.n, s.in, g, x0);
  dense_backward<ExecSpace>(s.n, lin, Ybar, Acc, true);
  for (size_t k = 0; k < x0.size(); ++k) x0[k] += g_ref[k];
  EXPECT_LE(rel_error(to_host(Acc, s.n, s.in), x0), tol) << what << " accumulated gradient";
}

const Shape kShapes[] = {
    {1000, 64, 192, true, 0},    // context MLP's second layer (SiLU output kept as hidden too)
    {1000, 64, 64, true, 0},     // a first layer with its activation
    {777, 128, 64, true, 1},     // update MLP's first layer, shifted softplus
    {3 * 333, 64, 128, false, -1},  // painn's channel mix U, V on 3n rows, no bias
    {77, 64, 192, true, 0},      // a molecule: below kSmallBatch
    {300, 20, 40, true, -1},     // widths that fill no tile
};

}  // namespace

TEST(DenseOps, Fp32LayersMatchFp64Reference) {
  // fp32 rounding of 64-192 terms: ~1e-7 relative. A 3xTF32 tensor-core product (tried,
  // bench/RESULTS.md) gave 1-3e-6; TF32 alone would give ~1e-3.
  for (const Shape& s : kShapes) check_layer<float>(s, 3e-6);
}

TEST(DenseOps, Fp64LayersMatchReference) {
  for (const Shape& s : kShapes) check_layer<double>(s, 1e-13);
}
