#include "engine_instances.h"

#include <stdexcept>

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

}  // namespace mlff
