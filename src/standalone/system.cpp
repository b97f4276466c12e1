#include "system.h"

#include <cmath>
#include <map>
#include <stdexcept>

namespace mlff {

namespace {

using Vec = std::array<double, 3>;

Vec cross(const Vec& a, const Vec& b) {
  return {a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]};
}
double dot(const Vec& a, const Vec& b) { return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]; }

}  // namespace

NeighborData build_neighbors(const System& sys, double cutoff) {
  const int n = static_cast<int>(sys.x.size());
  NeighborData nd;
  nd.nlocal = n;
  nd.x = sys.x;
  nd.species = sys.species;

  // Images needed along each periodic direction: the cutoff over the spacing of lattice
  // planes, plus the spread of the atoms' fractional coordinates (atoms may lie outside the
  // cell; they are not wrapped, so forces and positions keep the caller's numbering and frame).
  int reach[3] = {0, 0, 0};
  const auto& c = sys.cell;
  const double det = dot(c[0], cross(c[1], c[2]));
  for (int d = 0; d < 3; ++d) {
    if (!sys.pbc[d]) continue;
    if (std::fabs(det) <= 0) throw std::invalid_argument("periodic cell has zero volume");
    const Vec nrm = cross(c[(d + 1) % 3], c[(d + 2) % 3]);  // f_d = x . nrm / det
    const double height = std::fabs(det) / std::sqrt(dot(nrm, nrm));
    double fmin = 0, fmax = 0;
    for (int i = 0; i < n; ++i) {
      const double f = dot(sys.x[i], nrm) / det;
      fmin = i ? std::min(fmin, f) : f;
      fmax = i ? std::max(fmax, f) : f;
    }
    reach[d] = static_cast<int>(std::ceil(cutoff / height + (fmax - fmin)));
  }

  std::map<std::array<int, 4>, int> ghost_of;  // (atom, image shift) -> index in x
  nd.offsets.push_back(0);
  for (int i = 0; i < n; ++i) {
    for (int a = -reach[0]; a <= reach[0]; ++a)
      for (int b = -reach[1]; b <= reach[1]; ++b)
        for (int s = -reach[2]; s <= reach[2]; ++s) {
          const bool home = a == 0 && b == 0 && s == 0;
          Vec shift;
          for (int k = 0; k < 3; ++k) shift[k] = a * c[0][k] + b * c[1][k] + s * c[2][k];
          for (int j = 0; j < n; ++j) {
            if (home && j == i) continue;
            Vec r;
            for (int k = 0; k < 3; ++k) r[k] = sys.x[j][k] + shift[k] - sys.x[i][k];
            if (std::sqrt(dot(r, r)) > cutoff) continue;
            int idx = j;
            if (!home) {
              auto [it, fresh] = ghost_of.try_emplace({j, a, b, s}, static_cast<int>(nd.x.size()));
              if (fresh) {
                Vec xg;
                for (int k = 0; k < 3; ++k) xg[k] = sys.x[j][k] + shift[k];
                nd.x.push_back(xg);
                nd.species.push_back(sys.species[j]);
                nd.owner.push_back(j);
              }
              idx = it->second;
            }
            nd.nbrs.push_back(idx);
          }
        }
    nd.offsets.push_back(static_cast<int>(nd.nbrs.size()));
  }
  return nd;
}

}  // namespace mlff
