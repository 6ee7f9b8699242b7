#pragma once
// The kernels one rank runs, behind one interface so that the model code is
// written once for every device. Pointers are in the backend's memory (host
// memory for cpu, device memory for cuda). Activations are float32; weights
// stay in their file dtype and are converted inside the kernels.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "format/dtype.hpp"
#include "format/kv_type.hpp"

namespace tplm {

enum class BackendKind : uint8_t { Cpu, Cuda };
std::string_view backend_kind_name(BackendKind k);  // "cpu", "cuda"
std::optional<BackendKind> backend_kind_from_name(std::string_view name);

// A 2-D weight [rows = out_features, cols = in_features], row-major, in its file dtype.
// How a weight's bytes are laid out: as in the model file, or as the cpu
// backend regrouped a Q8_0 / Q4_0 matrix when it was loaded (see
// backend/cpu/qdot.hpp): the same bytes per row, so every size the plan
// computed still holds; only that backend's kernels read it.
enum class WeightLayout : uint8_t { File, CpuGroups };

struct WeightView {
  DType dtype = DType::F32;
  int64_t rows = 0;
  int64_t cols = 0;
  const void* data = nullptr;
  WeightLayout layout = WeightLayout::File;
};

// Shape of one attention call on a rank: the rank's own heads only.
struct AttentionShape {
  int64_t n_tokens = 0;  // T new positions, at pos0 .. pos0 + T - 1
  int64_t pos0 = 0;
  int64_t n_heads = 0;     // local query heads
  int64_t n_kv_heads = 0;  // local kv heads; query head h reads kv head h / (n_heads / n_kv_heads)
  int64_t head_dim = 0;
  // Device backends read the positions from backend memory (positions[t] =
  // pos0 + t) and size their grids by the cache's rows, so that a recorded
  // step (run_recorded) replays at any position; the cpu uses pos0.
  const int32_t* positions = nullptr;
  int64_t context = 0;  // rows the cache holds (0: pos0 + n_tokens)
  // How the cache stores its rows (format/kv_type.hpp): the kernels convert
  // K and V on the way in and out; activations stay float32.
  KvType kv_type = KvType::F32;
};

// One sequence's rows of a batched step, for attend_segments: q, k, v are its
// [s.n_tokens] rows of the step's projections, out its rows of the output.
struct AttentionSegment {
  float* q = nullptr;
  float* k = nullptr;
  const float* v = nullptr;
  AttentionShape s;
  void* k_cache = nullptr;  // the sequence's own cache rows
  void* v_cache = nullptr;
  float* out = nullptr;
};

// One output of norm_matmuls: y = h W^T + bias.
struct Projection {
  const WeightView* w = nullptr;
  const float* bias = nullptr;  // nullptr: none
  float* y = nullptr;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string_view name() const = 0;
  virtual BackendKind kind() const = 0;
  // The stream this rank's kernels run on in order (a cudaStream_t for cuda),
  // so that device-memory collectives can be ordered with them; nullptr on cpu.
  virtual void* native_stream() { return nullptr; }

  virtual void* alloc(size_t bytes) = 0;  // zero-filled
  virtual void release(void* p) = 0;
  virtual void upload(void* dst, const void* host_src, size_t bytes) = 0;
  virtual void download(void* host_dst, const void* src, size_t bytes) = 0;
  virtual void copy(void* dst, const void* src, size_t bytes) = 0;  // backend to backend memory
  // Copies a host matrix that matmul multiplies by (never the embedding table,
  // which embed reads by rows) into dst, which holds its dtype_bytes, in the
  // layout this backend's kernels read fastest, and says which one that is.
  virtual WeightLayout upload_matrix(void* dst, const WeightView& host) {
    upload(dst, host.data, dtype_bytes(host.dtype, host.rows * host.cols));
    return WeightLayout::File;
  }
  virtual void synchronize() {}

  // Queues one step's kernels by calling record. A backend that can (cuda
  // graphs) records them the first time for this key and replays the
  // recording afterwards: every pointer and size must be the same at each
  // call (the data they hold may change), and record must not read backend
  // memory on the host. Others just call record. drop_recordings() forgets
  // them (buffers were reallocated).
  virtual void run_recorded(int64_t /*key*/, const std::function<void()>& record) { record(); }
  virtual void drop_recordings() {}

  // ---- The primitives.
  // y[t, r] = sum_c x[t, c] * W[r, c] + (bias ? bias[r] : 0);  x: [T, W.cols], y: [T, W.rows].
  virtual void matmul(const float* x, int64_t T, const WeightView& w, const float* bias,
                      float* y) = 0;
  // y[t, r] += sum_c x[t, c] * W[r, c]: a row-parallel layer's output added to
  // the residual stream in one pass (tp = 1).
  virtual void matmul_add(const float* x, int64_t T, const WeightView& w, float* y) = 0;
  // y[t, :] = x[t, :] / sqrt(mean(x[t, :]^2) + eps) * weight
  virtual void rmsnorm(const float* x, const float* weight, int64_t T, int64_t dim, float eps,
                       float* y) = 0;
  // Rotates, in place, the pairs (2i, 2i+1), i < rope_dim / 2, of every head of x
  // ([T, n_heads, head_dim]) at position positions[t] by angle positions[t] * inv_freq[i].
  virtual void rope(float* x, int64_t T, int64_t n_heads, int64_t head_dim, int64_t rope_dim,
                    const float* inv_freq, const int32_t* positions) = 0;
  // Causal attention of q ([T, n_heads, head_dim]) over the cache rows 0 .. pos0 + t
  // (k_cache, v_cache: [context] rows of [n_kv_heads, head_dim] in s.kv_type,
  // already holding the new rows); out: [T, n_heads * head_dim]. Scale 1 / sqrt(head_dim).
  virtual void attention(const float* q, const void* k_cache, const void* v_cache,
                         const AttentionShape& s, float* out) = 0;
  // out[i] = silu(gate[i]) * up[i]
  virtual void swiglu(const float* gate, const float* up, int64_t n, float* out) = 0;
  // x[i] += y[i]
  virtual void add(float* x, const float* y, int64_t n) = 0;
  // out[t, :] = table[ids[t] - row_begin, :] when row_begin <= ids[t] < row_begin + table.rows,
  // else zeros (vocab-parallel lookup; table is the rank's rows of the embedding).
  virtual void embed(const WeightView& table, int64_t row_begin, const int32_t* ids, int64_t T,
                     float* out) = 0;

  // ---- Fused steps of a layer. Each is defined by the primitives it replaces
  // (the defaults below, in backend.cpp, run them one after the other and read
  // positions on the host); a device backend overrides them with one kernel
  // where that saves a pass over memory or a launch.
  // h = rmsnorm(x) (written), then y_i = h W_i^T + b_i for every projection.
  virtual void norm_matmuls(const float* x, const float* norm_weight, int64_t T, int64_t dim,
                            float eps, float* h, std::span<const Projection> outs);
  // h = rmsnorm(x) (written), out = silu(h Wg^T) * (h Wu^T); up_scratch: [T, gate.rows].
  virtual void norm_swiglu(const float* x, const float* norm_weight, int64_t T, int64_t dim,
                           float eps, float* h, const WeightView& gate, const WeightView& up,
                           float* up_scratch, float* out);
  // RoPE on q ([T, n_heads, hd]) and k ([T, n_kv_heads, hd]) in place, then k
  // and v rows t into the cache rows positions[t] ([context] rows in s.kv_type;
  // the default stores f32 rows only).
  virtual void rope_store_kv(float* q, float* k, const float* v, const AttentionShape& s,
                             int64_t rope_dim, const float* inv_freq, void* k_cache, void* v_cache);
  // For each segment in order: rope_store_kv, then attention into its out. A
  // batch of sequences in one call, so that a backend can spread all their
  // (token, head) pairs over its threads at once instead of a few per call.
  virtual void attend_segments(std::span<const AttentionSegment> segments, int64_t rope_dim,
                               const float* inv_freq);
};

// One allocation of backend memory holding count elements of T (zero-filled),
// released when the Buffer goes. Move-only; the backend must outlive it.
template <class T>
class Buffer {
 public:
  Buffer() = default;
  Buffer(Backend& backend, size_t count)
      : backend_(&backend),
        data_(static_cast<T*>(backend.alloc(std::max<size_t>(count, 1) * sizeof(T)))),
        count_(count) {}
  ~Buffer() { reset(); }
  Buffer(Buffer&& o) noexcept { *this = std::move(o); }
  Buffer& operator=(Buffer&& o) noexcept {
    if (this != &o) {
      reset();
      backend_ = std::exchange(o.backend_, nullptr);
      data_ = std::exchange(o.data_, nullptr);
      count_ = std::exchange(o.count_, 0);
    }
    return *this;
  }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  T* data() const { return data_; }
  size_t size() const { return count_; }
  size_t bytes() const { return count_ * sizeof(T); }

 private:
  void reset() {
    if (data_ != nullptr) backend_->release(data_);
    data_ = nullptr;
    count_ = 0;
  }
  Backend* backend_ = nullptr;
  T* data_ = nullptr;
  size_t count_ = 0;
};

// The backend of one rank: kind, the device it runs on (a GPU index for cuda;
// ignored on cpu) and the threads its host kernels use (>= 1). Throws Error
// when this build or machine cannot give that backend.
std::unique_ptr<Backend> make_backend(BackendKind kind, int device, int threads);
// Whether this build has the backend, and the devices it sees (cpu: 1).
bool backend_built(BackendKind kind);
int backend_device_count(BackendKind kind);
// Whether the backend's kernels compute weights of this dtype.
bool backend_supports_dtype(BackendKind kind, DType dtype);
// Whether the backend's attention reads a KV cache stored as this type.
bool backend_supports_kv_type(BackendKind kind, KvType type);
// A device's name and memory (cuda: the GPU's free and total bytes; cpu: the
// host, memory 0 = not measured here).
struct DeviceInfo {
  std::string name;
  uint64_t free_bytes = 0;
  uint64_t total_bytes = 0;
};
DeviceInfo backend_device_info(BackendKind kind, int device);
// The device's measured memory read bandwidth in GB/s (cpu: the host's, read
// by every core; 0 when the backend cannot measure it).
double backend_read_bandwidth_gbps(BackendKind kind, int device);

}  // namespace tplm
