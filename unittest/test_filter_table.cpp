// Tabulated radial filters (src/engine/filter_table.h): forces are the exact derivative of the
// tabulated energy, the table converges to the filter network as the grid is refined, and fp32
// with a table stays within the fp32 engine's target of the exact fp64 model.
#include <gtest/gtest.h>

#include <cmath>

#include "fd_helpers.h"
#include "model_factory.h"

using namespace mlff;
using namespace mlff::test;

namespace {

std::vector<ModelOptions> families() {
  ModelOptions p;
  p.L = 3;
  ModelOptions b = p;
  b.basis = BasisType::Bessel;
  ModelOptions d;
  d.family = Family::Distiller;
  d.L = 3;
  return {p, b, d};
}

const char* name(const ModelOptions& o) {
  if (o.family == Family::Distiller) return "distiller";
  return o.basis == BasisType::Bessel ? "painn_bessel" : "painn_gaussian";
}

double rel_force_diff(const Result& a, const Result& b) {
  double num = 0, den = 0;
  for (size_t i = 0; i < a.forces.size(); ++i)
    for (int k = 0; k < 3; ++k) {
      num += std::pow(a.forces[i][k] - b.forces[i][k], 2);
      den += std::pow(b.forces[i][k], 2);
    }
  return std::sqrt(num / den);
}

TEST(FilterTable, ForcesAreTheDerivativeOfTheTabulatedEnergy) {
  for (const auto& o : families()) {
    EngineFP64 engine(random_model(o), 256);
    std::mt19937 g(5);
    // 90 atoms in a 7 A box with rc = 4 A: many atoms have more than 64 neighbours, so the
    // tabulated kernels' edge chunks are exercised beyond the first.
    System s = random_molecule(g, 90, 7.0, 0.8);
    s.cell = {{{7.0, 0.0, 0.0}, {0.0, 7.0, 0.0}, {0.0, 0.0, 7.0}}};
    s.pbc = {true, true, true};
    const double h = 1e-5;
    ASSERT_GT(gap_to_cutoff(s, o.cutoff), 10 * h);
    const Result r0 = evaluate(engine, s);
    EXPECT_GT(double(r0.pairs) / s.x.size(), 64.0);
    const FdReport r = fd_forces(engine, s, h);
    ASSERT_GT(r.norm, 1e-6);
    figure((std::string("table fd_rel_error ") + name(o)).c_str(), r.rel_error);
    EXPECT_LE(r.rel_error, 1e-7) << name(o);
  }
}

// The same at F = kFixedWidth, where the edge kernels are compiled for that width, in a small
// periodic cell (the 90-atom box costs minutes at this width on one core).
TEST(FilterTable, FixedWidthForcesAreTheDerivative) {
  ModelOptions p;
  p.F = kFixedWidth;
  ModelOptions d = p;
  d.family = Family::Distiller;
  for (const auto& o : {p, d}) {
    EngineFP64 engine(random_model(o), 256);
    std::mt19937 g(9);
    const double h = 1e-5;
    const System s = small_periodic_cell(g, o.cutoff, 10 * h);
    const FdReport r = fd_forces(engine, s, h);
    ASSERT_GT(r.norm, 1e-6);
    figure((std::string("table fd_rel_error fixed width ") + name(o)).c_str(), r.rel_error);
    EXPECT_LE(r.rel_error, 1e-7) << name(o);
  }
}

TEST(FilterTable, ConvergesToTheFilterNetwork) {
  for (const auto& o : families()) {
    const ModelSpec spec = random_model(o);
    std::mt19937 g(9);
    const System s = random_molecule(g, 12, 4.0);
    EngineFP64 exact(spec);
    const Result ref = evaluate(exact, s);
    double prev = 0;
    for (int n : {256, 1024, 4096}) {
      EngineFP64 tab(spec, n);
      const Result r = evaluate(tab, s);
      const double df = rel_force_diff(r, ref);
      const double de = std::fabs(r.energy - ref.energy) / std::fabs(ref.energy);
      figure((std::string("table vs network, N = ") + std::to_string(n) + " forces " + name(o)).c_str(), df);
      figure((std::string("table vs network, N = ") + std::to_string(n) + " energy " + name(o)).c_str(), de);
      // Hermite interpolation: forces (a derivative) converge as h^3, so 4x the points
      // must cut the error by well over 4x; at 4096 points it is far below fp32 rounding.
      if (prev > 0) EXPECT_LT(df, prev / 8) << name(o) << " N = " << n;
      prev = df;
    }
    EXPECT_LT(prev, 1e-8) << name(o);
  }
}

TEST(FilterTable, Fp32WithTableMeetsTheFp32Target) {
  for (const auto& o : families()) {
    const ModelSpec spec = random_model(o);
    std::mt19937 g(13);
    const System s = random_molecule(g, 14, 4.0);
    EngineFP64 exact(spec);
    EngineFP32 tab32(spec, 4096);
    const double df = rel_force_diff(evaluate(tab32, s), evaluate(exact, s));
    figure((std::string("fp32 + table(4096) vs exact fp64 forces ") + name(o)).c_str(), df);
    EXPECT_LE(df, 1e-5) << name(o);
  }
}

}  // namespace
