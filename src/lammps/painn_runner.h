// The engine seen from a host program such as LAMMPS: plain host arrays in, plain host arrays
// out, ghost features exchanged through a callback. Hides Kokkos and the precision templates,
// so the LAMMPS pair style needs neither (and builds the same against any Kokkos back end).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "../weights/model_spec.h"

namespace mlff {

// One force evaluation in the engine's atom order: locals [0, nlocal), then ghosts.
struct HostFrame {
  const double* x = nullptr;        // [nall][3]
  const int* species = nullptr;     // [nall], index into the model's species table
  const int* offsets = nullptr;     // [nlocal + 1], CSR row starts
  const int* nbrs = nullptr;        // [offsets[nlocal]], neighbours of each local atom
  // With owner_map, owner[g] (g < nall - nlocal) is the local atom ghost nlocal + g is a
  // periodic image of (the caller knows it on one MPI rank): ghost rows are then filled on the
  // engine's side, not through the HostComm, and the call can be recorded as a CUDA graph
  // (engine/call_graph.h). A frame without ghosts may pass owner = nullptr.
  bool owner_map = false;
  const int* owner = nullptr;
  int nlocal = 0;
  int nall = 0;
  // Whether HostResult::virial is wanted (LAMMPS: vflag_global); without it the engine skips
  // each edge's virial terms and returns a zero virial.
  bool want_virial = true;
};

struct HostResult {
  double energy = 0;
  double virial[6] = {0, 0, 0, 0, 0, 0};  // xx yy zz xy xz yz, eV
  std::vector<double> eatom;              // [nlocal]
  std::vector<double> f;                  // [nlocal][3] (ghosts get no forces)
  std::vector<double> pair_grad;          // [nnz][3], dE/dr_ij, filled only on request
};

// Ghost traffic (features, and message adjoints in the backward pass). `rows` holds nall rows
// of `width` numbers (row-major, engine order).
class HostComm {
 public:
  virtual ~HostComm() = default;
  // Ghost rows become copies of their owners' rows.
  virtual void forward(double* rows, int width) = 0;
};

class PaiNNRunner {
 public:
  virtual ~PaiNNRunner() = default;
  // precision: "fp64", "fp32" or "mixed" (throws std::invalid_argument otherwise);
  // table_points > 0: tabulated radial filters (engine/filter_table.h); graphs: record calls
  // with an owner map as CUDA graphs (Engine::use_graphs).
  static std::unique_ptr<PaiNNRunner> create(const ModelSpec& spec, const std::string& precision,
                                             int table_points = 0, bool graphs = false);

  virtual void compute(const HostFrame& frame, HostComm& comm, bool want_pair_grad,
                       HostResult& out) = 0;
  virtual size_t memory_bytes() const = 0;  // engine workspace + device copies of the inputs
  // Engine workspace that nlocal local and nall atoms in all will need (within a few %);
  // owner_map as in HostFrame (ghosts then keep no rows of their own).
  virtual size_t estimate_bytes(int nlocal, int nall, bool owner_map) const = 0;
  virtual std::string execution_space() const = 0;
};

}  // namespace mlff
