// CpuBackend: host memory and the cpu kernels, each split over this rank's
// thread pool. Every split is by whole outputs (rows, tokens, heads), and each
// output's arithmetic is fixed, so results are identical for any thread count.
#include "backend/cpu/cpu_backend.hpp"

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "backend/cpu/attend.hpp"
#include "backend/cpu/bf16_dot.hpp"
#include "backend/cpu/dequant.hpp"
#include "backend/cpu/host_memory.hpp"
#include "backend/cpu/kernels.hpp"
#include "backend/cpu/kv_rows.hpp"
#include "backend/cpu/ops.hpp"
#include "backend/cpu/qdot.hpp"
#include "backend/cpu/thread_pool.hpp"
#include "base/error.hpp"

#if defined(TPLM_HAVE_BLAS)
// OpenBLAS starts its own threads; ours already own the cores. Not every BLAS
// has this function, so it is declared weak and called only when present.
extern "C" void openblas_set_num_threads(int) __attribute__((weak));
#endif

namespace tplm {
namespace {

// Rough amount of work (multiply-adds) below which a thread is not worth waking.
constexpr int64_t kMinWork = 32 * 1024;

// The fewest groups of 4 weight rows a thread takes at a time in a batch.
constexpr int64_t kBatchMinGroups = 8;

int64_t grain_for(int64_t work_per_item) {
  return std::max<int64_t>(1, kMinWork / std::max<int64_t>(1, work_per_item));
}

class CpuBackend final : public Backend {
 public:
  explicit CpuBackend(int threads) : pool_(threads) {
#if defined(TPLM_HAVE_BLAS)
    if (openblas_set_num_threads) openblas_set_num_threads(1);
#endif
  }

  std::string_view name() const override {
    return "cpu";
  }
  BackendKind kind() const override {
    return BackendKind::Cpu;
  }

  void* alloc(size_t bytes) override {
    return cpu::alloc_host(bytes);
  }
  void release(void* p) override {
    cpu::free_host(p);
  }
  void upload(void* dst, const void* src, size_t bytes) override {
    copy(dst, src, bytes);
  }
  void download(void* dst, const void* src, size_t bytes) override {
    copy(dst, src, bytes);
  }
  void copy(void* dst, const void* src, size_t bytes) override {
    if (bytes > 0 && dst != src) std::memmove(dst, src, bytes);
  }
  // Quantized matrices are regrouped for the AVX-512 kernels (qdot.hpp), the
  // rows shared among the threads (load time).
  WeightLayout upload_matrix(void* dst, const WeightView& host) override {
    if (!cpu::groups_on_load(host.dtype)) return Backend::upload_matrix(dst, host);
    const int64_t rb = cpu::row_bytes(host);
    pool_.parallel_for(host.rows, 16, [&](int64_t r0, int64_t r1) {
      WeightView rows = host;
      rows.rows = r1 - r0;
      rows.data = static_cast<const uint8_t*>(host.data) + r0 * rb;
      cpu::group_rows(rows, static_cast<uint8_t*>(dst) + r0 * rb);
    });
    return WeightLayout::CpuGroups;
  }

  void matmul(const float* x, int64_t T, const WeightView& w, const float* bias,
              float* y) override {
    cpu::check_weight(w, "matmul");
    if (T <= 0 || w.rows == 0) return;
    prepare(x, T, w);
    const Projection out{&w, bias, y};
    projections(x, T, {&out, 1});
  }

  // Each thread computes its rows' product into a scratch as large as y,
  // then adds it to its rows of y: y + (x W^T), the same bits as matmul then add.
  void matmul_add(const float* x, int64_t T, const WeightView& w, float* y) override {
    cpu::check_weight(w, "matmul_add");
    if (T <= 0 || w.rows == 0) return;
    prepare(x, T, w);
    if (product_.size() < static_cast<size_t>(T * w.rows))
      product_.resize(static_cast<size_t>(T * w.rows));
    float* product = product_.data();
    split_groups((w.rows + 3) / 4, 4 * w.cols * T, T, [&](int64_t g0, int64_t g1) {
      const int64_t r0 = g0 * 4, r1 = std::min(g1 * 4, w.rows);
      rows(x, T, w, nullptr, product, r0, r1);
      for (int64_t t = 0; t < T; ++t) cpu::add_range(y + t * w.rows, product + t * w.rows, r0, r1);
    });
  }

  // rmsnorm and the activations' quantization in one pass over the tokens,
  // then all the projections' rows in one: two hand-offs to the threads
  // instead of 1 + 2 per projection, and h quantized once for all of them.
  // Every output row is still computed alone: the default's bits.
  void norm_matmuls(const float* x, const float* norm_weight, int64_t T, int64_t dim, float eps,
                    float* h, std::span<const Projection> outs) override {
    if (T <= 0 || outs.empty()) return Backend::norm_matmuls(x, norm_weight, T, dim, eps, h, outs);
    const WeightView& w0 = *outs.front().w;
    for (const Projection& p : outs) {
      cpu::check_weight(*p.w, "matmul");
      if (p.w->dtype != w0.dtype || p.w->cols != w0.cols)  // activations quantized differently
        return Backend::norm_matmuls(x, norm_weight, T, dim, eps, h, outs);
    }
    norm_prepare(x, norm_weight, T, dim, eps, h, w0);
    projections(h, T, outs);
  }

  // The same for gate and up, each thread then applying swiglu to its columns.
  void norm_swiglu(const float* x, const float* norm_weight, int64_t T, int64_t dim, float eps,
                   float* h, const WeightView& gate, const WeightView& up, float* up_scratch,
                   float* out) override {
    cpu::check_weight(gate, "matmul");
    cpu::check_weight(up, "matmul");
    if (T <= 0 || gate.dtype != up.dtype || gate.cols != up.cols || gate.rows != up.rows)
      return Backend::norm_swiglu(x, norm_weight, T, dim, eps, h, gate, up, up_scratch, out);
    norm_prepare(x, norm_weight, T, dim, eps, h, gate);
    const int64_t n = gate.rows;
    split_groups((n + 3) / 4, 8 * gate.cols * T, T, [&](int64_t g0, int64_t g1) {
      const int64_t r0 = g0 * 4, r1 = std::min(g1 * 4, n);
      rows(h, T, gate, nullptr, out, r0, r1);
      rows(h, T, up, nullptr, up_scratch, r0, r1);
      for (int64_t t = 0; t < T; ++t)
        cpu::swiglu_range(out, up_scratch, out, t * n + r0, t * n + r1);
    });
  }

  void rmsnorm(const float* x, const float* weight, int64_t T, int64_t dim, float eps,
               float* y) override {
    pool_.parallel_for(T, grain_for(2 * dim), [&](int64_t t0, int64_t t1) {
      cpu::rmsnorm_rows(x, weight, dim, eps, y, t0, t1);
    });
  }

  void rope(float* x, int64_t T, int64_t n_heads, int64_t head_dim, int64_t rope_dim,
            const float* inv_freq, const int32_t* positions) override {
    check_rope(rope_dim, head_dim);
    pool_.parallel_for(T, grain_for(8 * n_heads * rope_dim), [&](int64_t t0, int64_t t1) {
      cpu::rope_rows(x, n_heads, head_dim, rope_dim, inv_freq, positions, t0, t1);
    });
  }

  void attention(const float* q, const void* k_cache, const void* v_cache, const AttentionShape& s,
                 float* out) override {
    check_attention(s);
    const cpu::AttendJob job{q, k_cache, v_cache, &s, out};
    cpu::attend_jobs(pool_, {&job, 1}, kMinWork);
  }

  // RoPE, then the new K and V rows stored in the cache's type.
  void rope_store_kv(float* q, float* k, const float* v, const AttentionShape& s, int64_t rope_dim,
                     const float* inv_freq, void* k_cache, void* v_cache) override {
    check_rope(rope_dim, s.head_dim);
    const AttentionSegment g{q, k, v, s, k_cache, v_cache, nullptr};
    cpu::rope_store_segments(pool_, {&g, 1}, rope_dim, inv_freq, kMinWork);
  }

  // Every sequence's RoPE and cache stores in one hand-off, then every
  // sequence's attention in another.
  void attend_segments(std::span<const AttentionSegment> segments, int64_t rope_dim,
                       const float* inv_freq) override {
    std::vector<cpu::AttendJob> jobs;
    jobs.reserve(segments.size());
    for (const AttentionSegment& g : segments) {
      check_attention(g.s);
      check_rope(rope_dim, g.s.head_dim);
      jobs.push_back({g.q, g.k_cache, g.v_cache, &g.s, g.out});
    }
    cpu::rope_store_segments(pool_, segments, rope_dim, inv_freq, kMinWork);
    cpu::attend_jobs(pool_, jobs, kMinWork);
  }

  void swiglu(const float* gate, const float* up, int64_t n, float* out) override {
    pool_.parallel_for(n, kMinWork / 8,
                       [&](int64_t i0, int64_t i1) { cpu::swiglu_range(gate, up, out, i0, i1); });
  }

  void add(float* x, const float* y, int64_t n) override {
    pool_.parallel_for(n, kMinWork, [&](int64_t i0, int64_t i1) { cpu::add_range(x, y, i0, i1); });
  }

  void embed(const WeightView& table, int64_t row_begin, const int32_t* ids, int64_t T,
             float* out) override {
    cpu::check_weight(table, "embed");
    pool_.parallel_for(T, grain_for(table.cols), [&](int64_t t0, int64_t t1) {
      cpu::embed_rows(table, row_begin, ids, out, t0, t1);
    });
  }

 private:
  static void check_rope(int64_t rope_dim, int64_t head_dim) {
    if (rope_dim % 2 != 0 || rope_dim > head_dim || rope_dim < 0)
      throw Error("cpu rope: rope_dim must be even and <= head_dim (got rope_dim " +
                  std::to_string(rope_dim) + ", head_dim " + std::to_string(head_dim) + ")");
  }
  static void check_attention(const AttentionShape& s) {
    if (s.n_tokens < 0 || s.pos0 < 0 || s.n_heads <= 0 || s.n_kv_heads <= 0 || s.head_dim <= 0 ||
        s.n_heads % s.n_kv_heads != 0)
      throw Error("cpu attention: bad shape (n_tokens " + std::to_string(s.n_tokens) + ", pos0 " +
                  std::to_string(s.pos0) + ", n_heads " + std::to_string(s.n_heads) +
                  ", n_kv_heads " + std::to_string(s.n_kv_heads) + ", head_dim " +
                  std::to_string(s.head_dim) + "): n_heads must be a multiple of n_kv_heads");
  }

  // Quantized weights multiply activations quantized once per call, BF16
  // weights activations rounded to bf16 once per call, each token's row the
  // same way (kernels.hpp); F32 and F16 weights use x as it is.
  void prepare(const float* x, int64_t T, const WeightView& w) {
    if (!prepares_acts(w.dtype)) return;
    size_acts(T, w);
    pool_.parallel_for(T, grain_for(4 * w.cols),
                       [&](int64_t t0, int64_t t1) { convert_acts(x, w, t0, t1); });
  }
  // h = rmsnorm(x), each token's row then converted for w (prepare's work).
  void norm_prepare(const float* x, const float* norm_weight, int64_t T, int64_t dim, float eps,
                    float* h, const WeightView& w) {
    const bool converts = prepares_acts(w.dtype);
    if (converts) size_acts(T, w);
    pool_.parallel_for(T, grain_for(2 * dim + (converts ? 4 * w.cols : 0)),
                       [&](int64_t t0, int64_t t1) {
                         cpu::rmsnorm_rows(x, norm_weight, dim, eps, h, t0, t1);
                         if (converts) convert_acts(h, w, t0, t1);
                       });
  }
  static bool prepares_acts(DType dt) {
    return cpu::is_int_dot_type(dt) || dt == DType::BF16;
  }
  void size_acts(int64_t T, const WeightView& w) {
    if (w.dtype == DType::BF16)
      cpu::prepare_bf16_acts(bf16_acts_, T, w.cols);
    else
      cpu::prepare_acts(acts_, w.dtype, T, w.cols);
  }
  void convert_acts(const float* x, const WeightView& w, int64_t t0, int64_t t1) {
    if (w.dtype == DType::BF16)
      cpu::round_bf16_acts_rows(x, bf16_acts_, t0, t1);
    else
      cpu::quantize_acts_rows(x, acts_, t0, t1);
  }
  // y = x W^T + bias for every projection (same columns, after prepare): the
  // threads split all their 4-row groups at once.
  void projections(const float* x, int64_t T, std::span<const Projection> outs) {
    const auto groups = [](const Projection& p) { return (p.w->rows + 3) / 4; };
    int64_t total = 0;
    for (const Projection& p : outs) total += groups(p);
    split_groups(total, 4 * outs.front().w->cols * T, T, [&](int64_t g0, int64_t g1) {
      int64_t first = 0;  // groups of the projections before this one
      for (const Projection& p : outs) {
        const int64_t a = std::max(g0, first), b = std::min(g1, first + groups(p));
        if (a < b)
          rows(x, T, *p.w, p.bias, p.y, (a - first) * 4, std::min((b - first) * 4, p.w->rows));
        first += groups(p);
      }
    });
  }
  // fn(g0, g1) over n groups of 4 weight rows (`work` multiply-adds each).
  // Decode (one token) gives each thread one contiguous share: it streams its
  // rows from memory in order. A batch is compute-bound: the threads take
  // guided ranges, so a slower thread holds no one (equal halves left the
  // calling thread waiting ~20% of each batched matmul, perf on this machine).
  template <class F>
  void split_groups(int64_t n, int64_t work, int64_t T, F&& fn) {
    if (T == 1) return pool_.parallel_for(n, grain_for(work), fn);
    pool_.parallel_guided(n, std::max<int64_t>(grain_for(work), kBatchMinGroups), fn);
  }
  // Rows [r0, r1) of y = x W^T + bias, after prepare.
  void rows(const float* x, int64_t T, const WeightView& w, const float* bias, float* y, int64_t r0,
            int64_t r1) {
    if (cpu::is_int_dot_type(w.dtype))
      cpu::qmatmul_rows(acts_, w, bias, y, r0, r1);
    else if (w.dtype == DType::BF16)
      cpu::bf16_matmul_rows(bf16_acts_, w, bias, y, r0, r1);
    else
      cpu::matmul_rows(x, T, w, bias, y, r0, r1);
  }

  cpu::ThreadPool pool_;
  std::vector<float> product_;  // matmul_add's scratch
  cpu::QuantActs acts_;         // scratch of the quantized matmuls (one call at a time per rank)
  cpu::Bf16Acts bf16_acts_;     // the same for BF16 weights
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend(int threads) {
  return std::make_unique<CpuBackend>(threads);
}

}  // namespace tplm
