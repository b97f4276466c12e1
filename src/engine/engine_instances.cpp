#include "engine_instances.h"

#include <stdexcept>
#include <string>

#ifdef KOKKOS_ENABLE_CUDA
#include <cuda_runtime.h>
#endif

template class mlff::Engine<mlff::ExecSpace, double, double>;
template class mlff::Engine<mlff::ExecSpace, float, float>;
template class mlff::Engine<mlff::ExecSpace, float, double>;

namespace mlff {

Precision parse_precision(const std::string& word) {
  if (word == "fp64") return Precision::FP64;
  if (word == "fp32") return Precision::FP32;
  if (word == "mixed") return Precision::Mixed;
  throw std::invalid_argument("unknown precision '" + word + "' (expected fp64, fp32 or mixed)");
}

std::string describe_device() {
  std::string s = ExecSpace::name();
#ifdef KOKKOS_ENABLE_CUDA
  // Which GPU this process drives: Kokkos picks it (KOKKOS_DEVICE_ID, --kokkos-device-id, or by
  // the MPI local rank modulo the visible GPUs).
  int count = 0;
  cudaGetDeviceCount(&count);
  const int id = Kokkos::Cuda().cuda_device();
  cudaDeviceProp prop;
  const bool named = cudaGetDeviceProperties(&prop, id) == cudaSuccess;
  s += " (GPU " + std::to_string(id) + " of " + std::to_string(count) +
       (named ? std::string(": ") + prop.name : std::string()) + ")";
#endif
  return s;
}

}  // namespace mlff
