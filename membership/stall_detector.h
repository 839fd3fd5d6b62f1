// Local-stall awareness: measures how long this daemon's own loop was not
// running (SIGSTOP, CPU starvation, a blocked thread), so peers are not
// declared stale for time this node was not listening.
//
// The daemon calls on_tick() from a periodic timer. The time elapsed since
// the previous tick beyond `period + tolerance` is a stall; the peer table is
// credited with it (PeerTable::credit), which extends every deadline.
#ifndef VIGIL_MEMBERSHIP_STALL_DETECTOR_H_
#define VIGIL_MEMBERSHIP_STALL_DETECTOR_H_

#include <chrono>
#include <optional>

namespace vigil::membership {

class StallDetector {
 public:
  using Clock = std::chrono::steady_clock;
  using Duration = std::chrono::milliseconds;

  /// `period`: the tick period in ms. `tolerance`: scheduling jitter, in ms,
  /// that is not counted as a stall.
  StallDetector(Duration period, Duration tolerance) : period_(period), tolerance_(tolerance) {}

  /// Called once per tick with the current steady time. Returns the stall
  /// length in ms (0 when the tick came on time). The first call returns 0.
  Duration on_tick(Clock::time_point now);

  /// Sum of every stall measured since construction, ms.
  Duration total() const { return total_; }

 private:
  Duration period_;
  Duration tolerance_;
  std::optional<Clock::time_point> last_;
  Duration total_{0};
};

}  // namespace vigil::membership

#endif  // VIGIL_MEMBERSHIP_STALL_DETECTOR_H_
