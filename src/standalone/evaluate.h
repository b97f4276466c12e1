// Runs an engine on a System on the host side of the API: builds ghosts and neighbours and
// copies them to the engine's memory space.
#pragma once

#include <array>
#include <vector>

#include "../engine/engine_instances.h"
#include "system.h"

namespace mlff {

struct Result {
  double energy = 0;
  std::vector<double> eatom;
  std::vector<std::array<double, 3>> forces;  // local atoms
  std::array<double, 6> virial{};
  size_t workspace_bytes = 0;
  size_t pairs = 0;
};

// Ghosts and neighbours of a System (build_neighbors) in an engine's memory space, with the
// owner map that fills ghost rows there.
template <class Mem>
struct DeviceFrame {
  Kokkos::View<double**, Kokkos::LayoutRight, Mem> x;
  Kokkos::View<int*, Mem> species, offsets, nbrs, owner;
  int nlocal = 0, nall = 0;

  explicit DeviceFrame(const NeighborData& nd)
      : x("x", nd.x.size(), 3), species("species", nd.x.size()), offsets("offsets", nd.nlocal + 1),
        nbrs("nbrs", nd.nbrs.size()), owner("owner", nd.owner.size()), nlocal(nd.nlocal),
        nall(static_cast<int>(nd.x.size())) {
    auto hx = Kokkos::create_mirror_view(x);
    for (int a = 0; a < nall; ++a)
      for (int k = 0; k < 3; ++k) hx(a, k) = nd.x[a][k];
    Kokkos::deep_copy(x, hx);
    using HostInts = Kokkos::View<const int*, Kokkos::HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>>;
    Kokkos::deep_copy(species, HostInts(nd.species.data(), nd.species.size()));
    Kokkos::deep_copy(offsets, HostInts(nd.offsets.data(), nd.offsets.size()));
    Kokkos::deep_copy(nbrs, HostInts(nd.nbrs.data(), nd.nbrs.size()));
    Kokkos::deep_copy(owner, HostInts(nd.owner.data(), nd.owner.size()));
  }

  template <class EngineT>
  typename EngineT::Input input() const {
    typename EngineT::Input in;
    in.x = x;
    in.species = species;
    in.offsets = offsets;
    in.nbrs = nbrs;
    in.nlocal = nlocal;
    in.nall = nall;
    return in;
  }
};

template <class EngineT>
Result evaluate(EngineT& engine, const System& sys, double skin = 0.0) {
  using Mem = typename EngineT::Mem;
  using Real = typename EngineT::M2::value_type;
  const NeighborData nd = build_neighbors(sys, engine.cutoff() + skin);
  const int nl = nd.nlocal;
  const DeviceFrame<Mem> frame(nd);
  const typename EngineT::Input in = frame.template input<EngineT>();
  typename EngineT::Output out;
  OwnerMapExchange<ExecSpace, Real> exch(nl, frame.owner);
  engine.compute(in, exch, out);

  Result r;
  r.energy = out.energy;
  for (int k = 0; k < 6; ++k) r.virial[k] = out.virial[k];
  auto he = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), out.eatom);
  auto hf = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), out.f);
  r.eatom.assign(nl, 0.0);
  r.forces.assign(nl, {0, 0, 0});
  for (int i = 0; i < nl; ++i) r.eatom[i] = static_cast<double>(he(i));
  for (int i = 0; i < nl; ++i)
    for (int k = 0; k < 3; ++k) r.forces[i][k] = static_cast<double>(hf(i, k));
  r.workspace_bytes = engine.workspace_bytes();
  r.pairs = nd.nbrs.size();
  return r;
}

}  // namespace mlff
