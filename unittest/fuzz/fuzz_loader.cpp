// libFuzzer target for the weight loader (mlff::parse_model, which load_model calls on the
// file's text). Built with clang under ASan + UBSan (unittest/fuzz/CMakeLists.txt); any crash,
// leak, sanitizer report, hang or memory blow-up is a finding.
//
// The loader's contract: every bad input ends in mlff::WeightFormatError. Any other exception
// (an nlohmann type_error escaping a check, std::bad_alloc from a forged size, ...) is
// deliberately not caught here, so libFuzzer reports it as a crash.
#include <cstddef>
#include <cstdint>
#include <string>

#include "weights/json_loader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const mlff::ModelSpec m = mlff::parse_model(text, "fuzz.json");
    // An accepted model must be self-consistent: touch what the engine would read.
    volatile double sink = 0;
    for (const auto& [name, t] : m.tensors) {
      long n = 1;
      for (long d : t.shape) n *= d;
      if (n != static_cast<long>(t.data.size())) __builtin_trap();  // shape/data mismatch
      if (!t.data.empty()) sink = sink + t.data.front() + t.data.back();
    }
    for (const auto& s : m.species)
      if (s.embedding_row >= m.tensor("embedding.weight").rows()) __builtin_trap();
  } catch (const mlff::WeightFormatError&) {
    // Rejected with a message: the expected outcome for almost every mutated input.
  }
  return 0;
}
