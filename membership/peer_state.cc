#include "membership/peer_state.h"

namespace vigil::membership {

std::string_view to_string(PeerState s) {
  switch (s) {
    case PeerState::kAlive:
      return "alive";
    case PeerState::kStale:
      return "stale";
    case PeerState::kStopped:
      return "stopped";
    case PeerState::kUnknown:
      break;
  }
  return "unknown";
}

std::string_view event_kind(Transition::Kind k) {
  switch (k) {
    case Transition::Kind::kHeartbeatAlive:
      return "HeartbeatAlive";
    case Transition::Kind::kHeartbeatStale:
      return "HeartbeatStale";
    case Transition::Kind::kNodeAlive:
      return "NodeAlive";
    case Transition::Kind::kNodeStopped:
      return "NodeMonitorUpdated";
    case Transition::Kind::kNodeStale:
      break;
  }
  return "NodeStale";
}

}  // namespace vigil::membership
