// PaiNN energy and forces with the analytical backward pass, on any Kokkos execution space.
//   Real: arithmetic type of features and weights (double or float).
//   Acc:  accumulation type of energies, forces and pair gradients (double for "mixed").
//
// Memory: per layer the engine keeps each atom's layer input (s, v) and post-message features
// (needed by the backward pass): 8F numbers per atom per layer (the first layer: 5F, as its v
// is zero and its neighbours' context comes by species), plus workspaces of a few F per
// atom, shared by the layers from kKeepMaxAtoms atoms on (the backward pass recomputes the
// dense layers' intermediates) and one set per layer below. Ghost atoms add rows only where
// they cannot read their owners' (several ranks). Nothing of size edges x features is
// stored; filters are recomputed per edge.
//
// Ghosts: their features, and in the backward pass their message adjoints, are their owners'.
// On one rank (GhostExchange::owners) the edge kernels read them at the owners' rows and the
// engine keeps no ghost rows; otherwise ghost rows are filled through GhostExchange::forward.
// Forces are computed for local atoms only (see edge_kernels.h), so nothing flows back from
// ghosts.
#pragma once

#include <string>
#include <vector>

#include "call_graph.h"
#include "edge_kernels.h"
#include "ghost_exchange.h"
#include "update_ops.h"

namespace mlff {

// Edge kernels' policy. In fp32 the kernels are held to 64 registers per thread (at most 128
// threads, at least 8 teams per multiprocessor): the occupancy gained outweighs a few spills
// (98k water atoms: -4 %, seed architecture -11 %); in fp64 the spills would double the time.
// The resident filter needs its 3K weights in registers and is never held.
// Launch: Light when the call is being recorded as a CUDA graph (call_graph.h), else Kokkos'
// default for these large functors (constant memory), with which the resident filter's
// forward keeps to 96 registers instead of 125 (4 % of an fp32 call at 98k atoms; held to
// 96 light-weight, it spills and loses 8 %).
template <class Exec, class Tag, class Real, class Acc, class Launch>
using EdgePolicy = std::conditional_t<
    std::is_same_v<Real, float> && std::is_same_v<Acc, float> && !is_resident<filter_of<Tag>>,
    Kokkos::TeamPolicy<Exec, Tag, Launch, Kokkos::LaunchBounds<128, 8>>,
    Kokkos::TeamPolicy<Exec, Tag, Launch>>;
using Heavy = Kokkos::Experimental::WorkItemProperty::None_t;

// Calls of this many local atoms or more are not recorded as CUDA graphs: launching is then a
// small part of the call (98k water atoms, H200: replays 1 % faster with the table, 3 % slower
// with the resident filter, whose light-weight launch needs more registers; 10k atoms: 12 %
// faster).
constexpr int kGraphMaxAtoms = 50000;

// Calls of fewer local atoms keep each layer's context MLP and update block intermediates from
// the forward pass for the backward pass instead of computing them again: 30 fewer kernels of
// a three-layer painn call (H200: benzene -23 %, 10k water atoms -12 %), for (L - 1) x ~2 700
// more numbers per atom at F = 64. Larger calls recompute, since there memory per atom limits
// the system size (98k water atoms, fp32: kept would be 9 % faster, but 41 KB per atom
// instead of 23).
constexpr int kKeepMaxAtoms = 50000;

// The basis size whose painn filter runs resident (ResidentFilter): schnetpack's default
// n_rbf = 20, that of the shipped models. Other sizes run the generic ExactFilter kernel.
constexpr int kResidentK = 20;

template <class Exec, class Real, class Acc>
class Engine {
 public:
  using Mem = typename Exec::memory_space;
  using M2 = Mat<Real, Mem>;
  using AccMat = Kokkos::View<Acc**, Kokkos::LayoutRight, Mem>;

  struct Input {
    Kokkos::View<const double**, Kokkos::LayoutRight, Mem> x;  // [nall, 3], locals first
    Kokkos::View<const int*, Mem> species;  // [nall], index into the model's species table
    Kokkos::View<const int*, Mem> offsets;  // [nlocal + 1], CSR row starts
    Kokkos::View<const int*, Mem> nbrs;     // neighbours j (0 <= j < nall) of each local atom
    int nlocal = 0;
    int nall = 0;
    bool want_pair_grad = false;  // fill Output::pair_grad (per-atom virial needs it)
    // Fill Output::virial. An MD step without a pressure (LAMMPS: vflag 0, most steps) need
    // not: each edge's virial terms are then skipped, and Output::virial is zero.
    bool want_virial = true;
  };

  struct Output {
    double energy = 0;
    double virial[6] = {0, 0, 0, 0, 0, 0};  // xx yy zz xy xz yz, sum over pairs of -r_ij (x) dE/dr_ij
    Kokkos::View<Acc*, Mem> eatom;          // [nlocal]
    AccMat f;                               // [nlocal, 3]
    AccMat pair_grad;                       // [>= nnz, 3], dE/dr_ij per neighbour-list entry, on request
  };

  // table_points > 0: tabulated radial filters with that many intervals (filter_table.h).
  explicit Engine(const ModelSpec& spec, int table_points = 0)
      : spec_(spec),
        m_(spec, table_points),
        update_(m_.L, UpdateBlock<Exec, Real, Mem>(m_)),
        ctx_mlp_(m_.L) {}

  const ModelSpec& spec() const { return spec_; }
  double cutoff() const { return spec_.cutoff; }

  // Evaluates energy and forces; `exch` fills ghost features between layers.
  void compute(const Input& in, GhostExchange<Real, Mem>& exch, Output& out);

  // Whether calls whose exchange allows it, of fewer than kGraphMaxAtoms local atoms, are
  // recorded as a CUDA graph and replayed (a call that repeats the previous one's sizes and
  // arrays: call_graph.h). Off by default.
  void use_graphs(bool on) { graphs_ = on; }
  long graph_replays() const { return graph_.replays(); }

  // Calls of fewer than `atoms` local atoms keep forward intermediates for the backward pass
  // (kKeepMaxAtoms by default; 0: always recompute).
  void keep_below(int atoms) { keep_below_ = atoms; }

  // Bytes held by the engine's per-atom arrays and workspaces after the last compute.
  size_t workspace_bytes() const;
  // What workspace_bytes() will be for nlocal local and nall atoms in all, before any compute:
  // named in the error when a device runs out of memory (a unit test keeps it within 10 %).
  // ghost_rows: the exchange has no owner map (GhostExchange::owners), so ghosts keep rows.
  size_t estimate_bytes(int nlocal, int nall, bool ghost_rows) const;

  // Public only because CUDA forbids device lambdas inside private member functions.
  void embed(const Input& in);
  template <int FC>
  EdgeCommon<Exec, Real, Mem, FC> edge_setup(int l, const Input& in, const M2& C,
                                             const Kokkos::View<const int*, Mem>& owner) const;
  void readout(const Input& in, Output& out);
  void sum_totals(int nlocal, const Output& out, bool virial);
  void evaluate(const Input& in, GhostExchange<Real, Mem>& exch, Output& out);

 private:
  ModelSpec spec_;
  DeviceModel<Real, Mem> m_;
  // Per layer when a call keeps its forward intermediates (kKeepMaxAtoms), else [0] for all.
  std::vector<UpdateBlock<Exec, Real, Mem>> update_;
  std::vector<MlpRunner<Exec, Real, Mem>> ctx_mlp_;
  MlpRunner<Exec, Real, Mem> readout_mlp_;
  // Per layer: inputs (local atoms, and ghosts unless they read their owners' rows; the first
  // layer: s of local atoms, no v), post-message (local).
  std::vector<M2> S_, V_, Sm_, Vm_;
  M2 Sfin_, Sbo_, Vbo_, Sbi_, Vbi_, Smb_, Vmb_, Cbar_, Ybar_;
  AccMat vir_;  // [nlocal, 6] per-atom virial of receiver edges, summed over layers
  // Energy and virial totals (sum_totals), read back once at the end of a call.
  Kokkos::View<double[7], Mem> totals_{"mlff::totals"};
  Kokkos::View<double**, Kokkos::LayoutRight, Mem> parts_;  // [7, parts] of large calls' sums
  bool graphs_ = false;
  int keep_below_ = kKeepMaxAtoms;
  CallGraph graph_;

  // Calls fn(std::integral_constant<int, FC>) with the edge kernels' width FC (edge_kernels.h):
  // kFixedWidth when the model has that many features, else 0.
  template <class Fn>
  void with_width(Fn&& fn) const {
    if (m_.F == kFixedWidth)
      fn(std::integral_constant<int, kFixedWidth>());
    else
      fn(std::integral_constant<int, 0>());
  }
  // Runs an edge kernel (MessageForward / MessageBackward) on the filter kind of the model;
  // `first`: the first layer's kernel, in which every v is zero (FirstLayer).
  template <class Functor>
  void launch_edges(const char* name, int nlocal, const Functor& f, size_t scratch, bool first) const;
  // Whether the exact filter runs resident: painn with kResidentK basis functions.
  bool resident() const {
    return m_.table_points == 0 && m_.family == Family::PaiNN && m_.basis.size == kResidentK;
  }
  template <class Tag, class Functor>
  void launch_edges_with(const char* name, int nlocal, const Functor& f, size_t scratch) const;
  template <class Tag, class Launch, class Functor>
  EdgePolicy<Exec, Tag, Real, Acc, Launch> edge_policy(int nlocal, const Functor& f, size_t scratch) const;
};

}  // namespace mlff

#include "engine_impl.h"
