// Suspicion of one member, with Lifeguard's dynamic timeout (Dadgar,
// Phillips, Currey, "Lifeguard: Local Health Awareness for More Accurate
// Failure Detection", arXiv 1707.00788, section IV-B, "Dynamic
// suspicion timeouts"). A member suspected by this node is declared failed
// when its suspicion times out, unless it refutes it first. The timeout
// starts at `max` and shrinks toward `min` as other members independently
// confirm the suspicion:
//
//   timeout(C) = max(min, max - (max - min) * log(C + 1) / log(K + 1))
//
// where C is the number of distinct confirmations so far and K the number
// expected (with K = 0 the timeout is `min` at once). Early on, when few
// members have had a chance to notice, a slow member has longer to refute;
// once K others agree, the timeout is as short as SWIM's.
//
// Pure logic on the caller's clock. Not thread-safe.
#ifndef VIGIL_MEMBERSHIP_SUSPICION_H_
#define VIGIL_MEMBERSHIP_SUSPICION_H_

#include <chrono>
#include <cstddef>
#include <set>
#include <string>

namespace vigil::membership {

class Suspicion {
 public:
  using Clock = std::chrono::steady_clock;
  using Duration = std::chrono::milliseconds;

  /// Starts a suspicion at `now`, raised by `from` (not counted as a
  /// confirmation). `expected` is K; requires min <= max.
  Suspicion(std::string from, std::size_t expected, Duration min, Duration max,
            Clock::time_point now);

  /// Another member suspects the same incarnation. Returns true when `from`
  /// is new (neither the first suspecter nor a repeat) and the count is
  /// below K: the deadline moves earlier, and the caller may spread the
  /// confirmation on; false otherwise (nothing changes).
  bool confirm(const std::string& from);

  /// When the suspicion times out: start + timeout(confirmations()).
  Clock::time_point deadline() const;
  /// The timeout for the confirmations so far, ms.
  Duration timeout() const;
  std::size_t confirmations() const { return confirmed_.size(); }
  /// The local loop stalled for `d`: the deadline moves later by it.
  void extend(Duration d) { start_ += d; }

  /// timeout(C) for K expected (the formula above).
  static Duration timeout_for(std::size_t confirmations, std::size_t expected, Duration min,
                              Duration max);

 private:
  std::string from_;
  std::size_t expected_;
  Duration min_, max_;
  Clock::time_point start_;
  std::set<std::string> confirmed_;
};

}  // namespace vigil::membership

#endif  // VIGIL_MEMBERSHIP_SUSPICION_H_
