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

template <class EngineT>
Result evaluate(EngineT& engine, const System& sys, double skin = 0.0) {
  using Mem = typename EngineT::Mem;
  using Acc = typename EngineT::AccMat::value_type;
  using Real = typename EngineT::M2::value_type;
  const NeighborData nd = build_neighbors(sys, engine.cutoff() + skin);
  const int nl = nd.nlocal, na = static_cast<int>(nd.x.size());

  Kokkos::View<double**, Kokkos::LayoutRight, Mem> x("x", na, 3);
  Kokkos::View<int*, Mem> sp("species", na), off("offsets", nl + 1), nb("nbrs", nd.nbrs.size()),
      owner("owner", nd.owner.size());
  auto hx = Kokkos::create_mirror_view(x);
  auto hs = Kokkos::create_mirror_view(sp);
  auto ho = Kokkos::create_mirror_view(off);
  auto hn = Kokkos::create_mirror_view(nb);
  auto hw = Kokkos::create_mirror_view(owner);
  for (int a = 0; a < na; ++a) {
    for (int k = 0; k < 3; ++k) hx(a, k) = nd.x[a][k];
    hs(a) = nd.species[a];
  }
  for (int i = 0; i <= nl; ++i) ho(i) = nd.offsets[i];
  for (size_t k = 0; k < nd.nbrs.size(); ++k) hn(k) = nd.nbrs[k];
  for (size_t g = 0; g < nd.owner.size(); ++g) hw(g) = nd.owner[g];
  Kokkos::deep_copy(x, hx);
  Kokkos::deep_copy(sp, hs);
  Kokkos::deep_copy(off, ho);
  Kokkos::deep_copy(nb, hn);
  Kokkos::deep_copy(owner, hw);

  typename EngineT::Input in;
  in.x = x;
  in.species = sp;
  in.offsets = off;
  in.nbrs = nb;
  in.nlocal = nl;
  in.nall = na;
  typename EngineT::Output out;
  OwnerMapExchange<ExecSpace, Real> exch(nl, owner);
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
