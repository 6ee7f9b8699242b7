// Causal grouped-query attention on the cpu backend: a double-precision
// reference, the causal mask, the kv-head mapping and a pre-filled cache.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "backend/cpu/cpu_backend.hpp"
#include "backend/cpu/cpu_features.hpp"
#include "backend/cpu/kernels.hpp"
#include "backend/cpu/kv_rows.hpp"
#include "backend/reference.hpp"
#include "base/error.hpp"
#include "format/half.hpp"

namespace tplm {
namespace {

using test::random_floats;
using test::same_bits;

struct Case {
  AttentionShape s;
  std::vector<float> q, k, v;  // k, v: [pos0 + T, n_kv_heads, head_dim]
};

Case make_case(int64_t T, int64_t pos0, int64_t nh, int64_t nkv, int64_t hd, uint32_t seed) {
  Case c;
  c.s = {T, pos0, nh, nkv, hd};
  c.q = random_floats(T * nh * hd, seed, -2.0f, 2.0f);
  c.k = random_floats((pos0 + T) * nkv * hd, seed + 1, -2.0f, 2.0f);
  c.v = random_floats((pos0 + T) * nkv * hd, seed + 2);
  return c;
}

std::vector<float> run(Backend& be, const Case& c) {
  std::vector<float> out(c.q.size(), std::nanf(""));
  be.attention(c.q.data(), c.k.data(), c.v.data(), c.s, out.data());
  return out;
}

std::vector<double> reference(const Case& c) {
  const auto& s = c.s;
  std::vector<double> out(c.q.size());
  const int64_t group = s.n_heads / s.n_kv_heads;
  for (int64_t t = 0; t < s.n_tokens; ++t)
    for (int64_t h = 0; h < s.n_heads; ++h) {
      const int64_t kvh = h / group, n = s.pos0 + t + 1;
      std::vector<double> sc(static_cast<size_t>(n));
      double mx = -1e300, sum = 0;
      for (int64_t p = 0; p < n; ++p) {
        double d = 0;
        for (int64_t i = 0; i < s.head_dim; ++i)
          d += double(c.q[(t * s.n_heads + h) * s.head_dim + i]) *
               c.k[(p * s.n_kv_heads + kvh) * s.head_dim + i];
        sc[p] = d / std::sqrt(double(s.head_dim));
        mx = std::max(mx, sc[p]);
      }
      for (auto& x : sc) sum += (x = std::exp(x - mx));
      for (int64_t i = 0; i < s.head_dim; ++i) {
        double o = 0;
        for (int64_t p = 0; p < n; ++p)
          o += sc[p] / sum * c.v[(p * s.n_kv_heads + kvh) * s.head_dim + i];
        out[(t * s.n_heads + h) * s.head_dim + i] = o;
      }
    }
  return out;
}

TEST(CpuAttention, MatchesReferenceForGqaShapesAndThreads) {
  std::vector<std::unique_ptr<Backend>> bes;
  for (int t = 1; t <= 4; ++t) bes.push_back(make_cpu_backend(t));
  uint32_t seed = 1;
  // (T, pos0, n_heads, n_kv_heads, head_dim): decode, prefill, pre-filled cache, MHA, MQA
  const int64_t cases[][5] = {{1, 0, 8, 4, 8},    {5, 0, 8, 4, 8},   {17, 0, 4, 1, 32},
                              {1, 30, 8, 2, 16},  {5, 11, 6, 6, 13}, {64, 3, 2, 2, 64},
                              {3, 100, 4, 4, 128}};
  for (const auto& k : cases) {
    SCOPED_TRACE(::testing::Message() << "T " << k[0] << " pos0 " << k[1] << " heads " << k[2]
                                      << "/" << k[3] << " hd " << k[4]);
    const Case c = make_case(k[0], k[1], k[2], k[3], k[4], seed += 3);
    const auto ref = reference(c);
    const auto y1 = run(*bes[0], c);
    for (size_t i = 0; i < y1.size(); ++i) ASSERT_NEAR(y1[i], ref[i], 1e-5) << i;
    for (size_t b = 1; b < bes.size(); ++b) ASSERT_TRUE(same_bits(y1, run(*bes[b], c)));
  }
}

// A later position must not change earlier outputs: change the q/k/v of the last
// token and the outputs of all earlier tokens stay bit-identical.
TEST(CpuAttention, CausalMaskHidesLaterPositions) {
  auto be = make_cpu_backend(3);
  Case c = make_case(6, 4, 4, 2, 16, 99);
  const auto before = run(*be, c);
  const int64_t row = c.s.n_kv_heads * c.s.head_dim, last = c.s.pos0 + c.s.n_tokens - 1;
  for (int64_t i = 0; i < row; ++i) {
    c.k[last * row + i] += 5.0f;
    c.v[last * row + i] -= 3.0f;
  }
  const auto after = run(*be, c);
  const size_t earlier = static_cast<size_t>((c.s.n_tokens - 1) * c.s.n_heads * c.s.head_dim);
  for (size_t i = 0; i < earlier; ++i) ASSERT_EQ(before[i], after[i]) << i;
  bool last_changed = false;
  for (size_t i = earlier; i < after.size(); ++i) last_changed |= before[i] != after[i];
  EXPECT_TRUE(last_changed);
}

// Query head h reads kv head h / (n_heads / n_kv_heads): changing kv head 1
// changes exactly the query heads 2 and 3 when n_heads = 4, n_kv_heads = 2.
TEST(CpuAttention, GqaQueryHeadsReadTheirKvHead) {
  auto be = make_cpu_backend(2);
  Case c = make_case(3, 2, 4, 2, 8, 7);
  const auto before = run(*be, c);
  for (int64_t p = 0; p < c.s.pos0 + c.s.n_tokens; ++p)
    for (int64_t i = 0; i < c.s.head_dim; ++i) c.v[(p * 2 + 1) * c.s.head_dim + i] += 1.0f;
  const auto after = run(*be, c);
  for (int64_t t = 0; t < c.s.n_tokens; ++t)
    for (int64_t h = 0; h < 4; ++h)
      for (int64_t i = 0; i < c.s.head_dim; ++i) {
        const size_t o = static_cast<size_t>((t * 4 + h) * c.s.head_dim + i);
        if (h < 2)
          ASSERT_EQ(before[o], after[o]);
        else  // softmax weights sum to 1: adding 1 to every v adds 1 to the output
          ASSERT_NEAR(after[o], before[o] + 1.0f, 1e-5);
      }
}

// A batched step's sequences in one attend_segments call (RoPE, cache stores,
// attention; pairs split over the threads by work) equal each sequence's
// rope_store_kv and attention alone on one thread, bit for bit: sequences of
// different lengths, a prompt chunk among decodes, f32 and f16 caches.
TEST(CpuAttention, SegmentsTogetherEqualEachAlone) {
  const int64_t nh = 4, nkv = 2, hd = 16, rope_dim = 16, context = 64;
  std::vector<float> inv_freq(rope_dim / 2);
  for (int64_t i = 0; i < rope_dim / 2; ++i)
    inv_freq[static_cast<size_t>(i)] = std::pow(10000.0f, -2.0f * float(i) / float(rope_dim));
  const int64_t lens[][2] = {{1, 40}, {9, 0}, {1, 3}, {4, 20}, {1, 0}};  // (n_tokens, pos0)
  for (KvType kv : {KvType::F32, KvType::F16})
    for (int threads : {2, 3}) {
      auto batched = make_cpu_backend(threads), alone = make_cpu_backend(1);
      const size_t cache_bytes = kv_row_bytes(kv, nkv, hd) * context;
      struct Seq {
        std::vector<float> q, k, v, out;
        std::vector<uint8_t> kc, vc;
        std::vector<int32_t> pos;
        AttentionShape s;
      };
      std::vector<Seq> a(std::size(lens)), b;
      uint32_t seed = 70;
      for (size_t i = 0; i < a.size(); ++i) {
        const int64_t T = lens[i][0], pos0 = lens[i][1];
        Seq& q = a[i];
        q.q = random_floats(T * nh * hd, seed++, -2.0f, 2.0f);
        q.k = random_floats(T * nkv * hd, seed++, -2.0f, 2.0f);
        q.v = random_floats(T * nkv * hd, seed++);
        q.out.assign(static_cast<size_t>(T * nh * hd), std::nanf(""));
        q.kc.resize(cache_bytes);  // earlier positions: whatever bytes make finite values
        q.vc.resize(cache_bytes);
        for (size_t j = 0; j < cache_bytes; ++j) q.kc[j] = q.vc[j] = uint8_t(j * 7 % 61);
        for (int64_t t = 0; t < T; ++t) q.pos.push_back(int32_t(pos0 + t));
        q.s = {T, pos0, nh, nkv, hd, nullptr, context, kv};
      }
      b = a;
      std::vector<AttentionSegment> segs;
      for (Seq& q : a) {
        q.s.positions = q.pos.data();
        segs.push_back(
            {q.q.data(), q.k.data(), q.v.data(), q.s, q.kc.data(), q.vc.data(), q.out.data()});
      }
      batched->attend_segments(segs, rope_dim, inv_freq.data());
      for (Seq& q : b) {
        q.s.positions = q.pos.data();
        alone->rope_store_kv(q.q.data(), q.k.data(), q.v.data(), q.s, rope_dim, inv_freq.data(),
                             q.kc.data(), q.vc.data());
        alone->attention(q.q.data(), q.kc.data(), q.vc.data(), q.s, q.out.data());
      }
      for (size_t i = 0; i < a.size(); ++i) {
        SCOPED_TRACE(::testing::Message() << "segment " << i << " threads " << threads);
        EXPECT_TRUE(same_bits(a[i].out, b[i].out));
        EXPECT_TRUE(same_bits(a[i].q, b[i].q));  // RoPE in place
        EXPECT_EQ(a[i].kc, b[i].kc);
        EXPECT_EQ(a[i].vc, b[i].vc);
        for (float x : a[i].out) ASSERT_TRUE(std::isfinite(x));
      }
    }
}

// Decoding token by token over a growing cache equals one prefill of all tokens.
TEST(CpuAttention, DecodeStepsEqualPrefill) {
  auto be = make_cpu_backend(2);
  const Case all = make_case(7, 0, 4, 2, 16, 55);
  const auto prefill = run(*be, all);
  const int64_t qrow = 4 * 16;
  for (int64_t t = 0; t < 7; ++t) {
    Case one = all;
    one.s.n_tokens = 1;
    one.s.pos0 = t;
    one.q.assign(all.q.begin() + t * qrow, all.q.begin() + (t + 1) * qrow);
    const auto y = run(*be, one);
    for (int64_t i = 0; i < qrow; ++i) ASSERT_EQ(y[i], prefill[t * qrow + i]) << t << " " << i;
  }
}

// An f16 cache reads back exactly (every half is a float32): attention over
// it equals attention over the same values stored as f32, bit for bit, at
// every SIMD level (the F16C conversion against the portable one).
TEST(CpuAttention, F16CacheEqualsItsValuesInF32AtEveryLevel) {
  auto be = make_cpu_backend(2);
  Case c = make_case(3, 37, 4, 2, 72, 91);  // head_dim 72: 9 vectors of 8
  std::vector<uint16_t> k16(c.k.size()), v16(c.v.size());
  for (size_t i = 0; i < c.k.size(); ++i) {
    k16[i] = f32_to_f16(c.k[i]);
    v16[i] = f32_to_f16(c.v[i]);
    c.k[i] = f16_to_f32(k16[i]);
    c.v[i] = f16_to_f32(v16[i]);
  }
  for (auto level : {cpu::CpuLevel::Scalar, cpu::CpuLevel::Avx2, cpu::CpuLevel::Avx512}) {
    cpu::set_cpu_level(level);  // the float kernels' order differs by level
    const auto want = run(*be, c);
    AttentionShape s = c.s;
    s.kv_type = KvType::F16;
    std::vector<float> out(c.q.size(), std::nanf(""));
    be->attention(c.q.data(), k16.data(), v16.data(), s, out.data());
    cpu::reset_cpu_level();
    EXPECT_TRUE(same_bits(out, want)) << cpu::cpu_level_name(level);
  }
}

// The scores' kernel takes 4 key rows at a time: each score keeps the bits of
// the one-row dot, for f32 and f16 rows, any count (4k + 0..3) and any length
// (a tail shorter than a vector), at every level.
TEST(CpuAttention, ScoresOfManyRowsEqualEachRowAlone) {
  for (auto level : {cpu::CpuLevel::Scalar, cpu::CpuLevel::Avx2, cpu::CpuLevel::Avx512})
    for (int64_t len : {13, 64, 72})
      for (int64_t n : {1, 3, 4, 9, 23}) {
        cpu::set_cpu_level(level);
        const int64_t stride_elems = 3 * len + 5;  // rows of other heads between
        const auto x = random_floats(len, 7, -2.0f, 2.0f);
        const auto rows32 = random_floats(n * stride_elems, 8, -2.0f, 2.0f);
        std::vector<uint16_t> rows16(rows32.size());
        for (size_t i = 0; i < rows32.size(); ++i) rows16[i] = f32_to_f16(rows32[i]);
        for (DType t : {DType::F32, DType::F16}) {
          const auto* base = t == DType::F32 ? static_cast<const void*>(rows32.data())
                                             : static_cast<const void*>(rows16.data());
          const int64_t stride = stride_elems * (t == DType::F32 ? 4 : 2);
          const auto* rows = static_cast<const uint8_t*>(base);
          std::vector<float> got(static_cast<size_t>(n), std::nanf("")), want(got.size());
          cpu::dot_f32_rows(t, rows, stride, x.data(), n, got.data(), len);
          for (int64_t p = 0; p < n; ++p)
            want[static_cast<size_t>(p)] = cpu::dot_f32_row(t, rows + p * stride, x.data(), len);
          EXPECT_TRUE(same_bits(got, want))
              << cpu::cpu_level_name(level) << " len " << len << " n " << n;
        }
        cpu::reset_cpu_level();
      }
}

// The weighted sum of value rows rounds each product and each sum in row
// order at every level (no fused multiply-add, no reordering): the same bits
// at every level, for one row or many, f32 or f16, any length.
TEST(CpuAttention, WeightedSumsOfRowsAreTheSameAtEveryLevel) {
  for (int64_t len : {13, 64, 72, 100})
    for (int64_t n : {1, 5, 23}) {
      const int64_t stride_elems = 2 * len + 3;
      const auto a = random_floats(n, 11);
      const auto rows32 = random_floats(n * stride_elems, 12, -2.0f, 2.0f);
      std::vector<uint16_t> rows16(rows32.size());
      for (size_t i = 0; i < rows32.size(); ++i) rows16[i] = f32_to_f16(rows32[i]);
      for (DType t : {DType::F32, DType::F16}) {
        const auto* rows = static_cast<const uint8_t*>(
            t == DType::F32 ? static_cast<const void*>(rows32.data()) : rows16.data());
        const int64_t stride = stride_elems * (t == DType::F32 ? 4 : 2);
        std::vector<float> want;
        for (auto level : {cpu::CpuLevel::Scalar, cpu::CpuLevel::Avx2, cpu::CpuLevel::Avx512}) {
          cpu::set_cpu_level(level);
          auto many = random_floats(len, 13), one = many;
          cpu::add_scaled_rows(t, rows, stride, a.data(), n, many.data(), len);
          for (int64_t p = 0; p < n; ++p)
            cpu::add_scaled_row(t, a[static_cast<size_t>(p)], rows + p * stride, one.data(), len);
          cpu::reset_cpu_level();
          if (want.empty()) want = one;
          SCOPED_TRACE(::testing::Message()
                       << cpu::cpu_level_name(level) << " len " << len << " n " << n);
          EXPECT_TRUE(same_bits(many, want));
          EXPECT_TRUE(same_bits(one, want));
        }
      }
    }
}

// The softmax's element-wise steps give the scalar loop's bits at every
// level: each product and quotient alone, and the largest score as std::fmax
// folds them (NaN scores skipped), over lengths around the 16-lane width.
TEST(CpuAttention, SoftmaxStepsAreTheSameAtEveryLevel) {
  for (int64_t n : {0, 1, 15, 16, 17, 40, 100}) {
    auto scores = random_floats(n, 41, -30.0f, 30.0f);
    if (n > 3) scores[2] = std::nanf(""), scores[3] = -0.0f;
    std::vector<float> want_scaled, want_divided;
    float want_max = 0.0f;
    for (auto level : {cpu::CpuLevel::Scalar, cpu::CpuLevel::Avx2, cpu::CpuLevel::Avx512}) {
      cpu::set_cpu_level(level);
      auto scaled = scores;
      const float m = cpu::scale_and_max(scaled.data(), n, 0.125f);
      auto divided = scaled;
      cpu::divide_all(divided.data(), n, 3.7f);
      cpu::reset_cpu_level();
      SCOPED_TRACE(::testing::Message() << cpu::cpu_level_name(level) << " n " << n);
      float expect_max = -INFINITY;
      for (float x : scaled) expect_max = std::fmax(expect_max, x);
      EXPECT_EQ(m, expect_max);
      for (int64_t i = 0; i < n; ++i) {
        const auto k = static_cast<size_t>(i);
        if (std::isnan(scores[k])) continue;
        EXPECT_EQ(scaled[k], scores[k] * 0.125f) << i;
        EXPECT_EQ(divided[k], scaled[k] / 3.7f) << i;
      }
      if (want_scaled.empty()) want_scaled = scaled, want_divided = divided, want_max = m;
      EXPECT_TRUE(same_bits(scaled, want_scaled));
      EXPECT_TRUE(same_bits(divided, want_divided));
      EXPECT_EQ(m, want_max);
    }
  }
}

// An f16 cache row is f32_to_f16 of each value at every level (F16C under
// AVX2): ties, subnormals, the overflow edge, infinities, NaNs with payloads.
TEST(CpuAttention, F16CacheRowsAreF32ToF16AtEveryLevel) {
  std::vector<float> x = random_floats(997, 31, -70000.0f, 70000.0f);
  const uint32_t special[] = {0x7fc00001u, 0xffa00000u, 0x7f800001u, 0x7f800000u, 0xff800000u,
                              0x477ff000u, 0x477fefffu, 0x33000000u, 0x33000001u, 0xb3800000u,
                              0x387fe000u, 0x38800000u, 0x00000001u, 0x80000000u, 0x3f801000u,
                              0x3f803000u, 0x3f800fffu};
  for (size_t i = 0; i < std::size(special); ++i) std::memcpy(&x[3 * i + 1], &special[i], 4);
  for (size_t i = 0; i < 200; ++i) x[500 + i] = std::ldexp(x[500 + i], -30);  // subnormal halves
  std::vector<uint8_t> want(2 * x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const uint16_t h = f32_to_f16(x[i]);
    std::memcpy(&want[2 * i], &h, 2);
  }
  for (auto level : {cpu::CpuLevel::Scalar, cpu::CpuLevel::Avx2, cpu::CpuLevel::Avx512}) {
    cpu::set_cpu_level(level);
    std::vector<uint8_t> got(want.size(), 0xAB);
    cpu::store_kv_row(KvType::F16, x.data(), 1, static_cast<int64_t>(x.size()), got.data());
    cpu::reset_cpu_level();
    EXPECT_EQ(got, want) << cpu::cpu_level_name(level);
  }
}

TEST(CpuAttention, BadShapesAreErrors) {
  auto be = make_cpu_backend(1);
  std::vector<float> buf(64);
  EXPECT_THROW(be->attention(buf.data(), buf.data(), buf.data(), {1, 0, 3, 2, 8}, buf.data()),
               Error);
  EXPECT_THROW(be->attention(buf.data(), buf.data(), buf.data(), {1, 0, 2, 0, 8}, buf.data()),
               Error);
}

}  // namespace
}  // namespace tplm
