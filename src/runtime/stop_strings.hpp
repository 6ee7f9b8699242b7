#pragma once
// Stop strings (--stop) in a text that grows as it is generated. What is
// pushed comes back as soon as no stop string can begin in it; the tail that
// might still grow into one is held back, so text after a stop string, or a
// stop string itself, is never printed.
//
//   StopStrings stops({"\n\n", "The end"});
//   print(stops.push(piece));          // for each piece of generated text
//   if (stops.stopped()) ...           // a stop string was found: generation ends
//   print(stops.flush());              // at the end without one: the held-back tail
#include <string>
#include <string_view>
#include <vector>

namespace tplm {

class StopStrings {
 public:
  explicit StopStrings(std::vector<std::string> stops);  // none may be empty

  // Adds text and returns what can be printed now: everything before the
  // first stop string once one is found (nothing after that), else all but
  // the longest tail that is the beginning of a stop string.
  std::string push(std::string_view text);
  std::string flush();  // the held-back tail (nothing once stopped)

  bool stopped() const { return stopped_; }
  const std::string& matched() const { return matched_; }  // the stop string found

 private:
  std::vector<std::string> stops_;
  std::string pending_;
  bool stopped_ = false;
  std::string matched_;
};

}  // namespace tplm
