#pragma once
// `tplm bench`: load the model over tp ranks, warm up (one prefill and three
// decode steps), then time one prefill of prompt_tokens positions and
// gen_tokens decode steps (greedy, no stop token); with batch > 1, then
// gen_tokens steps of `batch` sequences decoding together (one row each, as
// a server's running batch), each after its own prefill of the prompt.
#include <cstdint>
#include <string>
#include <vector>

#include "parallel/decode_prediction.hpp"
#include "runtime/engine.hpp"

namespace tplm {

constexpr int64_t kMaxBenchBatch = 256;

struct BenchOptions {
  std::string model;
  int tp = 1;
  int threads = 0;
  int64_t prompt_tokens = 128;
  int64_t gen_tokens = 64;
  int64_t batch = 1;              // sequences of the batched decode (1: none)
  double timeout_seconds = 60.0;  // a collective that waits longer fails (dead peer, link down)
  bool show_progress = true;
  BackendKind backend = BackendKind::Cpu;  // --device
  std::vector<int> gpus;                   // --gpus (cuda)
};

struct BenchReport {
  int tp = 1;
  int threads_per_rank = 1;
  int64_t prompt_tokens = 0;
  int64_t decode_steps = 0;
  double load_seconds = 0, prefill_seconds = 0, decode_seconds = 0;
  int64_t batch = 1, batch_steps = 0;  // the batched decode: sequences, steps
  double batch_seconds = 0;
  double comm_seconds_rank0 = 0;  // rank 0's time inside collectives (prefill + decode)
  uint64_t comm_bytes_rank0 = 0;
  double decode_comm_seconds_rank0 = 0;  // rank 0's collective time in the decode steps only
  uint64_t decode_comm_bytes_rank0 = 0;
  std::vector<RankReport> ranks;
  bool is_rank0 = true;
  uint64_t decode_bytes_per_token = 0;  // weight bytes rank 0 reads per decode step
  std::string device;                   // "cpu", or rank 0's GPU name
  double read_bandwidth_gbps = 0;       // rank 0's device alone, measured before loading
  // The prediction from that bandwidth and the link measured before loading
  // (decode_prediction.hpp), beside the measurement; tp 1's for comparison.
  DecodePrediction predicted;
  DecodePrediction predicted_tp1;
  std::string transport;  // the link the prediction measured
};

// Throws UsageError for options no model takes (before anything is opened).
void check_bench_options(const BenchOptions& options);
BenchReport run_bench(const BenchOptions& options);

}  // namespace tplm
