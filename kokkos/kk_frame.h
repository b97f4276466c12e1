// The engine's frame built on the device from LAMMPS KOKKOS data, without a trip to the host:
// atoms of mapped types in LAMMPS order (so locals stay first), their positions and species,
// and a CSR list of the neighbours of each mapped local atom within the model cutoff (LAMMPS's
// list also holds the skin). Independent of LAMMPS headers: it takes plain views.
#pragma once

#include <Kokkos_Core.hpp>
#include <string>
#include <vector>

namespace mlff {

template <class Exec>
class KkFrame {
 public:
  using Mem = typename Exec::memory_space;
  template <class T>
  using V1 = Kokkos::View<T*, Mem>;

  Kokkos::View<int*, Mem> engine_of;  // [nall] LAMMPS atom -> engine row, -1 for NULL types
  Kokkos::View<int*, Mem> lammps_of;  // [nmapped] engine row -> LAMMPS atom
  Kokkos::View<double**, Kokkos::LayoutRight, Mem> x;  // [nmapped, 3]
  Kokkos::View<int*, Mem> species, offsets, nbrs;      // nbrs has spare capacity: use nnz
  int nlocal = 0, nall = 0, nnz = 0;                   // engine counts (mapped atoms)

  struct Fault {
    int atom = -1;   // LAMMPS index of an atom with a non-finite position
    int pair_i = -1, pair_j = -1;  // LAMMPS indices of two coincident atoms
  };

  // X: positions [nall_lmp][3]; T: types; NUM/NEIGH: the KOKKOS full list (indexed by atom).
  template <class X, class T, class NUM, class NEIGH>
  Fault build(const X& xl, const T& type, const V1<const int>& type_species, int nlocal_lmp,
              int nall_lmp, const NUM& numneigh, const NEIGH& neighbors, double cutoff) {
    Fault fault;
    resize(engine_of, nall_lmp, "mlff::kk::engine_of");
    auto eof = engine_of;
    // Engine rows by an exclusive scan over "is mapped"; the count at nlocal gives the locals.
    int n_mapped = 0;
    Kokkos::parallel_scan(
        "mlff::kk::map", Kokkos::RangePolicy<Exec>(0, nall_lmp),
        KOKKOS_LAMBDA(const int a, int& acc, const bool final) {
          const bool mapped = type_species(type(a)) >= 0;
          if (final) eof(a) = mapped ? acc : -1;
          acc += mapped ? 1 : 0;
        },
        n_mapped);
    int n_local = 0;
    Kokkos::parallel_reduce(
        "mlff::kk::count_local", Kokkos::RangePolicy<Exec>(0, nlocal_lmp),
        KOKKOS_LAMBDA(const int a, int& acc) { acc += eof(a) >= 0 ? 1 : 0; }, n_local);
    nall = n_mapped;
    nlocal = n_local;

    resize(lammps_of, nall, "mlff::kk::lammps_of");
    resize(species, nall, "mlff::kk::species");
    if (static_cast<int>(x.extent(0)) != nall)
      x = Kokkos::View<double**, Kokkos::LayoutRight, Mem>(
          Kokkos::view_alloc(Kokkos::WithoutInitializing, std::string("mlff::kk::x")), nall, 3);
    auto lof = lammps_of;
    auto sp = species;
    auto xe = x;
    int bad_atom = nall_lmp;
    Kokkos::parallel_reduce(
        "mlff::kk::gather", Kokkos::RangePolicy<Exec>(0, nall_lmp),
        KOKKOS_LAMBDA(const int a, int& first_bad) {
          const int e = eof(a);
          if (e < 0) return;
          lof(e) = a;
          sp(e) = type_species(type(a));
          bool finite = true;
          for (int k = 0; k < 3; k++) {
            const double v = xl(a, k);
            xe(e, k) = v;
            finite = finite && (v - v == 0.0);  // false for NaN and Inf
          }
          if (!finite && a < first_bad) first_bad = a;
        },
        Kokkos::Min<int>(bad_atom));
    if (bad_atom < nall_lmp) {
      fault.atom = bad_atom;
      return fault;
    }

    // Neighbours within the cutoff, counted then written (CSR).
    resize(offsets, nlocal + 1, "mlff::kk::offsets");
    auto off = offsets;
    const double rcsq = cutoff * cutoff;
    const int nl = nlocal;
    long long bad_pair = -1;  // i * nall_lmp + j of a coincident pair, the largest found
    Kokkos::parallel_reduce(
        "mlff::kk::count_edges", Kokkos::RangePolicy<Exec>(0, nl),
        KOKKOS_LAMBDA(const int e, long long& bad) {
          const int i = lof(e);
          int count = 0;
          for (int jj = 0; jj < numneigh(i); jj++) {
            const int j = neighbors(i, jj) & kNeighMask;
            if (eof(j) < 0) continue;
            const double dx = xl(j, 0) - xl(i, 0), dy = xl(j, 1) - xl(i, 1), dz = xl(j, 2) - xl(i, 2);
            const double rsq = dx * dx + dy * dy + dz * dz;
            if (rsq > rcsq) continue;
            if (rsq < 1e-12) {
              const long long code = static_cast<long long>(i) * nall_lmp + j;
              if (code > bad) bad = code;
            }
            count++;
          }
          off(e + 1) = count;
          if (e == 0) off(0) = 0;
        },
        Kokkos::Max<long long>(bad_pair));
    if (bad_pair >= 0) {
      fault.pair_i = static_cast<int>(bad_pair / nall_lmp);
      fault.pair_j = static_cast<int>(bad_pair % nall_lmp);
      return fault;
    }
    if (nl == 0) Kokkos::deep_copy(offsets, 0);
    int total = 0;
    Kokkos::parallel_scan(
        "mlff::kk::offsets", Kokkos::RangePolicy<Exec>(1, nl + 1),
        KOKKOS_LAMBDA(const int e, int& acc, const bool final) {
          acc += off(e);
          if (final) off(e) = acc;
        },
        total);
    nnz = total;
    if (static_cast<int>(nbrs.extent(0)) < nnz)  // grow with slack: nnz changes every step
      nbrs = Kokkos::View<int*, Mem>(Kokkos::view_alloc(Kokkos::WithoutInitializing, std::string("mlff::kk::nbrs")),
                                     nnz + nnz / 8 + 64);
    auto nb = nbrs;
    Kokkos::parallel_for(
        "mlff::kk::fill_edges", Kokkos::RangePolicy<Exec>(0, nl), KOKKOS_LAMBDA(const int e) {
          const int i = lof(e);
          int k = off(e);
          for (int jj = 0; jj < numneigh(i); jj++) {
            const int j = neighbors(i, jj) & kNeighMask;
            const int ej = eof(j);
            if (ej < 0) continue;
            const double dx = xl(j, 0) - xl(i, 0), dy = xl(j, 1) - xl(i, 1), dz = xl(j, 2) - xl(i, 2);
            if (dx * dx + dy * dy + dz * dz > rcsq) continue;
            nb(k++) = ej;
          }
        });
    return fault;
  }

  // On one MPI rank every ghost is a periodic image of a local atom, so ghost rows can be
  // filled on the device from their owners' (owner[g] = engine row of the local atom that
  // engine ghost row nlocal + g is an image of) instead of through LAMMPS's communication.
  // image[a - nlocal_lmp] is the LAMMPS local atom that LAMMPS ghost a is an image of (the
  // caller matches atom IDs on the host). Needs the rows of the last build(); ghosts change
  // only when LAMMPS rebuilds its lists. Returns false (and leaves no map) if some engine
  // ghost's image is not an engine atom.
  bool build_owner(const std::vector<int>& image, int nlocal_lmp) {
    auto lof = lammps_of;
    auto eof = engine_of;
    const int nl = nlocal, ng = nall - nlocal;
    resize(image_, static_cast<int>(image.size()), "mlff::kk::image");
    Kokkos::deep_copy(image_, Kokkos::View<const int*, Kokkos::HostSpace, Kokkos::MemoryUnmanaged>(
                                  image.data(), image.size()));
    auto img = image_;
    resize(owner, ng, "mlff::kk::owner");
    auto own = owner;
    int orphans = 0;
    Kokkos::parallel_reduce(
        "mlff::kk::owner", Kokkos::RangePolicy<Exec>(0, ng),
        KOKKOS_LAMBDA(const int g, int& bad) {
          const int a = lof(nl + g) - nlocal_lmp;  // a LAMMPS ghost: locals come first
          own(g) = a >= 0 && a < int(img.extent(0)) ? eof(img(a)) : -1;
          if (own(g) < 0) bad++;
        },
        orphans);
    if (orphans > 0) owner = Kokkos::View<int*, Mem>();
    return orphans == 0;
  }
  Kokkos::View<int*, Mem> owner;  // [nall - nlocal], see build_owner

  // The engine's input for this frame.
  template <class EngineT>
  typename EngineT::Input input(bool want_pair_grad) const {
    typename EngineT::Input in;
    in.x = x;
    in.species = species;
    in.offsets = offsets;
    in.nbrs = Kokkos::subview(nbrs, Kokkos::make_pair(0, nnz));  // the same data while nnz varies
    in.nlocal = nlocal;
    in.nall = nall;
    in.want_pair_grad = want_pair_grad;
    return in;
  }

  size_t bytes() const {
    return sizeof(int) * (engine_of.extent(0) + lammps_of.extent(0) + species.extent(0) +
                          offsets.extent(0) + nbrs.extent(0) + owner.extent(0) +
                          image_.extent(0)) +
           sizeof(double) * x.span();
  }

 private:
  // LAMMPS keeps special-bond bits in the top two bits of a neighbour index (NEIGHMASK).
  static constexpr int kNeighMask = 0x1FFFFFFF;
  Kokkos::View<int*, Mem> image_;  // build_owner's LAMMPS ghost -> LAMMPS local atom

  static void resize(Kokkos::View<int*, Mem>& v, int n, const char* label) {
    if (static_cast<int>(v.extent(0)) != n)
      v = Kokkos::View<int*, Mem>(Kokkos::view_alloc(Kokkos::WithoutInitializing, std::string(label)), n);
  }
};

}  // namespace mlff
