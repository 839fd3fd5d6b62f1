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
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "crypto/keyring.h"
#include "crypto/nonce_sequence.h"
#include "crypto/replay_window.h"
#include "heartbeat/drop_reason.h"
#include "heartbeat/reassembly.h"

namespace vigil::heartbeat {

/// Default plaintext budget per datagram, bytes.
inline constexpr std::size_t kDefaultFragmentBudget = 1200;

class Sealer {
 public:
  /// `keyring` must outlive the Sealer; its current key seals. `sender`: the
  /// local node name (1..kMaxSenderBytes bytes); `boot`: this daemon start's
  /// boot id, growing across restarts; `budget`: plaintext bytes per
  /// datagram. Throws std::invalid_argument when `sender` is empty or too
  /// long, or `budget` is 0 or leaves no room under kMaxDatagramBytes for the
  /// header and tag.
  Sealer(uint64_t cluster_id, std::string sender, uint64_t boot, const crypto::Keyring& keyring,
         std::size_t budget = kDefaultFragmentBudget);

  /// Splits and seals `payload`; `now_ms` is wall time, ms since the epoch.
  /// Returns one datagram per fragment (at least one, even for an empty
  /// payload), in fragment order. Every datagram takes the next seq (from 1)
  /// and the next nonce of this Sealer (crypto/nonce_sequence.h); all fragments of one call share a
  /// new msg_id (from 1). Throws std::length_error above 65535 fragments and std::logic_error when
  /// the keyring is empty.
  std::vector<std::vector<uint8_t>> seal(std::span<const uint8_t> payload, int64_t now_ms);
  /// The same, sealed with the key of `key_version` instead of the current
  /// one (a catch-up heartbeat for a peer that lacks the current version).
  /// Throws std::logic_error when the keyring does not hold it.
  std::vector<std::vector<uint8_t>> seal(std::span<const uint8_t> payload, int64_t now_ms,
                                         uint32_t key_version);

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
  crypto::NonceSequence nonces_;
};

struct OpenerOptions {
  /// Accepted |sender clock - local clock| in ms; negative disables the check.
  int64_t max_skew_ms = 30000;
  ReassemblyLimits reassembly;
};

class Opener {
 public:
  using Clock = std::chrono::steady_clock;

  /// `members`: node names accepted as senders (the local node excluded by
  /// the caller or by `self`). `keyring` must outlive the Opener.
  Opener(uint64_t cluster_id, std::string self, const std::set<std::string>& members,
         const crypto::Keyring& keyring, OpenerOptions options = {});

  /// What one datagram yielded.
  struct Result {
    std::string sender;  // authenticated sender name
    uint64_t boot = 0;
    bool new_boot = false;   // first datagram of a newer boot of this sender
    bool duplicate = false;  // authentic, but (boot, seq) already seen: not processed again
    /// The (boot, seq) is new on the path it came by: evidence that `sender`
    /// is alive on that path. A copy of a datagram over a second path is
    /// heard on that path; a replay on a path that already carried it is not.
    bool heard = false;
    /// Set when a whole message is ready: a view of the Opener's buffers,
    /// valid until its next open().
    std::optional<std::span<const uint8_t>> payload;
  };

  /// What open() did with one datagram: the result, unless it was dropped,
  /// and the drop it counted, if any. Tests like an optional<Result>.
  struct Opened {
    std::optional<Result> result;    // nullopt: the datagram was dropped
    std::optional<DropReason> drop;  // the drop counted in drops() for it
    /// For kUnknownKey and kBadTag: the member the header names (not
    /// authenticated) and the key version it was sealed with.
    std::string claimed_sender;
    uint32_t key_version = 0;
    explicit operator bool() const { return result.has_value(); }
    const Result* operator->() const { return &*result; }
    Result* operator->() { return &*result; }
    const Result& operator*() const { return *result; }
  };

  /// Processes one datagram. Returns no result when it was dropped, with the
  /// reason (also counted in drops()); otherwise the authenticated sender
  /// and, once all fragments arrived, the message payload, with any drop
  /// counted on the way (kReplay for a duplicate, a refused fragment, an
  /// eviction). `now` drives the reassembly timeout;
  /// `now_wall_ms` (ms since the epoch) the clock-skew check.
  ///
  /// Checks in order: header (kOversize, kMalformed, kBadMagic, kBadVersion),
  /// cluster id (kBadCluster), sender a member and not `self`
  /// (kUnknownSender), key version in the keyring (kUnknownKey), AEAD
  /// (kBadTag), replay window (kOldBoot, kSkew: dropped). An authentic
  /// datagram whose (boot, seq) was already recorded, or fell behind the
  /// window, is counted as kReplay and still returned with duplicate = true
  /// and no payload: a copy arriving over a second path proves that path
  /// alive. Once a fresh datagram is recorded a Result is always returned;
  /// a fragment the reassembler refuses (kMalformed, kOversize) or an
  /// eviction it makes (kReassemblyOverflow) is counted but does not hide
  /// the sender or new_boot. On new_boot the sender's partial messages of
  /// older boots are forgotten (not counted). `path` numbers the heartbeat
  /// path the datagram came by: Result::heard is kept per (sender, path),
  /// with a replay window of its own, so that only a (boot, seq) new on a
  /// path counts as hearing the sender there.
  Opened open(std::span<const uint8_t> datagram, Clock::time_point now, int64_t now_wall_ms,
              std::size_t path = 0);

  /// Expires stale partial messages (counted as kReassemblyTimeout); call
  /// periodically, e.g. every timeout / 2.
  void expire(Clock::time_point now);

  /// Incomplete messages held for reassembly, all senders.
  std::size_t pending() const { return reassembler_.pending(); }

  void set_members(const std::set<std::string>& members) {
    members_ = {members.begin(), members.end()};
  }
  const DropCounters& drops() const { return drops_; }
  /// Counts a drop decided by a later stage (e.g. a payload that fails decode).
  void count_drop(DropReason r) { drops_.add(r); }

 private:
  /// Counts `why` and returns it as the outcome of a dropped datagram.
  Opened drop(DropReason why);

  uint64_t cluster_id_;
  std::string self_;
  std::unordered_set<std::string> members_;  // found once per datagram
  const crypto::Keyring& keyring_;
  OpenerOptions options_;
  struct SenderWindows {
    explicit SenderWindows(int64_t max_skew_ms) : all(max_skew_ms) {}
    crypto::ReplayWindow all;  // every path: what is fresh
    // Per path: which (boot, seq) each path has carried.
    std::vector<std::pair<std::size_t, crypto::ReplayWindow>> paths;
    crypto::ReplayWindow& on_path(std::size_t path, int64_t max_skew_ms);
  };
  std::unordered_map<std::string, SenderWindows> windows_;
  Reassembler reassembler_;
  DropCounters drops_;
  std::vector<uint8_t> scratch_;
};

}  // namespace vigil::heartbeat

#endif  // VIGIL_HEARTBEAT_CODEC_H_
