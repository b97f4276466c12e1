// mlff_painn_bench: times one force evaluation (energy, forces, virial) of the engine on a
// configuration written by bench/systems.py, and prints one JSON object per timed path:
//   resident: inputs already in the engine's memory space and ghost rows filled there (what a
//             KOKKOS-package style does);
//   host:     PaiNNRunner, host arrays in and out, ghost rows through host memory (what
//             `pair_style mlff/painn` does today).
// Neighbour lists come from a cell list (orthorhombic periodic boxes need a side > 2 r_c).
//
//   mlff_painn_bench --model M.json --system S.sys [--precision fp64|fp32|mixed]
//                    [--path resident|host|both] [--warmup 3] [--repeat 20] [--profile 1]
//                    [--table N]   (tabulated radial filters, N intervals; 0 = exact)
//                    [--graph 1]   (resident path: calls recorded as a CUDA graph, call_graph.h)
//                    [--keep-below N]  (resident path: calls of fewer than N atoms keep forward
//                                       intermediates; default: the engine's, kKeepMaxAtoms)
//                    [--virial 0]  (resident path: energy and forces only, as an MD step that
//                                   wants no pressure; default 1)
#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#if defined(KOKKOS_ENABLE_CUDA)
#include <cuda_runtime.h>
#endif

#include "lammps/painn_runner.h"
#include "standalone/evaluate.h"
#include "weights/json_loader.h"

namespace {

struct Config {
  std::vector<std::array<double, 3>> x;
  std::vector<int> z;
  bool periodic = false;
  double box[3] = {0, 0, 0};
};

Config read_sys(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open");
  int64_t head[2];
  Config c;
  in.read(reinterpret_cast<char*>(head), sizeof head);
  in.read(reinterpret_cast<char*>(c.box), sizeof c.box);
  c.periodic = head[1] != 0;
  c.x.resize(head[0]);
  c.z.resize(head[0]);
  in.read(reinterpret_cast<char*>(c.x.data()), sizeof(double) * 3 * head[0]);
  in.read(reinterpret_cast<char*>(c.z.data()), sizeof(int32_t) * head[0]);
  if (!in) throw std::runtime_error(path + ": truncated");
  return c;
}

// Locals, then ghosts (images within rc of the box), then a cell-list full neighbour list.
mlff::NeighborData neighbours(const Config& c, const std::vector<int>& species, double rc) {
  mlff::NeighborData nd;
  const int n = static_cast<int>(c.x.size());
  nd.nlocal = n;
  nd.x = c.x;
  nd.species = species;
  if (c.periodic) {
    for (int d = 0; d < 3; ++d)
      if (c.box[d] <= 2 * rc) throw std::runtime_error("box side must exceed 2 r_c");
    for (int i = 0; i < n; ++i)
      for (int s = 0; s < 27; ++s) {
        const int sh[3] = {s % 3 - 1, s / 3 % 3 - 1, s / 9 - 1};
        if (s == 13) continue;  // (0, 0, 0): the atom itself
        std::array<double, 3> g;
        bool near = true;
        for (int d = 0; d < 3; ++d) {
          g[d] = c.x[i][d] + sh[d] * c.box[d];
          near = near && g[d] >= -rc && g[d] < c.box[d] + rc;
        }
        if (!near) continue;
        nd.x.push_back(g);
        nd.species.push_back(species[i]);
        nd.owner.push_back(i);
      }
  }
  double lo[3], hi[3];
  for (int d = 0; d < 3; ++d) {
    lo[d] = hi[d] = nd.x[0][d];
    for (const auto& p : nd.x) lo[d] = std::min(lo[d], p[d]), hi[d] = std::max(hi[d], p[d]);
  }
  int nc[3];
  for (int d = 0; d < 3; ++d) nc[d] = std::max(1, static_cast<int>((hi[d] - lo[d]) / rc));
  auto cell_of = [&](const std::array<double, 3>& p, int d) {
    return std::min(nc[d] - 1, static_cast<int>((p[d] - lo[d]) / (hi[d] - lo[d] + 1e-12) * nc[d]));
  };
  std::vector<std::vector<int>> cells(size_t(nc[0]) * nc[1] * nc[2]);
  for (int a = 0; a < static_cast<int>(nd.x.size()); ++a)
    cells[(size_t(cell_of(nd.x[a], 0)) * nc[1] + cell_of(nd.x[a], 1)) * nc[2] + cell_of(nd.x[a], 2)]
        .push_back(a);
  nd.offsets.assign(1, 0);
  for (int i = 0; i < n; ++i) {
    const int ci[3] = {cell_of(nd.x[i], 0), cell_of(nd.x[i], 1), cell_of(nd.x[i], 2)};
    for (int a = std::max(0, ci[0] - 1); a <= std::min(nc[0] - 1, ci[0] + 1); ++a)
      for (int b = std::max(0, ci[1] - 1); b <= std::min(nc[1] - 1, ci[1] + 1); ++b)
        for (int s = std::max(0, ci[2] - 1); s <= std::min(nc[2] - 1, ci[2] + 1); ++s)
          for (int j : cells[(size_t(a) * nc[1] + b) * nc[2] + s]) {
            if (j == i) continue;
            double r2 = 0;
            for (int d = 0; d < 3; ++d) r2 += std::pow(nd.x[j][d] - nd.x[i][d], 2);
            if (r2 <= rc * rc) nd.nbrs.push_back(j);
          }
    nd.offsets.push_back(static_cast<int>(nd.nbrs.size()));
  }
  return nd;
}

// Bytes of device memory in use (CUDA); 0 elsewhere.
size_t device_bytes_in_use() {
#if defined(KOKKOS_ENABLE_CUDA)
  size_t free_b = 0, total_b = 0;
  cudaMemGetInfo(&free_b, &total_b);
  return total_b - free_b;
#else
  return 0;
#endif
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

// --profile: time of each named kernel (fenced before and after, so kernels do not overlap),
// summed over the timed calls, through Kokkos' tool callbacks.
struct KernelClock {
  static std::map<std::string, double>& totals() {
    static std::map<std::string, double> t;
    return t;
  }
  static std::map<std::string, long>& launches() {
    static std::map<std::string, long> n;
    return n;
  }
  static std::vector<std::pair<std::string, std::chrono::steady_clock::time_point>>& open() {
    static std::vector<std::pair<std::string, std::chrono::steady_clock::time_point>> o;
    return o;
  }
  static void begin(const char* name, uint32_t, uint64_t* id) {
    Kokkos::fence();
    *id = open().size();
    open().emplace_back(name, std::chrono::steady_clock::now());
  }
  static void end(uint64_t id) {
    Kokkos::fence();
    const auto& o = open()[id];
    if (counting()) {
      totals()[o.first] += std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - o.second).count();
      ++launches()[o.first];
    }
    if (id + 1 == open().size()) open().pop_back();
  }
  static bool& counting() {
    static bool on = false;  // set by time_us around its timed calls
    return on;
  }
  static void install() {
    namespace T = Kokkos::Tools::Experimental;
    T::set_begin_parallel_for_callback(begin);
    T::set_begin_parallel_reduce_callback(begin);
    T::set_begin_parallel_scan_callback(begin);
    T::set_end_parallel_for_callback(end);
    T::set_end_parallel_reduce_callback(end);
    T::set_end_parallel_scan_callback(end);
  }
};

// Warm-up calls, then the timed calls (only those count in a --profile: the first calls' one-off
// costs, such as loading each kernel's code on first use, would swell the per-kernel times).
template <class Fn>
std::vector<double> time_us(Fn&& fn, int warmup, int repeat) {
  KernelClock::counting() = false;
  for (int k = 0; k < warmup; ++k) fn();
  KernelClock::counting() = true;
  std::vector<double> t;
  for (int k = 0; k < repeat; ++k) {
    const auto t0 = std::chrono::steady_clock::now();
    fn();
    t.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
  }
  return t;
}

// Ghost rows copied from their owners in host memory (the host path's stand-in for LAMMPS).
class OwnerComm : public mlff::HostComm {
 public:
  OwnerComm(int nlocal, const std::vector<int>& owner) : nlocal_(nlocal), owner_(owner) {}
  void forward(double* rows, int width) override {
    for (size_t g = 0; g < owner_.size(); ++g)
      std::copy_n(rows + size_t(owner_[g]) * width, width, rows + (nlocal_ + g) * width);
  }

 private:
  int nlocal_;
  const std::vector<int>& owner_;
};

struct Report {
  std::string path;
  double energy = 0, median_us = 0, min_us = 0;
  size_t device_bytes = 0, workspace_bytes = 0;
  long replays = 0;  // calls replayed from a CUDA graph
};

template <class EngineT>
Report run_resident(const mlff::ModelSpec& spec, int table, const mlff::NeighborData& nd,
                    bool graph, int keep_below, bool virial, int warmup, int repeat) {
  using Mem = typename EngineT::Mem;
  using Real = typename EngineT::M2::value_type;
  const size_t before = device_bytes_in_use();
  const mlff::DeviceFrame<Mem> frame(nd);
  EngineT engine(spec, table);
  engine.use_graphs(graph);
  if (keep_below >= 0) engine.keep_below(keep_below);
  typename EngineT::Input in = frame.template input<EngineT>();
  in.want_virial = virial;
  typename EngineT::Output out;
  mlff::OwnerMapExchange<mlff::ExecSpace, Real> exch(nd.nlocal, frame.owner);
  Report r;
  r.path = "resident";
  const auto t = time_us([&] { engine.compute(in, exch, out); }, warmup, repeat);
  r.median_us = median(t);
  r.min_us = *std::min_element(t.begin(), t.end());
  r.energy = out.energy;
  r.device_bytes = device_bytes_in_use() - before;
  r.workspace_bytes = engine.workspace_bytes();
  r.replays = engine.graph_replays();
  return r;
}

Report run_host(const mlff::ModelSpec& spec, const std::string& precision, int table,
                const mlff::NeighborData& nd, int warmup, int repeat) {
  const size_t before = device_bytes_in_use();
  auto runner = mlff::PaiNNRunner::create(spec, precision, table);
  std::vector<double> x;
  for (const auto& p : nd.x) x.insert(x.end(), p.begin(), p.end());
  mlff::HostFrame fr;
  fr.x = x.data();
  fr.species = nd.species.data();
  fr.offsets = nd.offsets.data();
  fr.nbrs = nd.nbrs.data();
  fr.nlocal = nd.nlocal;
  fr.nall = static_cast<int>(nd.x.size());
  OwnerComm comm(nd.nlocal, nd.owner);
  mlff::HostResult res;
  Report r;
  r.path = "host";
  const auto t = time_us([&] { runner->compute(fr, comm, false, res); }, warmup, repeat);
  r.median_us = median(t);
  r.min_us = *std::min_element(t.begin(), t.end());
  r.energy = res.energy;
  r.device_bytes = device_bytes_in_use() - before;
  r.workspace_bytes = runner->memory_bytes();
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> opt = {{"precision", "fp64"}, {"path", "both"}, {"table", "0"},
                                            {"warmup", "3"}, {"repeat", "20"}};
  for (int k = 1; k + 1 < argc; k += 2) {
    std::string key = argv[k];
    if (key.rfind("--", 0) != 0) break;
    opt[key.substr(2)] = argv[k + 1];
  }
  if (!opt.count("model") || !opt.count("system")) {
    std::cerr << "usage: mlff_painn_bench --model M.json --system S.sys [--precision fp64|fp32|mixed] "
                 "[--path resident|host|both] [--warmup 3] [--repeat 20]\n";
    return 2;
  }
  Kokkos::initialize(argc, argv);
  int status = 0;
  try {
    const mlff::ModelSpec spec = mlff::load_model(opt["model"]);
    const Config c = read_sys(opt["system"]);
    std::vector<int> species;
    for (int zi : c.z) {
      int s = -1;
      for (size_t k = 0; k < spec.species.size(); ++k)
        if (spec.species[k].atomic_number == zi) s = static_cast<int>(k);
      if (s < 0) throw std::runtime_error("atomic number " + std::to_string(zi) + " not in the model");
      species.push_back(s);
    }
    const auto nd = neighbours(c, species, spec.cutoff);
    const int warmup = std::stoi(opt["warmup"]), repeat = std::stoi(opt["repeat"]);
    const bool profile = opt.count("profile") && opt["profile"] == "1";
    const bool graph = opt.count("graph") && opt["graph"] == "1";
    if (profile && graph) throw std::runtime_error("--profile fences every kernel: it cannot time a graph");
    if (profile) KernelClock::install();
    const std::string prec = opt["precision"];
    const int table = std::stoi(opt["table"]);
    const int keep = opt.count("keep-below") ? std::stoi(opt["keep-below"]) : -1;
    const bool virial = !opt.count("virial") || opt["virial"] != "0";
    std::vector<Report> reports;
    if (opt["path"] != "host") {
      if (prec == "fp64") reports.push_back(run_resident<mlff::EngineFP64>(spec, table, nd, graph, keep, virial, warmup, repeat));
      if (prec == "fp32") reports.push_back(run_resident<mlff::EngineFP32>(spec, table, nd, graph, keep, virial, warmup, repeat));
      if (prec == "mixed") reports.push_back(run_resident<mlff::EngineMixed>(spec, table, nd, graph, keep, virial, warmup, repeat));
    }
    if (opt["path"] != "resident") reports.push_back(run_host(spec, prec, table, nd, warmup, repeat));
    const int n = nd.nlocal;
    for (const auto& r : reports) {
      std::cout << "{\"model\": \"" << opt["model"] << "\", \"family\": \"" << mlff::family_name(spec.family)
                << "\", \"system\": \"" << opt["system"] << "\", \"atoms\": " << n
                << ", \"ghosts\": " << nd.x.size() - n << ", \"edges\": " << nd.nbrs.size()
                << ", \"precision\": \"" << prec << "\", \"table\": " << table << ", \"path\": \"" << r.path
                << "\", \"space\": \"" << mlff::ExecSpace::name() << "\", \"energy\": " << std::setprecision(17)
                << r.energy << std::setprecision(6) << ", \"median_us\": " << r.median_us
                << ", \"min_us\": " << r.min_us << ", \"atom_steps_per_s\": " << n / (r.median_us * 1e-6)
                << ", \"device_bytes\": " << r.device_bytes << ", \"workspace_bytes\": " << r.workspace_bytes
                << ", \"graph\": " << (graph && r.path == "resident" ? "true" : "false")
                << ", \"virial\": " << (virial || r.path == "host" ? "true" : "false")
                << ", \"keep_below\": " << keep << ", \"graph_replays\": " << r.replays << ", \"repeat\": " << repeat << ", \"warmup\": " << warmup << "}" << std::endl;
    }
    if (profile) {  // per timed call (warm-up calls are not counted)
      const int calls = static_cast<int>(reports.size()) * repeat;
      for (const auto& [name, us] : KernelClock::totals())
        std::cout << "{\"kernel\": \"" << name << "\", \"us_per_call\": " << us / calls
                  << ", \"launches_per_call\": " << double(KernelClock::launches()[name]) / calls << "}"
                  << std::endl;
    }
  } catch (const std::exception& e) {
    std::cerr << "mlff_painn_bench: " << e.what() << "\n";
    status = 1;
  }
  Kokkos::finalize();
  return status;
}
