#include "runtime/launcher.hpp"

#include "format/error.hpp"
#include "runtime/solo_communicator.hpp"

namespace tplm {

int launch_world_size(int tp) {
  return tp;
}

void launch_ranks(const LaunchOptions& options, const RankFunction& fn) {
  if (options.tp < 1 || options.tp > 64)
    throw Error("--tp " + std::to_string(options.tp) + " is out of range; use 1 to 64");
  if (options.tp == 1) {
    SoloCommunicator comm;
    fn(comm);
    return;
  }
  throw Error("tp > 1 needs the in-process communicator, which is not built yet");
}

}  // namespace tplm
