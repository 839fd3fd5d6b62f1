// The peer table: one PathWatcher per (heartbeat path, peer), aggregated into
// a node state. A node is alive while any path hears it and stale once every
// path that heard it is stale (DESIGN.md, Membership). A node whose daemon
// announced a clean stop is stopped: not alive (its vote is absent), never
// stale, still a member, until a datagram of a newer boot brings it back.
//
// In gossip mode a node hears each peer only now and then, so node states
// are driven by the failure detector (membership/swim.h) instead: see
// drive_externally().
#ifndef VIGIL_MEMBERSHIP_PEER_TABLE_H_
#define VIGIL_MEMBERSHIP_PEER_TABLE_H_

#include <chrono>
#include <cstdint>
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

  /// An authenticated datagram from `node` arrived on `path` at `now`;
  /// `boot` is the sender's boot id from the datagram header (0: not known,
  /// as in tests that ignore restarts). Returns HeartbeatAlive and/or
  /// NodeAlive transitions. Unknown (node, path) pairs are ignored, and so
  /// is a datagram of a boot that announced its stop, or of an older one:
  /// only a newer boot brings a stopped node back.
  std::vector<Transition> heard(const std::string& node, const std::string& path,
                                Clock::time_point now, uint64_t boot = 0);

  /// A message of `node`'s boot `boot` announced a clean stop. Honoured only
  /// for the newest boot heard from `node` (a stop of an older incarnation,
  /// such as a replay, is ignored) and only when that boot is not stopped
  /// already: then every path to it is kStopped, the node is kStopped, and
  /// one kNodeStopped transition is returned; otherwise none. Unknown nodes
  /// are ignored.
  std::vector<Transition> stopped(const std::string& node, uint64_t boot);

  /// Gossip mode: node states follow declare_alive() and declare_stale()
  /// only. heard() still marks paths alive (HeartbeatAlive) and tracks boots
  /// but reports no NodeAlive; a stopped node heard in a newer boot becomes
  /// unknown until declared alive; check() reports nothing.
  void drive_externally() { external_ = true; }
  /// Back to mesh mode: node states follow the path watchers again. Every
  /// path of an alive node counts as heard at `now` (the detector heard it;
  /// the watchers may not have for a while), so none goes stale before a
  /// timeout of heartbeats.
  void drive_by_heartbeats(Clock::time_point now);
  bool driven_externally() const { return external_; }
  /// The detector heard `node` alive: NodeAlive when it was not alive.
  /// Ignored for a stopped node (a newer boot must be heard first) and for
  /// unknown nodes.
  std::vector<Transition> declare_alive(const std::string& node);
  /// The detector declared `node` dead: HeartbeatStale for each path that
  /// was alive, then NodeStale, when it was alive.
  std::vector<Transition> declare_stale(const std::string& node);

  /// Checks every deadline at `now`; returns HeartbeatStale and NodeStale
  /// transitions, path transitions first.
  std::vector<Transition> check(Clock::time_point now);

  /// Extends every deadline by `stall` ms (see StallDetector).
  void credit(Duration stall, Clock::time_point now);

  PeerState state(const std::string& node) const;
  /// State of `path` to `node`; nullopt when the path does not reach it.
  std::optional<PeerState> path_state(const std::string& node, const std::string& path) const;
  const PathWatcher* watcher(const std::string& node, const std::string& path) const;

  /// A member joined (membership/member_list.h): `node` is watched on each
  /// of `paths` ({id, timeout}; the peers field is ignored), unknown until
  /// heard. A node already watched gains the paths it lacked and loses the
  /// others; its state is kept, and each path's timeout is the one given.
  void add(const std::string& node, const std::vector<PathSpec>& paths);
  /// A member left or was forgotten: it is no longer watched, and no
  /// transition is reported for it. Unknown nodes are ignored.
  void remove(const std::string& node);

  /// Every peer, sorted, and the paths (sorted ids) that reach each.
  std::vector<std::string> peers() const;
  std::vector<std::string> paths_of(const std::string& node) const;
  /// Peers currently alive (a stopped peer is not).
  std::set<std::string> alive() const;

 private:
  struct Peer {
    PeerState state = PeerState::kUnknown;
    std::map<std::string, PathWatcher> paths;  // path id -> watcher
    uint64_t boot = 0;                         // newest boot id heard
    uint64_t stopped_boot = 0;                 // the boot that announced its stop (state kStopped)
  };
  std::map<std::string, Peer> peers_;
  bool external_ = false;
};

}  // namespace vigil::membership

#endif  // VIGIL_MEMBERSHIP_PEER_TABLE_H_
