// kernel_timer: a Kokkos tools library that waits for the GPU before and after every Kokkos
// kernel, deep copy and fence, and sums the time per name; the time between them (cuBLAS
// products, host work) goes to "(gap)". For per-kernel profiles of a whole program, LAMMPS
// included (bench/RESULTS.md, results/lammps-profile-*.txt); every wait slows the program.
//   nvcc -O2 -shared -Xcompiler -fPIC -cudart shared bench/kernel_timer.cpp -o libkernel_timer.so
//   KOKKOS_TOOLS_LIBS=$PWD/libkernel_timer.so KT_OUT=times.txt lmp -k on g 1 -sf kk -in in.script
// Two runs of different lengths, subtracted, give the time per MD step without the setup.
#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Total {
  double seconds = 0;
  long calls = 0;
};

std::map<std::string, Total> totals;
std::vector<std::pair<std::string, Clock::time_point>> open_regions;  // nested: outermost counts
Clock::time_point last_end;
bool started = false;

double seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

void begin(const std::string& name) {
  cudaDeviceSynchronize();  // what ran since the last region (cuBLAS, host work) ends here
  const auto now = Clock::now();
  if (started && open_regions.empty()) {
    totals["(gap)"].seconds += seconds(last_end, now);
    totals["(gap)"].calls++;
  }
  started = true;
  open_regions.emplace_back(name, now);
}

void end() {
  cudaDeviceSynchronize();
  const auto now = Clock::now();
  if (open_regions.empty()) return;
  const auto [name, start] = open_regions.back();
  open_regions.pop_back();
  if (open_regions.empty()) {
    totals[name].seconds += seconds(start, now);
    totals[name].calls++;
  }
  last_end = now;
}

}  // namespace

// The Kokkos tools interface (Kokkos_Profiling_C_Interface.h).
extern "C" {
struct SpaceHandle {
  char name[64];
};

void kokkosp_init_library(int, uint64_t, uint32_t, void*) {}

void kokkosp_finalize_library() {
  std::vector<std::pair<std::string, Total>> rows(totals.begin(), totals.end());
  std::sort(rows.begin(), rows.end(),
            [](const auto& a, const auto& b) { return a.second.seconds > b.second.seconds; });
  const char* path = std::getenv("KT_OUT");
  FILE* out = path ? std::fopen(path, "w") : stderr;
  if (!out) out = stderr;
  for (const auto& [name, t] : rows) std::fprintf(out, "%12.3f ms %8ld  %s\n", t.seconds * 1e3, t.calls, name.c_str());
  if (out != stderr) std::fclose(out);
}

void kokkosp_begin_parallel_for(const char* name, uint32_t, uint64_t*) { begin(name); }
void kokkosp_end_parallel_for(uint64_t) { end(); }
void kokkosp_begin_parallel_reduce(const char* name, uint32_t, uint64_t*) { begin(name); }
void kokkosp_end_parallel_reduce(uint64_t) { end(); }
void kokkosp_begin_parallel_scan(const char* name, uint32_t, uint64_t*) { begin(name); }
void kokkosp_end_parallel_scan(uint64_t) { end(); }
void kokkosp_begin_fence(const char* name, uint32_t, uint64_t*) { begin(std::string("fence ") + name); }
void kokkosp_end_fence(uint64_t) { end(); }
void kokkosp_begin_deep_copy(SpaceHandle, const char* dst, const void*, SpaceHandle, const char* src,
                             const void*, uint64_t) {
  begin(std::string("deep_copy ") + src + " -> " + dst);
}
void kokkosp_end_deep_copy() { end(); }
}
