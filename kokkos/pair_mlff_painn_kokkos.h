/* -*- c++ -*- ----------------------------------------------------------
   pair_style mlff/painn/kk: the KOKKOS-package variant of mlff/painn. Positions, types, the
   neighbor list, the engine's features and the forces stay in device memory; ghost features
   and message adjoints move between layers through the KOKKOS package's device-side forward
   communication. Same keywords and pair_coeff syntax as mlff/painn.
------------------------------------------------------------------------- */

#ifdef PAIR_CLASS
// clang-format off
PairStyle(mlff/painn/kk,PairMLFFPaiNNKokkos<LMPDeviceType>);
PairStyle(mlff/painn/kk/device,PairMLFFPaiNNKokkos<LMPDeviceType>);
// clang-format on
#else

#ifndef LMP_PAIR_MLFF_PAINN_KOKKOS_H
#define LMP_PAIR_MLFF_PAINN_KOKKOS_H

#include <memory>

#include "kokkos_base.h"
#include "kokkos_type.h"
#include "pair_mlff_painn.h"

namespace LAMMPS_NS {

template <class DeviceType>
class PairMLFFPaiNNKokkos : public PairMLFFPaiNN, public KokkosBase {
 public:
  typedef DeviceType device_type;
  typedef ArrayTypes<DeviceType> AT;

  PairMLFFPaiNNKokkos(class LAMMPS *);
  ~PairMLFFPaiNNKokkos() override;

  void compute(int, int) override;
  void settings(int, char **) override;
  void init_style() override;
  double memory_usage() override;

  // Device-side forward communication; the first pair is LAMMPS since 2023 (1-d send list),
  // the second is earlier releases (2-d send list and a swap index). Each overrides the one its
  // LAMMPS declares.
  int pack_forward_comm_kokkos(int, DAT::tdual_int_1d, DAT::tdual_xfloat_1d &, int, int *);
  int pack_forward_comm_kokkos(int, DAT::tdual_int_2d, int, DAT::tdual_xfloat_1d &, int, int *);
  void unpack_forward_comm_kokkos(int, int, DAT::tdual_xfloat_1d &) override;
  // LAMMPS's host path (no GPU, comm/pair/forward host, an MPI that is not GPU-aware).
  int pack_forward_comm(int, int *, double *, int, int *) override;
  void unpack_forward_comm(int, int, double *) override;

  struct Impl;  // the engine, the frame (pair_mlff_painn_kokkos.cpp)

 protected:
  std::string setup_engine(const mlff::ModelSpec &spec) override;
  bool engine_ready() const override;
  bool build_owner() override;    // the frame's owner map, on the device

 private:
  std::unique_ptr<Impl> impl_;
  DAT::tdual_efloat_1d k_eatom;
  DAT::tdual_virial_array k_vatom;
};

}    // namespace LAMMPS_NS

#endif
#endif
