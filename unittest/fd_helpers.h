// Central finite differences of the engine's own energy (4-point stencil, error O(h^4)).
#pragma once

#include <cmath>
#include <cstdio>

#include "model_factory.h"
#include "standalone/evaluate.h"

namespace mlff::test {

struct FdReport {
  double rel_error = 0;  // ||F - F_fd|| / ||F_fd||
  double norm = 0;       // ||F_fd||
};

template <class EngineT>
FdReport fd_forces(EngineT& engine, System s, double h = 1e-3) {
  const Result r = evaluate(engine, s);
  double num = 0, den = 0;
  for (size_t i = 0; i < s.x.size(); ++i)
    for (int k = 0; k < 3; ++k) {
      const double x0 = s.x[i][k];
      double e[4];
      const double steps[4] = {-2 * h, -h, h, 2 * h};
      for (int q = 0; q < 4; ++q) {
        s.x[i][k] = x0 + steps[q];
        e[q] = evaluate(engine, s).energy;
      }
      s.x[i][k] = x0;
      const double f_fd = -(e[0] - 8 * e[1] + 8 * e[2] - e[3]) / (12 * h);
      num += (r.forces[i][k] - f_fd) * (r.forces[i][k] - f_fd);
      den += f_fd * f_fd;
    }
  return {std::sqrt(num / den), std::sqrt(den)};
}

// Energy after the homogeneous deformation x -> (I + eps) x (cell rows deformed alike).
template <class EngineT>
double strained_energy(EngineT& engine, System s, int a, int b, double eps) {
  auto apply = [&](std::array<double, 3>& v) { v[a] += eps * v[b]; };
  for (auto& x : s.x) apply(x);
  for (auto& c : s.cell) apply(c);
  return evaluate(engine, s).energy;
}

// Smallest |d - rc| over all pairs (periodic images included): a finite-difference stencil
// must not straddle rc, where the distiller jumps and the cosine cutoff is only C1.
inline double gap_to_cutoff(const System& s, double rc) {
  const NeighborData nd = build_neighbors(s, rc + 1.0);
  double gap = 1e300;
  for (int i = 0; i < nd.nlocal; ++i)
    for (int jj = nd.offsets[i]; jj < nd.offsets[i + 1]; ++jj) {
      const auto& a = nd.x[i];
      const auto& b = nd.x[nd.nbrs[jj]];
      const double d = std::sqrt((a[0] - b[0]) * (a[0] - b[0]) + (a[1] - b[1]) * (a[1] - b[1]) +
                                 (a[2] - b[2]) * (a[2] - b[2]));
      gap = std::min(gap, std::fabs(d - rc));
    }
  return gap;
}

// `atoms` atoms at least 0.9 A apart in a periodic cube of side `box`.
inline System periodic_cube(std::mt19937& g, int atoms, double box) {
  System s = random_molecule(g, atoms, box, 0.9);
  s.cell = {{{box, 0, 0}, {0, box, 0}, {0, 0, box}}};
  s.pbc = {true, true, true};
  return s;
}

// 12 atoms at least 0.9 A apart in a 5 A triclinic periodic cell: within a 4 A cutoff every
// atom sees its own images, so ghost rows pass through every layer. Drawn again until no pair
// lies within min_gap of rc.
inline System small_periodic_cell(std::mt19937& g, double rc, double min_gap) {
  System s;
  do {
    s = random_molecule(g, 12, 5.0, 0.9);
    s.cell = {{{5.0, 0.0, 0.0}, {0.5, 5.2, 0.0}, {0.3, -0.6, 5.4}}};
    s.pbc = {true, true, true};
  } while (gap_to_cutoff(s, rc) < min_gap);
  return s;
}

inline void figure(const char* what, double value) {
  std::printf("[figure] %s = %.3e\n", what, value);
  std::fflush(stdout);
}

}  // namespace mlff::test
