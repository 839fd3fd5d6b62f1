// Liveness of one (heartbeat path, peer) pair: alive while the peer was
// heard on that path within `timeout`, stale after; stopped once the peer
// announced a clean stop, until it is heard again.
#ifndef VIGIL_MEMBERSHIP_PATH_WATCHER_H_
#define VIGIL_MEMBERSHIP_PATH_WATCHER_H_

#include <chrono>
#include <optional>

#include "membership/peer_state.h"

namespace vigil::membership {

class PathWatcher {
 public:
  using Clock = std::chrono::steady_clock;
  using Duration = std::chrono::milliseconds;

  explicit PathWatcher(Duration timeout) : timeout_(timeout) {}

  /// An authenticated datagram arrived at `now`. Returns true when this made
  /// the path alive (from unknown, stale or stopped).
  bool heard(Clock::time_point now);

  /// Returns true when the path just turned stale: alive, and nothing heard
  /// for more than the timeout (ms) before `now`.
  bool check(Clock::time_point now);

  /// The peer announced a clean stop: the path is kStopped, and check()
  /// never turns it stale. Reports nothing.
  void stop() { state_ = PeerState::kStopped; }

  /// Another detector (gossip mode's SWIM) declared the peer dead: an alive
  /// path turns stale. Returns true when it did.
  bool mark_stale() {
    if (state_ != PeerState::kAlive) return false;
    state_ = PeerState::kStale;
    return true;
  }

  /// Moves the last-heard time forward by `d` ms (never past `now`): time
  /// this daemon was stalled is not counted against the peer.
  void credit(Duration d, Clock::time_point now);

  PeerState state() const { return state_; }
  std::optional<Clock::time_point> last_heard() const { return last_; }
  Duration timeout() const { return timeout_; }
  /// A reload changed the timeout: the next check() uses it.
  void set_timeout(Duration timeout) { timeout_ = timeout; }

 private:
  Duration timeout_;
  PeerState state_ = PeerState::kUnknown;
  std::optional<Clock::time_point> last_;
};

}  // namespace vigil::membership

#endif  // VIGIL_MEMBERSHIP_PATH_WATCHER_H_
