// The `tplm` command line as a llama.cpp user meets it (issue 8): every value
// checked before the model is opened, usage errors exit 2 and runtime failures
// exit 1, --json errors as one object on stdout, llama.cpp's spellings, -f
// (and stdin), stop strings, logit bias, special tokens in prompts, --version,
// unknown commands. Through the executable, on stories260K.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "format/gguf_test_writer.hpp"
#include "support/test_paths.hpp"

namespace tplm {
namespace {

namespace fs = std::filesystem;

struct Result {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
  double seconds = 0;
};

// tplm ARGS with stdout and stderr apart; `timeout` ends a run that would hang
// (a model path that is a FIFO blocks whoever opens it).
Result tplm(const std::string& args, const std::string& stdin_redirect = "< /dev/null") {
  const fs::path err = test::scratch_dir() / "stderr.txt";
  const auto t0 = std::chrono::steady_clock::now();
  const test::CommandResult r =
      test::run_command("(timeout 20 " + test::tplm_exe().string() + " " + args + " " +
                        stdin_redirect + " 2>'" + err.string() + "')");
  Result run;
  run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  run.exit_code = r.exit_code;
  run.out = r.output;
  run.err = test::read_file(err);
  return run;
}

std::string stories_bin() {
  return (test::stories_dir() / "stories260K.bin").string();
}

std::string stories_args() {
  return "-m " + stories_bin() + " --tokenizer " + (test::stories_dir() / "tok512.bin").string();
}

nlohmann::json json_of(const Result& r) {
  try {
    return nlohmann::json::parse(r.out);
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not JSON: " << e.what() << "\nstdout: " << r.out << "\nstderr: " << r.err;
    return {};
  }
}

// A model path that blocks whoever opens it: an option error must come first.
std::string fifo_model() {
  const fs::path p = test::scratch_dir() / "model.gguf";
  if (!fs::exists(p)) {
    EXPECT_EQ(::mkfifo(p.c_str(), 0600), 0);
  }
  return p.string();
}

struct Case {
  std::string args;
  std::string message;
};

// Issue 8, item 1 and 2: every value is checked before the model is opened.
// The model is a FIFO, so a command that opened it would hang (timeout: 124).
TEST(Cli, BadValuesAreUsageErrorsBeforeTheModelIsOpened) {
  const std::string m = "-m " + fifo_model() + " ";
  const std::vector<Case> cases = {
      {"run " + m + "-p hi --temp -1", "--temp -1 is out of range; use a number >= 0"},
      {"run " + m + "-p hi --top-p 2", "--top-p 2 is out of range; use a number in (0, 1]"},
      {"run " + m + "-p hi --top-k -3", "--top-k -3 is out of range"},
      {"run " + m + "--temp nan", "--temp nan is out of range"},
      {"run " + m + "--threads 0", "--threads 0 is out of range; use 1 to 1024"},
      {"run " + m + "-t -1", "--threads -1 is out of range"},
      {"run " + m + "--threads 5000", "--threads 5000 is out of range; use 1 to 1024"},
      {"run " + m + "--context 0", "--context 0 is out of range; use 1 or more"},
      {"run " + m + "-c -5", "--context -5 is out of range"},
      {"run " + m + "--ctx-size 0", "--context 0 is out of range"},
      {"run " + m + "--seed -2",
       "--seed -2 is out of range; use a whole number from 0 to 2^64 - 1"},
      {"run " + m + "-s 99999999999999999999", "--seed 99999999999999999999 is out of range"},
      {"run " + m + "-n -2", "-n -2 is out of range"},
      {"run " + m + "--tp 0", "--tp 0 is out of range; use 1 to 64"},
      {"run " + m + "--tp 65", "--tp 65 is out of range; use 1 to 64"},
      {"run " + m + "--comm-timeout 0", "--comm-timeout 0 is out of range"},
      {"run " + m + "--logit-bias 5x", "--logit-bias 5x: expected TOKEN_ID+BIAS"},
      {"run " + m + "--logit-bias 5+inf", "the bias must be a finite number or -inf"},
      {"run " + m + "--stop ''", "--stop: a stop string is empty"},
      {"run " + m + "-p hi -f " + stories_bin(), "give the prompt with -p or with -f, not both"},
      {"run " + m + "--temp abc", "--temp"},
      {"run " + m + "--no-such-option", "--no-such-option"},
      {"run -p hi", "--model is required"},
      {"bench " + m + "--prompt-tokens 0", "--prompt-tokens 0 is out of range"},
      {"bench " + m + "--threads 0", "--threads 0 is out of range"},
      {"bench " + m + "--tp 0", "--tp 0 is out of range"},
      {"plan " + m + "--devices -1", "--devices -1 is out of range"},
      {"plan " + m + "--tp 0", "--tp 0 is out of range"},
  };
  for (const Case& c : cases) {
    const Result r = tplm(c.args);
    EXPECT_EQ(r.exit_code, 2) << c.args << "\n" << r.err;
    EXPECT_NE(r.err.find("tplm: error: "), std::string::npos) << c.args << "\n" << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << c.args << "\n" << r.err;
    EXPECT_EQ(r.out, "") << c.args;  // nothing printed: not the prompt, not a byte of output
  }
}

// A 1B-class model (dim 2048, 16 layers, 32 heads, 8 kv heads, FFN 8192, vocab
// 32000, F32: ~4.4 GB of weights) as a sparse file: its header is real, its
// weights are a hole that costs no disk.
fs::path sparse_1b_model() {
  const fs::path path = test::scratch_dir() / "llama-1b.F32.gguf";
  if (fs::exists(path)) return path;
  const int64_t dim = 2048, ffn = 8192, layers = 16, heads = 32, kv_heads = 8, vocab = 32000;
  const int64_t kv = dim / heads * kv_heads;
  test::GgufBuilder g;
  g.str("general.architecture", "llama");
  g.u32("llama.context_length", 2048);
  g.u32("llama.embedding_length", dim);
  g.u32("llama.block_count", layers);
  g.u32("llama.feed_forward_length", ffn);
  g.u32("llama.attention.head_count", heads);
  g.u32("llama.attention.head_count_kv", kv_heads);
  g.u32("llama.rope.dimension_count", dim / heads);
  g.f32("llama.attention.layer_norm_rms_epsilon", 1e-5f);
  g.str("tokenizer.ggml.model", "llama");
  std::vector<std::string> tokens = {"<unk>", "<s>", "</s>"};
  std::vector<float> scores(3, 0.0f);
  std::vector<int32_t> types = {2, 3, 3};
  for (int b = 0; b < 256; ++b) {
    char piece[8];
    std::snprintf(piece, sizeof piece, "<0x%02X>", b);
    tokens.push_back(piece);
    scores.push_back(0.0f);
    types.push_back(6);
  }
  for (int64_t i = static_cast<int64_t>(tokens.size()); i < vocab; ++i) {
    tokens.push_back("\xe2\x96\x81t" + std::to_string(i));
    scores.push_back(-static_cast<float>(i));
    types.push_back(1);
  }
  g.str_array("tokenizer.ggml.tokens", tokens);
  g.array("tokenizer.ggml.scores", test::kF32, scores);
  g.array("tokenizer.ggml.token_type", test::kI32, types);
  g.tensor("token_embd.weight", {vocab, dim});
  for (int64_t l = 0; l < layers; ++l) {
    const std::string b = "blk." + std::to_string(l) + ".";
    g.tensor(b + "attn_norm.weight", {dim});
    g.tensor(b + "attn_q.weight", {dim, dim});
    g.tensor(b + "attn_k.weight", {kv, dim});
    g.tensor(b + "attn_v.weight", {kv, dim});
    g.tensor(b + "attn_output.weight", {dim, dim});
    g.tensor(b + "ffn_norm.weight", {dim});
    g.tensor(b + "ffn_gate.weight", {ffn, dim});
    g.tensor(b + "ffn_up.weight", {ffn, dim});
    g.tensor(b + "ffn_down.weight", {dim, ffn});
  }
  g.tensor("output_norm.weight", {dim});
  g.tensor("output.weight", {vocab, dim});
  // The builder writes the weights too: have it write the header alone (every
  // tensor empty at offset 0), put the real offsets in, and extend the file to
  // its full size without writing (a hole).
  std::vector<uint64_t> offsets;
  uint64_t next = 0;
  for (auto& t : g.tensors) {
    offsets.push_back(next);
    next = (next + t.nbytes + g.alignment - 1) / g.alignment * g.alignment;
    t.offset = 0;
    t.nbytes = 0;
  }
  test::GgufLayout layout;
  std::vector<uint8_t> bytes = g.bytes(&layout);
  for (size_t i = 0; i < g.tensors.size(); ++i) {
    // name (u64 length + bytes), n_dims (u32), dims (u64 each), type (u32), then the offset
    const size_t at =
        layout.info_offsets[i] + 8 + g.tensors[i].name.size() + 4 + 8 * g.tensors[i].ne.size() + 4;
    std::memcpy(&bytes[at], &offsets[i], sizeof(uint64_t));
  }
  test::write_file(path, bytes);
  fs::resize_file(path, layout.data_start + next);
  return path;
}

#if defined(__SANITIZE_ADDRESS__)
#define TPLM_TEST_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TPLM_TEST_SANITIZED 1
#endif
#endif
#ifdef TPLM_TEST_SANITIZED
constexpr double kFastSeconds = 1.0;  // an ASan + UBSan Debug build starts slower
#else
constexpr double kFastSeconds = 0.1;
#endif

// Issue 8: an invalid --temp fails in under 0.1 s on a 1B-class model (it used
// to load the whole model first: 4.3 s for 660 MB). The model is real to tplm:
// `tplm plan` reads it and counts its ~4.4 GB of weights.
TEST(Cli, InvalidTempFailsInUnderATenthOfASecondOnA1BModel) {
  const std::string model = sparse_1b_model().string();
  const Result plan = tplm("plan --json -m " + model);
  ASSERT_EQ(plan.exit_code, 0) << plan.err;
  EXPECT_GT(json_of(plan)["total_weight_bytes"].get<uint64_t>(), 4'000'000'000u);
  double fastest = 1e9;
  for (int i = 0; i < 3; ++i) {  // the fastest of three: a busy machine delays a start
    const Result r = tplm("run -m " + model + " -p 'Once upon a time' --temp -1");
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find("--temp -1 is out of range"), std::string::npos) << r.err;
    EXPECT_EQ(r.out, "");
    fastest = std::min(fastest, r.seconds);
  }
  std::printf("invalid --temp on the 1B-class model: %.4f s (fastest of 3)\n", fastest);
  EXPECT_LT(fastest, kFastSeconds);
}

// Issue 10: `plan` predicts the decode speed of every tp of a 1B-class model,
// here from given figures: each host reads 20 GB/s, one rank per host, each
// exchange 50 us + bytes / 1 GB/s. Per token at tp 2: 33 all-reduces of
// 2048 x 4 bytes, the logits' gather (costed as an all-reduce of half its
// 128000 bytes), rank 0's broadcast (latency only).
TEST(Cli, PlanPredictsEveryTpOfA1BModel) {
  const std::string model = sparse_1b_model().string();
  const std::string given =
      " --read-bandwidth 20 --link-latency 50 --link-bandwidth 1 --ranks-per-host 1";
  const Result r = tplm("plan --json --tp 2 -m " + model + given);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json j = json_of(r);
  const nlohmann::json& rows = j["speed"]["predictions"];
  std::vector<int> tps;
  for (const auto& row : rows) tps.push_back(row["tp"].get<int>());
  EXPECT_EQ(tps,
            (std::vector<int>{1, 2, 3, 4, 5, 6, 7, 8, 16, 24, 32}));  // uneven up to 8 kv heads
  // tp 1 reads every weight but the embedding table (one row of it) once per token.
  const double embedding = 32000.0 * 2048 * 4;
  const double read1 = j["total_weight_bytes"].get<double>() - embedding;
  EXPECT_DOUBLE_EQ(rows[0]["read_bytes_per_rank"].get<double>(), read1);
  EXPECT_NEAR(rows[0]["tokens_per_s"].get<double>(), 20e9 / read1, 1e-9);
  EXPECT_EQ(rows[0]["exchange_s"].get<double>(), 0.0);
  const double exchanges = 33 * (50e-6 + 8192 / 1e9) + (50e-6 + 64000 / 1e9) + 50e-6;
  EXPECT_NEAR(rows[1]["exchange_s"].get<double>(), exchanges, 1e-12);
  EXPECT_NEAR(rows[1]["compute_s"].get<double>(),
              rows[1]["read_bytes_per_rank"].get<double>() / 20e9, 1e-12);
  EXPECT_EQ(rows[1]["memory_per_rank"].get<uint64_t>(),
            j["ranks"][0]["weight_bytes"].get<uint64_t>() +
                j["ranks"][0]["kv_cache_bytes"].get<uint64_t>());
  EXPECT_TRUE(j["speed"]["advice"].empty()) << j["speed"]["advice"];  // tp 2 is faster here

  // The same as a table, tp 2 marked.
  const Result t = tplm("plan --tp 2 -m " + model + given);
  ASSERT_EQ(t.exit_code, 0) << t.err;
  EXPECT_NE(t.out.find("speed: given: a host reads 20.0 GB/s, an exchange costs 50.0 us + "
                       "bytes / 1000.0 MB/s"),
            std::string::npos)
      << t.out;
  EXPECT_NE(t.out.find("tp   tokens/s   ms/token  exchanges  memory per rank"), std::string::npos)
      << t.out;
  EXPECT_NE(t.out.find("*    2"), std::string::npos) << t.out;
  EXPECT_NE(t.out.find("\n    32 "), std::string::npos) << t.out;

  // A 10 Mbit/s-class link: the split is slower than tp 1, and plan says why.
  const Result slow = tplm("plan --tp 2 -m " + model +
                           " --read-bandwidth 20 --link-latency 200 --link-bandwidth 0.00125 "
                           "--ranks-per-host 1");
  ASSERT_EQ(slow.exit_code, 0) << slow.err;
  EXPECT_NE(slow.out.find("advice: on this link the exchanges would take"), std::string::npos)
      << slow.out;
  EXPECT_NE(slow.out.find("tp 2 is predicted slower than tp 1"), std::string::npos) << slow.out;
}

// Issue 10: --tp auto takes the fastest predicted tp that fits, limited to
// the devices present (--devices, else the cores), and says why.
TEST(Cli, PlanTpAutoOnA1BModel) {
  const std::string model = sparse_1b_model().string();
  // Measured on this machine: a tp within the cores, with its reason and the table.
  const Result m = tplm("plan --tp auto -m " + model);
  ASSERT_EQ(m.exit_code, 0) << m.err;
  EXPECT_NE(m.out.find("speed: measured in "), std::string::npos) << m.out;
  const size_t at = m.out.find("--tp auto chose tp ");
  ASSERT_NE(at, std::string::npos) << m.out;
  const int chosen = std::atoi(m.out.c_str() + at + std::strlen("--tp auto chose tp "));
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  EXPECT_GE(chosen, 1);
  EXPECT_LE(chosen, cores);
  EXPECT_NE(m.out.find("plan: tp " + std::to_string(chosen) + ","), std::string::npos) << m.out;
  EXPECT_NE(m.out.find("predicted decode"), std::string::npos) << m.out;

  // Hosts of their own on a fast link: the most devices present win.
  const std::string fast =
      " --read-bandwidth 20 --link-latency 20 --link-bandwidth 10 --ranks-per-host 1";
  Result r = tplm("plan --tp auto --devices 8 -m " + model + fast);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("--tp auto chose tp 8: the fastest predicted that fits"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("plan: tp 8,"), std::string::npos) << r.out;
  // A slow link: tp 1.
  r = tplm("plan --tp auto --devices 8 -m " + model +
           " --read-bandwidth 20 --link-latency 5000 --link-bandwidth 0.00125 --ranks-per-host 1");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("--tp auto chose tp 1: "), std::string::npos) << r.out;
  // Ranks sharing one host: tp 1 (no split reads faster than the host).
  r = tplm("plan --tp auto --devices 8 -m " + model +
           " --read-bandwidth 20 --link-latency 1 --link-bandwidth 100");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("--tp auto chose tp 1: "), std::string::npos) << r.out;
}

// Issue 10: `run` warns when tp 1 is predicted faster (thread ranks share this
// host's bandwidth and exchange on top), --tp auto says what it chose, and the
// option's values are checked before the model is opened.
TEST(Cli, RunWarnsWhenTheSplitIsPredictedSlower) {
  Result r = tplm("run " + stories_args() + " -p hi -n 4 --tp 2");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("tplm: warning: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("faster"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("tp 1"), std::string::npos) << r.err;
  r = tplm("run " + stories_args() + " -p hi -n 4 --tp 1");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err.find("predicted"), std::string::npos) << r.err;
  r = tplm("run " + stories_args() + " -p hi -n 4 --tp auto");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("tplm: --tp auto chose tp "), std::string::npos) << r.err;
  for (const Case& c : std::vector<Case>{
           {"run " + stories_args() + " -p hi --tp many", "--tp many is out of range"},
           {"plan -m " + fifo_model() + " --tp 2x", "--tp 2x is out of range"},
           {"plan -m " + fifo_model() + " --link-latency 5", "give --read-bandwidth with them"},
           {"plan -m " + fifo_model() + " --read-bandwidth 5", "needs --link-latency"},
           {"plan -m " + fifo_model() + " --read-bandwidth 0 --link-latency 1 --link-bandwidth 1",
            "--read-bandwidth 0 is out of range"}}) {
    const Result u = tplm(c.args);
    EXPECT_EQ(u.exit_code, 2) << c.args << "\n" << u.err;
    EXPECT_NE(u.err.find(c.message), std::string::npos) << c.args << "\n" << u.err;
  }
}

// Runtime failures (files, plans, the model's limits) exit 1.
TEST(Cli, RuntimeFailuresExit1) {
  const fs::path cut = test::scratch_dir() / "cut.bin";
  {
    std::ifstream in(stories_bin(), std::ios::binary);
    std::vector<char> head(100000);
    in.read(head.data(), static_cast<std::streamsize>(head.size()));
    std::ofstream(cut, std::ios::binary)
        .write(head.data(), static_cast<std::streamsize>(head.size()));
  }
  const std::string tok = " --tokenizer " + (test::stories_dir() / "tok512.bin").string();
  const std::vector<Case> cases = {
      {"run -m /nonexistent/model.bin -p hi", "/nonexistent/model.bin: no such file"},
      {"run -m " + cut.string() + tok + " -p hi", "truncated"},
      {"run " + stories_args() + " --tp 5", "tp 5 cannot split this model"},
      {"run " + stories_args() + " -f /nonexistent/prompt.txt",
       "cannot read the prompt file /nonexistent/prompt.txt"},
      {"run " + stories_args() + " -l 512-inf", "token 512 is not in the vocabulary of 512"},
      {"plan -m " + stories_bin() + " --tp 5", "valid tp: 1, 2, 3, 4, 8"},
      {"inspect /nonexistent/m.gguf", "/nonexistent/m.gguf"},
      {"bench -m " + stories_bin() + " --prompt-tokens 500 --gen-tokens 100",
       "exceeds the model's context of 512"},
  };
  for (const Case& c : cases) {
    const Result r = tplm(c.args);
    EXPECT_EQ(r.exit_code, 1) << c.args << "\n" << r.err;
    EXPECT_NE(r.err.find("tplm: error: "), std::string::npos) << c.args << "\n" << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << c.args << "\n" << r.err;
  }
}

// --context may exceed the model's trained context, with a warning (issue 10);
// the messages say which one is the limit.
TEST(Cli, ContextMessagesNameTheRightLimit) {
  Result r = tplm("run " + stories_args() + " --context 2048 -n 4 -p hi");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("tplm: warning: -c 2048 is more than this model's trained context (512 "
                       "positions)"),
            std::string::npos)
      << r.err;
  r = tplm("run " + stories_args() + " -n 4 -p hi");
  EXPECT_EQ(r.err.find("trained context"), std::string::npos) << r.err;
  r = tplm("run " + stories_args() + " -c 4 -p 'Once upon a time there was'");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("the prompt is 7 tokens but --context 4 holds 4 positions; shorten the "
                       "prompt or raise --context (this model's context length is 512)"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(r.out, "");  // the prompt is not printed before the error
  // A prompt longer than the model's own context (here from a 200 KiB file:
  // more than one command-line argument can hold).
  const fs::path big = test::scratch_dir() / "big-prompt.txt";
  {
    std::ofstream out(big);
    for (int i = 0; i < 5000; ++i) out << "Once upon a time there was a dog. ";
  }
  ASSERT_GT(fs::file_size(big), 128u * 1024u);
  r = tplm("run " + stories_args() + " -f " + big.string());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("but this model's context length is 512; shorten the prompt"),
            std::string::npos)
      << r.err;
}

// Issue 8: with --json every error is {"error": {...}} on stdout.
TEST(Cli, JsonErrorsAreOneObjectOnStdout) {
  struct JsonCase {
    std::string args;
    int code;
    std::string type, message;
  };
  const std::vector<JsonCase> cases = {
      {"run --json -m " + fifo_model() + " --temp -1", 2, "usage", "--temp -1 is out of range"},
      {"run --json -m " + fifo_model() + " --temp abc", 2, "usage", "--temp"},
      {"run --json -p hi", 2, "usage", "--model is required"},
      {"server --json", 2, "usage", "unknown command 'server'"},
      {"run --json -m /nonexistent/model.bin", 1, "runtime", "/nonexistent/model.bin"},
      {"run " + stories_args() + " --json --tp 5", 1, "runtime", "valid tp: 1, 2, 3, 4, 8"},
      {"plan --json -m " + stories_bin() + " --tp 5", 1, "runtime", "valid tp: 1, 2, 3, 4, 8"},
      {"inspect --json /nonexistent/m.gguf", 1, "runtime", "/nonexistent/m.gguf"},
  };
  for (const JsonCase& c : cases) {
    const Result r = tplm(c.args);
    EXPECT_EQ(r.exit_code, c.code) << c.args;
    const nlohmann::json j = json_of(r);
    ASSERT_TRUE(j.contains("error")) << c.args << "\n" << r.out;
    EXPECT_EQ(j["error"]["type"], c.type) << c.args;
    EXPECT_EQ(j["error"]["exit_code"], c.code) << c.args;
    EXPECT_NE(j["error"]["message"].get<std::string>().find(c.message), std::string::npos)
        << c.args << "\n"
        << r.out;
  }
}

// Issue 8: `tplm server` (and no command at all) says what the commands are.
TEST(Cli, UnknownCommandsListTheCommands) {
  for (const std::string& args : {std::string("server"), std::string("")}) {
    const Result r = tplm(args);
    EXPECT_EQ(r.exit_code, 2) << args;
    EXPECT_NE(r.err.find("the commands are: run, plan, inspect, bench"), std::string::npos)
        << r.err;
    EXPECT_EQ(r.err.find("A subcommand is required"), std::string::npos) << r.err;
  }
  EXPECT_NE(tplm("server").err.find("unknown command 'server'"), std::string::npos);
  const Result help = tplm("--help");
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("run"), std::string::npos);
}

TEST(Cli, VersionPrintsTheVersion) {
  const Result r = tplm("--version");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out.rfind("tplm ", 0), 0u) << r.out;
}

// Issue 8: --devices 2 --tp 4 says so, and lists only tp values that fit.
TEST(Cli, DeviceCountErrorListsOnlyTpThatFit) {
  const Result r = tplm("plan -m " + stories_bin() + " --tp 4 --devices 2");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("tp 4 needs 4 devices but 2 are available; use --tp 2 (tp that fit: 1, 2)"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find("cannot split this model"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("4, 8"), std::string::npos) << r.err;
}

std::vector<int32_t> generated(const Result& r) {
  return json_of(r)["generated_tokens"].get<std::vector<int32_t>>();
}

// Issue 8: llama.cpp's spellings are aliases of tplm's options.
TEST(Cli, LlamaCppSpellingsAreAliases) {
  const std::string common = "run " + stories_args() + " -p 'Once upon a time' --json --temp 0.8 ";
  const Result ours = tplm(common + "--context 64 --threads 1 --seed 7 --max-new-tokens 12");
  ASSERT_EQ(ours.exit_code, 0) << ours.err;
  for (const std::string& theirs : {std::string("-c 64 -t 1 -s 7 -n 12"),
                                    std::string("--ctx-size 64 --threads 1 --seed 7 "
                                                "--n-predict 12"),
                                    std::string("--ctx-size 64 -t 1 -s 7 --predict 12")}) {
    const Result r = tplm(common + theirs);
    ASSERT_EQ(r.exit_code, 0) << theirs << "\n" << r.err;
    EXPECT_EQ(generated(r), generated(ours)) << theirs;
    EXPECT_EQ(json_of(r)["ranks"][0]["kv_cache_bytes"],
              json_of(ours)["ranks"][0]["kv_cache_bytes"]);
  }
  // -n -1: no limit; generation runs to a stop token or the end of the context.
  const Result unlimited =
      tplm("run " + stories_args() + " -p 'Once upon a time' --json -n -1 -c 48");
  ASSERT_EQ(unlimited.exit_code, 0) << unlimited.err;
  const std::string reason = json_of(unlimited)["stop_reason"];
  EXPECT_TRUE(reason == "context" || reason == "eos" || reason == "bos") << reason;
}

// Issue 8: -f FILE and -f - (stdin) give the prompt, as -p would.
TEST(Cli, PromptFromAFileOrStdin) {
  const fs::path file = test::scratch_dir() / "prompt.txt";
  std::ofstream(file)
      << "Once upon a time\n";  // the trailing newline is dropped, as llama.cpp does
  const std::string common = "run " + stories_args() + " --json -n 8 ";
  const Result p = tplm(common + "-p 'Once upon a time'");
  ASSERT_EQ(p.exit_code, 0) << p.err;
  for (const Result& r :
       {tplm(common + "-f " + file.string()), tplm(common + "-f -", "< '" + file.string() + "'"),
        tplm(common + "--file -", "< '" + file.string() + "'")}) {
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(json_of(r)["prompt_tokens"], json_of(p)["prompt_tokens"]);
    EXPECT_EQ(json_of(r)["text"], json_of(p)["text"]);
  }
}

// Issue 8: --stop ends generation at a string; the JSON says which and holds
// the completion alone; streamed text stops before the stop string.
TEST(Cli, StopStringsEndGeneration) {
  const std::string common = "run " + stories_args() + " -p 'Once upon a time' -n 60 ";
  const Result full = tplm(common + "--json");
  ASSERT_EQ(full.exit_code, 0) << full.err;
  const nlohmann::json f = json_of(full);
  EXPECT_EQ(f["stop_reason"], "length");
  EXPECT_EQ(f["text"], "Once upon a time" + f["completion"].get<std::string>());
  ASSERT_NE(f["completion"].get<std::string>().find(" Lily"), std::string::npos) << f["completion"];

  for (int tp : {1, 2}) {
    const Result r =
        tplm(common + "--json --stop Lily --stop 'was a little boy' --tp " + std::to_string(tp));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const nlohmann::json j = json_of(r);
    EXPECT_EQ(j["stop_reason"], "stop");
    EXPECT_EQ(j["stop_string"], "Lily");
    const std::string completion = j["completion"];
    EXPECT_EQ(completion, f["completion"].get<std::string>().substr(0, completion.size()));
    EXPECT_EQ(completion.find("Lily"), std::string::npos) << completion;
    EXPECT_TRUE(completion.ends_with("named ")) << completion;
    EXPECT_EQ(j["text"], "Once upon a time" + completion);
    EXPECT_LT(j["generated_tokens"].size(), f["generated_tokens"].size());
  }
  // Streaming: the printed text ends where the stop string begins.
  const Result s = tplm(common + "-r Lily");
  ASSERT_EQ(s.exit_code, 0) << s.err;
  EXPECT_TRUE(s.out.starts_with("Once upon a time, there was a little girl named \n")) << s.out;
  EXPECT_NE(s.err.find("stop: stop at \"Lily\""), std::string::npos) << s.err;
}

// Issue 8: --logit-bias moves and bans tokens. A model whose greedy output is
// all <unk> (here made so by a bias, as a real tiny model does by itself) can
// ban it.
TEST(Cli, LogitBiasBansTokens) {
  const std::string common = "run " + stories_args() + " -p 'Once upon a time' -n 8 --json ";
  const std::vector<int32_t> all_unk = generated(tplm(common + "--logit-bias 0+100"));
  EXPECT_EQ(all_unk, std::vector<int32_t>(8, 0));
  const std::vector<int32_t> plain = generated(tplm(common));
  const std::vector<int32_t> banned = generated(tplm(common + "-l 0+100 -l 0-inf"));
  EXPECT_EQ(std::count(banned.begin(), banned.end(), 0), 0);
  EXPECT_EQ(banned, plain);
  // Banning greedy's first choice changes the first token.
  const std::vector<int32_t> other =
      generated(tplm(common + "--logit-bias " + std::to_string(plain[0]) + "-inf"));
  ASSERT_FALSE(other.empty());
  EXPECT_NE(other[0], plain[0]);
  EXPECT_EQ(std::count(other.begin(), other.end(), plain[0]), 0);
}

// Issue 8: --parse-special reads special tokens written in the prompt as those
// tokens (llama2.c's .bin, the SentencePiece .model and the GGUF agree).
TEST(Cli, ParseSpecialReadsSpecialTokensInThePrompt) {
  const std::string prompt = " -p 'Hi</s>there<unk>' -n 1 --json";
  const Result plain = tplm("run " + stories_args() + prompt);
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  const auto plain_ids = json_of(plain)["prompt_tokens"].get<std::vector<int32_t>>();
  EXPECT_EQ(std::count(plain_ids.begin(), plain_ids.end(), 2), 0);
  const std::vector<int32_t> expected = {1, 320, 417, 2, 383, 0};  // <s> Hi </s> ▁there <unk>
  std::vector<std::string> tokenizers = {
      "--tokenizer " + (test::stories_dir() / "tok512.bin").string(),
      "--tokenizer " + (test::stories_dir() / "tok512.model").string()};
  for (const std::string& tok : tokenizers) {
    const Result r = tplm("run -m " + stories_bin() + " " + tok + prompt + " --parse-special");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(json_of(r)["prompt_tokens"].get<std::vector<int32_t>>(), expected) << tok;
  }
  const fs::path gguf = test::fixtures_dir() / "stories260K.gguf";
  if (fs::exists(gguf)) {
    const Result r = tplm("run -m " + gguf.string() + prompt + " --parse-special");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(json_of(r)["prompt_tokens"].get<std::vector<int32_t>>(), expected);
  }
}

// --seed -1 draws a seed and reports it; that seed reproduces the run.
TEST(Cli, SeedMinusOneIsRandomAndReported) {
  const std::string common = "run " + stories_args() + " -p Hello -n 16 --temp 1 --json ";
  const nlohmann::json a = json_of(tplm(common + "--seed -1"));
  const nlohmann::json b = json_of(tplm(common + "--seed -1"));
  EXPECT_NE(a["seed"], b["seed"]);
  const nlohmann::json again = json_of(tplm(common + "--seed " + a["seed"].dump()));
  EXPECT_EQ(again["generated_tokens"], a["generated_tokens"]);
  EXPECT_EQ(json_of(tplm(common + "-s 7"))["seed"], 7);
}

// -v prints the plan before loading and each rank's memory after, with this
// process's total (thread ranks share one process).
TEST(Cli, VerbosePrintsThePlanThenMemoryPerRankAndPerProcess) {
  const Result r = tplm("run " + stories_args() + " -p hi -n 4 -v --tp 2");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const size_t plan = r.err.find("rank 1: heads [4, 8)");
  const size_t prefill = r.err.find("prefill:");
  const size_t memory = r.err.find("rank 1: weights 0.50 MiB loaded");
  ASSERT_NE(plan, std::string::npos) << r.err;
  ASSERT_NE(memory, std::string::npos) << r.err;
  EXPECT_LT(plan, prefill);
  EXPECT_LT(prefill, memory);
  EXPECT_NE(r.err.find("this process (2 ranks): weights 0.99 MiB"), std::string::npos) << r.err;
}

// Issue 8: more threads than cores is said, not silent.
TEST(Cli, OversubscribedThreadsAreAWarning) {
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const std::string threads = std::to_string(cores + 1);
  const Result r = tplm("run " + stories_args() + " -p hi -n 1 --threads " + threads);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("tplm: warning: --threads " + threads + " x 1 rank on this host"),
            std::string::npos)
      << r.err;
  const Result b =
      tplm("bench -m " + stories_bin() + " --prompt-tokens 4 --gen-tokens 1 -t " + threads);
  ASSERT_EQ(b.exit_code, 0) << b.err;
  EXPECT_NE(b.err.find("tplm: warning: --threads " + threads), std::string::npos) << b.err;
}

// Issue 10: memory per rank against --mem-budget, before anything is loaded.
// The sparse 1B model's ~4.4 GB of f32 weights do not fit a 3 GiB host; the
// refusal names the numbers and a way out that adds hosts (never a larger tp
// on the same host), and that plan then fits.
TEST(Cli, MemBudgetRefusesWeightsTooBigAndTheSuggestedHostsFit) {
  const std::string model = sparse_1b_model().string();
  Result r = tplm("run -m " + model + " -p hi --mem-budget 3G");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("tplm: error: rank 0 needs 4."), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("GiB (weights 4."), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("its host has 3.0 GiB available (--mem-budget)"), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("--tp 2 over 2 hosts, one rank each ("), std::string::npos) << r.err;
  // Two ranks on this one host share its 3 GiB: still no fit, and no advice
  // of a tp on this host.
  r = tplm("plan -m " + model + " --tp 2 --mem-budget 3G");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("ranks 0..1 share one host and need"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("host 0 (ranks 0..1): needs"), std::string::npos) << r.out;
  // The suggestion: one rank on each of 2 hosts.
  r = tplm("plan -m " + model + " --tp 2 --hosts 2 --mem-budget 3G");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("host 1 (rank 1): needs 2."), std::string::npos) << r.out;
}

// The KV cache at a long context: the refusal offers a shorter context and a
// smaller kv type, and each of them then runs.
TEST(Cli, MemBudgetRefusesKvCacheTooBigAndTheSuggestionsRun) {
  const std::string base = "run " + stories_args() + " -p hi -n 2 --mem-budget 30M ";
  Result r = tplm(base + "-c 60000 --kv-type f32");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("KV cache 73.2 MiB for 60000 positions as f32"), std::string::npos) << r.err;
  const size_t at = r.err.find("use -c ");
  ASSERT_NE(at, std::string::npos) << r.err;
  const int64_t ctx = std::stoll(r.err.substr(at + 7));
  EXPECT_GT(ctx, 512);
  EXPECT_LT(ctx, 60000);
  EXPECT_NE(r.err.find("--kv-type q8_0 ("), std::string::npos) << r.err;
  r = tplm(base + "-c " + std::to_string(ctx) + " --kv-type f32");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = tplm(base + "-c 60000 --kv-type q8_0");
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

// -c: the default is the model's context (at most 4096), printed; a longer
// one is allowed with a warning (see ContextMessagesNameTheRightLimit).
TEST(Cli, ContextAndKvTypeArePrinted) {
  Result r = tplm("run " + stories_args() + " -p hi -n 2");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("context 512, kv f16"), std::string::npos) << r.err;
  r = tplm("run " + stories_args() + " -p hi -n 2 -c 100 --kv-type q8_0 --json");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["context"], 100);
  EXPECT_EQ(j["kv_type"], "q8_0");
  EXPECT_EQ(j["ranks"][0]["kv_cache_bytes"], j["ranks"][0]["plan_kv_cache_bytes"]);
  r = tplm("plan -m " + sparse_1b_model().string());
  EXPECT_NE(r.out.find("kv cache: 2048 positions (the model's context) as f16"), std::string::npos)
      << r.out;
}

TEST(Cli, CapacityOptionErrors) {
  const std::string m = "-m " + fifo_model() + " ";
  const std::vector<Case> usage = {
      {"run " + m + "-p hi --kv-type q4", "--kv-type: q4 not in {f16,f32,q8_0}"},
      {"run " + m + "-p hi --kv-type q8_0 --device cuda",
       "--kv-type q8_0: the cuda backend keeps its KV cache in f32 only"},
      {"run " + m + "-p hi --mem-budget 12Q", "--mem-budget 12Q: not a size"},
      {"run " + m + "-p hi --mem-budget 0", "--mem-budget 0 is out of range"},
      {"run " + m + "-p hi --split 3,x", "--split 3,x: 'x' is not a ratio"},
      {"run " + m + "-p hi --split 3,-1", "--split 3,-1: '-1' is not a ratio"},
      {"plan " + m + "--split 3,", "--split 3,: give one number above 0 per rank"},
  };
  for (const Case& c : usage) {
    const Result r = tplm(c.args);
    EXPECT_EQ(r.exit_code, 2) << c.args << "\n" << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << c.args << "\n" << r.err;
  }
  const Result r = tplm("run " + stories_args() + " -p hi --tp 3 --split 3,1");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("--split has 2 ratios but tp is 3; give one ratio per rank"),
            std::string::npos)
      << r.err;
}

}  // namespace
}  // namespace tplm
