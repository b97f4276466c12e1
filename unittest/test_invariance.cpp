// Symmetries: translation and permutation invariance for both families, rotation invariance
// (and force covariance) for painn; for mlff-distiller, rotation changes E because of the
// x/y/z mixing matrix, and the loader says so.
#include <gtest/gtest.h>

#include "fd_helpers.h"
#include "model_factory.h"
#include "weights/json_loader.h"

using namespace mlff;
using namespace mlff::test;

namespace {

using Rot = std::array<std::array<double, 3>, 3>;

Rot random_rotation(std::mt19937& g) {
  std::normal_distribution<double> n(0, 1);
  double q[4] = {n(g), n(g), n(g), n(g)};
  const double s = std::sqrt(q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3]);
  for (double& v : q) v /= s;
  const double w = q[0], x = q[1], y = q[2], z = q[3];
  return {{{1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)},
           {2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)},
           {2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)}}};
}

std::array<double, 3> rotate(const Rot& R, const std::array<double, 3>& v) {
  std::array<double, 3> o{0, 0, 0};
  for (int a = 0; a < 3; ++a)
    for (int b = 0; b < 3; ++b) o[a] += R[a][b] * v[b];
  return o;
}

double force_diff(const Result& a, const Result& b, const std::vector<int>& perm = {}) {
  double num = 0, den = 0;
  for (size_t i = 0; i < a.forces.size(); ++i) {
    const size_t j = perm.empty() ? i : perm[i];
    for (int k = 0; k < 3; ++k) {
      num += std::pow(a.forces[i][k] - b.forces[j][k], 2);
      den += a.forces[i][k] * a.forces[i][k];
    }
  }
  return std::sqrt(num / den);
}

class Symmetry : public ::testing::TestWithParam<Family> {};

TEST_P(Symmetry, TranslationAndPermutation) {
  ModelOptions o;
  o.family = GetParam();
  EngineFP64 engine(random_model(o));
  std::mt19937 g(21);
  const System s = random_molecule(g, 9, 4.0);
  const Result r = evaluate(engine, s);

  System t = s;
  for (auto& x : t.x) x = {x[0] + 3.7, x[1] - 11.2, x[2] + 0.9};
  const Result rt = evaluate(engine, t);
  EXPECT_NEAR(rt.energy, r.energy, 1e-12 * std::fabs(r.energy));
  EXPECT_LE(force_diff(r, rt), 1e-11);

  std::vector<int> perm(s.x.size());
  for (size_t i = 0; i < perm.size(); ++i) perm[i] = static_cast<int>(i);
  std::shuffle(perm.begin(), perm.end(), g);
  System p = s;
  for (size_t i = 0; i < perm.size(); ++i) {
    p.x[perm[i]] = s.x[i];
    p.species[perm[i]] = s.species[i];
  }
  const Result rp = evaluate(engine, p);
  EXPECT_NEAR(rp.energy, r.energy, 1e-12 * std::fabs(r.energy));
  EXPECT_LE(force_diff(r, rp, perm), 1e-11);
}

TEST_P(Symmetry, Rotation) {
  ModelOptions o;
  o.family = GetParam();
  EngineFP64 engine(random_model(o));
  std::mt19937 g(33);
  const System s = random_molecule(g, 9, 4.0);
  const Result r = evaluate(engine, s);
  const Rot R = random_rotation(g);
  System rs = s;
  for (auto& x : rs.x) x = rotate(R, x);
  const Result rr = evaluate(engine, rs);
  const double de = std::fabs(rr.energy - r.energy) / std::fabs(r.energy);
  if (GetParam() == Family::PaiNN) {
    EXPECT_LE(de, 1e-12);
    Result rotated = r;
    for (auto& f : rotated.forces) f = rotate(R, f);
    EXPECT_LE(force_diff(rotated, rr), 1e-11);
  } else {
    // The 3x3 mixing matrix acts on x, y, z: the model as trained is not rotation invariant.
    figure("distiller relative energy change under a random rotation", de);
    EXPECT_GT(de, 1e-6);
  }
}

INSTANTIATE_TEST_SUITE_P(Families, Symmetry,
                         ::testing::Values(Family::PaiNN, Family::Distiller),
                         [](const auto& info) {
                           return std::string(info.param == Family::PaiNN ? "painn"
                                                                          : "distiller");
                         });

TEST(LoaderWarnings, DistillerModelsAnnounceTheirTwoProperties) {
  ModelOptions o;
  o.family = Family::Distiller;
  const ModelSpec m = parse_model(to_json(random_model(o)).dump(), "distiller.json");
  ASSERT_EQ(m.warnings.size(), 2u);
  EXPECT_NE(m.warnings[0].find("does not vanish at the cutoff"), std::string::npos);
  EXPECT_NE(m.warnings[1].find("not rotation invariant"), std::string::npos);
  const ModelSpec p = parse_model(to_json(random_model(ModelOptions{})).dump(), "painn.json");
  EXPECT_TRUE(p.warnings.empty());
}

}  // namespace
