#pragma once
// What `tplm run` and `tplm bench` ask of the engine.
#include <cstdint>
#include <string>
#include <vector>

#include "backend/backend.hpp"
#include "runtime/sampler.hpp"

namespace tplm {

struct RunOptions {
  std::string model;      // file or folder
  std::string tokenizer;  // "" = the model's own (GGUF vocab, HF folder) or none
  std::string prompt;
  int64_t max_new_tokens = 256;
  SamplerOptions sampling;
  int tp = 1;
  int threads = 0;          // kernel threads per rank; 0 = cores / ranks (at least 1)
  int64_t max_context = 0;  // KV cache positions; 0 = the model's context length
  double timeout_seconds = 300.0;
  bool show_progress = true;
  BackendKind backend = BackendKind::Cpu;  // --device
  std::vector<int> gpus;                   // --gpus (cuda); empty = every visible GPU
};

// The ranks of a world of `world` that run on this host: all of them for
// thread ranks; under mpirun, the ones mpirun placed here.
int ranks_on_this_host(int world);
int host_cores();
// This host's cores divided among the ranks on it, at least 1 (threads > 0 is
// kept as given).
int threads_per_rank(int threads, int world);

}  // namespace tplm
