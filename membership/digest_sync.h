// The push-pull rule of a replicated set that heartbeats carry as a digest
// and, when due, as a whole (member_sync.h: the member list; webhook_sync.h:
// the webhooks). The whole set goes out in a heartbeat while
//   - it changed here less than kPushFor ago (a local operation, or entries
//     merged from a peer): pushed several times, against lost datagrams; or
//   - an alive peer's last digest differs from this node's: the two copies
//     differ, and each side sends its own until both merged the other's.
// Since each set's merge is a join-semilattice, two nodes that exchanged
// their copies hold the same one and the digests agree again: the push-pull
// of Demers et al., "Epidemic algorithms for replicated database
// maintenance" (PODC 1987), with the digest comparison of memberlist and
// Cassandra's gossip.
//
// Pure logic on the caller's clock. Not thread-safe.
#ifndef VIGIL_MEMBERSHIP_DIGEST_SYNC_H_
#define VIGIL_MEMBERSHIP_DIGEST_SYNC_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>

namespace vigil::membership {

/// BLAKE2b-256 of `text`, its first 8 bytes read little endian: the digest
/// of a set's canonical JSON text.
uint64_t digest64(std::string_view text);

class DigestSync {
 public:
  using Clock = std::chrono::steady_clock;
  /// How long a change is pushed in every heartbeat, ms.
  static constexpr std::chrono::milliseconds kPushFor{3000};

  explicit DigestSync(uint64_t digest) : digest_(digest) {}

  uint64_t digest() const { return digest_; }
  /// True when the next heartbeat to `alive` peers carries the whole set.
  bool due(const std::set<std::string>& alive, Clock::time_point now) const;
  /// The digest `peer` sent last.
  void heard(const std::string& peer, uint64_t digest) { digests_[peer] = digest; }
  /// The set changed here: its new digest, and a push starts.
  void changed(uint64_t digest, Clock::time_point now);
  /// True when each of `peers` sent this node's digest since the set last
  /// changed here.
  bool agreed(const std::set<std::string>& peers) const;
  /// A peer gone from the member list: its digest is compared no more.
  void drop_peer(const std::string& peer) { digests_.erase(peer); }

 private:
  uint64_t digest_;
  std::unordered_map<std::string, uint64_t> digests_;  // peer -> last digest it sent
  Clock::time_point push_until_{};
};

}  // namespace vigil::membership

#endif  // VIGIL_MEMBERSHIP_DIGEST_SYNC_H_
