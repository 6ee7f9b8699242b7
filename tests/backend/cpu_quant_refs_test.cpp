// Q8_0 / Q4_0 / Q4_K / Q5_K / Q6_K blocks decoded by llama.cpp's Python
// implementation (the gguf package; tools/record_quant_refs.py wrote
// tests/data/quant/): the host conversion and the cpu kernels must decode them
// to exactly gguf's dequantized values, and multiply by them.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "backend/cpu/cpu_backend.hpp"
#include "backend/reference.hpp"
#include "format/dtype_convert.hpp"
#include "support/test_paths.hpp"

namespace tplm {
namespace {

std::vector<uint8_t> read_bytes(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  if (!f) return {};
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

std::vector<float> to_floats(const std::vector<uint8_t>& b) {
  std::vector<float> v(b.size() / sizeof(float));
  std::memcpy(v.data(), b.data(), v.size() * sizeof(float));
  return v;
}

class QuantRefs : public ::testing::TestWithParam<std::pair<const char*, DType>> {
 protected:
  void SetUp() override {
    dir_ = test::source_dir() / "tests" / "data" / "quant";
    const auto meta_bytes = read_bytes(dir_ / "meta.json");
    if (meta_bytes.empty())
      GTEST_SKIP() << "no " << dir_ << "/meta.json: run tools/record_quant_refs.py";
    meta_ = nlohmann::json::parse(meta_bytes.begin(), meta_bytes.end());
    const std::string name = GetParam().first;
    const auto& type = meta_.at("types").at(name);
    rows_ =
        type.contains("rows") ? type.at("rows").get<int64_t>() : meta_.at("rows").get<int64_t>();
    cols_ =
        type.contains("cols") ? type.at("cols").get<int64_t>() : meta_.at("cols").get<int64_t>();
    blocks_ = read_bytes(dir_ / (name + ".blocks"));
    dequant_ = to_floats(read_bytes(dir_ / (name + ".dequant.f32")));
    ASSERT_EQ(blocks_.size(), dtype_bytes(GetParam().second, rows_ * cols_));
    ASSERT_EQ(dequant_.size(), static_cast<size_t>(rows_ * cols_));
  }
  WeightView view() const { return {GetParam().second, rows_, cols_, blocks_.data()}; }

  std::filesystem::path dir_;
  nlohmann::json meta_;
  int64_t rows_ = 0, cols_ = 0;
  std::vector<uint8_t> blocks_;
  std::vector<float> dequant_;
};

TEST_P(QuantRefs, EmbedDecodesExactlyLikeGguf) {
  auto be = make_cpu_backend(2);
  std::vector<int32_t> ids(static_cast<size_t>(rows_));
  for (int64_t r = 0; r < rows_; ++r) ids[r] = static_cast<int32_t>(rows_ - 1 - r);
  std::vector<float> out(static_cast<size_t>(rows_ * cols_));
  be->embed(view(), 0, ids.data(), rows_, out.data());
  for (int64_t t = 0; t < rows_; ++t)
    for (int64_t c = 0; c < cols_; ++c)
      ASSERT_EQ(out[t * cols_ + c], dequant_[ids[t] * cols_ + c])
          << "row " << ids[t] << " col " << c;
}

TEST_P(QuantRefs, HostDequantizeIsGgufBitForBit) {
  std::vector<float> out(static_cast<size_t>(rows_ * cols_));
  dequantize(GetParam().second, blocks_.data(), rows_ * cols_, out.data());
  ASSERT_EQ(std::memcmp(out.data(), dequant_.data(), out.size() * sizeof(float)), 0);
}

// The tests' own decoder (exact, in double) rounds to gguf's float values.
TEST_P(QuantRefs, TestReferenceDecoderAgreesWithGguf) {
  const auto v = test::ref_decode(GetParam().second, blocks_.data(), rows_, cols_);
  for (size_t i = 0; i < v.size(); ++i) ASSERT_EQ(static_cast<float>(v[i]), dequant_[i]) << i;
}

// Within the activation-quantization bound (cpu_matmul_test.cpp) of the
// double product with gguf's values.
TEST_P(QuantRefs, MatmulUsesGgufValues) {
  const int64_t B = dtype_traits(GetParam().second).block_elems;
  for (int threads : {1, 3}) {
    auto be = make_cpu_backend(threads);
    for (int64_t T : {1, 5}) {
      const auto x = test::random_floats(T * cols_, 77);
      std::vector<float> y(static_cast<size_t>(T * rows_));
      be->matmul(x.data(), T, view(), nullptr, y.data());
      for (int64_t t = 0; t < T; ++t)
        for (int64_t r = 0; r < rows_; ++r) {
          double ref = 0, abs_sum = 0, qbound = 0;
          for (int64_t c = 0; c < cols_; ++c) {
            const double p = static_cast<double>(x[t * cols_ + c]) * dequant_[r * cols_ + c];
            ref += p;
            abs_sum += std::abs(p);
          }
          for (int64_t b0 = 0; b0 < cols_; b0 += B) {
            double amax = 0, wsum = 0;
            for (int64_t c = b0; c < b0 + B; ++c) {
              amax = std::max(amax, std::abs(static_cast<double>(x[t * cols_ + c])));
              wsum += std::abs(static_cast<double>(dequant_[r * cols_ + c]));
            }
            qbound += wsum * amax / 127.0 * 0.5 * (1 + 1e-5);
          }
          ASSERT_NEAR(y[t * rows_ + r], ref, 1e-5 * abs_sum + qbound + 1e-30);
        }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Gguf, QuantRefs,
                         ::testing::Values(std::make_pair("q8_0", DType::Q8_0),
                                           std::make_pair("q4_0", DType::Q4_0),
                                           std::make_pair("q4_k", DType::Q4_K),
                                           std::make_pair("q5_k", DType::Q5_K),
                                           std::make_pair("q6_k", DType::Q6_K)),
                         [](const auto& p) { return std::string(p.param.first); });

}  // namespace
}  // namespace tplm
