/* ----------------------------------------------------------------------
   pair_style mlff/painn/kk (see src/lammps/pair_mlff_painn.rst for the user documentation)
------------------------------------------------------------------------- */

#include "pair_mlff_painn_kokkos.h"

#include <cmath>
#include <algorithm>
#include <string>
#include <type_traits>
#include <vector>

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
  for_entries<Exec>("mlff::kk::pack", n, ncol, KOKKOS_LAMBDA(const int i, const int c) {
    const int e = engine_of(send(i));
    buf(size_t(i) * ncol + c) = e >= 0 ? static_cast<double>(rows(e, col0 + c)) : 0.0;
  });
}

template <class Real, class Buf>
void unpack(int n, int first, const Kokkos::View<int*, Mem>& engine_of, const Mat<Real, Mem>& rows,
            int col0, int ncol, const Buf& buf) {
  for_entries<Exec>("mlff::kk::unpack", n, ncol, KOKKOS_LAMBDA(const int i, const int c) {
    const int e = engine_of(first + i);
    if (e >= 0) rows(e, col0 + c) = static_cast<Real>(buf(size_t(i) * ncol + c));
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
  // LAMMPS's send lists and buffers, whichever layout a LAMMPS version gives them.
  using SendList = Kokkos::View<const int *, Kokkos::LayoutStride, Mem>;
  using Buffer = Kokkos::View<double *, Kokkos::LayoutStride, Mem>;

  // One force evaluation's requests and the LAMMPS device arrays that receive the results.
  struct Step {
    Pair *pair;
    Comm *comm;
    int chunk;    // most columns per communication; 0 = all (device buffers grow to fit)
    bool owner_map;  // ghost rows from the frame's owner map (one rank) instead of LAMMPS comm
    bool want_eatom, want_vatom, want_virial, newton;
    typename AT::t_f_array f;
    typename AT::t_efloat_1d eatom;
    typename AT::t_virial_array vatom;
  };

  // The engine at the pair's precision behind one interface (the engines are templates).
  struct Engine {
    virtual ~Engine() = default;
    // Returns the energy and fills `virial`; adds forces and per-atom values to `step`'s arrays.
    virtual double compute(const mlff::KkFrame<Exec> &frame, const Step &step, double virial[6]) = 0;
    // Forward communication of the rows in flight: columns per atom, pack, unpack.
    virtual int columns() const = 0;
    virtual int pack(int n, const SendList &send, const Buffer &buf) const = 0;
    virtual void unpack(int n, int first, const Buffer &buf) const = 0;
    // The same through LAMMPS's host buffers, for rows in GPU memory: returns the doubles used.
    virtual int pack_host(int n, const int *list, double *buf) = 0;
    virtual void unpack_host(int n, int first, const double *buf) = 0;
    virtual size_t estimate_bytes(int nlocal, int nall, bool owner_map) const = 0;
    virtual size_t workspace_bytes() const = 0;
  };

  // Also the engine's ghost exchange, so that it knows the precision of the rows in flight.
  template <class E>
  class EngineAt final : public Engine, public mlff::GhostExchange<typename E::M2::non_const_value_type, Mem> {
   public:
    using Real = typename E::M2::non_const_value_type;
    EngineAt(const mlff::ModelSpec &spec, int table_points, bool graphs) : engine_(spec, table_points)
    {
      engine_.use_graphs(graphs);
    }

    double compute(const mlff::KkFrame<Exec> &fr, const Step &st, double virial[6]) override {
      frame_ = &fr;
      step_ = &st;
      auto in = fr.template input<E>(st.want_vatom);
      in.want_virial = st.want_virial;  // most MD steps want no pressure
      engine_.compute(in, *this, out_);
      mlff::kk_detail::scatter_results(fr.nlocal, fr.lammps_of, out_, st.f, st.eatom, st.want_eatom);
      if (st.want_vatom) mlff::kk_detail::tally_virial(fr.nlocal, fr, out_.pair_grad, st.vatom, st.newton);
      for (int k = 0; k < 6; k++) virial[k] = out_.virial[k];
      return out_.energy;
    }

    // Ghost rows from their owners: on one rank the engine reads them at the owners' rows
    // (owners(), device work only, so the call can be recorded as a CUDA graph), otherwise
    // they come through LAMMPS's forward communication, in column blocks.
    void forward(const mlff::Mat<Real, Mem> &a) override {
      if (step_->owner_map) return owner_exchange().forward(a);
      Pair *pair = step_->pair;
      const int saved = pair->comm_forward, width = static_cast<int>(a.extent(1));
      rows_ = a;
      for (col0_ = 0; col0_ < width; col0_ += ncol_) {
        ncol_ = step_->chunk > 0 ? std::min(step_->chunk, width - col0_) : width;
        pair->comm_forward = ncol_;
        mlff::forward_comm(step_->comm, pair);
      }
      pair->comm_forward = saved;
      rows_ = {};
    }

    bool recordable(std::vector<std::uintptr_t> &key) const override {
      return step_->owner_map && owner_exchange().recordable(key);
    }
    Kokkos::View<const int *, Mem> owners() const override
    {
      return step_->owner_map ? owner_exchange().owners() : Kokkos::View<const int *, Mem>();
    }
    mlff::OwnerMapExchange<Exec, Real> owner_exchange() const {
      return mlff::OwnerMapExchange<Exec, Real>(frame_->nlocal, frame_->owner);
    }

    int columns() const override { return ncol_; }
    int pack(int n, const SendList &send, const Buffer &buf) const override {
      mlff::kk_detail::pack(n, send, frame_->engine_of, rows_, col0_, ncol_, buf);
      return n * ncol_;
    }
    void unpack(int n, int first, const Buffer &buf) const override {
      mlff::kk_detail::unpack(n, first, frame_->engine_of, rows_, col0_, ncol_, buf);
    }
    size_t estimate_bytes(int nlocal, int nall, bool owner_map) const override
    {
      return engine_.estimate_bytes(nlocal, nall, !owner_map);
    }
    size_t workspace_bytes() const override { return engine_.workspace_bytes(); }

    // Host buffers: rows packed on the device into a staging copy and sent at the engine's
    // precision (fp32 rows: two per double, half the bytes). A self-swap unpacks the buffer it
    // has just packed (LAMMPS passes the same pointer), so it unpacks the staging copy instead
    // of copying it back.
    int pack_host(int n, const int *list, double *buf) override {
      const size_t len = size_t(n) * ncol_;
      mlff::grow(stage_list_, n, "mlff::stage_list");
      mlff::grow(stage_, len, "mlff::stage_rows");
      const auto dlist = Kokkos::subview(stage_list_, std::make_pair(0, n));
      const auto drows = Kokkos::subview(stage_, std::make_pair(size_t(0), len));
      Kokkos::deep_copy(dlist, Kokkos::View<const int *, Kokkos::HostSpace, Kokkos::MemoryUnmanaged>(list, n));
      mlff::kk_detail::pack(n, dlist, frame_->engine_of, rows_, col0_, ncol_, drows);
      Kokkos::deep_copy(Kokkos::View<Real *, Kokkos::HostSpace, Kokkos::MemoryUnmanaged>(reinterpret_cast<Real *>(buf), len),
                        drows);
      packed_ = buf;
      return static_cast<int>((len * sizeof(Real) + sizeof(double) - 1) / sizeof(double));
    }
    void unpack_host(int n, int first, const double *buf) override {
      const size_t len = size_t(n) * ncol_;
      if (buf != packed_) {  // from another rank
        mlff::grow(stage_, len, "mlff::stage_rows");
        Kokkos::deep_copy(Kokkos::subview(stage_, std::make_pair(size_t(0), len)),
                          Kokkos::View<const Real *, Kokkos::HostSpace, Kokkos::MemoryUnmanaged>(
                              reinterpret_cast<const Real *>(buf), len));
      }
      packed_ = nullptr;
      mlff::kk_detail::unpack(n, first, frame_->engine_of, rows_, col0_, ncol_,
                              Kokkos::subview(stage_, std::make_pair(size_t(0), len)));
    }

   private:
    E engine_;
    typename E::Output out_;
    const mlff::KkFrame<Exec> *frame_ = nullptr;
    const Step *step_ = nullptr;
    mlff::Mat<Real, Mem> rows_;    // rows being exchanged, columns [col0_, col0_ + ncol_)
    int col0_ = 0, ncol_ = 0;
    Kokkos::View<int *, Mem> stage_list_;  // device copies of a host send list and buffer
    Kokkos::View<Real *, Mem> stage_;
    const double *packed_ = nullptr;       // the host buffer pack_host filled last
  };

  static std::unique_ptr<Engine> make(const mlff::ModelSpec &spec, const std::string &precision, int table,
                                      bool graphs)
  {
    switch (mlff::parse_precision(precision)) {
      case mlff::Precision::FP64: return std::make_unique<EngineAt<mlff::EngineFP64>>(spec, table, graphs);
      case mlff::Precision::FP32: return std::make_unique<EngineAt<mlff::EngineFP32>>(spec, table, graphs);
      case mlff::Precision::Mixed: break;
    }
    return std::make_unique<EngineAt<mlff::EngineMixed>>(spec, table, graphs);
  }

  std::unique_ptr<Engine> engine;
  mlff::KkFrame<Exec> frame;
  Kokkos::View<int *, Mem> type_species;    // [ntypes + 1]
};

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
  impl_->engine.reset();
}

template <class DeviceType>
std::string PairMLFFPaiNNKokkos<DeviceType>::setup_engine(const mlff::ModelSpec &spec)
{
  Impl &im = *impl_;
  im.engine.reset();    // free the old engine's device memory before making the new one
  im.engine = Impl::make(spec, precision_, table_points_, graphs_);
  auto h = Kokkos::View<int *, Kokkos::HostSpace>("mlff::kk::type_species_h", type_species_.size());
  for (size_t t = 0; t < type_species_.size(); t++) h(t) = type_species_[t];
  im.type_species = Kokkos::View<int *, typename Impl::Mem>("mlff::kk::type_species", h.extent(0));
  Kokkos::deep_copy(im.type_species, h);
  im.frame.forget_map();
  return mlff::describe_device() + ", data resident on the device";
}

template <class DeviceType>
bool PairMLFFPaiNNKokkos<DeviceType>::engine_ready() const
{
  return impl_->engine != nullptr;
}

/* ---------------------------------------------------------------------- */

template <class DeviceType>
void PairMLFFPaiNNKokkos<DeviceType>::init_style()
{
  check_ready("mlff/painn/kk");
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
  // LAMMPS reorders its atoms only when it rebuilds its lists (neighbor->ago == 0).
  const auto fault = im.frame.build(x, type, im.type_species, nlocal, nall, kl->d_numneigh, kl->d_neighbors, cutoff_,
                                    neighbor->ago == 0);
  if (fault.atom >= 0 || fault.pair_i >= 0) {
    atomKK->sync(Host, X_MASK | TAG_MASK);
    if (fault.atom >= 0)
      error->one(FLERR, mlff::nonfinite_position_message("mlff/painn/kk", atom->tag[fault.atom], atom->x[fault.atom]));
    error->one(FLERR, mlff::coincident_atoms_message("mlff/painn/kk", atom->tag[fault.pair_i], atom->tag[fault.pair_j],
                                                     atom->x[fault.pair_i]));
  }

  // LAMMPS's host ("classic") communication sizes its buffers by comm_forward: exchange in
  // blocks of that many columns. It is on without a GPU, by request, or when MPI is not GPU-aware.
  const bool classic = execution_space == Host || lmp->kokkos->forward_pair_comm_classic;
  const typename Impl::Step step{this, comm, classic ? kCommChunk : 0, owner_map(), eflag_atom != 0,
                                 vflag_atom != 0, vflag_global != 0, force->newton_pair != 0, f,
                                 k_eatom.template view<DeviceType>(), k_vatom.template view<DeviceType>()};
  double energy = 0, vir[6] = {0, 0, 0, 0, 0, 0};
  try {
    energy = im.engine->compute(im.frame, step, vir);
  } catch (std::exception &e) {
    const int nl = im.frame.nlocal, na = im.frame.nall;
    error->one(FLERR, mlff::engine_failure_message("mlff/painn/kk", nl, na, im.frame.nnz,
                                                   im.engine->estimate_bytes(nl, na, step.owner_map), e));
  }
  if (!std::isfinite(energy))
    error->one(FLERR, mlff::nonfinite_energy_message("mlff/painn/kk", energy, im.frame.nlocal, model_file_));

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

// One rank: the frame's owner map from the ghosts' images, matched by atom ID on the host
// (where LAMMPS keeps IDs) when the lists are rebuilt.
template <class DeviceType>
bool PairMLFFPaiNNKokkos<DeviceType>::build_owner()
{
  atomKK->sync(Host, TAG_MASK);
  return ghost_images() && impl_->frame.build_owner(image_, atom->nlocal);
}

/* ----------------------------------------------------------------------
   Forward communication of engine rows on the device
------------------------------------------------------------------------- */

template <class DeviceType>
int PairMLFFPaiNNKokkos<DeviceType>::pack_forward_comm_kokkos(int n, DAT::tdual_int_1d k_sendlist,
                                                              DAT::tdual_xfloat_1d &buf, int, int *)
{
  return impl_->engine->pack(n, k_sendlist.template view<DeviceType>(), buf.template view<DeviceType>());
}

template <class DeviceType>
int PairMLFFPaiNNKokkos<DeviceType>::pack_forward_comm_kokkos(int n, DAT::tdual_int_2d k_sendlist, int iswap,
                                                              DAT::tdual_xfloat_1d &buf, int, int *)
{
  return impl_->engine->pack(n, Kokkos::subview(k_sendlist.template view<DeviceType>(), iswap, Kokkos::ALL()),
                             buf.template view<DeviceType>());
}

template <class DeviceType>
void PairMLFFPaiNNKokkos<DeviceType>::unpack_forward_comm_kokkos(int n, int first, DAT::tdual_xfloat_1d &buf)
{
  impl_->engine->unpack(n, first, buf.template view<DeviceType>());
}

// LAMMPS's host communication path (a KOKKOS build without a GPU, "comm/pair/forward host", or
// an MPI that is not GPU-aware): host send list and buffer. Rows in host-accessible memory are
// packed in place; rows on a GPU through device staging copies (pack_host).
template <class DeviceType>
int PairMLFFPaiNNKokkos<DeviceType>::pack_forward_comm(int n, int *list, double *buf, int, int *)
{
  using Mem = typename Impl::Mem;
  auto &engine = *impl_->engine;
  if (!Kokkos::SpaceAccessibility<Kokkos::HostSpace, Mem>::accessible) return engine.pack_host(n, list, buf);
  return engine.pack(n, Kokkos::View<const int *, Mem, Kokkos::MemoryUnmanaged>(list, n),
                     Kokkos::View<double *, Mem, Kokkos::MemoryUnmanaged>(buf, size_t(n) * engine.columns()));
}

template <class DeviceType>
void PairMLFFPaiNNKokkos<DeviceType>::unpack_forward_comm(int n, int first, double *buf)
{
  using Mem = typename Impl::Mem;
  auto &engine = *impl_->engine;
  if (!Kokkos::SpaceAccessibility<Kokkos::HostSpace, Mem>::accessible) return engine.unpack_host(n, first, buf);
  engine.unpack(n, first, Kokkos::View<double *, Mem, Kokkos::MemoryUnmanaged>(buf, size_t(n) * engine.columns()));
}

/* ---------------------------------------------------------------------- */

template <class DeviceType>
double PairMLFFPaiNNKokkos<DeviceType>::memory_usage()
{
  const Impl &im = *impl_;
  double bytes = Pair::memory_usage() + im.frame.bytes();
  if (im.engine) bytes += im.engine->workspace_bytes();
  return bytes;
}

namespace LAMMPS_NS {
template class PairMLFFPaiNNKokkos<LMPDeviceType>;
}
