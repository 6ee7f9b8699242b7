#pragma once
// A command line that is wrong by itself: an option's value out of its range,
// options that exclude each other. It is found before any file is opened, and
// `tplm` exits 2 on it (1 on every other Error: files, plans, peers).
#include "base/error.hpp"

namespace tplm {

class UsageError : public Error {
 public:
  using Error::Error;
};

}  // namespace tplm
