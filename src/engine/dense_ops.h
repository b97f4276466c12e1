// Per-atom dense layers over a batch of rows (atoms, or atom x component): y = W x + b, its
// input gradient, activations, and a small MLP runner that keeps pre-activations for the
// backward pass.
#pragma once

#include <Kokkos_Core.hpp>  // first: it defines KOKKOS_ENABLE_CUDA
#include <algorithm>
#include <climits>
#include <stdexcept>
#include <type_traits>
#include <string>
#include <vector>

#if defined(KOKKOS_ENABLE_CUDA)
#include <cublas_v2.h>
#endif

#include "device_model.h"

namespace mlff {

#if defined(KOKKOS_ENABLE_CUDA)
// On CUDA the per-atom dense layers are matrix products over all atoms: cuBLAS runs them near
// the chip's peak (plain fp32/fp64 arithmetic: TF32 stays off, cuBLAS's default), where one
// thread per output reached 0.5 TFLOP/s. One handle per process, on Kokkos' stream.
namespace blas {
inline cublasHandle_t handle() {
  static cublasHandle_t h = [] {
    cublasHandle_t x = nullptr;
    if (cublasCreate(&x) != CUBLAS_STATUS_SUCCESS)
      throw std::runtime_error("cuBLAS could not be initialised (cublasCreate failed)");
    return x;
  }();
  cublasSetStream(h, Kokkos::Cuda().cuda_stream());
  return h;
}
inline cublasStatus_t gemm(cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                           double alpha, const double* A, int lda, const double* B, int ldb,
                           double beta, double* C, int ldc) {
  return cublasDgemm(handle(), ta, tb, m, n, k, &alpha, A, lda, B, ldb, &beta, C, ldc);
}
inline cublasStatus_t gemm(cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                           float alpha, const float* A, int lda, const float* B, int ldb,
                           float beta, float* C, int ldc) {
  return cublasSgemm(handle(), ta, tb, m, n, k, &alpha, A, lda, B, ldb, &beta, C, ldc);
}
inline void check(cublasStatus_t st, const char* what) {
  if (st != CUBLAS_STATUS_SUCCESS)
    throw std::runtime_error(std::string("cuBLAS failed in ") + what + " (status " + std::to_string(int(st)) + ")");
}
}  // namespace blas
#endif

template <class Real, class Mem>
using Mat = Kokkos::View<Real**, Kokkos::LayoutRight, Mem>;

// Grow-only workspace: reallocates when more rows are needed or the width changes.
template <class Real, class Mem>
void ensure(Mat<Real, Mem>& m, size_t rows, size_t cols, const char* label) {
  if (m.extent(0) < rows || m.extent(1) != cols)
    m = Mat<Real, Mem>(Kokkos::view_alloc(Kokkos::WithoutInitializing, std::string(label)),
                       rows, cols);
}

// Grow-only allocation of a buffer indexed by its first extent, with slack, kept across calls.
template <class View>
void grow(View& v, size_t n, const char* label) {
  if (v.extent(0) < n) v = View(std::string(label), n + n / 8 + 16);
}

// The same for a two-dimensional buffer of width w (reallocated when the width changes).
template <class View>
void grow2(View& v, size_t n, size_t w, const char* label) {
  if (v.extent(0) < n || v.extent(1) != w) v = View(std::string(label), n + n / 8 + 16, w);
}

// Policy trait of the kernels of a force call: pass the functor as a kernel argument (Kokkos'
// light-weight hint), as a kernel recorded into a CUDA graph must (call_graph.h). Left to
// itself, Kokkos copies a functor of more than 512 bytes into constant memory, and before each
// such copy waits on the host until the previous such kernel has finished. The small functors
// here travel as arguments either way; the large edge kernels see EdgePolicy (engine.h).
using Light = Kokkos::Experimental::WorkItemProperty::HintLightWeight_t;

// Fills a view with a value in stream order (the plain deep_copy fences the device twice).
template <class Exec, class View>
void fill(const View& v, typename View::const_value_type& value) {
  Kokkos::deep_copy(Exec(), v, value);
}

// Runs fn(r, c) for every entry of an n x w matrix, one thread per entry. The flat index is
// 32-bit where it fits: a 64-bit division costs a GPU tens of instructions per entry.
template <class Exec, class Fn>
void for_entries(const char* name, size_t n, int w, const Fn& fn) {
  const size_t total = n * size_t(w);
  if (total == 0) return;
  if (total <= size_t(INT_MAX)) {
    const unsigned uw = static_cast<unsigned>(w);
    Kokkos::parallel_for(
        name, Kokkos::RangePolicy<Exec, Light, Kokkos::IndexType<int>>(0, static_cast<int>(total)),
        KOKKOS_LAMBDA(const int idx) {
          fn(static_cast<int>(unsigned(idx) / uw), static_cast<int>(unsigned(idx) % uw));
        });
  } else {
    Kokkos::parallel_for(
        name, Kokkos::RangePolicy<Exec, Light>(0, total),
        KOKKOS_LAMBDA(const size_t idx) { fn(static_cast<int>(idx / w), static_cast<int>(idx % w)); });
  }
}

// Outputs per thread of the host back ends' dense layers (below).
constexpr int kDenseBlock = 8;

// Batches of at most this many rows (a molecule's atoms) run on GPUs as one warp per output
// with bias, activation and activation derivative in the same kernel: there a GEMM library
// adds a split-K reduction and the bias and activation passes, each a kernel launch that costs
// more than the arithmetic.
constexpr int kSmallBatch = 256;

// fin(r, o, sum over i < k of term(r, o, i)) for every entry of an n x w matrix: one warp per
// entry, its lanes splitting the sum (a fixed reduction tree: the same numbers every call).
// One thread per entry was slower: its chain of dependent loads and multiply-adds took ~15 us.
template <class Exec, class Term, class Fin>
void warp_dots(const char* name, int n, int w, int k, const Term& term, const Fin& fin) {
  constexpr int kWarps = 4;  // entries per team
  using Team = typename Kokkos::TeamPolicy<Exec>::member_type;
  using Real = decltype(term(0, 0, 0));
  const int total = n * w;
  Kokkos::parallel_for(
      name, Kokkos::TeamPolicy<Exec, Light>((total + kWarps - 1) / kWarps, kWarps, 32),
      KOKKOS_LAMBDA(const Team& t) {
        const int idx = t.league_rank() * kWarps + t.team_rank();
        if (idx >= total) return;  // the whole warp: no team barrier follows
        const int r = idx / w, o = idx % w;
        Real sum = 0;
        Kokkos::parallel_reduce(
            Kokkos::ThreadVectorRange(t, k), [&](const int i, Real& acc) { acc += term(r, o, i); },
            sum);
        Kokkos::single(Kokkos::PerThread(t), [&]() { fin(r, o, sum); });
      });
}

// Y(r, o) = b(o) + sum_i W(o, i) X(r, i), r < n. With Z (a hidden layer), also Z = act(Y).
// X may carry the bias columns of kBiasPad (a hidden layer's Z, below): on CUDA the bias is
// then part of the matrix product.
template <class Exec, class Real, class Mem>
void dense_forward(int n, const DeviceLinear<Real, Mem>& lin, const Mat<Real, Mem>& X,
                   const Mat<Real, Mem>& Y, const Mat<Real, Mem>& Z = {}, int act = 0) {
  auto W = lin.W;
  auto b = lin.b;
  const int in = lin.in, out = lin.out;
  const bool has_bias = b.extent(0) > 0, hidden = Z.extent(0) > 0;
#if defined(KOKKOS_ENABLE_CUDA)
  if constexpr (std::is_same_v<Exec, Kokkos::Cuda>) {
    if (n == 0) return;
    if (n <= kSmallBatch) {
      warp_dots<Exec>(
          "mlff::dense_rows", n, out, in,
          KOKKOS_LAMBDA(const int r, const int o, const int i) { return W(o, i) * X(r, i); },
          KOKKOS_LAMBDA(const int r, const int o, const Real sum) {
            const Real h = has_bias ? sum + b(o) : sum;
            Y(r, o) = h;
            if (hidden) Z(r, o) = act_value(act, h);
          });
      return;
    }
    const bool folded = has_bias && X.extent(1) == size_t(in + kBiasPad);
    const auto& A = folded ? lin.Wb : W;
    const int k = folded ? in + kBiasPad : in;
    // Row-major Y = X W^T is column-major Y^T = W X^T; bias and activation follow in one pass
    // unless the bias was folded in and there is no activation.
    blas::check(blas::gemm(CUBLAS_OP_T, CUBLAS_OP_N, out, n, k, Real(1), A.data(), k, X.data(),
                           int(X.stride(0)), Real(0), Y.data(), int(Y.stride(0))),
                "dense_forward");
    const bool add = has_bias && !folded;
    if (hidden)
      for_entries<Exec>("mlff::dense_bias", n, out, KOKKOS_LAMBDA(const int r, const int o) {
        const Real h = add ? Y(r, o) + b(o) : Y(r, o);
        if (add) Y(r, o) = h;
        Z(r, o) = act_value(act, h);
      });
    else if (add)
      for_entries<Exec>("mlff::dense_bias", n, out,
                        KOKKOS_LAMBDA(const int r, const int o) { Y(r, o) += b(o); });
    return;
  }
#endif
  // Host back ends: each thread sums kDenseBlock outputs at once, so that the multiply-adds of
  // one input form independent chains (one sum per output is bound by the adder's latency).
  // Every output is still summed over i in order: the same numbers as one output at a time.
  const int blocks = (out + kDenseBlock - 1) / kDenseBlock;
  for_entries<Exec>("mlff::dense_forward", n, blocks, KOKKOS_LAMBDA(const int r, const int ob) {
    const int o0 = ob * kDenseBlock, m = out - o0 < kDenseBlock ? out - o0 : kDenseBlock;
    Real acc[kDenseBlock];
    for (int j = 0; j < kDenseBlock; ++j) acc[j] = has_bias && j < m ? b(o0 + j) : Real(0);
    if (m == kDenseBlock) {  // a fixed trip count keeps acc in registers
      for (int i = 0; i < in; ++i) {
        const Real x = X(r, i);
        for (int j = 0; j < kDenseBlock; ++j) acc[j] += W(o0 + j, i) * x;
      }
    } else {
      for (int i = 0; i < in; ++i) {
        const Real x = X(r, i);
        for (int j = 0; j < m; ++j) acc[j] += W(o0 + j, i) * x;
      }
    }
    for (int j = 0; j < m; ++j) {
      Y(r, o0 + j) = acc[j];
      if (hidden) Z(r, o0 + j) = act_value(act, acc[j]);
    }
  });
}

// Xbar(r, i) (+)= sum_o W(o, i) Ybar(r, o), times act'(H(r, i)) when H (the pre-activations of
// the layer before) is given.
template <class Exec, class Real, class Mem>
void dense_backward(int n, const DeviceLinear<Real, Mem>& lin, const Mat<Real, Mem>& Ybar,
                    const Mat<Real, Mem>& Xbar, bool accumulate, const Mat<Real, Mem>& H = {},
                    int act = 0) {
  auto W = lin.W;
  const int in = lin.in, out = lin.out;
  const bool through_act = H.extent(0) > 0;
  if (through_act && accumulate)
    throw std::logic_error("dense_backward: the activation derivative applies to a fresh Xbar only");
#if defined(KOKKOS_ENABLE_CUDA)
  if constexpr (std::is_same_v<Exec, Kokkos::Cuda>) {
    if (n == 0) return;
    if (n <= kSmallBatch) {
      auto Wt = lin.Wt;  // [in, out]: a warp's lanes read consecutive weights
      warp_dots<Exec>(
          "mlff::dense_rows_backward", n, in, out,
          KOKKOS_LAMBDA(const int r, const int i, const int o) { return Wt(i, o) * Ybar(r, o); },
          KOKKOS_LAMBDA(const int r, const int i, Real sum) {
            if (through_act) sum *= act_deriv(act, H(r, i));
            Xbar(r, i) = accumulate ? Xbar(r, i) + sum : sum;
          });
      return;
    }
    // Row-major Xbar (+)= Ybar W is column-major Xbar^T (+)= W^T Ybar^T.
    blas::check(blas::gemm(CUBLAS_OP_N, CUBLAS_OP_N, in, n, out, Real(1), W.data(), in, Ybar.data(),
                           int(Ybar.stride(0)), Real(accumulate ? 1 : 0), Xbar.data(),
                           int(Xbar.stride(0))),
                "dense_backward");
    if (through_act)
      for_entries<Exec>("mlff::activation_grad", n, in, KOKKOS_LAMBDA(const int r, const int i) {
        Xbar(r, i) *= act_deriv(act, H(r, i));
      });
    return;
  }
#endif
  // Host back ends: as in dense_forward, kDenseBlock inputs at once (W's rows are contiguous
  // in i, so the block's multiply-adds can also run as vector instructions).
  const int blocks = (in + kDenseBlock - 1) / kDenseBlock;
  for_entries<Exec>("mlff::dense_backward", n, blocks, KOKKOS_LAMBDA(const int r, const int ib) {
    const int i0 = ib * kDenseBlock, m = in - i0 < kDenseBlock ? in - i0 : kDenseBlock;
    Real acc[kDenseBlock] = {};
    if (m == kDenseBlock) {  // a fixed trip count keeps acc in registers
      for (int o = 0; o < out; ++o) {
        const Real y = Ybar(r, o);
        for (int j = 0; j < kDenseBlock; ++j) acc[j] += W(o, i0 + j) * y;
      }
    } else {
      for (int o = 0; o < out; ++o) {
        const Real y = Ybar(r, o);
        for (int j = 0; j < m; ++j) acc[j] += W(o, i0 + j) * y;
      }
    }
    for (int j = 0; j < m; ++j) {
      if (through_act) acc[j] *= act_deriv(act, H(r, i0 + j));
      Xbar(r, i0 + j) = accumulate ? Xbar(r, i0 + j) + acc[j] : acc[j];
    }
  });
}

// Numbers per row that MlpRunner keeps for `layers` after a forward and a backward pass:
// pre-activations of every layer, activations of all but the last (with their bias columns),
// two alternating gradients.
template <class Real, class Mem>
size_t mlp_row_width(const std::vector<const DeviceLinear<Real, Mem>*>& layers) {
  size_t w = 0, grad[2] = {0, 0};
  for (size_t k = 0; k < layers.size(); ++k) {
    w += k + 1 < layers.size() ? 2 * layers[k]->out + kBiasPad : layers[k]->out;
    if (k > 0) grad[k % 2] = std::max<size_t>(grad[k % 2], layers[k - 1]->out);
  }
  return w + grad[0] + grad[1];
}

// A stack of dense layers with `act` between them (none after the last).
template <class Exec, class Real, class Mem>
class MlpRunner {
 public:
  // Forward pass on rows [0, n) of X; returns the output (pre-activation of the last layer).
  Mat<Real, Mem> forward(int n, const std::vector<const DeviceLinear<Real, Mem>*>& layers,
                         const Mat<Real, Mem>& X, int act) {
    pre_.resize(layers.size());
    post_.resize(layers.size());
    Mat<Real, Mem> x = X;
    for (size_t k = 0; k < layers.size(); ++k) {
      ensure(pre_[k], n, layers[k]->out, "mlp.pre");
      if (k + 1 == layers.size()) {
        dense_forward<Exec>(n, *layers[k], x, pre_[k]);
        break;
      }
      with_bias_columns(post_[k], n, layers[k]->out);
      dense_forward<Exec>(n, *layers[k], x, pre_[k], post_[k], act);
      x = post_[k];
    }
    return pre_.back();
  }

  // The output of the last forward pass.
  const Mat<Real, Mem>& output() const { return pre_.back(); }

  // Input gradient of the last forward pass: Xbar (+)= d(out)/dX^T Ybar. Ybar is only
  // read (the engine sets its Ybar once).
  void backward(int n, const std::vector<const DeviceLinear<Real, Mem>*>& layers,
                const Mat<Real, Mem>& Ybar, const Mat<Real, Mem>& Xbar, int act,
                bool accumulate) {
    Mat<Real, Mem> g = Ybar;
    for (size_t k = layers.size(); k-- > 0;) {
      if (k == 0) {
        dense_backward<Exec>(n, *layers[0], g, Xbar, accumulate);
        break;
      }
      ensure(grad_[k % 2], n, layers[k - 1]->out, "mlp.grad");
      dense_backward<Exec>(n, *layers[k], g, grad_[k % 2], false, pre_[k - 1], act);
      g = grad_[k % 2];
    }
  }

  size_t bytes() const {
    size_t b = 0;
    for (auto* v : {&pre_, &post_})
      for (auto& m : *v) b += m.span() * sizeof(Real);
    for (auto& m : grad_) b += m.span() * sizeof(Real);
    return b;
  }

  // Public only because CUDA forbids device lambdas inside private member functions.
  // Ensures a hidden layer's activations of width w plus the bias columns (kBiasPad), which
  // are set once, when the matrix is allocated: every row ends in [1, 0, 0, 0].
  static void with_bias_columns(Mat<Real, Mem>& m, int n, int w) {
    const auto before = m.data();
    ensure(m, n, w + kBiasPad, "mlp.post");
    if (m.data() == before) return;
    auto z = m;
    for_entries<Exec>("mlff::bias_columns", z.extent(0), kBiasPad,
                      KOKKOS_LAMBDA(const int r, const int j) { z(r, w + j) = j == 0 ? 1 : 0; });
  }

 private:
  std::vector<Mat<Real, Mem>> pre_, post_;
  Mat<Real, Mem> grad_[2];
};

}  // namespace mlff
