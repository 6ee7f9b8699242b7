#include "runtime/rank_model.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

namespace tplm {

namespace {

// "loading  42% (12.3 / 29.1 MiB per rank)" rewritten in place on a terminal.
LoadProgress progress_line(bool show) {
  if (!show || isatty(STDERR_FILENO) == 0) return {};
  return [last = -1](uint64_t done, uint64_t total) mutable {
    const int pct =
        total == 0
            ? 100
            : static_cast<int>(100.0 * static_cast<double>(done) / static_cast<double>(total));
    if (pct == last) return;
    last = pct;
    std::fprintf(stderr, "\rloading %3d%% (%.1f / %.1f MiB per rank)%s", pct,
                 static_cast<double>(done) / 1048576.0, static_cast<double>(total) / 1048576.0,
                 done >= total ? "\n" : "");
    std::fflush(stderr);
  };
}

}  // namespace

RankModel make_rank_model(const ModelFile& model, const Plan& plan, Communicator& comm,
                          const RankModelOptions& options) {
  const auto t0 = std::chrono::steady_clock::now();
  RankModel rm;
  rm.backend = make_backend(options.backend, options.device, std::max(1, options.threads));
  comm.set_stream(rm.backend->native_stream());
  rm.shard = load_shard(model, plan, comm.rank(), *rm.backend,
                        progress_line(options.show_progress && comm.rank() == 0));
  const ModelConfig& c = model.config;
  const int64_t context =
      options.max_context > 0 ? std::min(options.max_context, c.context_length) : c.context_length;
  rm.cache = std::make_unique<KvCache>(*rm.backend, c.n_layers, context, rm.shard->shape.n_kv_heads,
                                       c.head_dim, options.slots);
  rm.transformer = std::make_unique<Transformer>(c, rm.shard->shape, rm.shard->weights, *rm.backend,
                                                 comm, *rm.cache);
  rm.load_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return rm;
}

}  // namespace tplm
