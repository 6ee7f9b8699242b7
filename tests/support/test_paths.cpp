#include "support/test_paths.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <stdexcept>

namespace tplm::test {

namespace fs = std::filesystem;

fs::path source_dir() {
  return TPLM_SOURCE_DIR;
}

fs::path shared_dir() {
  if (const char* s = std::getenv("TPLM_SHARED_DIR")) return s;
  return source_dir().parent_path() / "shared";
}

fs::path stories_dir() {
  return shared_dir() / "models" / "stories260K";
}
fs::path golden_dir() {
  return shared_dir() / "golden" / "stories260K";
}

fs::path tplm_exe() {
  if (const char* s = std::getenv("TPLM_EXE")) return s;
  return fs::path(TPLM_BINARY_DIR) / "tplm";
}

fs::path fixtures_dir() {
  return fs::path(TPLM_BINARY_DIR) / "fixtures";
}

namespace {

fs::path new_dir_in(const fs::path& parent, const std::string& stem) {
  std::string tmpl = (parent / (stem + "-XXXXXX")).string();
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed for " + tmpl);
  return tmpl;
}

}  // namespace

// Inside the scratch folder, so that it goes when the test process ends (each
// CTest test is a process of its own: folders in /tmp itself would pile up).
fs::path make_temp_dir(const std::string& stem) {
  return new_dir_in(scratch_dir(), stem);
}

const fs::path& scratch_dir() {
  static const struct Dir {
    fs::path path = new_dir_in(fs::temp_directory_path(), "tplm-test");
    ~Dir() {
      std::error_code ec;
      fs::remove_all(path, ec);
    }
  } dir;
  return dir.path;
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

CommandResult run_command(const std::string& command) {
  CommandResult r;
  FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) r.output.append(buf.data(), n);
  int status = ::pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

}  // namespace tplm::test
