#pragma once
// The one thing llama.cpp's common/json.cpp takes from ggml.h: GGML_ASSERT,
// which it makes nlohmann-json's JSON_ASSERT (an internal invariant of the
// JSON library, as the library's own default assert would check it).
#include <cstdio>
#include <cstdlib>

#define GGML_ASSERT(x)                                                                    \
  do {                                                                                    \
    if (!(x)) {                                                                           \
      std::fprintf(stderr, "%s:%d: internal check failed: %s\n", __FILE__, __LINE__, #x); \
      std::abort();                                                                       \
    }                                                                                     \
  } while (0)
