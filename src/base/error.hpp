#pragma once
// The error every part reports to a user (bad file, bad tp, bad request...).
// Each one names the problem and, where there is one, the fix; the command
// line prints what() and exits non-zero.
#include <stdexcept>

namespace tplm {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace tplm
