// The engine precisions built once in engine_instances.cpp for the default execution space.
#pragma once

#include "engine.h"

namespace mlff {

enum class Precision { FP64, FP32, Mixed };

using ExecSpace = Kokkos::DefaultExecutionSpace;
using EngineFP64 = Engine<ExecSpace, double, double>;
using EngineFP32 = Engine<ExecSpace, float, float>;
using EngineMixed = Engine<ExecSpace, float, double>;

// Parses "fp64" / "fp32" / "mixed"; throws std::invalid_argument naming the bad word.
Precision parse_precision(const std::string& word);

// The execution space and, on a GPU, which device this process uses ("Cuda (GPU 1 of 4: ...)").
std::string describe_device();

}  // namespace mlff

extern template class mlff::Engine<mlff::ExecSpace, double, double>;
extern template class mlff::Engine<mlff::ExecSpace, float, float>;
extern template class mlff::Engine<mlff::ExecSpace, float, double>;
