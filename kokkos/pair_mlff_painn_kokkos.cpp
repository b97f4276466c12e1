/* ----------------------------------------------------------------------
   pair_style mlff/painn/kk (see src/lammps/pair_mlff_painn.rst for the user documentation)
------------------------------------------------------------------------- */

#include "pair_mlff_painn_kokkos.h"

#include <cmath>
#include <algorithm>
#include <cstring>
#include <string>
#include <type_traits>

#include "atom_kokkos.h"
#include "atom_masks.h"
#include "comm.h"
#include "engine_errors.h"
#include "error.h"
#include "force.h"
#include "kk_compat.h"
#include "kk_frame.h"
#include "kokkos.h"
#include "lammps_compat.h"
#include "memory_kokkos.h"
#include "neigh_list_kokkos.h"
#include "neighbor.h"
#include "update.h"

#include "../src/engine/engine_instances.h"
#include "../src/weights/model_spec.h"

using namespace LAMMPS_NS;

namespace mlff {
namespace kk_detail {

using Exec = ExecSpace;
using Mem = Exec::memory_space;

// Rows of `rows` (engine order), columns [col0, col0 + ncol), of the atoms `send` lists.
template <class Real, class Send, class Buf>
void pack(int n, const Send& send, const Kokkos::View<int*, Mem>& engine_of,
          const Mat<Real, Mem>& rows, int col0, int ncol, const Buf& buf) {
  Kokkos::parallel_for(
      "mlff::kk::pack", Kokkos::RangePolicy<Exec>(0, size_t(n) * ncol), KOKKOS_LAMBDA(const size_t idx) {
        const int i = idx / ncol, c = idx % ncol;
        const int e = engine_of(send(i));
        buf(idx) = e >= 0 ? static_cast<double>(rows(e, col0 + c)) : 0.0;
      });
}

template <class Real, class Buf>
void unpack(int n, int first, const Kokkos::View<int*, Mem>& engine_of, const Mat<Real, Mem>& rows,
            int col0, int ncol, const Buf& buf) {
  Kokkos::parallel_for(
      "mlff::kk::unpack", Kokkos::RangePolicy<Exec>(0, size_t(n) * ncol), KOKKOS_LAMBDA(const size_t idx) {
        const int i = idx / ncol, c = idx % ncol;
        const int e = engine_of(first + i);
        if (e >= 0) rows(e, col0 + c) = static_cast<Real>(buf(idx));
      });
}

// Engine results into LAMMPS's device arrays: forces and per-atom energies of local atoms.
template <class Out, class F, class EA>
void scatter_results(int nlocal, const Kokkos::View<int*, Mem>& lammps_of, const Out& out, const F& f,
                     const EA& eatom, bool want_eatom) {
  auto of = out.f;
  auto oe = out.eatom;
  Kokkos::parallel_for(
      "mlff::kk::scatter", Kokkos::RangePolicy<Exec>(0, nlocal), KOKKOS_LAMBDA(const int e) {
        const int a = lammps_of(e);
        for (int k = 0; k < 3; k++) f(a, k) += static_cast<double>(of(e, k));
        if (want_eatom) eatom(a) += static_cast<double>(oe(e));
      });
}

// Per-atom virial from dE/dr_ij: with newton_pair on, half of each edge to i and half to j (as
// mlff/painn does; a ghost j's share reaches its owner by reverse communication); with newton
// off there is no such communication, so the whole edge goes to the local receiver i.
template <class G, class VA>
void tally_virial(int nlocal, const KkFrame<Exec>& fr, const G& grad, const VA& vatom, bool newton) {
  auto lof = fr.lammps_of;
  auto off = fr.offsets;
  auto nb = fr.nbrs;
  auto x = fr.x;
  const double wi = newton ? 0.5 : 1.0;
  Kokkos::parallel_for(
      "mlff::kk::vatom", Kokkos::RangePolicy<Exec>(0, nlocal), KOKKOS_LAMBDA(const int e) {
        const int i = lof(e);
        for (int k = off(e); k < off(e + 1); k++) {
          const int ej = nb(k);
          const double r0 = x(ej, 0) - x(e, 0), r1 = x(ej, 1) - x(e, 1), r2 = x(ej, 2) - x(e, 2);
          const double g0 = grad(k, 0), g1 = grad(k, 1), g2 = grad(k, 2);
          const double v[6] = {-r0 * g0, -r1 * g1, -r2 * g2, -r0 * g1, -r0 * g2, -r1 * g2};
          for (int c = 0; c < 6; c++) {
            Kokkos::atomic_add(&vatom(i, c), wi * v[c]);
            if (newton) Kokkos::atomic_add(&vatom(lof(ej), c), 0.5 * v[c]);
          }
        }
      });
}

}  // namespace kk_detail
}  // namespace mlff

/* ---------------------------------------------------------------------- */

template <class DeviceType>
struct PairMLFFPaiNNKokkos<DeviceType>::Impl {
  using Exec = mlff::kk_detail::Exec;
  using Mem = mlff::kk_detail::Mem;
  static_assert(std::is_same<typename DeviceType::execution_space, Exec>::value,
                "mlff/painn/kk runs on the execution space the engine was built for");

  std::unique_ptr<mlff::EngineFP64> fp64;
  std::unique_ptr<mlff::EngineFP32> fp32;
  std::unique_ptr<mlff::EngineMixed> mixed;
  mlff::EngineFP64::Output out64;
  mlff::EngineFP32::Output out32;
  mlff::EngineMixed::Output outmx;
  mlff::KkFrame<Exec> frame;
  Kokkos::View<int*, Mem> type_species;  // [ntypes + 1]

  // Rows in flight during one forward communication: exactly one of the two is set.
  mlff::Mat<double, Mem> rows_d;
  mlff::Mat<float, Mem> rows_f;
  int col0 = 0, ncol = 0;
};

namespace {

// The engine asks for ghost rows; LAMMPS's KOKKOS forward communication moves them.
template <class Real, class Impl>
class KkExchange : public mlff::GhostExchange<Real, typename Impl::Mem> {
 public:
  // chunk: most columns per communication (0 = all: the device buffers grow to fit; LAMMPS's
  // host path has buffers of the size comm_forward had at setup).
  KkExchange(Pair *pair, Comm *comm, Impl &impl, int chunk)
      : pair_(pair), comm_(comm), impl_(impl), chunk_(chunk) {}

  void forward(const mlff::Mat<Real, typename Impl::Mem> &a) override {
    set(a);
    const int saved = pair_->comm_forward, width = static_cast<int>(a.extent(1));
    for (impl_.col0 = 0; impl_.col0 < width; impl_.col0 += impl_.ncol) {
      impl_.ncol = chunk_ > 0 ? std::min(chunk_, width - impl_.col0) : width;
      pair_->comm_forward = impl_.ncol;
      mlff::forward_comm(comm_, pair_);
    }
    pair_->comm_forward = saved;
    impl_.rows_d = {};
    impl_.rows_f = {};
  }

 private:
  Pair *pair_;
  Comm *comm_;
  Impl &impl_;
  int chunk_;
  void set(const mlff::Mat<double, typename Impl::Mem> &a) { impl_.rows_d = a; }
  void set(const mlff::Mat<float, typename Impl::Mem> &a) { impl_.rows_f = a; }
};

template <class View>
struct SendList1 {
  View list;
  KOKKOS_INLINE_FUNCTION int operator()(int i) const { return list(i); }
};
template <class View>
struct SendList2 {
  View list;
  int swap;
  KOKKOS_INLINE_FUNCTION int operator()(int i) const { return list(swap, i); }
};

}    // namespace

/* ---------------------------------------------------------------------- */

template <class DeviceType>
PairMLFFPaiNNKokkos<DeviceType>::PairMLFFPaiNNKokkos(LAMMPS *lmp) : PairMLFFPaiNN(lmp), impl_(new Impl)
{
  if (!lmp->kokkos)
    error->all(FLERR, "Pair style mlff/painn/kk requires the KOKKOS package to be enabled: run LAMMPS "
                      "with '-k on g 1 -sf kk' (GPU) or '-k on t N -sf kk' (CPU threads), or use mlff/painn");
  respa_enable = 0;
  kokkosable = 1;
  atomKK = (AtomKokkos *) atom;
  execution_space = ExecutionSpaceFromDevice<DeviceType>::space;
  datamask_read = X_MASK | F_MASK | TYPE_MASK;
  datamask_modify = F_MASK;
}

template <class DeviceType>
PairMLFFPaiNNKokkos<DeviceType>::~PairMLFFPaiNNKokkos()
{
  if (copymode) return;
  memoryKK->destroy_kokkos(k_eatom, eatom);
  memoryKK->destroy_kokkos(k_vatom, vatom);
  eatom = nullptr;
  vatom = nullptr;
}

template <class DeviceType>
void PairMLFFPaiNNKokkos<DeviceType>::settings(int narg, char **arg)
{
  PairMLFFPaiNN::settings(narg, arg);
  impl_->fp64.reset();
  impl_->fp32.reset();
  impl_->mixed.reset();
}

template <class DeviceType>
std::string PairMLFFPaiNNKokkos<DeviceType>::setup_engine(const mlff::ModelSpec &spec)
{
  Impl &im = *impl_;
  im.fp64.reset();
  im.fp32.reset();
  im.mixed.reset();
  switch (mlff::parse_precision(precision_)) {
    case mlff::Precision::FP64: im.fp64.reset(new mlff::EngineFP64(spec, table_points_)); break;
    case mlff::Precision::FP32: im.fp32.reset(new mlff::EngineFP32(spec, table_points_)); break;
    case mlff::Precision::Mixed: im.mixed.reset(new mlff::EngineMixed(spec, table_points_)); break;
  }
  auto h = Kokkos::View<int *, Kokkos::HostSpace>("mlff::kk::type_species_h", type_species_.size());
  for (size_t t = 0; t < type_species_.size(); t++) h(t) = type_species_[t];
  im.type_species = Kokkos::View<int *, typename Impl::Mem>("mlff::kk::type_species", h.extent(0));
  Kokkos::deep_copy(im.type_species, h);
  return mlff::describe_device() + ", data resident on the device";
}

template <class DeviceType>
bool PairMLFFPaiNNKokkos<DeviceType>::engine_ready() const
{
  return impl_->fp64 || impl_->fp32 || impl_->mixed;
}

/* ---------------------------------------------------------------------- */

template <class DeviceType>
void PairMLFFPaiNNKokkos<DeviceType>::init_style()
{
  if (!engine_ready()) error->all(FLERR, "Pair style mlff/painn/kk: pair_coeff must be given (again) after pair_style");
  if (strcmp(update->unit_style, "metal") != 0)
    error->all(FLERR, "Pair style mlff/painn/kk requires 'units metal' (models are in eV and Angstrom), not units {}",
               update->unit_style);
  // Any newton setting works: forces are computed for local atoms only (nothing to send back),
  // and the KOKKOS package's GPU default is newton off.
  mlff::request_full_list_kk(neighbor, this, instance_me,
                             std::is_same<DeviceType, LMPHostType>::value &&
                                 !std::is_same<DeviceType, LMPDeviceType>::value,
                             std::is_same<DeviceType, LMPDeviceType>::value);
}

/* ---------------------------------------------------------------------- */

template <class DeviceType>
void PairMLFFPaiNNKokkos<DeviceType>::compute(int eflag_in, int vflag_in)
{
  ev_init(eflag_in, vflag_in, 0);
  if (eflag_atom) {
    memoryKK->destroy_kokkos(k_eatom, eatom);
    memoryKK->create_kokkos(k_eatom, eatom, maxeatom, "pair:eatom");
  }
  if (vflag_atom) {
    memoryKK->destroy_kokkos(k_vatom, vatom);
    memoryKK->create_kokkos(k_vatom, vatom, maxvatom, "pair:vatom");
  }

  atomKK->sync(execution_space, datamask_read);
  atomKK->modified(execution_space, datamask_modify);
  auto x = atomKK->k_x.template view<DeviceType>();
  auto f = atomKK->k_f.template view<DeviceType>();
  auto type = atomKK->k_type.template view<DeviceType>();
  auto *kl = static_cast<NeighListKokkos<DeviceType> *>(list);

  Impl &im = *impl_;
  const int nlocal = atom->nlocal, nall = atom->nlocal + atom->nghost;
  const auto fault = im.frame.build(x, type, im.type_species, nlocal, nall, kl->d_numneigh, kl->d_neighbors, cutoff_);
  if (fault.atom >= 0 || fault.pair_i >= 0) {
    atomKK->sync(Host, X_MASK | TAG_MASK);
    double **xh = atom->x;
    if (fault.atom >= 0) {
      const int a = fault.atom;
      error->one(FLERR, "Pair style mlff/painn/kk: atom {} has a non-finite position ({} {} {}); the simulation "
                        "is unstable or a command set it", atom->tag[a], xh[a][0], xh[a][1], xh[a][2]);
    }
    const int i = fault.pair_i, j = fault.pair_j;
    error->one(FLERR, "Pair style mlff/painn/kk: atoms {} and {} are at the same position ({:.6g} {:.6g} {:.6g})",
               atom->tag[i], atom->tag[j], xh[i][0], xh[i][1], xh[i][2]);
  }

  double energy = 0, vir[6] = {0, 0, 0, 0, 0, 0};
  auto eatom_d = k_eatom.template view<DeviceType>();
  auto vatom_d = k_vatom.template view<DeviceType>();
  auto run = [&](auto &engine, auto &out) {
    using E = std::remove_reference_t<decltype(engine)>;
    typename E::Input in;
    in.x = im.frame.x;
    in.species = im.frame.species;
    in.offsets = im.frame.offsets;
    in.nbrs = Kokkos::subview(im.frame.nbrs, Kokkos::make_pair(0, im.frame.nnz));
    in.nlocal = im.frame.nlocal;
    in.nall = im.frame.nall;
    in.want_pair_grad = vflag_atom != 0;
    using Real = typename E::M2::non_const_value_type;    // feature precision
    KkExchange<Real, Impl> exch(this, comm, im, execution_space == Host ? kCommChunk : 0);
    engine.compute(in, exch, out);
    energy = out.energy;
    for (int k = 0; k < 6; k++) vir[k] = out.virial[k];
    mlff::kk_detail::scatter_results(in.nlocal, im.frame.lammps_of, out, f, eatom_d, eflag_atom != 0);
    if (vflag_atom)
      mlff::kk_detail::tally_virial(in.nlocal, im.frame, out.pair_grad, vatom_d, force->newton_pair != 0);
  };
  try {
    if (im.fp64) run(*im.fp64, im.out64);
    else if (im.fp32) run(*im.fp32, im.out32);
    else run(*im.mixed, im.outmx);
  } catch (std::exception &e) {
    if (mlff::is_out_of_memory(e)) {
      const int nl = im.frame.nlocal, na = im.frame.nall;
      const size_t need = im.fp64 ? im.fp64->estimate_bytes(nl, na)
                                  : im.fp32 ? im.fp32->estimate_bytes(nl, na) : im.mixed->estimate_bytes(nl, na);
      error->one(FLERR, mlff::out_of_memory_message("mlff/painn/kk", nl, na, im.frame.nnz, need, e));
    }
    error->one(FLERR, "Pair style mlff/painn/kk: engine failure: {}", e.what());
  }
  if (!std::isfinite(energy))
    error->one(FLERR, "Pair style mlff/painn/kk: the model returned a non-finite energy ({}) for the {} atoms "
                      "of this rank; check the structure (overlapping atoms?) and the model file {}",
               energy, im.frame.nlocal, model_file_);

  if (eflag_global) eng_vdwl += energy;
  if (vflag_global)
    for (int k = 0; k < 6; k++) virial[k] += vir[k];
  if (eflag_atom) {
    k_eatom.template modify<DeviceType>();
    k_eatom.template sync<LMPHostType>();
  }
  if (vflag_atom) {
    k_vatom.template modify<DeviceType>();
    k_vatom.template sync<LMPHostType>();
  }
}

/* ----------------------------------------------------------------------
   Forward communication of engine rows on the device
------------------------------------------------------------------------- */

template <class DeviceType>
template <class Send, class Buf>
int PairMLFFPaiNNKokkos<DeviceType>::pack_rows(int n, const Send &send, const Buf &b)
{
  Impl &im = *impl_;
  if (im.rows_d.data())
    mlff::kk_detail::pack(n, send, im.frame.engine_of, im.rows_d, im.col0, im.ncol, b);
  else
    mlff::kk_detail::pack(n, send, im.frame.engine_of, im.rows_f, im.col0, im.ncol, b);
  return n * im.ncol;
}

template <class DeviceType>
int PairMLFFPaiNNKokkos<DeviceType>::pack_forward_comm_kokkos(int n, DAT::tdual_int_1d k_sendlist,
                                                              DAT::tdual_xfloat_1d &buf, int, int *)
{
  using L = decltype(k_sendlist.template view<DeviceType>());
  return pack_rows(n, SendList1<L>{k_sendlist.template view<DeviceType>()}, buf.template view<DeviceType>());
}

template <class DeviceType>
int PairMLFFPaiNNKokkos<DeviceType>::pack_forward_comm_kokkos(int n, DAT::tdual_int_2d k_sendlist, int iswap,
                                                              DAT::tdual_xfloat_1d &buf, int, int *)
{
  using L = decltype(k_sendlist.template view<DeviceType>());
  return pack_rows(n, SendList2<L>{k_sendlist.template view<DeviceType>(), iswap}, buf.template view<DeviceType>());
}

template <class DeviceType>
void PairMLFFPaiNNKokkos<DeviceType>::unpack_forward_comm_kokkos(int n, int first, DAT::tdual_xfloat_1d &buf)
{
  unpack_rows(n, first, buf.template view<DeviceType>());
}

template <class DeviceType>
template <class Buf>
void PairMLFFPaiNNKokkos<DeviceType>::unpack_rows(int n, int first, const Buf &b)
{
  Impl &im = *impl_;
  if (im.rows_d.data())
    mlff::kk_detail::unpack(n, first, im.frame.engine_of, im.rows_d, im.col0, im.ncol, b);
  else
    mlff::kk_detail::unpack(n, first, im.frame.engine_of, im.rows_f, im.col0, im.ncol, b);
}

// LAMMPS's host communication path (a KOKKOS build without a GPU, or "comm/pair/forward host"):
// usable when the engine's rows live in host-accessible memory.
template <class DeviceType>
int PairMLFFPaiNNKokkos<DeviceType>::pack_forward_comm(int n, int *list, double *buf, int, int *)
{
  using Mem = typename Impl::Mem;
  if (!Kokkos::SpaceAccessibility<Kokkos::HostSpace, Mem>::accessible)
    error->one(FLERR, "Pair style mlff/painn/kk exchanges features on the GPU; remove "
                      "'comm/pair/forward host' (or 'comm no') from the package kokkos settings");
  Kokkos::View<int *, Mem, Kokkos::MemoryUnmanaged> send(list, n);
  Kokkos::View<double *, Mem, Kokkos::MemoryUnmanaged> b(buf, size_t(n) * impl_->ncol);
  return pack_rows(n, SendList1<decltype(send)>{send}, b);
}

template <class DeviceType>
void PairMLFFPaiNNKokkos<DeviceType>::unpack_forward_comm(int n, int first, double *buf)
{
  using Mem = typename Impl::Mem;
  Kokkos::View<double *, Mem, Kokkos::MemoryUnmanaged> b(buf, size_t(n) * impl_->ncol);
  unpack_rows(n, first, b);
}

/* ---------------------------------------------------------------------- */

template <class DeviceType>
double PairMLFFPaiNNKokkos<DeviceType>::memory_usage()
{
  const Impl &im = *impl_;
  double bytes = Pair::memory_usage();
  if (im.fp64) bytes += im.fp64->workspace_bytes();
  if (im.fp32) bytes += im.fp32->workspace_bytes();
  if (im.mixed) bytes += im.mixed->workspace_bytes();
  bytes += im.frame.bytes();
  return bytes;
}

namespace LAMMPS_NS {
template class PairMLFFPaiNNKokkos<LMPDeviceType>;
}
