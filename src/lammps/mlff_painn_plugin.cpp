// Entry point for "plugin load mlff_painn_plugin.so": registers pair style mlff/painn and, when
// built against a LAMMPS with the KOKKOS package (MLFF_LAMMPS_KOKKOS), mlff/painn/kk.
#include "lammpsplugin.h"
#include "version.h"

#include "pair_mlff_painn.h"
#ifdef MLFF_PAINN_KOKKOS
#include "pair_mlff_painn_kokkos.h"
#endif

using namespace LAMMPS_NS;

static Pair *mlff_painn_creator(LAMMPS *lmp)
{
  return new PairMLFFPaiNN(lmp);
}

#ifdef MLFF_PAINN_KOKKOS
static Pair *mlff_painn_kk_creator(LAMMPS *lmp)
{
  return new PairMLFFPaiNNKokkos<LMPDeviceType>(lmp);
}
#endif

extern "C" void lammpsplugin_init(void *lmp, void *handle, void *regfunc)
{
  lammpsplugin_t plugin;
  auto register_plugin = (lammpsplugin_regfunc) regfunc;
  plugin.version = LAMMPS_VERSION;
  plugin.style = "pair";
  plugin.name = "mlff/painn";
  plugin.info = "mlff/painn: PaiNN potentials with analytical forces (Kokkos engine)";
  plugin.author = "mlff/painn developers";
  plugin.creator.v1 = (lammpsplugin_factory1 *) &mlff_painn_creator;
  plugin.handle = handle;
  (*register_plugin)(&plugin, lmp);
#ifdef MLFF_PAINN_KOKKOS
  plugin.info = "mlff/painn/kk: PaiNN potentials, KOKKOS package variant (data resident on the device)";
  plugin.creator.v1 = (lammpsplugin_factory1 *) &mlff_painn_kk_creator;
  for (const char *name : {"mlff/painn/kk", "mlff/painn/kk/device"}) {
    plugin.name = name;
    (*register_plugin)(&plugin, lmp);
  }
#endif
}
