// Error texts shared by mlff/painn and mlff/painn/kk for failures inside the engine.
#pragma once

#include <cstring>
#include <exception>
#include <string>

#include "fmt/format.h"

namespace mlff {

// Kokkos reports a failed allocation as an exception whose text says "allocate".
inline bool is_out_of_memory(const std::exception &e)
{
  return std::strstr(e.what(), "allocate") != nullptr;
}

inline std::string out_of_memory_message(const char *style, int nlocal, int nall, long long pairs,
                                         size_t needed_bytes, const std::exception &e)
{
  return fmt::format(
      "Pair style {}: out of device memory for this rank's {} local + {} ghost atoms ({} pairs): the "
      "engine needs about {:.2f} GiB ({:.1f} KB per local atom) at this precision. Use more MPI ranks "
      "(one GPU each), precision fp32, or a smaller system. Kokkos: {}",
      style, nlocal, nall - nlocal, pairs, needed_bytes / 1073741824.0, needed_bytes / 1000.0 / (nlocal > 0 ? nlocal : 1),
      e.what());
}

}  // namespace mlff
