// Reads and validates a weight file (format v1). Every failure throws WeightFormatError whose
// message names the file, the key path, and what was expected versus what was found.
#pragma once

#include <stdexcept>
#include <string>

#include "model_spec.h"

namespace mlff {

constexpr int kFormatVersion = 1;

class WeightFormatError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Loads `path`; throws WeightFormatError (unreadable file, malformed JSON with line/column,
// wrong version, missing/unknown keys, wrong types or shapes, non-finite numbers, ...).
ModelSpec load_model(const std::string& path);

// Atomic number of a chemical symbol ("C" -> 6), or 0 if it is not one.
int atomic_number(const std::string& symbol);

// Same checks on JSON text already in memory; `name` is used in messages.
ModelSpec parse_model(const std::string& text, const std::string& name);

}  // namespace mlff
