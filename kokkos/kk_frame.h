// The engine's frame built on the device from LAMMPS KOKKOS data, without a trip to the host:
// atoms of mapped types in LAMMPS order (so locals stay first), their positions and species,
// and a CSR list of the neighbours of each mapped local atom within the model cutoff (LAMMPS's
// list also holds the skin). The atom map changes only when LAMMPS rebuilds its lists; the
// positions and the edges change every step. Independent of LAMMPS headers: it takes plain
// views.
#pragma once

#include <Kokkos_Core.hpp>
#include <string>
#include <type_traits>
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
  // [nmapped, 3]: LAMMPS's own positions when every atom is mapped, else a copy of the mapped.
  Kokkos::View<const double**, Kokkos::LayoutRight, Mem> x;
  Kokkos::View<int*, Mem> species, offsets, nbrs;      // nbrs has spare capacity: use nnz
  int nlocal = 0, nall = 0, nnz = 0;                   // engine counts (mapped atoms)

  struct Fault {
    int atom = -1;   // LAMMPS index of an atom with a non-finite position
    int pair_i = -1, pair_j = -1;  // LAMMPS indices of two coincident atoms
  };

  // X: positions [nall_lmp][3]; T: types; NUM/NEIGH: the KOKKOS full list (indexed by atom).
  // relisted: LAMMPS rebuilt its lists (and so may have reordered its atoms) since the last
  // call; only then are the atoms mapped again. Every step: positions and the edges within the
  // cutoff, with non-finite positions and coincident atoms reported (two waits for the device:
  // the faults, then the number of edges).
  template <class X, class T, class NUM, class NEIGH>
  Fault build(const X& xl, const T& type, const V1<const int>& type_species, int nlocal_lmp,
              int nall_lmp, const NUM& numneigh, const NEIGH& neighbors, double cutoff,
              bool relisted) {
    if (relisted || nlocal_lmp != nlocal_lmp_ || nall_lmp != nall_lmp_)
      map_atoms(type, type_species, nlocal_lmp, nall_lmp);
    take_positions(xl);
    return edges(xl, numneigh, neighbors, cutoff);
  }

  // The next build maps the atoms again (the type -> species map changed).
  void forget_map() { nlocal_lmp_ = nall_lmp_ = -1; }

  // Every LAMMPS atom is of a mapped type: engine row = LAMMPS index.
  bool all_mapped() const { return nall == nall_lmp_; }

  // Engine rows by an exclusive scan over "is mapped"; the count at nlocal gives the locals.
  template <class T>
  void map_atoms(const T& type, const V1<const int>& type_species, int nlocal_lmp, int nall_lmp) {
    nlocal_lmp_ = nlocal_lmp;
    nall_lmp_ = nall_lmp;
    resize(engine_of, nall_lmp, "mlff::kk::engine_of");
    auto eof = engine_of;
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
    auto lof = lammps_of;
    auto sp = species;
    Kokkos::parallel_for(
        "mlff::kk::species", Kokkos::RangePolicy<Exec>(0, nall_lmp), KOKKOS_LAMBDA(const int a) {
          const int e = eof(a);
          if (e < 0) return;
          lof(e) = a;
          sp(e) = type_species(type(a));
        });
  }

  // Engine positions: LAMMPS's array itself when every atom is mapped (engine row = LAMMPS
  // index), else the mapped atoms' rows copied.
  template <class X>
  void take_positions(const X& xl) {
    using Value = typename X::non_const_value_type;
    if constexpr (std::is_same_v<Value, double> &&
                  std::is_same_v<typename X::array_layout, Kokkos::LayoutRight>) {
      if (all_mapped()) {
        x = Kokkos::View<const double**, Kokkos::LayoutRight, Mem, Kokkos::MemoryUnmanaged>(xl.data(), nall, 3);
        return;
      }
    }
    if (static_cast<int>(xbuf_.extent(0)) != nall)
      xbuf_ = Kokkos::View<double**, Kokkos::LayoutRight, Mem>(
          Kokkos::view_alloc(Kokkos::WithoutInitializing, std::string("mlff::kk::x")), nall, 3);
    auto xe = xbuf_;
    auto lof = lammps_of;
    Kokkos::parallel_for(
        "mlff::kk::positions", Kokkos::RangePolicy<Exec>(0, nall), KOKKOS_LAMBDA(const int e) {
          for (int k = 0; k < 3; k++) xe(e, k) = xl(lof(e), k);
        });
    x = xbuf_;
  }

  // The CSR list of neighbours within the cutoff. One pass over LAMMPS's list (which also
  // holds the skin) tests each pair and keeps the result as one bit per list entry; a second
  // pass writes the kept neighbours from those bits, without loading positions again.
  template <class X, class NUM, class NEIGH>
  Fault edges(const X& xl, const NUM& numneigh, const NEIGH& neighbors, double cutoff) {
    Fault fault;
    resize(offsets, nlocal + 1, "mlff::kk::offsets");
    const int words = (static_cast<int>(neighbors.extent(1)) + 31) / 32, nl = nlocal;
    if (bits_.extent(0) < size_t(words) * nl)
      bits_ = Kokkos::View<unsigned*, Mem>(Kokkos::view_alloc(Kokkos::WithoutInitializing, std::string("mlff::kk::bits")),
                                           size_t(words) * nl);
    auto off = offsets;
    auto bits = bits_;
    auto lof = lammps_of;
    auto eof = engine_of;
    const double rcsq = cutoff * cutoff;
    const bool all = all_mapped();
    // The worst fault as one number: a local atom's non-finite position above a neighbour's,
    // above two coincident atoms (i * nall + j); -1 for none.
    const long long na = nall_lmp_, local_fault = na * na + na, ghost_fault = na * na;
    long long worst = -1;
    Kokkos::parallel_reduce(
        "mlff::kk::count_edges", Kokkos::RangePolicy<Exec>(0, nl),
        KOKKOS_LAMBDA(const int e, long long& bad) {
          const int i = lof(e);
          int n = numneigh(i);
          if (e == 0) off(0) = 0;
          const double xi = xl(i, 0), yi = xl(i, 1), zi = xl(i, 2);
          if (!finite(xi) || !finite(yi) || !finite(zi)) {
            if (local_fault + i > bad) bad = local_fault + i;
            n = 0;
          }
          int count = 0;
          for (int w0 = 0; w0 < n; w0 += 32) {
            unsigned word = 0;
            const int end = n - w0 < 32 ? n : w0 + 32;
            for (int jj = w0; jj < end; jj++) {
              const int j = neighbors(i, jj) & kNeighMask;
              if (!all && eof(j) < 0) continue;
              const double dx = xl(j, 0) - xi, dy = xl(j, 1) - yi, dz = xl(j, 2) - zi;
              const double rsq = dx * dx + dy * dy + dz * dz;
              if (!finite(rsq)) {  // i is finite: j is not
                if (ghost_fault + j > bad) bad = ghost_fault + j;
                continue;
              }
              if (rsq > rcsq) continue;
              if (rsq < 1e-12 && static_cast<long long>(i) * na + j > bad) bad = static_cast<long long>(i) * na + j;
              word |= 1u << (jj - w0);
              count++;
            }
            bits((w0 / 32) * nl + e) = word;
          }
          off(e + 1) = count;
        },
        Kokkos::Max<long long>(worst));
    if (worst >= ghost_fault) {
      fault.atom = static_cast<int>(worst >= local_fault ? worst - local_fault : worst - ghost_fault);
      return fault;
    }
    if (worst >= 0) {
      fault.pair_i = static_cast<int>(worst / na);
      fault.pair_j = static_cast<int>(worst % na);
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
          const int i = lof(e), n = numneigh(i);
          int k = off(e);
          for (int w0 = 0; w0 < n && k < off(e + 1); w0 += 32) {
            unsigned word = bits((w0 / 32) * nl + e);
            while (word != 0) {
              const int jj = w0 + lowest_bit(word);
              word &= word - 1;
              const int j = neighbors(i, jj) & kNeighMask;
              nb(k++) = all ? j : eof(j);
            }
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
                          image_.extent(0) + bits_.extent(0)) +
           sizeof(double) * xbuf_.span();
  }

 private:
  // LAMMPS keeps special-bond bits in the top two bits of a neighbour index (NEIGHMASK).
  static constexpr int kNeighMask = 0x1FFFFFFF;
  Kokkos::View<int*, Mem> image_;  // build_owner's LAMMPS ghost -> LAMMPS local atom
  Kokkos::View<double**, Kokkos::LayoutRight, Mem> xbuf_;  // positions when some atoms are not mapped
  Kokkos::View<unsigned*, Mem> bits_;  // [words][nlocal]: LAMMPS list entries within the cutoff
  int nlocal_lmp_ = -1, nall_lmp_ = -1;  // LAMMPS counts when the atoms were last mapped

  KOKKOS_INLINE_FUNCTION static bool finite(double v) { return v - v == 0.0; }  // false for NaN, Inf
  KOKKOS_INLINE_FUNCTION static int lowest_bit(unsigned word) {
#if defined(__CUDA_ARCH__) || defined(__HIP_DEVICE_COMPILE__)
    return __ffs(word) - 1;
#else
    return __builtin_ctz(word);
#endif
  }

  static void resize(Kokkos::View<int*, Mem>& v, int n, const char* label) {
    if (static_cast<int>(v.extent(0)) != n)
      v = Kokkos::View<int*, Mem>(Kokkos::view_alloc(Kokkos::WithoutInitializing, std::string(label)), n);
  }
};

}  // namespace mlff
