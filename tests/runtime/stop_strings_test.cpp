// Stop strings over streamed text: the text before the first stop string comes
// out, a possible beginning of one is held back, nothing after it is printed.
#include "runtime/stop_strings.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "base/error.hpp"

namespace tplm {
namespace {

// Pushes the pieces one by one; returns everything printed (flush included when no stop).
std::string stream(StopStrings& s, const std::vector<std::string>& pieces) {
  std::string out;
  for (const std::string& p : pieces) {
    out += s.push(p);
    if (s.stopped()) return out;
  }
  return out + s.flush();
}

TEST(StopStrings, CutsBeforeTheStopString) {
  StopStrings s({"Lily"});
  EXPECT_EQ(stream(s, {"Once, a girl named Li", "ly went out"}), "Once, a girl named ");
  EXPECT_TRUE(s.stopped());
  EXPECT_EQ(s.matched(), "Lily");
  EXPECT_EQ(s.push("more"), "");  // nothing after a stop
}

TEST(StopStrings, HoldsBackOnlyWhatCouldStillBecomeAStopString) {
  StopStrings s({"\n\n", "The end"});
  EXPECT_EQ(s.push("Hello\n"), "Hello");  // "\n" may begin "\n\n"
  EXPECT_EQ(s.push("world. The e"), "\nworld. ");
  EXPECT_EQ(s.push("ager"), "The eager");  // no longer a beginning of "The end"
  EXPECT_FALSE(s.stopped());
  EXPECT_EQ(s.push(" sea\n\nrest"), " sea");
  EXPECT_TRUE(s.stopped());
  EXPECT_EQ(s.matched(), "\n\n");
}

TEST(StopStrings, NoStopMeansEverythingComesOut) {
  StopStrings s({"xyz"});
  EXPECT_EQ(stream(s, {"abc x", "y", "!"}), "abc xy!");
  EXPECT_FALSE(s.stopped());
  StopStrings none({});
  EXPECT_EQ(stream(none, {"a", "b"}), "ab");
}

TEST(StopStrings, TheEarliestStopStringWins) {
  StopStrings s({"cat", "a c"});
  EXPECT_EQ(s.push("I saw a cat"), "I saw ");
  EXPECT_EQ(s.matched(), "a c");
  StopStrings longer({"ab", "abc"});  // both start together: the longer one
  EXPECT_EQ(longer.push("xabcd"), "x");
  EXPECT_EQ(longer.matched(), "abc");
}

TEST(StopStrings, EmptyIsAnError) {
  EXPECT_THROW(StopStrings({""}), Error);
}

}  // namespace
}  // namespace tplm
