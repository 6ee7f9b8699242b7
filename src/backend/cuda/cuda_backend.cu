// CudaBackend: one rank's GPU. Decode (one token) runs our kernels (gemv.cu,
// attention.cu, elementwise.cu), fused where that saves a pass or a launch;
// prefill multiplies with cuBLAS. Every call is queued on the rank's stream;
// only download and synchronize wait for it.
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "backend/cuda/cuda_backend.hpp"
#include "backend/cuda/kernels.cuh"
#include "backend/cuda/op_timer.hpp"
#include "base/cuda_check.hpp"

namespace tplm {

namespace {

void blas_check(cublasStatus_t status, const char* call) {
  if (status != CUBLAS_STATUS_SUCCESS)
    throw Error(std::string("cuda: ") + call + " failed: " + cublasGetStatusString(status));
}
#define TPLM_BLAS_CHECK(call) blas_check((call), #call)

bool env_flag(const char* name, bool fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  return std::string(v) != "0";
}

std::string mib(uint64_t bytes) {
  return std::to_string(bytes / (1024 * 1024)) + " MiB";
}

class CudaBackend final : public Backend {
 public:
  CudaBackend(int device, int threads)
      : device_(device),
        exact_(env_flag("TPLM_CUDA_EXACT", false)),
        profile_(env_flag("TPLM_CUDA_PROFILE", false)),
        graphs_(env_flag("TPLM_CUDA_GRAPHS", true) && !profile_) {
    (void)threads;
    const int count = cuda_device_count();
    if (device < 0 || device >= count)
      throw Error("cuda: GPU " + std::to_string(device) + " does not exist (" +
                  std::to_string(count) + " visible); choose one with --gpus");
    TPLM_CUDA_CHECK(cudaSetDevice(device_));
    TPLM_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    TPLM_BLAS_CHECK(cublasCreate(&blas_));
    TPLM_BLAS_CHECK(cublasSetStream(blas_, stream_));
    timer_ = std::make_unique<cuda::OpTimer>(profile_, stream_);
  }

  ~CudaBackend() override {
    cudaSetDevice(device_);
    cudaStreamSynchronize(stream_);
    if (timer_) timer_->harvest(), timer_->print(device_), timer_.reset();
    if (pinned_ != nullptr) cudaFreeHost(pinned_);
    drop_recordings();
    for (Scratch* s : {&half_, &weights_f32_, &partials_, &scores_})
      if (s->ptr != nullptr) cudaFree(s->ptr);
    cublasDestroy(blas_);
    cudaStreamDestroy(stream_);
  }

  std::string_view name() const override { return "cuda"; }
  BackendKind kind() const override { return BackendKind::Cuda; }
  void* native_stream() override { return stream_; }

  void* alloc(size_t bytes) override {
    TPLM_CUDA_CHECK(cudaSetDevice(device_));
    void* p = nullptr;
    const size_t rounded = bytes == 0 ? 256 : (bytes + 255) / 256 * 256;
    if (cudaMalloc(&p, rounded) != cudaSuccess) {
      cudaGetLastError();  // clear the sticky-free out-of-memory status
      const CudaDeviceInfo info = cuda_device_info(device_);
      throw Error("cuda: out of memory on GPU " + std::to_string(device_) + " allocating " +
                  mib(bytes) + " (" + mib(info.free_bytes) + " free of " + mib(info.total_bytes) +
                  "); use a larger --tp, more GPUs or a shorter context");
    }
    TPLM_CUDA_CHECK(cudaMemsetAsync(p, 0, rounded, stream_));
    return p;
  }
  void release(void* p) override {
    if (p != nullptr) cudaFree(p);
  }
  void upload(void* dst, const void* src, size_t bytes) override {
    if (bytes > 0)
      TPLM_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream_));
  }
  // Large downloads (a step's logits) go through pinned memory: a DMA at full
  // speed, then a host copy.
  void download(void* dst, const void* src, size_t bytes) override {
    if (bytes >= kPinnedFrom) {
      if (bytes > pinned_bytes_) {
        if (pinned_ != nullptr) TPLM_CUDA_CHECK(cudaFreeHost(pinned_));
        pinned_ = nullptr;
        pinned_bytes_ = 0;
        TPLM_CUDA_CHECK(cudaMallocHost(&pinned_, bytes));
        pinned_bytes_ = bytes;
      }
      TPLM_CUDA_CHECK(cudaMemcpyAsync(pinned_, src, bytes, cudaMemcpyDeviceToHost, stream_));
      synchronize();
      std::memcpy(dst, pinned_, bytes);
      return;
    }
    if (bytes > 0)
      TPLM_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, stream_));
    synchronize();
  }
  void copy(void* dst, const void* src, size_t bytes) override {
    if (bytes > 0 && dst != src)
      TPLM_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream_));
  }
  void synchronize() override {
    TPLM_CUDA_CHECK(cudaStreamSynchronize(stream_));
    if (profile_) timer_->harvest();
  }

  // The first runs of a key are eager: they allocate the kernels' scratch and
  // raise their shared-memory limits, which a recording may not do.
  void run_recorded(int64_t key, const std::function<void()>& record) override {
    if (!graphs_) {
      record();
      return;
    }
    Recording& r = recordings_[key];
    if (r.exec != nullptr) {
      TPLM_CUDA_CHECK(cudaGraphLaunch(r.exec, stream_));
      return;
    }
    if (++r.eager_runs < 2) {
      record();
      return;
    }
    cudaGraph_t graph = nullptr;
    TPLM_CUDA_CHECK(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeThreadLocal));
    capturing_ = true;
    try {
      record();
    } catch (...) {
      capturing_ = false;
      cudaStreamEndCapture(stream_, &graph);
      if (graph != nullptr) cudaGraphDestroy(graph);
      throw;
    }
    capturing_ = false;
    TPLM_CUDA_CHECK(cudaStreamEndCapture(stream_, &graph));
    cudaGraphExec_t exec = nullptr;
    const cudaError_t st = cudaGraphInstantiate(&exec, graph, 0);
    cudaGraphDestroy(graph);
    TPLM_CUDA_CHECK(st);
    r.exec = exec;
    TPLM_CUDA_CHECK(cudaGraphLaunch(exec, stream_));
  }
  void drop_recordings() override {
    for (auto& [key, r] : recordings_)
      if (r.exec != nullptr) cudaGraphExecDestroy(r.exec);
    recordings_.clear();
  }

  void matmul(const float* x, int64_t T, const WeightView& w, const float* bias,
              float* y) override {
    if (T <= 0 || w.rows == 0) return;
    auto t = timer_->time(op_name(T == 1 ? "gemv" : "gemm", w), weight_bytes(w));
    if (T == 1 && gemv_one(x, w, bias, y, cuda::GemvMode::Store)) return;
    gemm(x, T, w, bias, y, false);
  }
  void matmul_add(const float* x, int64_t T, const WeightView& w, float* y) override {
    if (T <= 0 || w.rows == 0) return;
    auto t = timer_->time(op_name(T == 1 ? "gemv+add" : "gemm+add", w), weight_bytes(w));
    if (T == 1 && gemv_one(x, w, nullptr, y, cuda::GemvMode::Add)) return;
    gemm(x, T, w, nullptr, y, true);
  }
  void rmsnorm(const float* x, const float* weight, int64_t T, int64_t dim, float eps,
               float* y) override {
    auto t = timer_->time("rmsnorm", 0);
    cuda::rmsnorm(x, weight, T, dim, eps, y, stream_);
  }
  void rope(float* x, int64_t T, int64_t n_heads, int64_t head_dim, int64_t rope_dim,
            const float* inv_freq, const int32_t* positions) override {
    cuda::rope(x, T, n_heads, head_dim, rope_dim, inv_freq, positions, stream_);
  }
  void attention(const float* q, const void* k_rows, const void* v_rows, const AttentionShape& s,
                 float* out) override {
    check_attention(s);
    const auto* k_cache = static_cast<const float*>(k_rows);
    const auto* v_cache = static_cast<const float*>(v_rows);
    if (s.n_tokens <= 0) return;
    auto t = timer_->time(
        s.n_tokens <= cuda::kDecodeMaxTokens ? "attention decode" : "attention prefill", 0);
    if (s.n_tokens <= cuda::kDecodeMaxTokens) {
      auto* partials = static_cast<float*>(
          scratch(partials_, static_cast<size_t>(cuda::decode_partials_floats(s)) * 4));
      cuda::decode_attention(q, k_cache, v_cache, s, partials, out, stream_);
      return;
    }
    prefill_attention(q, k_cache, v_cache, s, out);
  }
  void swiglu(const float* gate, const float* up, int64_t n, float* out) override {
    cuda::swiglu(gate, up, n, out, stream_);
  }
  void add(float* x, const float* y, int64_t n) override {
    auto t = timer_->time("add", 0);
    cuda::add(x, y, n, stream_);
  }
  void embed(const WeightView& table, int64_t row_begin, const int32_t* ids, int64_t T,
             float* out) override {
    auto t = timer_->time("embed", 0);
    cuda::embed(table, row_begin, ids, T, out, stream_);
  }

  void norm_matmuls(const float* x, const float* norm_weight, int64_t T, int64_t dim, float eps,
                    float* h, std::span<const Projection> outs) override {
    uint64_t bytes = 0;
    for (const Projection& o : outs) bytes += weight_bytes(*o.w);
    auto t = timer_->time(op_name(T == 1 ? "norm+gemv qkv" : "norm+gemm qkv", *outs[0].w), bytes);
    if (T == 1 && outs.size() <= 3) {
      cuda::GemvCall c = norm_call(x, norm_weight, dim, eps, h, cuda::GemvMode::Store);
      c.n_out = static_cast<int>(outs.size());
      for (size_t i = 0; i < outs.size(); ++i) c.out[i] = {*outs[i].w, outs[i].bias, outs[i].y};
      if (cuda::gemv_supported(c, device_)) {
        cuda::gemv(c, stream_);
        return;
      }
    }
    Backend::norm_matmuls(x, norm_weight, T, dim, eps, h, outs);
  }
  void norm_swiglu(const float* x, const float* norm_weight, int64_t T, int64_t dim, float eps,
                   float* h, const WeightView& gate, const WeightView& up, float* up_scratch,
                   float* out) override {
    auto t = timer_->time(op_name(T == 1 ? "norm+gemv gate/up" : "norm+gemm gate/up", gate),
                          weight_bytes(gate) + weight_bytes(up));
    if (T == 1) {
      cuda::GemvCall c = norm_call(x, norm_weight, dim, eps, h, cuda::GemvMode::SwiGLU);
      c.n_out = 2;
      c.out[0] = {gate, nullptr, out};
      c.out[1] = {up, nullptr, up_scratch};
      if (cuda::gemv_supported(c, device_)) {
        cuda::gemv(c, stream_);
        return;
      }
    }
    Backend::norm_swiglu(x, norm_weight, T, dim, eps, h, gate, up, up_scratch, out);
  }
  void rope_store_kv(float* q, float* k, const float* v, const AttentionShape& s, int64_t rope_dim,
                     const float* inv_freq, void* k_cache, void* v_cache) override {
    check_kv_type(s);
    auto t = timer_->time("rope+store kv", 0);
    cuda::rope_store_kv(q, k, v, s, rope_dim, inv_freq, static_cast<float*>(k_cache),
                        static_cast<float*>(v_cache), stream_);
  }

 private:
  struct Scratch {
    void* ptr = nullptr;
    size_t bytes = 0;
  };
  static constexpr size_t kPinnedFrom = size_t{64} << 10;

  static uint64_t weight_bytes(const WeightView& w) {
    return dtype_bytes(w.dtype, w.rows * w.cols);
  }
  std::string op_name(const char* op, const WeightView& w) const {
    if (!profile_) return {};
    return std::string(op) + " " + std::string(dtype_name(w.dtype)) + " " + std::to_string(w.rows) +
           "x" + std::to_string(w.cols);
  }
  struct Recording {
    int eager_runs = 0;
    cudaGraphExec_t exec = nullptr;
  };

  // Device scratch of at least bytes; growing it frees the old one, which
  // recordings may use, so they go too.
  void* scratch(Scratch& s, size_t bytes) {
    if (bytes <= s.bytes) return s.ptr;
    if (capturing_)
      throw Error("cuda: a recorded step asked for more scratch memory than its first runs");
    drop_recordings();
    TPLM_CUDA_CHECK(cudaStreamSynchronize(stream_));
    if (s.ptr != nullptr) TPLM_CUDA_CHECK(cudaFree(s.ptr));
    s.ptr = nullptr;
    s.bytes = 0;
    if (cudaMalloc(&s.ptr, bytes) != cudaSuccess) {
      cudaGetLastError();
      throw Error("cuda: out of memory on GPU " + std::to_string(device_) + " for " + mib(bytes) +
                  " of scratch; use a shorter prompt chunk or a larger --tp");
    }
    s.bytes = bytes;
    return s.ptr;
  }

  cuda::GemvCall norm_call(const float* x, const float* norm_weight, int64_t dim, float eps,
                           float* h, cuda::GemvMode mode) const {
    cuda::GemvCall c;
    c.x = x;
    c.cols = dim;
    c.norm_weight = norm_weight;
    c.eps = eps;
    c.h = h;
    c.mode = mode;
    return c;
  }

  bool gemv_one(const float* x, const WeightView& w, const float* bias, float* y,
                cuda::GemvMode mode) {
    cuda::GemvCall c;
    c.x = x;
    c.cols = w.cols;
    c.mode = mode;
    c.out[0] = {w, bias, y};
    if (!cuda::gemv_supported(c, device_)) return false;
    cuda::gemv(c, stream_);
    return true;
  }

  // y = x W^T (+ bias) (+ y when accumulate) for T tokens, with cuBLAS:
  // row-major y [T, rows] is column-major (rows x T), W [rows, cols] is
  // column-major (cols x rows), so y = op_T(W) x.
  void gemm(const float* x, int64_t T, const WeightView& w, const float* bias, float* y,
            bool accumulate) {
    float beta = accumulate ? 1.0f : 0.0f;
    if (bias != nullptr) {
      cuda::broadcast_bias(y, bias, T, w.rows, accumulate, stream_);
      beta = 1.0f;
    }
    const float one = 1.0f;
    const int m = static_cast<int>(w.rows), n = static_cast<int>(T), k = static_cast<int>(w.cols);
    const bool half = w.dtype == DType::F16 || w.dtype == DType::BF16;
    if (half && !exact_) {
      // 16-bit activations against 16-bit weights on tensor cores, f32 sums.
      const bool bf16 = w.dtype == DType::BF16;
      void* xh = scratch(half_, static_cast<size_t>(T * w.cols) * 2);
      cuda::to_half(x, T * w.cols, bf16, xh, stream_);
      const cudaDataType_t type = bf16 ? CUDA_R_16BF : CUDA_R_16F;
      TPLM_BLAS_CHECK(cublasGemmEx(blas_, CUBLAS_OP_T, CUBLAS_OP_N, m, n, k, &one, w.data, type, k,
                                   xh, type, k, &beta, y, CUDA_R_32F, m, CUBLAS_COMPUTE_32F,
                                   CUBLAS_GEMM_DEFAULT));
      return;
    }
    const float* wf = static_cast<const float*>(w.data);
    if (w.dtype != DType::F32) {
      auto* buf =
          static_cast<float*>(scratch(weights_f32_, static_cast<size_t>(w.rows * w.cols) * 4));
      cuda::dequantize(w, buf, stream_);
      wf = buf;
    }
    TPLM_BLAS_CHECK(
        cublasSgemm(blas_, CUBLAS_OP_T, CUBLAS_OP_N, m, n, k, &one, wf, k, x, k, &beta, y, m));
  }

  // S_h = scale Q_h K_h^T ([T, keys] per query head), causal softmax, then
  // out_h = P_h V_h. Query heads kvh * group + g read kv head kvh: one strided
  // batch over the kv heads per g.
  void prefill_attention(const float* q, const float* k_cache, const float* v_cache,
                         const AttentionShape& s, float* out) {
    const int64_t T = s.n_tokens, keys = s.pos0 + s.n_tokens, hd = s.head_dim;
    const int64_t H = s.n_heads, KV = s.n_kv_heads, group = H / KV;
    auto* scores = static_cast<float*>(scratch(scores_, static_cast<size_t>(H * T * keys) * 4));
    const float scale = 1.0f / std::sqrt(static_cast<float>(hd)), one = 1.0f, zero = 0.0f;
    for (int64_t g = 0; g < group; ++g)
      TPLM_BLAS_CHECK(cublasSgemmStridedBatched(
          blas_, CUBLAS_OP_T, CUBLAS_OP_N, static_cast<int>(keys), static_cast<int>(T),
          static_cast<int>(hd), &scale, k_cache, static_cast<int>(KV * hd), hd, q + g * hd,
          static_cast<int>(H * hd), group * hd, &zero, scores + g * T * keys,
          static_cast<int>(keys), group * T * keys, static_cast<int>(KV)));
    cuda::causal_softmax(scores, s.positions, T, H, keys, stream_);
    for (int64_t g = 0; g < group; ++g)
      TPLM_BLAS_CHECK(cublasSgemmStridedBatched(
          blas_, CUBLAS_OP_N, CUBLAS_OP_N, static_cast<int>(hd), static_cast<int>(T),
          static_cast<int>(keys), &one, v_cache, static_cast<int>(KV * hd), hd,
          scores + g * T * keys, static_cast<int>(keys), group * T * keys, &zero, out + g * hd,
          static_cast<int>(H * hd), group * hd, static_cast<int>(KV)));
  }

  // The engine refuses other kv types for --device cuda before loading.
  static void check_kv_type(const AttentionShape& s) {
    if (s.kv_type != KvType::F32)
      throw Error(std::string("the cuda backend keeps an f32 KV cache only, not ") +
                  std::string(kv_type_name(s.kv_type)));
  }

  static void check_attention(const AttentionShape& s) {
    check_kv_type(s);
    if (s.n_tokens < 0 || s.pos0 < 0 || s.n_heads <= 0 || s.n_kv_heads <= 0 || s.head_dim <= 0 ||
        s.n_heads % s.n_kv_heads != 0 || s.positions == nullptr)
      throw Error("cuda attention: bad shape (n_tokens " + std::to_string(s.n_tokens) +
                  ", n_heads " + std::to_string(s.n_heads) + ", n_kv_heads " +
                  std::to_string(s.n_kv_heads) + ", head_dim " + std::to_string(s.head_dim) +
                  "; positions are needed in device memory)");
  }

  int device_;
  bool exact_;
  bool profile_;
  bool graphs_;
  std::unique_ptr<cuda::OpTimer> timer_;
  void* pinned_ = nullptr;
  size_t pinned_bytes_ = 0;
  bool capturing_ = false;
  cudaStream_t stream_ = nullptr;
  cublasHandle_t blas_ = nullptr;
  Scratch half_, weights_f32_, partials_, scores_;
  std::map<int64_t, Recording> recordings_;
};

}  // namespace

std::unique_ptr<Backend> make_cuda_backend(int device, int threads) {
  return std::make_unique<CudaBackend>(device, threads);
}

bool cuda_supports_dtype(DType dtype) {
  return dtype == DType::F32 || dtype == DType::F16 || dtype == DType::BF16 ||
         dtype == DType::Q8_0 || dtype == DType::Q4_0;
}

int cuda_device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();
    return 0;
  }
  return n;
}

CudaDeviceInfo cuda_device_info(int device) {
  int current = 0;
  TPLM_CUDA_CHECK(cudaGetDevice(&current));
  TPLM_CUDA_CHECK(cudaSetDevice(device));
  CudaDeviceInfo info;
  cudaDeviceProp prop{};
  TPLM_CUDA_CHECK(cudaGetDeviceProperties(&prop, device));
  info.name = prop.name;
  size_t free = 0, total = 0;
  TPLM_CUDA_CHECK(cudaMemGetInfo(&free, &total));
  info.free_bytes = free;
  info.total_bytes = total;
  TPLM_CUDA_CHECK(cudaSetDevice(current));
  return info;
}

double cuda_read_bandwidth_gbps(int device, uint64_t bytes) {
  TPLM_CUDA_CHECK(cudaSetDevice(device));
  void* buf = nullptr;
  while (bytes >= (uint64_t{64} << 20) && cudaMalloc(&buf, bytes) != cudaSuccess) {
    cudaGetLastError();
    bytes /= 2;
  }
  if (buf == nullptr) throw Error("cuda: no memory to measure the read bandwidth");
  unsigned long long* sink = nullptr;
  cudaStream_t s = nullptr;
  cudaEvent_t t0 = nullptr, t1 = nullptr;
  double gbps = 0;
  try {
    TPLM_CUDA_CHECK(cudaMalloc(&sink, sizeof(unsigned long long)));
    TPLM_CUDA_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    TPLM_CUDA_CHECK(cudaMemsetAsync(buf, 1, bytes, s));
    TPLM_CUDA_CHECK(cudaEventCreate(&t0));
    TPLM_CUDA_CHECK(cudaEventCreate(&t1));
    cuda::read_all(buf, bytes, sink, s);  // warm-up
    constexpr int kRuns = 10, kTrials = 5;
    std::vector<double> trials;
    for (int trial = 0; trial < kTrials; ++trial) {
      TPLM_CUDA_CHECK(cudaEventRecord(t0, s));
      for (int i = 0; i < kRuns; ++i) cuda::read_all(buf, bytes, sink, s);
      TPLM_CUDA_CHECK(cudaEventRecord(t1, s));
      TPLM_CUDA_CHECK(cudaEventSynchronize(t1));
      float ms = 0;
      TPLM_CUDA_CHECK(cudaEventElapsedTime(&ms, t0, t1));
      trials.push_back(static_cast<double>(bytes) * kRuns / (static_cast<double>(ms) * 1e6));
    }
    std::sort(trials.begin(), trials.end());
    gbps = trials[kTrials / 2];  // the median trial
  } catch (...) {
    cudaFree(buf);
    throw;
  }
  cudaEventDestroy(t0);
  cudaEventDestroy(t1);
  cudaStreamDestroy(s);
  cudaFree(sink);
  cudaFree(buf);
  return gbps;
}

}  // namespace tplm
