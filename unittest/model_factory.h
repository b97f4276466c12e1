// Random models and configurations for the C++ tests: every tensor random (biases included),
// so no part of the model can silently drop out of a comparison.
#pragma once

#include <cmath>
#include <random>
#include <string>

#include <nlohmann/json.hpp>

#include "standalone/system.h"
#include "weights/model_spec.h"

namespace mlff::test {

struct ModelOptions {
  Family family = Family::PaiNN;
  int F = 8, L = 2, K = 6, hidden = 12;
  double cutoff = 4.0;
  BasisType basis = BasisType::Gaussian;
  Activation act = Activation::SiLU;
  bool shared_filters = false, shared_interactions = false;
  unsigned seed = 1;
};

inline Tensor random_tensor(std::mt19937& g, std::vector<long> shape, double scale) {
  Tensor t;
  t.shape = shape;
  long n = 1;
  for (long d : shape) n *= d;
  std::uniform_real_distribution<double> u(-scale, scale);
  t.data.resize(n);
  for (auto& v : t.data) v = u(g);
  return t;
}

inline void add_linear(ModelSpec& m, std::mt19937& g, const std::string& name, long out, long in,
                       bool bias = true) {
  const double s = 1.5 / std::sqrt(double(in));
  m.tensors[name + ".weight"] = random_tensor(g, {out, in}, s);
  if (bias) m.tensors[name + ".bias"] = random_tensor(g, {out}, 0.3);
}

inline ModelSpec random_model(const ModelOptions& o) {
  std::mt19937 g(o.seed);
  ModelSpec m;
  m.family = o.family;
  m.features = o.F;
  m.layers = o.L;
  m.cutoff = o.cutoff;
  m.activation = o.act;
  m.basis = o.basis;
  m.shared_filters = o.shared_filters;
  m.shared_interactions = o.shared_interactions;
  const bool painn = o.family == Family::PaiNN;
  m.norm_epsilon = painn ? 1e-8 : 0.0;
  m.direction_epsilon = painn ? 0.0 : 1e-8;
  for (int k = 0; k < o.K; ++k) {
    if (o.basis == BasisType::Gaussian) {
      m.centers.push_back(o.cutoff * k / (o.K - 1));
      const double w = o.cutoff / (o.K - 1);
      m.gammas.push_back(0.5 / (w * w));
    } else {
      m.frequencies.push_back((k + 1) * 3.14159265358979 / o.cutoff);
    }
  }
  m.readout = {o.F, std::max(1, o.F / 2), 1};
  m.energy_scale = 1.3;
  m.energy_shift = -0.7;
  const char* els[] = {"H", "C", "N", "O"};
  const int zs[] = {1, 6, 7, 8};
  for (int k = 0; k < 4; ++k) m.species.push_back({els[k], zs[k], zs[k], -0.5 * (k + 1)});
  const long F = o.F;
  m.tensors["embedding.weight"] = random_tensor(g, {10, F}, 1.0);
  for (size_t k = 0; k + 1 < m.readout.size(); ++k)
    add_linear(m, g, "readout." + std::to_string(k), m.readout[k + 1], m.readout[k]);
  if (painn) {
    const long nf = o.shared_filters ? 1 : o.L, nb = o.shared_interactions ? 1 : o.L;
    add_linear(m, g, "filter_net", 3 * F * nf, o.K);
    for (long l = 0; l < nb; ++l) {
      const std::string pi = "interactions." + std::to_string(l) + ".context.";
      const std::string pm = "mixing." + std::to_string(l) + ".";
      add_linear(m, g, pi + "0", F, F);
      add_linear(m, g, pi + "1", 3 * F, F);
      add_linear(m, g, pm + "channel_mix", 2 * F, F, false);
      add_linear(m, g, pm + "context.0", F, 2 * F);
      add_linear(m, g, pm + "context.1", 3 * F, F);
    }
  } else {
    for (int l = 0; l < o.L; ++l) {
      const std::string p = "interactions." + std::to_string(l) + ".";
      add_linear(m, g, p + "filter.0", o.hidden, o.K);
      add_linear(m, g, p + "filter.1", 3 * F, o.hidden);
      add_linear(m, g, p + "update.0", o.hidden + 3, 2 * F);
      add_linear(m, g, p + "update.1", 3 * F, o.hidden + 3);
      m.tensors[p + "mixing_matrix"] = random_tensor(g, {3, 3}, 1.0);
    }
  }
  return m;
}

// Format v1 JSON of a model (what the exporters write).
inline nlohmann::json to_json(const ModelSpec& m) {
  using nlohmann::json;
  json h;
  h["features"] = m.features;
  h["layers"] = m.layers;
  h["cutoff"] = m.cutoff;
  h["cutoff_function"] = "cosine";
  if (m.basis == BasisType::Gaussian)
    h["radial_basis"] = {{"type", "gaussian"}, {"size", m.centers.size()},
                         {"centers", m.centers}, {"gammas", m.gammas}};
  else
    h["radial_basis"] = {{"type", "bessel"}, {"size", m.frequencies.size()},
                         {"frequencies", m.frequencies}};
  h["activation"] = m.activation == Activation::SiLU ? "silu" : "shifted_softplus";
  h["norm_epsilon"] = m.norm_epsilon;
  h["direction_epsilon"] = m.direction_epsilon;
  h["shared_filters"] = m.shared_filters;
  h["shared_interactions"] = m.shared_interactions;
  h["readout"] = m.readout;
  h["energy_scale"] = m.energy_scale;
  h["energy_shift"] = m.energy_shift;
  json sp = json::array();
  for (const auto& s : m.species)
    sp.push_back({{"element", s.element}, {"atomic_number", s.atomic_number},
                  {"embedding_row", s.embedding_row}, {"reference_energy", s.reference_energy}});
  json ts = json::object();
  for (const auto& [name, t] : m.tensors) ts[name] = {{"shape", t.shape}, {"data", t.data}};
  return {{"format", "mlff-painn-weights"},
          {"version", 1},
          {"family", family_name(m.family)},
          {"units", {{"energy", "eV"}, {"length", "angstrom"}}},
          {"hyperparameters", h},
          {"species", sp},
          {"tensors", ts},
          {"metadata", {{"provenance", "unit test"}}}};
}

// n atoms placed at random with no two closer than dmin, inside a cube of side `box`.
inline System random_molecule(std::mt19937& g, int n, double box, double dmin = 0.9) {
  System s;
  std::uniform_real_distribution<double> u(0.0, box);
  std::uniform_int_distribution<int> sp(0, 3);
  while (static_cast<int>(s.x.size()) < n) {
    std::array<double, 3> p{u(g), u(g), u(g)};
    bool ok = true;
    for (const auto& q : s.x) {
      const double dx = p[0] - q[0], dy = p[1] - q[1], dz = p[2] - q[2];
      ok = ok && std::sqrt(dx * dx + dy * dy + dz * dz) >= dmin;
    }
    if (ok) {
      s.x.push_back(p);
      s.species.push_back(sp(g));
    }
  }
  return s;
}

}  // namespace mlff::test
