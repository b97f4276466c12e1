/* -*- c++ -*- ----------------------------------------------------------
   pair_style mlff/painn: PaiNN message-passing potentials (mlff/painn project).
   Host LAMMPS data and neighbor lists; the engine runs on the Kokkos execution space it was
   built for. Ghost atoms receive their owners' features after every interaction layer and
   their message adjoints in the backward pass (forward communication both).
------------------------------------------------------------------------- */

#ifdef PAIR_CLASS
// clang-format off
PairStyle(mlff/painn,PairMLFFPaiNN);
// clang-format on
#else

#ifndef LMP_PAIR_MLFF_PAINN_H
#define LMP_PAIR_MLFF_PAINN_H

#include <memory>
#include <string>
#include <vector>

#include "pair.h"

namespace mlff {
class PaiNNRunner;
struct ModelSpec;
struct HostResult;
}  // namespace mlff

namespace LAMMPS_NS {

class PairMLFFPaiNN : public Pair {
 public:
  PairMLFFPaiNN(class LAMMPS *);
  ~PairMLFFPaiNN() override;

  void compute(int, int) override;
  void settings(int, char **) override;
  void coeff(int, char **) override;
  void init_style() override;
  double init_one(int, int) override;

  int pack_forward_comm(int, int *, double *, int, int *) override;
  void unpack_forward_comm(int, int, double *) override;

  double memory_usage() override;

  // Called by the engine (through a HostComm) between layers; public for that adapter only.
  void exchange_rows(double *rows, int width);

 protected:
  std::string precision_ = "fp64";
  int table_points_ = 0;             // tabulated radial filters (intervals); 0 = exact
  bool graphs_ = true;               // one rank: owner maps, force calls as CUDA graphs
  std::string model_file_;
  double cutoff_ = 0.0;
  std::vector<int> type_species_;    // LAMMPS type -> model species index, -1 = NULL
  std::unique_ptr<mlff::PaiNNRunner> runner_;
  std::unique_ptr<mlff::HostResult> result_;

  // Per-step engine frame (engine order: mapped locals, then mapped ghosts).
  std::vector<int> engine_of_;       // LAMMPS atom index -> engine index, -1 if unmapped
  std::vector<int> lammps_of_;       // engine index -> LAMMPS atom index
  std::vector<double> x_;
  std::vector<int> species_, offsets_, nbrs_;
  // One rank (and graphs not turned off): whether ghost rows come from an owner map instead
  // of LAMMPS's communication; the map is built again (build_owner) when LAMMPS has rebuilt
  // its lists, since ghosts change only then.
  bool owner_map();
  bool owner_ready_ = false;
  // One rank: image_[a - nlocal] is the local atom that LAMMPS ghost a is a periodic image of
  // (matched by atom ID); false if some ghost's ID has no local atom.
  bool ghost_images();
  std::vector<int> image_, local_of_tag_;
  // The engine's owner map from image_ (here HostFrame::owner: engine ghost -> engine local).
  virtual bool build_owner();
  std::vector<int> owner_;

  // Rows being exchanged (set by exchange_rows for the duration of one communication). Rows
  // travel in column blocks of at most kCommChunk numbers, so that the buffer size LAMMPS
  // reserves (comm_forward, fixed before any model is read, e.g. by pair hybrid) always fits.
  static constexpr int kCommChunk = 128;
  double *comm_rows_ = nullptr;
  int comm_width_ = 0, comm_col0_ = 0, comm_ncol_ = 0;
  double *comm_row(int e) const { return comm_rows_ + size_t(e) * comm_width_ + comm_col0_; }

  // Builds the engine for `spec` at the chosen precision; returns the Kokkos space it runs on.
  virtual std::string setup_engine(const mlff::ModelSpec &spec);
  virtual bool engine_ready() const { return runner_ != nullptr; }
  void check_ready(const char *style);

  void build_frame();
  void tally_atom_virial();
  void allocate();
};

}    // namespace LAMMPS_NS

#endif
#endif
