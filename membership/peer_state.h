// Liveness states of a peer and of one heartbeat path to it, and the
// transitions the peer table reports (seed 001 kinds HeartbeatAlive,
// HeartbeatStale, NodeAlive, NodeStale, and NodeMonitorUpdated for a peer
// that announced a clean stop).
#ifndef VIGIL_MEMBERSHIP_PEER_STATE_H_
#define VIGIL_MEMBERSHIP_PEER_STATE_H_

#include <string>
#include <string_view>

namespace vigil::membership {

/// kUnknown: never heard since this daemon started. kAlive: heard within the
/// timeout. kStale: was heard, then silent for longer than the timeout.
/// kStopped: its daemon announced a clean stop (SIGTERM, SIGINT); it stays a
/// member, and is not a failure: it never turns stale.
enum class PeerState { kUnknown, kAlive, kStale, kStopped };

/// "unknown", "alive", "stale" or "stopped" (the dataset's
/// `.peers.<name>.state` values).
std::string_view to_string(PeerState s);

struct Transition {
  enum class Kind { kHeartbeatAlive, kHeartbeatStale, kNodeAlive, kNodeStale, kNodeStopped };
  Kind kind;
  std::string node;  // the peer
  std::string path;  // heartbeat path id; empty for node transitions
};

/// The seed 001 event kind of a transition, e.g. "NodeStale";
/// "NodeMonitorUpdated" for kNodeStopped.
std::string_view event_kind(Transition::Kind k);

}  // namespace vigil::membership

#endif  // VIGIL_MEMBERSHIP_PEER_STATE_H_
