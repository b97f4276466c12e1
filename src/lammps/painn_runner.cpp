// PaiNNRunner for the three engine precisions: copies host inputs to the engine's memory space,
// adapts HostComm to the engine's GhostExchange, and copies results back.
#include "painn_runner.h"

#include <algorithm>
#include <stdexcept>
#include <type_traits>

#include "../engine/engine_instances.h"
#include "frame_transfer.h"

namespace mlff {
namespace {

// Host-side buffers of the ghost exchange, kept across calls.
template <class Real>
struct HostStaging {
  Kokkos::View<Real**, Kokkos::LayoutRight, Kokkos::HostSpace> rows;  // engine rows on the host
  std::vector<double> buf;                                            // the same in double
};

// The engine's ghost exchange, routed through host memory to the caller's HostComm. Owners'
// rows are local, so only local rows go to the host and only ghost rows come back; an engine
// that already keeps double rows in host memory hands them to the HostComm as they are.
template <class Real, class Mem>
class HostCommExchange : public GhostExchange<Real, Mem> {
 public:
  HostCommExchange(HostComm& comm, int nlocal, int nall, HostStaging<Real>& staging)
      : comm_(comm), nlocal_(nlocal), nall_(nall), st_(staging) {}

  void forward(const Mat<Real, Mem>& a) override {
    const int w = static_cast<int>(a.extent(1));
    if constexpr (std::is_same_v<Real, double> &&
                  Kokkos::SpaceAccessibility<Kokkos::HostSpace, Mem>::accessible) {
      comm_.forward(a.data(), w);
      return;
    }
    if (st_.rows.extent(0) < size_t(nall_) || st_.rows.extent(1) != size_t(w))
      st_.rows = decltype(st_.rows)(Kokkos::view_alloc(Kokkos::WithoutInitializing, "mlff::staging"),
                                    nall_ + nall_ / 8 + 16, w);
    const auto locals = std::make_pair(0, nlocal_), ghosts = std::make_pair(nlocal_, nall_);
    Kokkos::deep_copy(Kokkos::subview(st_.rows, locals, Kokkos::ALL()), Kokkos::subview(a, locals, Kokkos::ALL()));
    if constexpr (std::is_same_v<Real, double>) {
      comm_.forward(st_.rows.data(), w);
    } else {  // the HostComm speaks double
      const size_t local_end = size_t(nlocal_) * w, end = size_t(nall_) * w;
      st_.buf.resize(end);
      std::copy(st_.rows.data(), st_.rows.data() + local_end, st_.buf.begin());
      comm_.forward(st_.buf.data(), w);
      std::copy(st_.buf.begin() + local_end, st_.buf.begin() + end, st_.rows.data() + local_end);
    }
    Kokkos::deep_copy(Kokkos::subview(a, ghosts, Kokkos::ALL()), Kokkos::subview(st_.rows, ghosts, Kokkos::ALL()));
  }

 private:
  HostComm& comm_;
  int nlocal_, nall_;
  HostStaging<Real>& st_;
};

template <class EngineT>
class Runner : public PaiNNRunner {
  using Mem = typename EngineT::Mem;
  using Real = typename EngineT::M2::value_type;
  using Acc = typename EngineT::AccMat::value_type;

 public:
  Runner(const ModelSpec& spec, int table_points, bool graphs) : engine_(spec, table_points) {
    engine_.use_graphs(graphs);
  }

  void compute(const HostFrame& fr, HostComm& comm, bool want_pair_grad,
               HostResult& out) override {
    const int nl = fr.nlocal, na = fr.nall;
    upload_.send(fr);
    typename EngineT::Input in;
    in.x = upload_.x;
    in.species = upload_.species;
    in.offsets = upload_.offsets;
    in.nbrs = upload_.nbrs;  // exact length: the engine sizes its per-edge arrays from it
    in.nlocal = nl;
    in.nall = na;
    in.want_pair_grad = want_pair_grad;
    in.want_virial = fr.want_virial;
    if (fr.owner_map) {
      OwnerMapExchange<ExecSpace, Real> exch(nl, upload_.owner);
      engine_.compute(in, exch, res_);
    } else {
      HostCommExchange<Real, Mem> exch(comm, nl, na, staging_);
      engine_.compute(in, exch, res_);
    }

    out.energy = res_.energy;
    for (int k = 0; k < 6; ++k) out.virial[k] = res_.virial[k];
    using Flat = typename ResultDownload<Acc, Mem>::Flat;
    std::vector<std::pair<Flat, std::vector<double>*>> arrays = {
        {Flat(res_.eatom.data(), size_t(nl)), &out.eatom}, {Flat(res_.f.data(), size_t(nl) * 3), &out.f}};
    if (want_pair_grad)
      arrays.push_back({Flat(res_.pair_grad.data(), in.nbrs.extent(0) * 3), &out.pair_grad});
    else
      out.pair_grad.clear();
    download_.fetch(arrays);
  }

  size_t estimate_bytes(int nlocal, int nall, bool owner_map) const override {
    return engine_.estimate_bytes(nlocal, nall, !owner_map);
  }
  size_t memory_bytes() const override {
    return engine_.workspace_bytes() + upload_.bytes() + download_.bytes() +
           (res_.eatom.span() + res_.f.span() + res_.pair_grad.span()) * sizeof(Acc) +
           staging_.rows.span() * sizeof(Real) + staging_.buf.capacity() * sizeof(double);
  }

  std::string execution_space() const override { return mlff::describe_device(); }

 private:
  EngineT engine_;
  HostStaging<Real> staging_;
  FrameUpload<Mem> upload_;
  ResultDownload<Acc, Mem> download_;
  typename EngineT::Output res_;
};

}  // namespace

std::unique_ptr<PaiNNRunner> PaiNNRunner::create(const ModelSpec& spec,
                                                 const std::string& precision, int table_points,
                                                 bool graphs) {
  switch (parse_precision(precision)) {
    case Precision::FP64: return std::make_unique<Runner<EngineFP64>>(spec, table_points, graphs);
    case Precision::FP32: return std::make_unique<Runner<EngineFP32>>(spec, table_points, graphs);
    case Precision::Mixed: return std::make_unique<Runner<EngineMixed>>(spec, table_points, graphs);
  }
  throw std::invalid_argument("unknown precision '" + precision + "'");
}

}  // namespace mlff
