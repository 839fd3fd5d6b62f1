// Receive moderation: when a heartbeat path reads its socket.
//
// At idle a path waits for the socket to become readable and reads what is
// queued at once, so a heartbeat is handled as soon as it arrives. Under a
// stream of datagrams (a flood of garbage, a burst of patches) one wake-up per
// datagram costs more than the datagram: a context switch and an epoll_wait,
// several µs each on a virtual machine, against well under 1 µs to read a
// datagram with recvmmsg(2) and reject it. So when two wake-ups come closer
// together than the poll interval, the path stops waiting for readiness and
// polls instead: it reads the socket once per poll interval, a batch per
// system call, and goes back to waiting when a poll finds the socket empty.
//
// This is the scheme of Linux's NAPI and of a NIC's interrupt moderation,
// applied to one UDP socket. Its cost is latency: a datagram that arrives
// while polling waits at most one poll interval (default 500 µs), against a
// heartbeat interval of hundreds of ms. The socket's receive buffer must hold
// what arrives during one interval: 4 MiB holds about 5,000 small datagrams,
// 10 ms at 500k/s.
#ifndef VIGIL_HEARTBEAT_RECEIVE_MODERATION_H_
#define VIGIL_HEARTBEAT_RECEIVE_MODERATION_H_

#include <chrono>
#include <cstddef>

namespace vigil::heartbeat {

/// Default time between two polls of a busy socket, µs.
inline constexpr std::chrono::microseconds kDefaultPollInterval{500};

/// Decides, after each read pass over a socket, how the next one starts.
/// Pure logic: the caller reads the socket and keeps the clock. Not
/// thread-safe; one per socket.
class ReceiveModeration {
 public:
  using Clock = std::chrono::steady_clock;

  enum class Next {
    kWaitReadable,  // wait for readiness (epoll), then read
    kPollNow,       // the pass stopped at its cap: read again once pending handlers ran
    kPollLater,     // read again after poll_interval(), without waiting for readiness
  };

  /// `poll_interval` > 0; throws std::invalid_argument otherwise.
  explicit ReceiveModeration(std::chrono::microseconds poll_interval = kDefaultPollInterval);

  /// Called after every read pass. `now`: when the pass started; `datagrams`:
  /// how many it read (0 for a spurious wake-up or an empty poll); `capped`:
  /// it stopped at its per-pass limit with datagrams possibly left.
  ///   - capped: switch to polling (if not yet), kPollNow;
  ///   - nothing read: back to waiting, kWaitReadable;
  ///   - polling, something read: kPollLater;
  ///   - waiting, and the previous readiness wake-up was less than one poll
  ///     interval before `now`: switch to polling, kPollLater;
  ///   - otherwise kWaitReadable.
  Next after_read(Clock::time_point now, std::size_t datagrams, bool capped);

  /// True between the switch to polling and the next empty poll.
  bool polling() const { return polling_; }
  std::chrono::microseconds poll_interval() const { return poll_interval_; }
  /// Forgets the history (the socket was reopened): the next pass starts
  /// from waiting.
  void reset();

 private:
  std::chrono::microseconds poll_interval_;
  bool polling_ = false;
  Clock::time_point last_wake_{};
};

}  // namespace vigil::heartbeat

#endif  // VIGIL_HEARTBEAT_RECEIVE_MODERATION_H_
