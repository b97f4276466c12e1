// Optional tabulated radial filters. Each layer's filter W(d) (3F channels; a function of the
// pair distance only) is sampled with its exact derivative at N + 1 evenly spaced distances
// in [0, r_c] (host, double precision), and the edge kernels evaluate the cubic Hermite
// interpolant instead of the filter network. Each interval stores the interpolant's power-form
// coefficients, computed in double: evaluating from node values instead would difference two
// nearly equal numbers, which costs fp32 about 10 bits in the slope. The forces stay the exact derivative of the
// tabulated energy (energy conservation is unaffected); the tabulated model differs from the
// network by an interpolation error of order (r_c/N)^4, which bench/RESULTS.md measures.
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include "../weights/model_spec.h"
#include "math.h"
#include "radial.h"

namespace mlff {

namespace detail {

// Basis values and d-derivatives at distance d (double, host).
inline void host_basis(const ModelSpec& s, double d, std::vector<double>& p, std::vector<double>& dp) {
  const int K = s.basis_size();
  p.resize(K);
  dp.resize(K);
  for (int k = 0; k < K; ++k) {
    if (s.basis == BasisType::Gaussian) {
      const double x = d - s.centers[k];
      p[k] = std::exp(-s.gammas[k] * x * x);
      dp[k] = -2 * s.gammas[k] * x * p[k];
    } else if (d < 1e-8) {  // sin(w d)/d -> w, slope -> 0 (no edge is this short; the table's first node is)
      p[k] = s.frequencies[k];
      dp[k] = 0;
    } else {
      const double w = s.frequencies[k];
      p[k] = std::sin(w * d) / d;
      dp[k] = (w * std::cos(w * d) - p[k]) / d;
    }
  }
}

// y = W x + b for rows [row0, row0 + out) of a [.., in] weight, and dy = W dx.
inline void host_affine(const Tensor& W, const Tensor& b, long row0, long out,
                        const std::vector<double>& x, const std::vector<double>& dx,
                        std::vector<double>& y, std::vector<double>& dy) {
  const long in = W.cols();
  y.assign(out, 0);
  dy.assign(out, 0);
  for (long o = 0; o < out; ++o) {
    double a = b.data[row0 + o], da = 0;
    for (long i = 0; i < in; ++i) {
      a += W.data[(row0 + o) * in + i] * x[i];
      da += W.data[(row0 + o) * in + i] * dx[i];
    }
    y[o] = a;
    dy[o] = da;
  }
}

}  // namespace detail

// One table cell: the cubic's four coefficients, aligned so that one vector load fetches them
// (the edge kernels read a cell per edge and channel).
template <class Real>
struct alignas(4 * sizeof(Real)) Cubic {
  Real a[4];
};

// Rows 4i .. 4i + 3: coefficients a, b, c, e of W = a + b t + c t^2 + e t^3 on interval i
// (d = (i + t) h, h = r_c / N, 0 <= t <= 1), so dW/dd = (b + 2 c t + 3 e t^2) / h; columns are
// the layer's 3F filter channels in the filter's own order.
inline std::vector<double> tabulate_filter(const ModelSpec& s, int layer, int N) {
  const int F = s.features, C = 3 * F;
  const int act = s.activation == Activation::SiLU ? 0 : 1;
  std::vector<double> node(size_t(2) * (N + 1) * C);  // W and dW/dd at each node
  std::vector<double> p, dp, w, dw, hid, dhid;
  for (int n = 0; n <= N; ++n) {
    const double d = s.cutoff * n / N;
    detail::host_basis(s, d, p, dp);
    double fc, dfc;
    cosine_cutoff(d, s.cutoff, fc, dfc);
    if (s.family == Family::PaiNN) {
      const long row0 = s.shared_filters ? 0 : long(C) * layer;
      detail::host_affine(s.tensor("filter_net.weight"), s.tensor("filter_net.bias"), row0, C, p, dp, w, dw);
      for (int c = 0; c < C; ++c) {
        dw[c] = dw[c] * fc + w[c] * dfc;
        w[c] *= fc;
      }
    } else {
      const std::string pre = "interactions." + std::to_string(layer) + ".filter.";
      std::vector<double> e(p.size()), de(p.size());
      for (size_t k = 0; k < p.size(); ++k) {
        e[k] = p[k] * fc;
        de[k] = dp[k] * fc + p[k] * dfc;
      }
      const Tensor& W0 = s.tensor(pre + "0.weight");
      detail::host_affine(W0, s.tensor(pre + "0.bias"), 0, W0.rows(), e, de, hid, dhid);
      for (size_t k = 0; k < hid.size(); ++k) {
        dhid[k] *= act_deriv(act, hid[k]);
        hid[k] = act_value(act, hid[k]);
      }
      detail::host_affine(s.tensor(pre + "1.weight"), s.tensor(pre + "1.bias"), 0, C, hid, dhid, w, dw);
    }
    for (int c = 0; c < C; ++c) {
      node[(size_t(2) * n) * C + c] = w[c];
      node[(size_t(2) * n + 1) * C + c] = dw[c];
    }
  }
  const double h = s.cutoff / N;
  std::vector<double> table(size_t(4) * N * C);
  for (int i = 0; i < N; ++i)
    for (int c = 0; c < C; ++c) {
      const double y0 = node[(2 * size_t(i)) * C + c], m0 = h * node[(2 * size_t(i) + 1) * C + c];
      const double y1 = node[(2 * size_t(i) + 2) * C + c], m1 = h * node[(2 * size_t(i) + 3) * C + c];
      table[(4 * size_t(i)) * C + c] = y0;
      table[(4 * size_t(i) + 1) * C + c] = m0;
      table[(4 * size_t(i) + 2) * C + c] = 3 * (y1 - y0) - 2 * m0 - m1;
      table[(4 * size_t(i) + 3) * C + c] = 2 * (y0 - y1) + m0 + m1;
    }
  return table;
}

}  // namespace mlff
