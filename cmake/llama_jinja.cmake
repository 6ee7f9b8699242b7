# llama.cpp's Jinja engine (common/jinja, MIT), which renders a model's chat
# template for `tplm chat` and `tplm serve`. It is fetched at configure time by
# scripts/get_llama_cpp_files.sh (the llama-cpp-python source distribution on
# PyPI, pinned by version and sha256, kept in ${XDG_CACHE_HOME:-~/.cache}/tplm)
# and compiled into the library tplm_jinja.
#
# Offline with an empty cache, tplm builds without chat templates (a warning
# here says why and how to get them); `tplm chat` and chat requests then stop
# with a message saying so. -DTPLM_CHAT_TEMPLATES=OFF skips the fetch.
#
# Sets TPLM_HAVE_JINJA, and TPLM_JINJA_DIR (the fetched folder, with the real
# models' templates in models/templates/ for the tests).
option(TPLM_CHAT_TEMPLATES "Fetch llama.cpp's Jinja engine for chat templates" ON)
set(TPLM_HAVE_JINJA OFF)
if(TPLM_CHAT_TEMPLATES)
  execute_process(
    COMMAND bash ${PROJECT_SOURCE_DIR}/scripts/get_llama_cpp_files.sh jinja
    OUTPUT_VARIABLE tplm_jinja_out ERROR_VARIABLE tplm_jinja_err
    RESULT_VARIABLE tplm_jinja_rc OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(tplm_jinja_rc EQUAL 0 AND EXISTS "${tplm_jinja_out}/common/jinja/runtime.cpp")
    set(TPLM_JINJA_DIR "${tplm_jinja_out}")
    set(TPLM_HAVE_JINJA ON)
  else()
    string(STRIP "${tplm_jinja_err}" tplm_jinja_err)
    message(WARNING "tplm: building WITHOUT chat templates (tplm chat and chat requests will "
            "refuse to run): llama.cpp's Jinja engine could not be fetched: ${tplm_jinja_err}. "
            "Reconfigure with network access to PyPI, or place the file named above in the cache.")
  endif()
endif()

if(TPLM_HAVE_JINJA)
  file(GLOB tplm_jinja_srcs ${TPLM_JINJA_DIR}/common/jinja/*.cpp)
  add_library(tplm_jinja STATIC ${tplm_jinja_srcs} ${TPLM_JINJA_DIR}/common/json.cpp
              ${TPLM_JINJA_DIR}/common/unicode.cpp)
  # json.cpp asserts with ggml's GGML_ASSERT: cmake/llama_jinja_shim/ggml.h
  # gives it that one macro, so none of ggml is needed.
  # SYSTEM: their headers' warnings are not ours either, where we include them.
  target_include_directories(tplm_jinja SYSTEM PUBLIC ${TPLM_JINJA_DIR}/common)
  target_include_directories(tplm_jinja PRIVATE ${PROJECT_SOURCE_DIR}/cmake/llama_jinja_shim)
  target_link_libraries(tplm_jinja PUBLIC nlohmann_json::nlohmann_json)
  # Their code, their warnings: not ours to fix (-w), and not -Werror.
  target_compile_options(tplm_jinja PRIVATE -w)
  set_target_properties(tplm_jinja PROPERTIES CXX_STANDARD 17)
endif()
message(STATUS "tplm: chat templates ${TPLM_HAVE_JINJA} ${TPLM_JINJA_DIR}")
