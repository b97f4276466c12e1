// A configuration outside LAMMPS (tests, the eval tool): atoms, optional periodic cell, and a
// brute-force builder of the ghost atoms and full neighbour list the engine expects.
#pragma once

#include <array>
#include <vector>

namespace mlff {

struct System {
  std::vector<std::array<double, 3>> x;
  std::vector<int> species;  // index into the model's species table
  std::array<std::array<double, 3>, 3> cell{};  // rows are lattice vectors
  std::array<bool, 3> pbc{false, false, false};
};

// Locals first, then ghosts (periodic images of locals within `cutoff` of some local atom).
struct NeighborData {
  int nlocal = 0;
  std::vector<std::array<double, 3>> x;  // [nall]
  std::vector<int> species;              // [nall]
  std::vector<int> owner;                // [nall - nlocal], local atom each ghost images
  std::vector<int> offsets;              // [nlocal + 1]
  std::vector<int> nbrs;                 // all j (!= i itself) with |x_j - x_i| <= cutoff
};

NeighborData build_neighbors(const System& sys, double cutoff);

}  // namespace mlff
