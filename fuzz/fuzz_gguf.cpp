// libFuzzer target for the GGUF reader.
#include "fuzz_file_reader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return tplm::fuzz::read_input(data, size,
                                [](const std::string& path) { return tplm::read_gguf(path); });
}
