// The peer table: one PathWatcher per (heartbeat path, peer), aggregated into
// a node state. A node is alive while any path hears it and stale once every
// path that heard it is stale (DESIGN.md, Membership).
#ifndef VIGIL_MEMBERSHIP_PEER_TABLE_H_
#define VIGIL_MEMBERSHIP_PEER_TABLE_H_

#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "membership/path_watcher.h"
#include "membership/peer_state.h"

namespace vigil::membership {

class PeerTable {
 public:
  using Clock = std::chrono::steady_clock;
  using Duration = std::chrono::milliseconds;

  struct PathSpec {
    std::string id;
    Duration timeout;
    std::set<std::string> peers;  // peers reachable over this path
  };

  explicit PeerTable(const std::vector<PathSpec>& paths);

  /// An authenticated datagram from `node` arrived on `path` at `now`.
  /// Returns HeartbeatAlive and/or NodeAlive transitions. Unknown
  /// (node, path) pairs are ignored.
  std::vector<Transition> heard(const std::string& node, const std::string& path,
                                Clock::time_point now);

  /// Checks every deadline at `now`; returns HeartbeatStale and NodeStale
  /// transitions, path transitions first.
  std::vector<Transition> check(Clock::time_point now);

  /// Extends every deadline by `stall` ms (see StallDetector).
  void credit(Duration stall, Clock::time_point now);

  PeerState state(const std::string& node) const;
  /// State of `path` to `node`; nullopt when the path does not reach it.
  std::optional<PeerState> path_state(const std::string& node, const std::string& path) const;
  const PathWatcher* watcher(const std::string& node, const std::string& path) const;

  /// Every peer, sorted, and the paths (sorted ids) that reach each.
  std::vector<std::string> peers() const;
  std::vector<std::string> paths_of(const std::string& node) const;
  /// Peers currently alive.
  std::set<std::string> alive() const;

 private:
  struct Peer {
    PeerState state = PeerState::kUnknown;
    std::map<std::string, PathWatcher> paths;  // path id -> watcher
  };
  std::map<std::string, Peer> peers_;
};

}  // namespace vigil::membership

#endif  // VIGIL_MEMBERSHIP_PEER_TABLE_H_
