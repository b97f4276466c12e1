// Host frame in, results out, for an engine in another memory space (a GPU): every array of a
// call travels through one pinned host buffer as one asynchronous copy on Kokkos' stream, in
// place of one synchronous copy per array (each of which waits for the device: for benzene on
// an H200 those waits were ~65 of a step's 425 us). On host back ends the views alias the host
// arrays' packed copy and nothing else is copied.
#pragma once

#include <Kokkos_Core.hpp>
#include <cstring>
#include <utility>
#include <vector>

#include "painn_runner.h"

namespace mlff {

// Page-locked host memory, which a GPU copies from and to asynchronously (Kokkos 3.4, which
// Debian ships, has no SharedHostPinnedSpace).
#if defined(KOKKOS_ENABLE_CUDA)
using PinnedSpace = Kokkos::CudaHostPinnedSpace;
#else
using PinnedSpace = Kokkos::HostSpace;
#endif

template <class Mem>
class FrameUpload {
 public:
  Kokkos::View<const double**, Kokkos::LayoutRight, Mem> x;  // [nall, 3]
  Kokkos::View<const int*, Mem> species, offsets, owner, nbrs;

  // Packs fr (owner only if fr.owner_map) and starts its copy. The neighbour list goes last:
  // its length changes every MD step, the other arrays' places only when nall or nlocal do,
  // which keeps a recorded force call's addresses (call_graph.h) between list rebuilds.
  void send(const HostFrame& fr) {
    const size_t nl = size_t(fr.nlocal), na = size_t(fr.nall), nnz = size_t(fr.offsets[nl]);
    const size_t ng = fr.owner_map ? na - nl : 0;
    size_t end = 0;
    const size_t ox = place(end, na * 3 * sizeof(double)), os = place(end, na * sizeof(int)),
                 oo = place(end, (nl + 1) * sizeof(int)), ow = place(end, ng * sizeof(int)),
                 on = place(end, nnz * sizeof(int));
    if (host_.extent(0) < end) {
      const size_t n = end + end / 8 + 4096;
      host_ = decltype(host_)(Kokkos::view_alloc(Kokkos::WithoutInitializing, "mlff::upload_host"), n);
      if constexpr (!host_mem) dev_ = decltype(dev_)(Kokkos::view_alloc(Kokkos::WithoutInitializing, "mlff::upload"), n);
    }
    char* h = host_.data();
    auto put = [h](size_t at, const void* src, size_t bytes) {
      if (bytes) std::memcpy(h + at, src, bytes);
    };
    put(ox, fr.x, na * 3 * sizeof(double));
    put(os, fr.species, na * sizeof(int));
    put(oo, fr.offsets, (nl + 1) * sizeof(int));
    put(ow, fr.owner, ng * sizeof(int));
    put(on, fr.nbrs, nnz * sizeof(int));
    char* d = h;
    if constexpr (!host_mem) {
      const auto used = std::make_pair(size_t(0), end);
      Kokkos::deep_copy(typename Mem::execution_space(), Kokkos::subview(dev_, used), Kokkos::subview(host_, used));
      d = dev_.data();
    }
    x = decltype(x)(reinterpret_cast<const double*>(d + ox), na, 3);
    species = decltype(species)(reinterpret_cast<const int*>(d + os), na);
    offsets = decltype(offsets)(reinterpret_cast<const int*>(d + oo), nl + 1);
    owner = decltype(owner)(reinterpret_cast<const int*>(d + ow), ng);
    nbrs = decltype(nbrs)(reinterpret_cast<const int*>(d + on), nnz);
  }

  size_t bytes() const { return host_.span() + (host_mem ? 0 : dev_.span()); }

 private:
  static constexpr bool host_mem = Kokkos::SpaceAccessibility<Kokkos::HostSpace, Mem>::accessible;
  // Each array starts on a 256-byte boundary.
  static size_t place(size_t& end, size_t bytes) {
    const size_t at = (end + 255) / 256 * 256;
    end = at + bytes;
    return at;
  }
  Kokkos::View<char*, PinnedSpace> host_;
  Kokkos::View<char*, Mem> dev_;
};

// Device arrays of results into std::vector<double>: each copied into pinned memory on Kokkos'
// stream, then one wait for all of them.
template <class Acc, class Mem>
class ResultDownload {
 public:
  using Flat = Kokkos::View<const Acc*, Mem>;

  // (source, length, destination) for each array.
  void fetch(const std::vector<std::pair<Flat, std::vector<double>*>>& arrays) {
    size_t total = 0;
    for (const auto& a : arrays) total += a.first.extent(0);
    if (host_.extent(0) < total)
      host_ = decltype(host_)(Kokkos::view_alloc(Kokkos::WithoutInitializing, "mlff::download"),
                              total + total / 8 + 64);
    using Exec = typename Mem::execution_space;
    size_t at = 0;
    for (const auto& a : arrays) {
      const size_t n = a.first.extent(0);
      Kokkos::deep_copy(Exec(), Kokkos::subview(host_, std::make_pair(at, at + n)), a.first);
      at += n;
    }
    Exec().fence();
    at = 0;
    for (const auto& a : arrays) {
      const size_t n = a.first.extent(0);
      a.second->resize(n);
      for (size_t k = 0; k < n; ++k) (*a.second)[k] = static_cast<double>(host_(at + k));
      at += n;
    }
  }

  size_t bytes() const { return host_.span() * sizeof(Acc); }

 private:
  Kokkos::View<Acc*, PinnedSpace> host_;
};

}  // namespace mlff
