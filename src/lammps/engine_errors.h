// Error texts shared by mlff/painn and mlff/painn/kk (`style` names the one that stops).
#pragma once

#include <cstring>
#include <exception>
#include <string>

#include "fmt/format.h"
#include "lmptype.h"

namespace mlff {

// An exception from the engine. Kokkos reports a failed allocation as one whose text says
// "allocate": then the message names the atoms and the memory the engine needs for them.
inline std::string engine_failure_message(const char *style, int nlocal, int nall, long long pairs,
                                          size_t needed_bytes, const std::exception &e)
{
  if (std::strstr(e.what(), "allocate") == nullptr)
    return fmt::format("Pair style {}: engine failure: {}", style, e.what());
  return fmt::format(
      "Pair style {}: out of device memory for this rank's {} local + {} ghost atoms ({} pairs): the "
      "engine needs about {:.2f} GiB ({:.1f} KB per local atom) at this precision. Use more MPI ranks "
      "(one GPU each), precision fp32, or a smaller system. Kokkos: {}",
      style, nlocal, nall - nlocal, pairs, needed_bytes / 1073741824.0, needed_bytes / 1000.0 / (nlocal > 0 ? nlocal : 1),
      e.what());
}

// LAMMPS checks positions only when it re-neighbors, and a NaN displacement never triggers
// that; an Inf atom would just drop out of every pair.
inline std::string nonfinite_position_message(const char *style, LAMMPS_NS::tagint tag, const double *x)
{
  return fmt::format("Pair style {}: atom {} has a non-finite position ({} {} {}); the simulation "
                     "is unstable or a command set it", style, tag, x[0], x[1], x[2]);
}

// The pair direction r/|r| is undefined for coincident atoms.
inline std::string coincident_atoms_message(const char *style, LAMMPS_NS::tagint i, LAMMPS_NS::tagint j,
                                            const double *x)
{
  return fmt::format("Pair style {}: atoms {} and {} are at the same position ({:.6g} {:.6g} {:.6g})",
                     style, i, j, x[0], x[1], x[2]);
}

inline std::string nonfinite_energy_message(const char *style, double energy, int nlocal,
                                            const std::string &model_file)
{
  return fmt::format("Pair style {}: the model returned a non-finite energy ({}) for the {} atoms "
                     "of this rank; check the structure (overlapping atoms?) and the model file {}",
                     style, energy, nlocal, model_file);
}

}  // namespace mlff
