/* ----------------------------------------------------------------------
   pair_style mlff/painn (see pair_mlff_painn.rst for the user documentation)
------------------------------------------------------------------------- */

#include "pair_mlff_painn.h"

#include <Kokkos_Core.hpp>
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <exception>

#include "atom.h"
#include "comm.h"
#include "engine_errors.h"
#include "error.h"
#include "force.h"
#include "lammps_compat.h"
#include "memory.h"
#include "neigh_list.h"
#include "neighbor.h"
#include "painn_runner.h"
#include "update.h"
#include "utils.h"

#include "../weights/json_loader.h"

using namespace LAMMPS_NS;

namespace {

// The engine reaches LAMMPS communication through this adapter.
class PairComm : public mlff::HostComm {
 public:
  explicit PairComm(PairMLFFPaiNN *pair) : pair_(pair) {}
  void forward(double *rows, int width) override { pair_->exchange_rows(rows, width); }

 private:
  PairMLFFPaiNN *pair_;
};

// LAMMPS initialises Kokkos only when run with "-k on"; otherwise the engine does it here and
// finalises it at exit, after every pair style (and its Kokkos views) has been destroyed.
void ensure_kokkos()
{
  if (Kokkos::is_initialized()) return;
  Kokkos::initialize();
  std::atexit([] {
    if (Kokkos::is_initialized()) Kokkos::finalize();
  });
}

}    // namespace

/* ---------------------------------------------------------------------- */

PairMLFFPaiNN::PairMLFFPaiNN(LAMMPS *lmp) : Pair(lmp), result_(new mlff::HostResult)
{
  single_enable = 0;
  restartinfo = 0;    // the model file is read again after read_restart (like pace, snap)
  one_coeff = 1;
  manybody_flag = 1;
  no_virial_fdotr_compute = 1;    // the engine returns the virial from per-pair gradients
  centroidstressflag = CENTROID_NOTAVAIL;
  comm_forward = kCommChunk;
}

PairMLFFPaiNN::~PairMLFFPaiNN()
{
  if (allocated) {
    memory->destroy(setflag);
    memory->destroy(cutsq);
  }
}

void PairMLFFPaiNN::allocate()
{
  allocated = 1;
  const int n = atom->ntypes;
  memory->create(setflag, n + 1, n + 1, "pair:setflag");
  memory->create(cutsq, n + 1, n + 1, "pair:cutsq");
  for (int i = 1; i <= n; i++)
    for (int j = i; j <= n; j++) setflag[i][j] = 0;
}

/* ----------------------------------------------------------------------
   pair_style mlff/painn [precision fp64|fp32|mixed] [table N] [graph yes|no]
------------------------------------------------------------------------- */

void PairMLFFPaiNN::settings(int narg, char **arg)
{
  precision_ = "fp64";
  table_points_ = 0;
  graphs_ = true;
  for (int iarg = 0; iarg < narg; iarg += 2) {
    const std::string key = arg[iarg];
    if (iarg + 1 >= narg) error->all(FLERR, "Illegal pair_style mlff/painn command: keyword '{}' needs a value", key);
    if (key == "precision") {
      precision_ = arg[iarg + 1];
      if (precision_ != "fp64" && precision_ != "fp32" && precision_ != "mixed")
        error->all(FLERR, "Illegal pair_style mlff/painn precision '{}': use fp64, fp32 or mixed", precision_);
    } else if (key == "table") {
      table_points_ = utils::inumeric(FLERR, arg[iarg + 1], false, lmp);
      if (table_points_ < 0 || (table_points_ > 0 && table_points_ < 64) || table_points_ > 1000000)
        error->all(FLERR, "Illegal pair_style mlff/painn table {}: use 0 (no table) or 64 to 1000000 intervals", table_points_);
    } else if (key == "graph") {
      const std::string v = arg[iarg + 1];
      if (v != "yes" && v != "no")
        error->all(FLERR, "Illegal pair_style mlff/painn graph '{}': use yes or no", v);
      graphs_ = v == "yes";
    } else {
      error->all(FLERR, "Illegal pair_style mlff/painn command: unknown keyword '{}' (known: precision, table, graph)", key);
    }
  }
  runner_.reset();    // a new precision needs a new engine: pair_coeff builds it
}

/* ----------------------------------------------------------------------
   pair_coeff * * model.json El1 El2 ... (one element or NULL per atom type)
------------------------------------------------------------------------- */

void PairMLFFPaiNN::coeff(int narg, char **arg)
{
  if (!allocated) allocate();
  const int ntypes = atom->ntypes;
  if (narg < 3 || strcmp(arg[0], "*") != 0 || strcmp(arg[1], "*") != 0)
    error->all(FLERR, "Incorrect args for pair coefficients: pair style mlff/painn expects "
                      "'pair_coeff * * <model.json> <element or NULL for each of the {} atom types>'", ntypes);
  if (narg != 3 + ntypes)
    error->all(FLERR, "Incorrect args for pair coefficients: mlff/painn needs {} element names after "
                      "the model file (one per atom type, NULL to skip a type), found {}", ntypes, narg - 3);

  model_file_ = arg[2];
  mlff::ModelSpec spec;
  try {
    spec = mlff::load_model(model_file_);
  } catch (std::exception &e) {
    error->all(FLERR, "pair_coeff mlff/painn: {}", e.what());
  }

  std::string elements;
  for (const auto &s : spec.species) elements += " " + s.element;
  type_species_.assign(ntypes + 1, -1);
  int nmapped = 0;
  for (int t = 1; t <= ntypes; t++) {
    const std::string name = arg[2 + t];
    if (name == "NULL") continue;
    if (mlff::atomic_number(name) == 0)
      error->all(FLERR, "pair_coeff mlff/painn: '{}' given for atom type {} is not a chemical element symbol", name, t);
    const int sp = spec.species_index(name);
    if (sp < 0)
      error->all(FLERR, "pair_coeff mlff/painn: atom type {} is mapped to element {}, which model file {} does not have (its elements:{})",
                 t, name, model_file_, elements);
    type_species_[t] = sp;
    nmapped++;
  }
  if (nmapped == 0) error->all(FLERR, "pair_coeff mlff/painn: every atom type is NULL; map at least one to an element");

  for (int i = 1; i <= ntypes; i++)
    for (int j = i; j <= ntypes; j++) setflag[i][j] = (type_species_[i] >= 0 && type_species_[j] >= 0) ? 1 : 0;

  if (comm->me == 0)
    for (const auto &w : spec.warnings) error->warning(FLERR, "mlff/painn: {}: {}", model_file_, w);

  std::string space;
  owner_ready_ = false;  // the type mapping may have changed
  try {
    space = setup_engine(spec);
  } catch (std::exception &e) {
    error->all(FLERR, "pair_coeff mlff/painn: cannot set up the engine for {}: {}", model_file_, e.what());
  }
  cutoff_ = spec.cutoff;

  if (comm->me == 0)
    utils::logmesg(lmp, "mlff/painn: {} ({}, {} features, {} layers, cutoff {} A; elements{}), precision {}, radial filters {}, Kokkos {}\n",
                   model_file_, mlff::family_name(spec.family), spec.features, spec.layers, cutoff_, elements,
                   precision_, table_points_ ? fmt::format("tabulated ({} intervals)", table_points_) : std::string("exact"),
                   space);
}

// The host-data variant: a PaiNNRunner fed from host arrays (the /kk variant overrides this).
std::string PairMLFFPaiNN::setup_engine(const mlff::ModelSpec &spec)
{
  ensure_kokkos();
  runner_ = mlff::PaiNNRunner::create(spec, precision_, table_points_, graphs_);
  return runner_->execution_space();
}

/* ---------------------------------------------------------------------- */

// Checks both variants make before a run; `style` is the name in the message.
void PairMLFFPaiNN::check_ready(const char *style)
{
  if (!engine_ready()) error->all(FLERR, "Pair style {}: pair_coeff must be given (again) after pair_style", style);
  if (strcmp(update->unit_style, "metal") != 0)
    error->all(FLERR, "Pair style {} requires 'units metal' (models are in eV and Angstrom), not units {}",
               style, update->unit_style);
}

void PairMLFFPaiNN::init_style()
{
  check_ready("mlff/painn");
  if (force->newton_pair == 0) error->all(FLERR, "Pair style mlff/painn requires newton pair on");
  mlff::request_full_list(neighbor, this, instance_me);
}

double PairMLFFPaiNN::init_one(int, int)
{
  return cutoff_;
}

/* ----------------------------------------------------------------------
   Engine frame: mapped local atoms in LAMMPS order, then mapped ghosts; CSR neighbours of each
   local atom within the model cutoff (the list also holds the skin).
------------------------------------------------------------------------- */

void PairMLFFPaiNN::build_frame()
{
  const int nlocal = atom->nlocal, nall = nlocal + atom->nghost;
  const int *type = atom->type;
  double **x = atom->x;

  engine_of_.assign(nall, -1);
  lammps_of_.clear();
  species_.clear();
  for (int a = 0; a < nall; a++) {
    const int sp = type_species_[type[a]];
    if (sp < 0) continue;
    engine_of_[a] = static_cast<int>(lammps_of_.size());
    lammps_of_.push_back(a);
    species_.push_back(sp);
  }
  x_.resize(3 * lammps_of_.size());
  for (size_t e = 0; e < lammps_of_.size(); e++) {
    const int a = lammps_of_[e];
    if (!std::isfinite(x[a][0]) || !std::isfinite(x[a][1]) || !std::isfinite(x[a][2]))
      error->one(FLERR, mlff::nonfinite_position_message("mlff/painn", atom->tag[a], x[a]));
    for (int k = 0; k < 3; k++) x_[3 * e + k] = x[a][k];
  }

  int nl = 0;
  while (nl < static_cast<int>(lammps_of_.size()) && lammps_of_[nl] < nlocal) nl++;
  std::vector<int> count(nl, 0);
  std::vector<int> row_of(nlocal, -1);    // LAMMPS local atom -> position in ilist
  for (int ii = 0; ii < list->inum; ii++) row_of[list->ilist[ii]] = ii;

  const double rcsq = cutoff_ * cutoff_;
  offsets_.assign(nl + 1, 0);
  nbrs_.clear();
  for (int e = 0; e < nl; e++) {
    const int i = lammps_of_[e];
    const int ii = row_of[i];
    if (ii >= 0) {
      const int *jlist = list->firstneigh[i];
      const int jnum = list->numneigh[i];
      for (int jj = 0; jj < jnum; jj++) {
        const int j = jlist[jj] & NEIGHMASK;
        const int ej = engine_of_[j];
        if (ej < 0) continue;
        const double dx = x[j][0] - x[i][0], dy = x[j][1] - x[i][1], dz = x[j][2] - x[i][2];
        const double rsq = dx * dx + dy * dy + dz * dz;
        if (rsq > rcsq) continue;
        if (rsq < 1e-12) error->one(FLERR, mlff::coincident_atoms_message("mlff/painn", atom->tag[i], atom->tag[j], x[i]));
        nbrs_.push_back(ej);
      }
    }
    offsets_[e + 1] = static_cast<int>(nbrs_.size());
  }
}

bool PairMLFFPaiNN::owner_map()
{
  if (!graphs_ || comm->nprocs != 1 || !atom->tag_enable) return false;
  if (neighbor->ago == 0 || !owner_ready_) owner_ready_ = build_owner();
  return owner_ready_;
}

bool PairMLFFPaiNN::ghost_images()
{
  const tagint *tag = atom->tag;
  const int nlocal = atom->nlocal, nall = nlocal + atom->nghost;
  tagint maxtag = 0;
  for (int i = 0; i < nlocal; i++) maxtag = std::max(maxtag, tag[i]);
  local_of_tag_.assign(maxtag + 1, -1);
  for (int i = 0; i < nlocal; i++) local_of_tag_[tag[i]] = i;
  image_.resize(nall - nlocal);
  for (int a = nlocal; a < nall; a++) {
    image_[a - nlocal] = tag[a] >= 0 && tag[a] <= maxtag ? local_of_tag_[tag[a]] : -1;
    if (image_[a - nlocal] < 0) return false;
  }
  return true;
}

bool PairMLFFPaiNN::build_owner()
{
  if (!ghost_images()) return false;
  const int nl = static_cast<int>(offsets_.size()) - 1, na = static_cast<int>(lammps_of_.size());
  owner_.resize(na - nl);
  for (int g = 0; g < na - nl; g++) {
    const int a = lammps_of_[nl + g] - atom->nlocal;  // a LAMMPS ghost: locals come first
    owner_[g] = a >= 0 ? engine_of_[image_[a]] : -1;
    if (owner_[g] < 0) return false;
  }
  return true;
}

/* ---------------------------------------------------------------------- */

void PairMLFFPaiNN::compute(int eflag, int vflag)
{
  ev_init(eflag, vflag);
  build_frame();

  mlff::HostFrame fr;
  fr.x = x_.data();
  fr.species = species_.data();
  fr.offsets = offsets_.data();
  fr.nbrs = nbrs_.data();
  fr.nall = static_cast<int>(lammps_of_.size());
  fr.nlocal = static_cast<int>(offsets_.size()) - 1;
  fr.want_virial = vflag_global != 0;  // most MD steps want no pressure
  if (owner_map()) {  // ghost rows from their owners on the engine's side
    fr.owner_map = true;
    fr.owner = owner_.data();  // null when there are no ghosts
  }

  PairComm pc(this);
  try {
    runner_->compute(fr, pc, vflag_atom != 0, *result_);
  } catch (std::exception &e) {
    error->one(FLERR, mlff::engine_failure_message("mlff/painn", fr.nlocal, fr.nall, offsets_.back(),
                                                   runner_->estimate_bytes(fr.nlocal, fr.nall, fr.owner_map), e));
  }
  const mlff::HostResult &r = *result_;
  if (!std::isfinite(r.energy))
    error->one(FLERR, mlff::nonfinite_energy_message("mlff/painn", r.energy, fr.nlocal, model_file_));

  double **f = atom->f;    // the engine gives forces on local atoms only
  for (int e = 0; e < fr.nlocal; e++)
    for (int k = 0; k < 3; k++) f[lammps_of_[e]][k] += r.f[3 * e + k];
  if (eflag_global) eng_vdwl += r.energy;
  if (eflag_atom)
    for (int e = 0; e < fr.nlocal; e++) eatom[lammps_of_[e]] += r.eatom[e];
  if (vflag_global)
    for (int k = 0; k < 6; k++) virial[k] += r.virial[k];
  if (vflag_atom) tally_atom_virial();
}

// Per-atom virial: each edge's -r_ij (x) dE/dr_ij, split evenly between i and j (a ghost j's
// share reaches its owner through LAMMPS's reverse communication in compute stress/atom).
void PairMLFFPaiNN::tally_atom_virial()
{
  const auto &g = result_->pair_grad;
  const int nl = static_cast<int>(offsets_.size()) - 1;
  for (int e = 0; e < nl; e++) {
    const int i = lammps_of_[e];
    for (int k = offsets_[e]; k < offsets_[e + 1]; k++) {
      const int ej = nbrs_[k];
      const int j = lammps_of_[ej];
      double r[3];
      for (int c = 0; c < 3; c++) r[c] = x_[3 * ej + c] - x_[3 * e + c];
      const double *gk = &g[3 * size_t(k)];
      const double v[6] = {-r[0] * gk[0], -r[1] * gk[1], -r[2] * gk[2],
                           -r[0] * gk[1], -r[0] * gk[2], -r[1] * gk[2]};
      for (int c = 0; c < 6; c++) {
        vatom[i][c] += 0.5 * v[c];
        vatom[j][c] += 0.5 * v[c];
      }
    }
  }
}

/* ----------------------------------------------------------------------
   Ghost rows (features between layers, message adjoints in the backward pass) from their
   owners. `rows` is in engine order; atoms of NULL types have no row.
------------------------------------------------------------------------- */

void PairMLFFPaiNN::exchange_rows(double *rows, int width)
{
  comm_rows_ = rows;
  comm_width_ = width;
  for (comm_col0_ = 0; comm_col0_ < width; comm_col0_ += kCommChunk) {
    comm_ncol_ = std::min(kCommChunk, width - comm_col0_);
    mlff::forward_comm(comm, this);
  }
  comm_rows_ = nullptr;
}

int PairMLFFPaiNN::pack_forward_comm(int n, int *list, double *buf, int, int *)
{
  int m = 0;
  for (int i = 0; i < n; i++) {
    const int e = engine_of_[list[i]];
    for (int c = 0; c < comm_ncol_; c++) buf[m++] = e >= 0 ? comm_row(e)[c] : 0.0;
  }
  return m;
}

void PairMLFFPaiNN::unpack_forward_comm(int n, int first, double *buf)
{
  for (int i = 0; i < n; i++) {
    const int e = engine_of_[first + i];
    if (e < 0) continue;
    double *row = comm_row(e);
    for (int c = 0; c < comm_ncol_; c++) row[c] = buf[size_t(i) * comm_ncol_ + c];
  }
}

/* ---------------------------------------------------------------------- */

double PairMLFFPaiNN::memory_usage()
{
  double bytes = Pair::memory_usage();
  if (runner_) bytes += static_cast<double>(runner_->memory_bytes());
  bytes += sizeof(int) * (engine_of_.capacity() + lammps_of_.capacity() + species_.capacity() +
                          offsets_.capacity() + nbrs_.capacity());
  bytes += sizeof(double) * (x_.capacity() + result_->f.capacity() + result_->eatom.capacity() +
                             result_->pair_grad.capacity());
  return bytes;
}
