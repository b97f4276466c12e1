// Force calls recorded as a CUDA graph (call_graph.h) against the same calls run directly: the
// replays must see each call's new positions and give the same numbers to the last bit, and a
// new neighbour list (new sizes, reallocated workspaces) must drop the recording. Also: calls
// repeated into one Output agree (nothing is left over from the call before), forward
// intermediates kept for the backward pass give what computing them again gives, and ghosts
// that read their owners' rows give what ghost rows of their own give.
#include <gtest/gtest.h>

#include <cmath>

#include "fd_helpers.h"
#include "model_factory.h"

using namespace mlff;
using namespace mlff::test;

namespace {

// Ghost rows filled from the owner map through forward(), without telling the engine the map:
// the path of several ranks, where ghost rows come through LAMMPS's communication.
template <class Exec, class Real>
class GhostRowsExchange : public OwnerMapExchange<Exec, Real> {
 public:
  using OwnerMapExchange<Exec, Real>::OwnerMapExchange;
  Kokkos::View<const int*, typename Exec::memory_space> owners() const override { return {}; }
};

template <class EngineT>
struct Caller {
  using Real = typename EngineT::M2::value_type;
  EngineT engine;
  typename EngineT::Output out;
  bool pair_grad = false;  // also ask for (and return) the pair gradients
  bool virial = true;      // ask for the virial (Input::want_virial)
  bool ghost_rows = false;  // ghosts get rows of their own (no owner map, as on several ranks)
  explicit Caller(const ModelSpec& spec, int table, bool graphs, bool keep = true) : engine(spec, table) {
    engine.use_graphs(graphs);
    if (!keep) engine.keep_below(0);
  }
  // One call on `frame`; returns energy, virial, forces and (if asked) pair gradients in one
  // vector.
  std::vector<double> call(const DeviceFrame<typename EngineT::Mem>& frame) {
    OwnerMapExchange<ExecSpace, Real> owners(frame.nlocal, frame.owner);
    GhostRowsExchange<ExecSpace, Real> rows(frame.nlocal, frame.owner);
    auto in = frame.template input<EngineT>();
    in.want_pair_grad = pair_grad;
    in.want_virial = virial;
    if (ghost_rows)
      engine.compute(in, rows, out);
    else
      engine.compute(in, owners, out);
    std::vector<double> r = {out.energy};
    r.insert(r.end(), out.virial, out.virial + 6);
    auto hf = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), out.f);
    for (int i = 0; i < frame.nlocal; ++i)
      for (int k = 0; k < 3; ++k) r.push_back(static_cast<double>(hf(i, k)));
    if (pair_grad) {
      auto hp = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), out.pair_grad);
      for (size_t e = 0; e < in.nbrs.extent(0); ++e)
        for (int k = 0; k < 3; ++k) r.push_back(static_cast<double>(hp(e, k)));
    }
    return r;
  }
};

// Whether two calls' results are the same to the last bit (naming the first that is not).
::testing::AssertionResult same_bits(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size())
    return ::testing::AssertionFailure() << a.size() << " values against " << b.size();
  for (size_t k = 0; k < a.size(); ++k)
    if (a[k] != b[k]) return ::testing::AssertionFailure() << "value " << k << ": " << a[k] << " != " << b[k];
  return ::testing::AssertionSuccess();
}

// Runs check(engine type, model, table intervals, label) for painn in fp64 (exact filter) and
// fp32 (table), and for the distiller family in mixed precision (exact filter).
template <class Engine>
struct EngineType {
  using type = Engine;
};
template <class Check>
void three_cases(const ModelOptions& painn, const Check& check) {
  check(EngineType<EngineFP64>{}, painn, 0, "painn fp64");
  check(EngineType<EngineFP32>{}, painn, 256, "painn fp32 table");
  ModelOptions distiller = painn;
  distiller.family = Family::Distiller;
  check(EngineType<EngineMixed>{}, distiller, 0, "distiller mixed");
}

// Moves every row of the frame's positions (ghosts included) in place, as an MD step does.
template <class Mem>
void jiggle(const DeviceFrame<Mem>& frame, std::mt19937& g) {
  std::uniform_real_distribution<double> u(-0.05, 0.05);
  auto hx = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), frame.x);
  for (size_t a = 0; a < hx.extent(0); ++a)
    for (int k = 0; k < 3; ++k) hx(a, k) += u(g);
  Kokkos::deep_copy(frame.x, hx);
}

template <class EngineT>
void replay_matches_direct(const ModelOptions& o, int table, const char* label) {
  const ModelSpec spec = random_model(o);
  Caller<EngineT> recorded(spec, table, true), direct(spec, table, false);
  std::mt19937 g(11);
  long calls = 0;
  for (int n : {24, 31}) {  // the second list changes every size: the recording must go
    const System s = periodic_cube(g, n, 6.0);
    const DeviceFrame<typename EngineT::Mem> frame(build_neighbors(s, o.cutoff + 0.3));
    for (int step = 0; step < 4; ++step, ++calls) {
      jiggle(frame, g);
      ASSERT_TRUE(same_bits(recorded.call(frame), direct.call(frame))) << label << ", call " << calls;
    }
  }
  // Per list: the first call runs directly, the second records, and every call from the
  // second on is a replay. Host back ends never record.
  const bool cuda = !Kokkos::SpaceAccessibility<Kokkos::HostSpace, typename EngineT::Mem>::accessible;
  EXPECT_EQ(recorded.engine.graph_replays(), cuda ? 6 : 0) << label;
  EXPECT_EQ(direct.engine.graph_replays(), 0) << label;
  figure((std::string(label) + " graph replays").c_str(), double(recorded.engine.graph_replays()));
}

// The engine writes forces, virial and pair gradients afresh in each call (no fill before:
// the first layer run backward sets them): calls repeated on one frame into the same Output
// must give the same numbers, pair gradients included.
template <class EngineT>
void repeated_calls_agree(const ModelOptions& o, int table, const char* label) {
  Caller<EngineT> caller(random_model(o), table, false);
  caller.pair_grad = true;
  std::mt19937 g(5);
  const System s = periodic_cube(g, 24, 6.0);
  const DeviceFrame<typename EngineT::Mem> frame(build_neighbors(s, o.cutoff + 0.3));
  const std::vector<double> first = caller.call(frame);
  for (int call = 1; call < 3; ++call)
    ASSERT_TRUE(same_bits(caller.call(frame), first)) << label << ", call " << call;
}

// An MD step that wants no pressure (Input::want_virial false) skips each edge's virial terms:
// the same energy, forces and pair gradients to the last bit, and a zero virial. A recorded
// engine (CUDA graph) asked for both kinds of call in turn must replay the right one, and an
// engine that recomputes its intermediates (large calls) must agree too.
template <class EngineT>
void virial_off_agrees(const ModelOptions& o, int table, const char* label) {
  const ModelSpec spec = random_model(o);
  Caller<EngineT> with(spec, table, false), without(spec, table, false, false),
      recorded(spec, table, true);
  without.virial = false;
  std::mt19937 g(21);
  const System s = periodic_cube(g, 24, 6.0);
  const DeviceFrame<typename EngineT::Mem> frame(build_neighbors(s, o.cutoff + 0.3));
  for (int step = 0; step < 8; ++step) {
    for (auto* c : {&with, &without, &recorded}) c->pair_grad = step >= 4;  // then also them
    jiggle(frame, g);
    const std::vector<double> full = with.call(frame), part = without.call(frame);
    double virial = 0;
    for (int k = 1; k <= 6; ++k) virial += std::fabs(full[k]);
    EXPECT_GT(virial, 0.0) << label << ": the periodic cell should have a virial";
    for (int k = 1; k <= 6; ++k) EXPECT_EQ(part[k], 0.0) << label << ", virial " << k;
    std::vector<double> a = full, b = part;
    a.erase(a.begin() + 1, a.begin() + 7);
    b.erase(b.begin() + 1, b.begin() + 7);
    ASSERT_TRUE(same_bits(a, b)) << label << ", step " << step << " (energy, forces[, pair gradients])";
    recorded.virial = step % 2 == 0;
    ASSERT_TRUE(same_bits(recorded.call(frame), recorded.virial ? full : part))
        << label << ", recorded, step " << step;
  }
}

// Forward intermediates kept for the backward pass (engine.h, kKeepMaxAtoms) against the
// same calls computing them again: the same kernels on the same inputs, so the same bits.
template <class EngineT>
void kept_matches_recomputed(const ModelOptions& o, int table, const char* label) {
  const ModelSpec spec = random_model(o);
  Caller<EngineT> kept(spec, table, false, true), recomputed(spec, table, false, false);
  std::mt19937 g(17);
  for (int n : {9, 26}) {
    System s = random_molecule(g, n, 6.0, 0.9);
    s.cell = {{{6.0, 0, 0}, {0, 6.0, 0}, {0, 0, 6.0}}};
    s.pbc = {n > 10, n > 10, n > 10};  // a molecule, then a periodic box with ghosts
    const DeviceFrame<typename EngineT::Mem> frame(build_neighbors(s, o.cutoff + 0.3));
    for (int step = 0; step < 2; ++step) {
      jiggle(frame, g);
      ASSERT_TRUE(same_bits(kept.call(frame), recomputed.call(frame)))
          << label << ", " << n << " atoms, step " << step;
    }
  }
  if (o.L > 1)  // one layer: one block either way
    EXPECT_GT(kept.engine.workspace_bytes(), recomputed.engine.workspace_bytes())
        << label << ": the kept call should hold one block per layer";
}

// Ghosts reading their owners' rows (GhostExchange::owners) against ghost rows of their own
// filled by forward(): the same edge arithmetic on the same numbers. Only the dense layers may
// round differently (on GPUs a batch of all atoms can take another GEMM path than the locals).
template <class EngineT>
void owner_rows_match_ghost_rows(const ModelOptions& o, int table, const char* label) {
  using Real = typename EngineT::M2::value_type;
  const double tol = std::is_same_v<Real, double> ? 1e-12 : 2e-5;
  const ModelSpec spec = random_model(o);
  Caller<EngineT> owners(spec, table, true), rows(spec, table, true), rows_large(spec, table, false, false);
  rows.ghost_rows = rows_large.ghost_rows = true;
  for (auto* c : {&owners, &rows, &rows_large}) c->pair_grad = true;
  std::mt19937 g(23);
  const System s = periodic_cube(g, 26, 6.0);
  const DeviceFrame<typename EngineT::Mem> frame(build_neighbors(s, o.cutoff + 0.3));
  ASSERT_GT(frame.nall, 2 * frame.nlocal) << "the box should have many ghosts";
  for (int step = 0; step < 3; ++step) {
    jiggle(frame, g);
    const std::vector<double> a = owners.call(frame);
    for (auto* c : {&rows, &rows_large}) {
      const std::vector<double> b = c->call(frame);
      ASSERT_EQ(a.size(), b.size());
      // Relative to the largest value of the ghost-row call; a non-finite value fails.
      double scale = 0, worst = 0;
      for (double v : b) scale = std::max(scale, std::fabs(v));
      for (size_t k = 0; k < a.size(); ++k) {
        const double d = std::fabs(a[k] - b[k]) / scale;
        worst = std::isfinite(d) ? std::max(worst, d) : HUGE_VAL;
        if (worst == HUGE_VAL) break;
      }
      EXPECT_LT(worst, tol) << label << ", step " << step << (c == &rows ? "" : " (recomputed)");
      if (step == 0) figure((std::string(label) + " owner rows vs ghost rows").c_str(), worst);
    }
  }
  EXPECT_LT(owners.engine.workspace_bytes(), rows.engine.workspace_bytes())
      << label << ": without ghost rows the workspace should be smaller";
}

}  // namespace

TEST(OwnerRows, EqualGhostRows) {
  ModelOptions painn;
  painn.L = 3;
  three_cases(painn, [](auto engine, const ModelOptions& o, int table, const char* label) {
    owner_rows_match_ghost_rows<typename decltype(engine)::type>(o, table, label);
  });
}

TEST(KeptIntermediates, EqualRecomputed) {
  // One layer: the first layer (its own kernels, context by species) is also the last.
  for (int L : {3, 1}) {
    SCOPED_TRACE(::testing::Message() << L << " layers");
    ModelOptions painn;
    painn.L = L;
    three_cases(painn, [](auto engine, const ModelOptions& o, int table, const char* label) {
      kept_matches_recomputed<typename decltype(engine)::type>(o, table, label);
    });
  }
}

TEST(VirialOff, SameEnergyForcesAndPairGradients) {
  ModelOptions painn;
  painn.L = 3;
  three_cases(painn, [](auto engine, const ModelOptions& o, int table, const char* label) {
    virial_off_agrees<typename decltype(engine)::type>(o, table, label);
  });
}

TEST(RepeatedCalls, SameFrameSameNumbers) {
  ModelOptions painn;
  painn.L = 3;
  three_cases(painn, [](auto engine, const ModelOptions& o, int table, const char* label) {
    repeated_calls_agree<typename decltype(engine)::type>(o, table, label);
  });
}

TEST(CallGraph, ReplaysEqualDirectCalls) {
  ModelOptions painn;
  painn.F = 16;
  painn.L = 3;
  painn.K = 20;  // the resident filter kernel (painn fp64)
  three_cases(painn, [](auto engine, const ModelOptions& o, int table, const char* label) {
    replay_matches_direct<typename decltype(engine)::type>(o, table, label);
  });
}
