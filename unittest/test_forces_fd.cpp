// Forces from the analytical backward pass against central finite differences of the engine's
// own fp64 energy, on random molecules, a crowded periodic box, an isolated atom and pairs
// exactly at the cutoff; and the virial against finite differences under box deformation.
#include <gtest/gtest.h>

#include "fd_helpers.h"
#include "model_factory.h"

using namespace mlff;
using namespace mlff::test;

namespace {

struct Case {
  const char* name;
  ModelOptions opt;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

std::vector<Case> cases() {
  std::vector<Case> c;
  ModelOptions o;
  c.push_back({"painn_gaussian", o});
  o.basis = BasisType::Bessel;
  o.L = 3;
  c.push_back({"painn_bessel_3layers", o});
  o = ModelOptions{};
  o.shared_filters = true;
  o.act = Activation::ShiftedSoftplus;
  c.push_back({"painn_shared_filters_ssp", o});
  o = ModelOptions{};
  o.shared_interactions = true;
  o.shared_filters = true;
  c.push_back({"painn_shared_interactions", o});
  // 20 basis functions: the filter runs with its weights in registers (ResidentFilter).
  o = ModelOptions{};
  o.K = 20;
  c.push_back({"painn_resident_filter", o});
  o.shared_filters = true;
  o.act = Activation::ShiftedSoftplus;
  o.L = 3;
  c.push_back({"painn_resident_shared_ssp", o});
  // One layer: the first layer's kernels (v zero, FirstLayer) are also the last layer's.
  o = ModelOptions{};
  o.L = 1;
  c.push_back({"painn_one_layer", o});
  o = ModelOptions{};
  o.family = Family::Distiller;
  c.push_back({"distiller", o});
  o.L = 3;
  o.F = 12;
  o.K = 10;
  c.push_back({"distiller_3layers", o});
  return c;
}

// F = kFixedWidth: the edge kernels compiled for that width (constant row offsets), with each
// filter kind.
std::vector<Case> fixed_width_cases() {
  std::vector<Case> c;
  ModelOptions o;
  o.F = kFixedWidth;
  c.push_back({"painn_fixed_width", o});
  o.K = 20;
  c.push_back({"painn_fixed_width_resident", o});
  o = ModelOptions{};
  o.family = Family::Distiller;
  o.F = kFixedWidth;
  c.push_back({"distiller_fixed_width", o});
  return c;
}

class FdTest : public ::testing::TestWithParam<Case> {};

void check_molecules(const Case& c) {
  EngineFP64 engine(random_model(c.opt));
  std::mt19937 g(c.opt.seed * 7 + 3);
  double worst = 0;
  for (int trial = 0; trial < 3; ++trial) {
    const System s = random_molecule(g, 7 + trial, 4.0);
    const FdReport r = fd_forces(engine, s);
    ASSERT_GT(r.norm, 1e-6) << "forces vanish: the comparison would prove nothing";
    worst = std::max(worst, r.rel_error);
  }
  figure((std::string("fd_rel_error molecules ") + c.name).c_str(), worst);
  EXPECT_LE(worst, 1e-7);
}

TEST_P(FdTest, RandomMolecules) { check_molecules(GetParam()); }

TEST_P(FdTest, CrowdedPeriodicBox) {
  const Case& c = GetParam();
  EngineFP64 engine(random_model(c.opt));
  std::mt19937 g(11);
  // 40 atoms in a 6 A triclinic cell with rc = 4 A: ~50 neighbours each, and every atom sees
  // its own periodic images, so ghosts carry features through every layer. Drawn again until
  // no pair lies within 10 h of rc.
  const double h = 1e-5;
  System s;
  do {
    s = random_molecule(g, 40, 6.0, 0.8);
    s.cell = {{{6.0, 0.0, 0.0}, {0.7, 6.0, 0.0}, {-0.4, 0.5, 6.0}}};
    s.pbc = {true, true, true};
  } while (gap_to_cutoff(s, c.opt.cutoff) < 10 * h);
  const Result r0 = evaluate(engine, s);
  const double per_atom = double(r0.pairs) / s.x.size();
  EXPECT_GE(per_atom, 45.0);
  const FdReport r = fd_forces(engine, s, h);
  figure((std::string("fd_rel_error crowded(") + std::to_string(int(per_atom)) +
          " nbrs) " + c.name).c_str(),
         r.rel_error);
  EXPECT_LE(r.rel_error, 1e-7);
}

void check_virial(const Case& c) {
  EngineFP64 engine(random_model(c.opt));
  std::mt19937 g(5);
  const System s = small_periodic_cell(g, c.opt.cutoff, 1e-2);
  const Result r = evaluate(engine, s);
  // virial W_ab = sum r_a F_b = -dE/d(eps_ba), eps the deformation x_b' += eps x_a
  const int ab[6][2] = {{0, 0}, {1, 1}, {2, 2}, {0, 1}, {0, 2}, {1, 2}};
  double num = 0, den = 0;
  const double h = 1e-4;
  for (int k = 0; k < 6; ++k) {
    const int a = ab[k][1], b = ab[k][0];  // d/d eps_ba
    const double d = (-strained_energy(engine, s, a, b, 2 * h) +
                      8 * strained_energy(engine, s, a, b, h) -
                      8 * strained_energy(engine, s, a, b, -h) +
                      strained_energy(engine, s, a, b, -2 * h)) / (12 * h);
    num += (r.virial[k] + d) * (r.virial[k] + d);
    den += d * d;
  }
  figure((std::string("virial_fd_rel_error ") + c.name).c_str(), std::sqrt(num / den));
  EXPECT_LE(std::sqrt(num / den), 1e-7);
}

TEST_P(FdTest, VirialMatchesStrainDerivative) { check_virial(GetParam()); }

INSTANTIATE_TEST_SUITE_P(Models, FdTest, ::testing::ValuesIn(cases()),
                         [](const auto& info) { return std::string(info.param.name); });

// The fixed-width kernels on molecules, a small periodic cell (each atom sees its own images,
// so ghost rows pass through every layer) and the virial. Not the crowded box: at this width
// it costs ~35 s per case on one core.
class FixedWidthFdTest : public ::testing::TestWithParam<Case> {};

TEST_P(FixedWidthFdTest, RandomMolecules) { check_molecules(GetParam()); }

TEST_P(FixedWidthFdTest, PeriodicCell) {
  const Case& c = GetParam();
  EngineFP64 engine(random_model(c.opt));
  std::mt19937 g(17);
  const double h = 1e-5;
  const System s = small_periodic_cell(g, c.opt.cutoff, 10 * h);
  const FdReport r = fd_forces(engine, s, h);
  ASSERT_GT(r.norm, 1e-6);
  figure((std::string("fd_rel_error periodic cell ") + c.name).c_str(), r.rel_error);
  EXPECT_LE(r.rel_error, 1e-7);
}

TEST_P(FixedWidthFdTest, VirialMatchesStrainDerivative) { check_virial(GetParam()); }

INSTANTIATE_TEST_SUITE_P(Models, FixedWidthFdTest, ::testing::ValuesIn(fixed_width_cases()),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(EdgeCases, IsolatedAtomHasZeroForceAndItsOwnEnergy) {
  for (Family fam : {Family::PaiNN, Family::Distiller}) {
    ModelOptions o;
    o.family = fam;
    EngineFP64 engine(random_model(o));
    System one;
    one.x = {{{0.3, -1.0, 2.0}}};
    one.species = {2};
    const Result r1 = evaluate(engine, one);
    EXPECT_EQ(r1.pairs, 0u);
    EXPECT_TRUE(std::isfinite(r1.energy));
    for (int k = 0; k < 3; ++k) EXPECT_EQ(r1.forces[0][k], 0.0);
    // The same atom far from a molecule contributes exactly its isolated energy.
    std::mt19937 g(2);
    System mol = random_molecule(g, 5, 3.0);
    const double e_mol = evaluate(engine, mol).energy;
    mol.x.push_back({{30.0, 30.0, 30.0}});
    mol.species.push_back(2);
    const Result r2 = evaluate(engine, mol);
    EXPECT_NEAR(r2.energy, e_mol + r1.energy, 1e-12 * std::fabs(r2.energy));
    EXPECT_NEAR(r2.eatom.back(), r1.energy, 1e-12 * std::fabs(r1.energy));
    for (int k = 0; k < 3; ++k) EXPECT_EQ(r2.forces.back()[k], 0.0);
  }
}

// Three atoms, one pair exactly at rc + delta along x (exactly representable distances).
System pair_at_cutoff(double rc, double delta) {
  System s;
  s.x = {{{0.0, 0.0, 0.0}}, {{rc + delta, 0.0, 0.0}}, {{1.1, 0.9, 0.2}}};
  s.species = {1, 2, 3};
  return s;
}

TEST(EdgeCases, PainnPairAtCutoffIsSmooth) {
  ModelOptions o;
  o.cutoff = 4.0;
  EngineFP64 engine(random_model(o));
  for (double delta : {-1e-9, 0.0, 1e-9}) {
    const System s = pair_at_cutoff(o.cutoff, delta);
    // The stencil straddles rc, where fc is C1 with a jump in fc'': its error is O(h).
    const FdReport r = fd_forces(engine, s, 1e-6);
    figure(("fd_rel_error painn pair at rc " + std::to_string(delta * 1e9) + "e-9").c_str(),
           r.rel_error);
    EXPECT_LE(r.rel_error, 1e-7) << "delta = " << delta;
  }
  const double e_in = evaluate(engine, pair_at_cutoff(o.cutoff, -1e-9)).energy;
  const double e_out = evaluate(engine, pair_at_cutoff(o.cutoff, 1e-9)).energy;
  // Moving one atom by 2e-9 A changes E by ~|F| 2e-9; a jump (the distiller's is ~1e-2 eV)
  // would be far larger.
  EXPECT_NEAR(e_in, e_out, 1e-9) << "painn energy must be continuous at rc";
}

TEST(EdgeCases, DistillerPairAtCutoffJumpsAsTheModelDefines) {
  // mlff-distiller: pairs with d <= rc are edges and the filter keeps its bias at e = 0, so
  // the energy is continuous from inside up to rc exactly and jumps just beyond it.
  ModelOptions o;
  o.family = Family::Distiller;
  EngineFP64 engine(random_model(o));
  const double e_in = evaluate(engine, pair_at_cutoff(o.cutoff, -1e-9)).energy;
  const double e_at = evaluate(engine, pair_at_cutoff(o.cutoff, 0.0)).energy;
  const double e_out = evaluate(engine, pair_at_cutoff(o.cutoff, 1e-9)).energy;
  EXPECT_EQ(evaluate(engine, pair_at_cutoff(o.cutoff, 0.0)).pairs, 6u);  // pair at rc is an edge
  EXPECT_EQ(evaluate(engine, pair_at_cutoff(o.cutoff, 1e-9)).pairs, 4u);
  EXPECT_NEAR(e_in, e_at, 1e-7 * std::fabs(e_at));
  figure("distiller energy jump at rc (eV)", std::fabs(e_at - e_out));
  EXPECT_GT(std::fabs(e_at - e_out), 1e-6);
  // Forces just inside rc still match finite differences taken inside the cutoff.
  const FdReport r = fd_forces(engine, pair_at_cutoff(o.cutoff, -1e-2), 1e-4);
  EXPECT_LE(r.rel_error, 1e-7);
}

}  // namespace
