// The rejoin grace (OpenSVC's node.rejoin_grace): after a daemon starts, its
// split analysis does not act until every member has been heard, or until
// the grace runs out. A node that has just rebooted has not built its view of
// the cluster yet; peers it has not heard are not lost, only not heard yet.
//
// Pure logic: time is given by the caller (steady clock).
#ifndef VIGIL_AGENT_QUORUM_REJOIN_GRACE_H_
#define VIGIL_AGENT_QUORUM_REJOIN_GRACE_H_

#include <chrono>
#include <set>
#include <string>

namespace vigil::agent {

class RejoinGrace {
 public:
  using Clock = std::chrono::steady_clock;

  /// How the grace is, or ended.
  enum class State {
    kRunning,   // some member not heard yet, time left
    kAllHeard,  // every member was heard before the grace ran out
    kExpired,   // the grace ran out first
    kDisabled,  // a grace of 0, or no other member: never ran
  };

  /// Starts at `start` for the members `peers` (this node excluded), for
  /// `grace` (0 or less: disabled).
  RejoinGrace(std::set<std::string> peers, std::chrono::milliseconds grace,
              Clock::time_point start);

  /// `node` was heard. Returns true when this ended the grace: it was
  /// running, and `node` was the last member not heard yet. Unknown names
  /// and later calls change nothing.
  bool heard(const std::string& node);

  /// Returns true when the grace ran out at `now`: it was running, and
  /// `now` is at or past its end.
  bool expire(Clock::time_point now);

  State state() const { return state_; }
  bool running() const { return state_ == State::kRunning; }
  /// When a running grace ends.
  Clock::time_point deadline() const { return deadline_; }
  /// Time left at `now`, in ms: 0 once the grace is over.
  std::chrono::milliseconds remaining(Clock::time_point now) const;
  /// Time since the start at `now`, ms.
  std::chrono::milliseconds elapsed(Clock::time_point now) const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(now - (deadline_ - grace_));
  }
  /// The configured grace, ms.
  std::chrono::milliseconds grace() const { return grace_; }
  /// Members not heard since the start, sorted.
  const std::set<std::string>& unheard() const { return unheard_; }

 private:
  std::set<std::string> unheard_;
  std::chrono::milliseconds grace_;
  Clock::time_point deadline_;
  State state_;
};

/// "running", "all_heard", "expired" or "disabled".
const char* to_string(RejoinGrace::State state);

}  // namespace vigil::agent

#endif  // VIGIL_AGENT_QUORUM_REJOIN_GRACE_H_
