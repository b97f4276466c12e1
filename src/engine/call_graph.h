// A force call's device work recorded once as a CUDA graph and replayed: one launch instead
// of the ~130 kernel launches of a three-layer model, whose host-side cost is what a small
// system's call is made of. Elsewhere (host back ends, or when not enabled) the work just runs.
//
// Rule that keeps a replay valid: the work may only enqueue on Kokkos' default stream (no
// waiting for the device, no host copies, no allocation) and its every kernel argument must
// be fixed by the key. The engine's workspaces grow on the first call of a key, so the second
// call with the same key records (allocating nothing) and later ones replay; any other key
// drops the recording, since the workspaces it points to may have been reallocated since.
#pragma once

#include <Kokkos_Core.hpp>  // first: it defines KOKKOS_ENABLE_CUDA
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#if defined(KOKKOS_ENABLE_CUDA)
#include <cuda_runtime.h>
#endif

namespace mlff {

class CallGraph {
 public:
  using Key = std::vector<std::uintptr_t>;

  CallGraph() = default;
  CallGraph(const CallGraph&) = delete;
  CallGraph& operator=(const CallGraph&) = delete;
  ~CallGraph() { reset(); }

  // Runs work(), or its recording (see above) when `enabled` and `key` repeats the last call's.
  template <class Work>
  void run(bool enabled, const Key& key, Work&& work) {
#if defined(KOKKOS_ENABLE_CUDA)
    if (enabled && !key.empty() && key == key_) {
      if (!exec_) record(work);
      check(cudaGraphLaunch(exec_, Kokkos::Cuda().cuda_stream()), "cudaGraphLaunch");
      ++replays_;
      return;
    }
    reset();
    if (enabled) key_ = key;
#else
    (void)enabled, (void)key;
#endif
    work();
  }

  // Calls replayed from a recording so far (tests and benchmarks read it).
  long replays() const { return replays_; }
  // Whether the work running now is being recorded: its kernels must then take their
  // arguments by value (Kokkos' light-weight launch), not from a buffer Kokkos reuses.
  bool recording() const { return recording_; }

 private:
#if defined(KOKKOS_ENABLE_CUDA)
  template <class Work>
  void record(Work& work) {
    const cudaStream_t s = Kokkos::Cuda().cuda_stream();
    check(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal), "cudaStreamBeginCapture");
    recording_ = true;
    try {
      work();
      recording_ = false;
    } catch (...) {  // leave the stream usable
      recording_ = false;
      cudaGraph_t partial = nullptr;
      cudaStreamEndCapture(s, &partial);
      if (partial) cudaGraphDestroy(partial);
      throw;
    }
    cudaGraph_t g = nullptr;
    check(cudaStreamEndCapture(s, &g), "cudaStreamEndCapture");
    const cudaError_t st = cudaGraphInstantiate(&exec_, g, 0);
    cudaGraphDestroy(g);
    check(st, "cudaGraphInstantiate");
  }
  static void check(cudaError_t st, const char* what) {
    if (st != cudaSuccess)
      throw std::runtime_error(std::string("recording the force call as a CUDA graph: ") + what +
                               " failed (" + cudaGetErrorString(st) + ")");
  }
  cudaGraphExec_t exec_ = nullptr;
#endif
  void reset() {
#if defined(KOKKOS_ENABLE_CUDA)
    if (exec_) cudaGraphExecDestroy(exec_);
    exec_ = nullptr;
#endif
    key_.clear();
  }

  Key key_;
  long replays_ = 0;
  bool recording_ = false;
};

}  // namespace mlff
