// Every cuda backend op against the cpu backend on random inputs, for every
// dtype: decode (one token: our GEMV kernels, fused norm/QKV and gate/up),
// prefill (cuBLAS, exact f32 and 16-bit tensor-core modes), the layer's small
// kernels, attention (split-K decode and cuBLAS prefill), and a recorded step
// replayed at later positions. Skipped without a GPU.
#include <gtest/gtest.h>

#include <cmath>

#include "backend/cpu/cpu_backend.hpp"
#include "gpu_test_support.hpp"

namespace tplm {
namespace {

using test::Gpu;
using test::random_floats;
using test::random_weight;
using test::TestWeight;

constexpr DType kAllDtypes[] = {DType::F32, DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0};

// sum_c |x[t, c] w[r, c]|: the scale of a dot product's rounding error.
double abs_sum(const std::vector<float>& x, const TestWeight& w, int64_t t, int64_t r) {
  double s = 0;
  for (int64_t c = 0; c < w.cols; ++c)
    s += std::abs(static_cast<double>(x[t * w.cols + c]) * w.values[r * w.cols + c]);
  return s;
}

// |gpu - cpu| <= rel * sum |x w| for each output.
void expect_matmul_close(const std::vector<float>& gpu, const std::vector<float>& cpu,
                         const std::vector<float>& x, const TestWeight& w, int64_t T, double rel) {
  ASSERT_EQ(gpu.size(), cpu.size());
  for (int64_t t = 0; t < T; ++t)
    for (int64_t r = 0; r < w.rows; ++r) {
      const size_t i = static_cast<size_t>(t * w.rows + r);
      ASSERT_NEAR(gpu[i], cpu[i], rel * abs_sum(x, w, t, r) + 1e-6) << "t " << t << " r " << r;
    }
}

// f32 sums in another order (both within ~sqrt(cols) ulps of exact); 16-bit
// activations add their rounding: 2^-9 relative for bf16, 2^-12 for f16.
double tolerance(DType dt, int64_t T, int64_t cols, bool exact) {
  const double f32 = 1e-6 * std::sqrt(static_cast<double>(cols)) + 1e-7;
  if (T == 1 || exact || dt == DType::F32 || is_quantized(dt)) return f32;
  return dt == DType::BF16 ? 4e-3 : 6e-4;
}

TEST(CudaOps, MatmulEveryDtypeDecodeAndPrefill) {
  TPLM_REQUIRE_GPU();
  auto cpu = make_cpu_backend(2);
  uint32_t seed = 7;
  for (bool exact : {true, false}) {
    Gpu gpu(exact);
    for (DType dt : kAllDtypes)
      for (int64_t rows : {1, 3, 37, 300})
        for (int64_t cols : {32, 96, 4096, 37, 86}) {
          if (is_quantized(dt) && cols % 32 != 0) continue;
          const TestWeight w = random_weight(dt, rows, cols, seed++);
          const WeightView dw = gpu.put(w);
          for (int64_t T : {1, 5, 64})
            for (bool with_bias : {false, true}) {
              SCOPED_TRACE(::testing::Message()
                           << dtype_name(dt) << " rows " << rows << " cols " << cols << " T " << T
                           << " bias " << with_bias << " exact " << exact);
              const auto x = random_floats(T * cols, seed++);
              const auto bias = random_floats(rows, seed++);
              std::vector<float> want(static_cast<size_t>(T * rows));
              cpu->matmul(x.data(), T, w.view(), with_bias ? bias.data() : nullptr, want.data());
              float* y = gpu.zeros<float>(want.size());
              gpu.be().matmul(gpu.put(x), T, dw, with_bias ? gpu.put(bias) : nullptr, y);
              expect_matmul_close(gpu.get(y, want.size()), want, x, w, T,
                                  tolerance(dt, T, cols, exact));
            }
        }
  }
}

TEST(CudaOps, MatmulAddAccumulates) {
  TPLM_REQUIRE_GPU();
  auto cpu = make_cpu_backend(1);
  Gpu gpu;
  uint32_t seed = 99;
  for (DType dt : kAllDtypes)
    for (int64_t T : {1, 9}) {
      SCOPED_TRACE(::testing::Message() << dtype_name(dt) << " T " << T);
      const TestWeight w = random_weight(dt, 70, 256, seed++);
      const auto x = random_floats(T * 256, seed++);
      auto want = random_floats(T * 70, seed++);
      float* y = gpu.put(want);
      cpu->matmul_add(x.data(), T, w.view(), want.data());
      gpu.be().matmul_add(gpu.put(x), T, gpu.put(w), y);
      expect_matmul_close(gpu.get(y, want.size()), want, x, w, T, tolerance(dt, T, 256, true));
    }
}

TEST(CudaOps, FusedNormProjectionsAndSwiglu) {
  TPLM_REQUIRE_GPU();
  auto cpu = make_cpu_backend(1);
  Gpu gpu;
  uint32_t seed = 500;
  for (DType dt : kAllDtypes)
    for (int64_t dim : {256, 4096}) {
      SCOPED_TRACE(::testing::Message() << dtype_name(dt) << " dim " << dim);
      const auto x = random_floats(dim, seed++, -3.0f, 3.0f);
      const auto norm = random_floats(dim, seed++, 0.5f, 1.5f);
      const TestWeight wq = random_weight(dt, 128, dim, seed++);
      const TestWeight wk = random_weight(dt, 32, dim, seed++);
      const TestWeight wv = random_weight(dt, 32, dim, seed++);
      const auto bq = random_floats(128, seed++);
      std::vector<float> q(128), k(32), v(32), h(static_cast<size_t>(dim));
      const WeightView cq = wq.view(), ck = wk.view(), cv = wv.view();
      const Projection cpu_out[] = {
          {&cq, bq.data(), q.data()}, {&ck, nullptr, k.data()}, {&cv, nullptr, v.data()}};
      cpu->norm_matmuls(x.data(), norm.data(), 1, dim, 1e-5f, h.data(), cpu_out);
      const WeightView gq = gpu.put(wq), gk = gpu.put(wk), gv = gpu.put(wv);
      float *dq = gpu.zeros<float>(128), *dk = gpu.zeros<float>(32), *dv = gpu.zeros<float>(32);
      float* dh = gpu.zeros<float>(static_cast<size_t>(dim));
      const Projection gpu_out[] = {{&gq, gpu.put(bq), dq}, {&gk, nullptr, dk}, {&gv, nullptr, dv}};
      const float* dx = gpu.put(x);
      const float* dn = gpu.put(norm);
      gpu.be().norm_matmuls(dx, dn, 1, dim, 1e-5f, dh, gpu_out);
      const std::vector<float> hx(h.begin(), h.end());
      const double tol = tolerance(dt, 1, dim, true) * 4;  // the norm is rounded differently too
      expect_matmul_close(gpu.get(dq, 128), q, hx, wq, 1, tol);
      expect_matmul_close(gpu.get(dk, 32), k, hx, wk, 1, tol);
      expect_matmul_close(gpu.get(dv, 32), v, hx, wv, 1, tol);
      const auto gh = gpu.get(dh, static_cast<size_t>(dim));
      for (int64_t i = 0; i < dim; ++i) ASSERT_NEAR(gh[i], h[i], 1e-5 * std::abs(h[i]) + 1e-6);

      const TestWeight wg = random_weight(dt, 96, dim, seed++);
      const TestWeight wu = random_weight(dt, 96, dim, seed++);
      std::vector<float> out(96), up(96);
      cpu->norm_swiglu(x.data(), norm.data(), 1, dim, 1e-5f, h.data(), wg.view(), wu.view(),
                       up.data(), out.data());
      float *dout = gpu.zeros<float>(96), *dup = gpu.zeros<float>(96);
      gpu.be().norm_swiglu(dx, dn, 1, dim, 1e-5f, dh, gpu.put(wg), gpu.put(wu), dup, dout);
      const auto go = gpu.get(dout, 96);
      for (int64_t r = 0; r < 96; ++r) {
        const double scale = abs_sum(hx, wg, 0, r) * abs_sum(hx, wu, 0, r) + 1e-3;
        ASSERT_NEAR(go[r], out[r], 1e-5 * scale + 1e-5) << "row " << r;
      }
    }
}

TEST(CudaOps, NormRopeSwigluAddEmbed) {
  TPLM_REQUIRE_GPU();
  auto cpu = make_cpu_backend(1);
  Gpu gpu;
  const int64_t T = 5, dim = 192, heads = 6, hd = 32;
  const auto x = random_floats(T * dim, 1, -2.0f, 2.0f);
  const auto w = random_floats(dim, 2, 0.5f, 1.5f);
  auto near = [](const std::vector<float>& a, const std::vector<float>& b, double tol) {
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], b[i], tol * (1 + std::abs(b[i]))) << i;
  };
  std::vector<float> y(x.size());
  cpu->rmsnorm(x.data(), w.data(), T, dim, 1e-5f, y.data());
  float* dy = gpu.zeros<float>(x.size());
  gpu.be().rmsnorm(gpu.put(x), gpu.put(w), T, dim, 1e-5f, dy);
  near(gpu.get(dy, y.size()), y, 1e-6);

  std::vector<float> inv(hd / 2);
  for (int64_t i = 0; i < hd / 2; ++i) inv[i] = std::pow(10000.0f, -2.0f * i / hd);
  const std::vector<int32_t> pos = {0, 1, 77, 1000, 4095};
  std::vector<float> r = x;  // [T, heads, hd] = [5, 6, 32]
  cpu->rope(r.data(), T, heads, hd, hd, inv.data(), pos.data());
  float* dr = gpu.put(x);
  gpu.be().rope(dr, T, heads, hd, hd, gpu.put(inv), gpu.put(pos));
  near(gpu.get(dr, r.size()), r, 2e-6);

  const auto g = random_floats(1000, 3, -6.0f, 6.0f), u = random_floats(1000, 4);
  std::vector<float> s(1000);
  cpu->swiglu(g.data(), u.data(), 1000, s.data());
  float* ds = gpu.zeros<float>(1000);
  gpu.be().swiglu(gpu.put(g), gpu.put(u), 1000, ds);
  near(gpu.get(ds, 1000), s, 1e-6);
  std::vector<float> a = g;
  cpu->add(a.data(), u.data(), 1000);
  float* da = gpu.put(g);
  gpu.be().add(da, gpu.put(u), 1000);
  near(gpu.get(da, 1000), a, 0);

  for (DType dt : kAllDtypes) {
    SCOPED_TRACE(dtype_name(dt));
    const TestWeight table = random_weight(dt, 40, 64, 11);
    const std::vector<int32_t> ids = {100, 103, 139, 140, 99, 120};  // rows 100 .. 139 are ours
    std::vector<float> e(6 * 64);
    cpu->embed(table.view(), 100, ids.data(), 6, e.data());
    float* de = gpu.zeros<float>(6 * 64);
    gpu.be().embed(gpu.put(table), 100, gpu.put(ids), 6, de);
    near(gpu.get(de, e.size()), e, 0);  // conversions are exact on both
  }
}

struct AttnCase {
  int64_t T, pos0, heads, kv_heads, hd, context;
};

TEST(CudaOps, RopeStoreKvAndAttentionDecodeAndPrefill) {
  TPLM_REQUIRE_GPU();
  auto cpu = make_cpu_backend(2);
  Gpu gpu;
  uint32_t seed = 3000;
  for (const AttnCase& c : {AttnCase{1, 0, 8, 4, 32, 64}, AttnCase{1, 37, 8, 2, 64, 64},
                            AttnCase{1, 600, 4, 4, 128, 700}, AttnCase{3, 250, 8, 8, 32, 300},
                            AttnCase{40, 0, 8, 2, 64, 64}, AttnCase{33, 100, 4, 1, 128, 200}}) {
    SCOPED_TRACE(::testing::Message() << "T " << c.T << " pos0 " << c.pos0 << " heads " << c.heads
                                      << "/" << c.kv_heads << " hd " << c.hd);
    const int64_t row = c.kv_heads * c.hd, rows = c.pos0 + c.T;
    auto q = random_floats(c.T * c.heads * c.hd, seed++, -2.0f, 2.0f);
    auto k = random_floats(c.T * row, seed++, -2.0f, 2.0f);
    auto v = random_floats(c.T * row, seed++);
    auto kc = random_floats(c.context * row, seed++, -2.0f, 2.0f);  // rows before pos0: history
    auto vc = random_floats(c.context * row, seed++);
    std::vector<float> inv(c.hd / 2);
    for (int64_t i = 0; i < c.hd / 2; ++i) inv[i] = std::pow(10000.0f, -2.0f * i / c.hd);
    std::vector<int32_t> pos(static_cast<size_t>(c.T));
    for (int64_t t = 0; t < c.T; ++t) pos[t] = static_cast<int32_t>(c.pos0 + t);

    float *dq = gpu.put(q), *dk = gpu.put(k), *dkc = gpu.put(kc), *dvc = gpu.put(vc);
    const float* dv = gpu.put(v);
    AttentionShape s{c.T, c.pos0, c.heads, c.kv_heads, c.hd, pos.data(), c.context};
    cpu->rope_store_kv(q.data(), k.data(), v.data(), s, c.hd, inv.data(), kc.data(), vc.data());
    AttentionShape ds = s;
    ds.positions = gpu.put(pos);
    gpu.be().rope_store_kv(dq, dk, dv, ds, c.hd, gpu.put(inv), dkc, dvc);
    const auto gkc = gpu.get(dkc, kc.size());
    for (int64_t i = 0; i < rows * row; ++i) ASSERT_NEAR(gkc[i], kc[i], 2e-6) << "k cache " << i;

    std::vector<float> out(q.size());
    cpu->attention(q.data(), kc.data(), vc.data(), s, out.data());
    float* dout = gpu.zeros<float>(q.size());
    gpu.be().attention(dq, dkc, dvc, ds, dout);
    const auto got = gpu.get(dout, out.size());
    for (size_t i = 0; i < out.size(); ++i) ASSERT_NEAR(got[i], out[i], 2e-5) << "out " << i;
  }
}

// A recorded step (a CUDA graph) replays with the positions it reads from
// device memory: its results at later positions equal eager runs.
TEST(CudaOps, RecordedStepReplaysAtLaterPositions) {
  TPLM_REQUIRE_GPU();
  Gpu gpu;
  const int64_t heads = 4, hd = 64, context = 300, row = heads * hd;
  const auto kc = random_floats(context * row, 1), vc = random_floats(context * row, 2);
  const auto q = random_floats(row, 3);
  float *dkc = gpu.put(kc), *dvc = gpu.put(vc), *dout = gpu.zeros<float>(row);
  const float* dq = gpu.put(q);
  int32_t* dpos = gpu.zeros<int32_t>(1);
  auto step = [&] {
    const AttentionShape s{1, 0, heads, heads, hd, dpos, context};
    gpu.be().attention(dq, dkc, dvc, s, dout);
  };
  std::vector<std::vector<float>> eager, recorded;
  for (int32_t p : {5, 90, 299, 260}) {
    gpu.be().upload(dpos, &p, sizeof p);
    step();
    eager.push_back(gpu.get(dout, row));
  }
  for (int32_t p : {5, 90, 299, 260}) {
    gpu.be().upload(dpos, &p, sizeof p);
    gpu.be().run_recorded(7, step);  // eager twice, then recorded and replayed
    recorded.push_back(gpu.get(dout, row));
  }
  EXPECT_EQ(recorded, eager);
}

TEST(CudaOps, ReadBandwidthIsMeasured) {
  TPLM_REQUIRE_GPU();
  const double gbps = cuda_read_bandwidth_gbps(0, uint64_t{1} << 30);
  EXPECT_GT(gbps, 100.0);
  std::printf("GPU 0 (%s) read bandwidth: %.1f GB/s\n", cuda_device_info(0).name.c_str(), gbps);
}

}  // namespace
}  // namespace tplm
