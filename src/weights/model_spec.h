// The in-memory form of a weight file (format v1, weights/FORMAT.md): checked hyperparameters,
// species table and named tensors, all on the host in double precision.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace mlff {

enum class Family { PaiNN, Distiller };
enum class Activation { SiLU, ShiftedSoftplus };
enum class BasisType { Gaussian, Bessel };

struct Tensor {
  std::vector<long> shape;
  std::vector<double> data;  // row-major
  long rows() const { return shape.empty() ? 0 : shape[0]; }
  long cols() const { return shape.size() < 2 ? 1 : shape[1]; }
};

struct Species {
  std::string element;
  int atomic_number = 0;
  int embedding_row = 0;
  double reference_energy = 0.0;
};

struct ModelSpec {
  Family family = Family::PaiNN;
  int features = 0;
  int layers = 0;
  double cutoff = 0.0;
  Activation activation = Activation::SiLU;
  BasisType basis = BasisType::Gaussian;
  std::vector<double> centers, gammas;  // gaussian
  std::vector<double> frequencies;      // bessel
  double norm_epsilon = 0.0;
  double direction_epsilon = 0.0;
  bool shared_filters = false;
  bool shared_interactions = false;
  std::vector<int> readout;  // widths, F first, 1 last
  double energy_scale = 1.0;
  double energy_shift = 0.0;
  std::vector<Species> species;
  std::map<std::string, Tensor> tensors;
  std::string source;                 // file the model was read from
  std::vector<std::string> warnings;  // things users must be told at load time

  int basis_size() const {
    return static_cast<int>(basis == BasisType::Gaussian ? centers.size() : frequencies.size());
  }
  const Tensor& tensor(const std::string& name) const { return tensors.at(name); }
  // Index into `species` for an element symbol, or -1.
  int species_index(const std::string& element) const {
    for (size_t k = 0; k < species.size(); ++k)
      if (species[k].element == element) return static_cast<int>(k);
    return -1;
  }
};

const char* family_name(Family f);

}  // namespace mlff
