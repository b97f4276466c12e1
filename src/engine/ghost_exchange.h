// How ghost atoms get their owners' rows (features between layers; message adjoints in the
// backward pass). LAMMPS supplies an implementation backed by its forward communication;
// standalone use (tests, the eval tool) maps each ghost to the local atom it is an image of,
// and then the engine keeps no ghost rows at all: it reads a ghost's rows at its owner's.
#pragma once

#include <cstdint>
#include <vector>

#include "dense_ops.h"

namespace mlff {

template <class Real, class Mem>
class GhostExchange {
 public:
  virtual ~GhostExchange() = default;
  // Rows [nlocal, nall) of `a` become copies of their owners' rows.
  virtual void forward(const Mat<Real, Mem>& a) = 0;
  // Whether forward() only enqueues device work on Kokkos' default stream (no waiting, no host
  // copies), so that a force call may be recorded as a CUDA graph (call_graph.h); if so, it
  // appends to `key` what fixes that work's arguments.
  virtual bool recordable(std::vector<std::uintptr_t>& key) const {
    (void)key;
    return false;
  }
  // Where every ghost is a periodic image of a local atom (one rank): owner(g) is the local
  // row that ghost row nlocal + g is an image of. The engine then reads ghosts' rows at their
  // owners' and calls no forward(). Empty: ghosts get rows of their own through forward().
  virtual Kokkos::View<const int*, Mem> owners() const { return {}; }
};

// Every ghost g (row nlocal + g) is a periodic image of local atom owner(g).
template <class Exec, class Real>
class OwnerMapExchange : public GhostExchange<Real, typename Exec::memory_space> {
 public:
  using Mem = typename Exec::memory_space;
  OwnerMapExchange(int nlocal, Kokkos::View<const int*, Mem> owner)
      : nlocal_(nlocal), owner_(owner) {}

  void forward(const Mat<Real, Mem>& a) override {
    auto owner = owner_;
    const int nl = nlocal_, w = static_cast<int>(a.extent(1));
    for_entries<Exec>(
        "mlff::ghost_forward", owner.extent(0), w,
        KOKKOS_LAMBDA(const int g, const int c) { a(nl + g, c) = a(owner(g), c); });
  }
  bool recordable(std::vector<std::uintptr_t>& key) const override {
    key.insert(key.end(), {std::uintptr_t(nlocal_), std::uintptr_t(owner_.data()), owner_.extent(0)});
    return true;
  }
  Kokkos::View<const int*, Mem> owners() const override { return owner_; }

 private:
  int nlocal_;
  Kokkos::View<const int*, Mem> owner_;
};

}  // namespace mlff
