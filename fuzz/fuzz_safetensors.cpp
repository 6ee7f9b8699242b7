// libFuzzer target for the Hugging Face reader: the input bytes become
// model.safetensors beside a fixed, valid tiny config.json. Any input must end
// in a parsed model or a tplm::Error; a crash, a sanitizer report or any other
// exception is a bug.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "base/error.hpp"
#include "format/model_file.hpp"

namespace {

// The model the seeds were written for (fuzz/seeds/make_hf_llama2c_seeds.py).
constexpr const char* kConfig = R"({"architectures": ["LlamaForCausalLM"], "hidden_size": 8,
  "intermediate_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2, "num_key_value_heads": 1,
  "vocab_size": 8, "max_position_embeddings": 32, "rms_norm_eps": 1e-5, "tie_word_embeddings": true})";

// One folder per process under /dev/shm (RAM), made once.
const std::filesystem::path& folder() {
  static const std::filesystem::path dir = [] {
    std::filesystem::path d =
        std::filesystem::path("/dev/shm") / ("fuzz_safetensors." + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    std::ofstream(d / "config.json") << kConfig;
    return d;
  }();
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  {
    std::ofstream out(folder() / "model.safetensors", std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    if (!out) std::abort();
  }
  try {
    tplm::ModelFile m = tplm::read_hf_folder(folder());
    volatile uint64_t sink = m.total_weight_bytes() + m.metadata.size();
    (void)sink;
  } catch (const tplm::Error&) {
  }
  return 0;
}
