// Entry point for "plugin load libmlff_painn_plugin.so": registers pair style mlff/painn.
#include "lammpsplugin.h"
#include "version.h"

#include "pair_mlff_painn.h"

using namespace LAMMPS_NS;

static Pair *mlff_painn_creator(LAMMPS *lmp)
{
  return new PairMLFFPaiNN(lmp);
}

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
}
