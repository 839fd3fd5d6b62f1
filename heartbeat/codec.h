// The sealing and opening pipelines between messages and datagrams.
//
// Sealer: payload -> fragments of at most `budget` plaintext bytes, each
// sealed on its own with the current key, a fresh seq and a shared msg_id.
// Opener: datagram -> header parse -> cluster/sender/key checks -> AEAD open
// -> replay window -> reassembly -> payload. Every drop is counted by reason.
#ifndef VIGIL_HEARTBEAT_CODEC_H_
#define VIGIL_HEARTBEAT_CODEC_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "crypto/keyring.h"
#include "crypto/replay_window.h"
#include "heartbeat/drop_reason.h"
#include "heartbeat/reassembly.h"

namespace vigil::heartbeat {

/// Default plaintext budget per datagram, bytes.
inline constexpr std::size_t kDefaultFragmentBudget = 1200;

class Sealer {
 public:
  /// `keyring` must outlive the Sealer; its current key seals.
  Sealer(uint64_t cluster_id, std::string sender, uint64_t boot, const crypto::Keyring& keyring,
         std::size_t budget = kDefaultFragmentBudget);

  /// Splits and seals `payload`; `now_ms` is wall time, ms since the epoch.
  /// Returns one datagram per fragment (at least one, even for an empty
  /// payload). Throws std::length_error above 65535 fragments.
  std::vector<std::vector<uint8_t>> seal(std::span<const uint8_t> payload, int64_t now_ms);

  uint64_t boot() const { return boot_; }
  uint64_t last_seq() const { return seq_; }

 private:
  uint64_t cluster_id_;
  std::string sender_;
  uint64_t boot_;
  const crypto::Keyring& keyring_;
  std::size_t budget_;
  uint64_t seq_ = 0;
  uint32_t msg_id_ = 0;
};

struct OpenerOptions {
  int64_t max_skew_ms = 30000;
  ReassemblyLimits reassembly;
};

class Opener {
 public:
  using Clock = std::chrono::steady_clock;

  /// `members`: node names accepted as senders (the local node excluded by
  /// the caller or by `self`). `keyring` must outlive the Opener.
  Opener(uint64_t cluster_id, std::string self, std::set<std::string> members,
         const crypto::Keyring& keyring, OpenerOptions options = {});

  /// What one datagram yielded.
  struct Result {
    std::string sender;     // authenticated sender name
    uint64_t boot = 0;
    bool new_boot = false;  // first datagram of a newer boot of this sender
    bool duplicate = false; // authentic, but (boot, seq) already seen: liveness only
    std::optional<std::vector<uint8_t>> payload;  // set when a whole message is ready
  };

  /// Processes one datagram. Returns nullopt when it was dropped (counted in
  /// drops()); otherwise the authenticated sender and, once all fragments
  /// arrived, the message payload. `now_wall_ms`: ms since the epoch.
  std::optional<Result> open(std::span<const uint8_t> datagram, Clock::time_point now,
                             int64_t now_wall_ms);

  /// Expires stale partial messages (counted as kReassemblyTimeout).
  void expire(Clock::time_point now);

  void set_members(std::set<std::string> members) { members_ = std::move(members); }
  const DropCounters& drops() const { return drops_; }
  /// Counts a drop decided by a later stage (e.g. a payload that fails decode).
  void count_drop(DropReason r) { drops_.add(r); }

 private:
  uint64_t cluster_id_;
  std::string self_;
  std::set<std::string> members_;
  const crypto::Keyring& keyring_;
  OpenerOptions options_;
  std::map<std::string, crypto::ReplayWindow> windows_;
  Reassembler reassembler_;
  DropCounters drops_;
  std::vector<uint8_t> scratch_;
};

}  // namespace vigil::heartbeat

#endif  // VIGIL_HEARTBEAT_CODEC_H_
