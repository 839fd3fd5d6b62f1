// Datagrams that name a cluster member as their sender but fail
// authentication: sealed with a key version this node does not hold, or
// with another key for a version it holds (a key mismatch after a
// rotation went wrong, or a forgery). The `bad_tag` and `unknown_key` drop
// counters say that it happens; this says who and why, in the log and in
// `vigil hb status`.
//
// The sender is the one the clear header names: it is not authenticated,
// so an attacker can blame any member. What is reported is "datagrams
// claiming to be from n2", never proof that n2 sent them.
//
// Runs on the daemon's io_context thread; not thread-safe.
#ifndef VIGIL_AGENT_ENGINE_AUTH_FAILURES_H_
#define VIGIL_AGENT_ENGINE_AUTH_FAILURES_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "heartbeat/drop_reason.h"

namespace vigil::agent {

class AuthFailures {
 public:
  using Clock = std::chrono::steady_clock;

  /// A datagram claiming `sender` failed with `reason` (kUnknownKey or
  /// kBadTag) under `key_version`. Logs a warning for the first one of a
  /// sender and then at most once per `kLogEvery`, with the count since.
  void failed(const std::string& sender, heartbeat::DropReason reason, uint32_t key_version,
              Clock::time_point now);
  /// A datagram of `sender` authenticated: logs, once, that it recovered.
  /// Called for every authentic datagram: no lookup until a failure was seen.
  void authenticated(const std::string& sender) {
    if (!senders_.empty()) recovered(sender);
  }

  /// For `hb status`: {sender: {"count": n, "reason": "key mismatch" |
  /// "unknown key version", "key_version": v, "last_ms": ms ago}}; {} when
  /// none ever failed.
  nlohmann::json status(Clock::time_point now) const;

  static constexpr std::chrono::seconds kLogEvery{30};

 private:
  struct Sender {
    uint64_t count = 0;
    uint64_t unlogged = 0;  // failures since the last log line
    heartbeat::DropReason reason = heartbeat::DropReason::kBadTag;
    uint32_t key_version = 0;
    Clock::time_point last{};
    Clock::time_point logged{};
    bool failing = false;  // no authentic datagram since the last failure
  };
  void recovered(const std::string& sender);

  std::map<std::string, Sender> senders_;
};

}  // namespace vigil::agent

#endif  // VIGIL_AGENT_ENGINE_AUTH_FAILURES_H_
