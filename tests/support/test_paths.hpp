#pragma once
// Where tests find things: the source tree, ../shared (models, goldens), the
// tplm executable, and a fresh temporary folder.
#include <filesystem>
#include <string>

namespace tplm::test {

std::filesystem::path source_dir();
std::filesystem::path shared_dir();    // TPLM_SHARED_DIR or <source>/../shared
std::filesystem::path stories_dir();   // shared/models/stories260K
std::filesystem::path golden_dir();    // shared/golden/stories260K
std::filesystem::path tplm_exe();      // TPLM_EXE or <binary>/tplm
std::filesystem::path fixtures_dir();  // <binary>/fixtures: made by tools/ (see tests' CMake)
// A new empty folder inside scratch_dir(): removed with it when the program exits.
std::filesystem::path make_temp_dir(const std::string& stem);
// One folder per test program for its scratch files, made on first use and
// removed when the program exits.
const std::filesystem::path& scratch_dir();
// A whole file's bytes ("" when it cannot be read).
std::string read_file(const std::filesystem::path& path);

// Runs a shell command, returns its exit code and captures stdout+stderr.
struct CommandResult {
  int exit_code = -1;
  std::string output;
};
CommandResult run_command(const std::string& command);

}  // namespace tplm::test
