// The broadcast queue of epidemic dissemination: updates (a member list
// entry, a node document delta, a suspicion) waiting to be piggybacked on
// the messages a node sends anyway. Each is sent a bounded number of times,
//
//   limit = retransmit_mult * ceil(log10(members + 1)),
//
// which reaches every member with high probability in O(log N) rounds
// (Demers et al., "Epidemic algorithms for replicated database
// maintenance", PODC 1987; the bound is memberlist's transmit-limited
// queue). The least transmitted updates go first, so a new one overtakes
// those already spread; among equals, the newest first. A newer update for
// the same key replaces one still queued: only the latest state of a thing
// is worth spreading.
//
// Payloads are opaque bytes; the caller encodes them. Pure logic. Not
// thread-safe.
#ifndef VIGIL_MEMBERSHIP_BROADCAST_QUEUE_H_
#define VIGIL_MEMBERSHIP_BROADCAST_QUEUE_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

namespace vigil::membership {

class BroadcastQueue {
 public:
  /// `retransmit_mult`: the λ above (memberlist's default is 4).
  explicit BroadcastQueue(int retransmit_mult = 4) : mult_(retransmit_mult) {}

  /// Queues `payload` under `key`, replacing what is queued for that key.
  /// `times`: it is sent times x limit(members) times (an update whose
  /// loss somewhere costs more, such as a refutation, may go out more).
  void queue(const std::string& key, std::string payload, bool urgent = false,
             std::size_t times = 1);
  /// Drops what is queued for `key` (the update is no longer true).
  void drop(const std::string& key);

  /// The payloads to piggyback on one message: as many as fit in `budget`
  /// bytes (sum of payload sizes): urgent first, then least transmitted,
  /// then newest.
  /// Each one returned counts one transmission, and leaves the queue once
  /// it reached limit(members).
  std::vector<std::string> take(std::size_t budget, std::size_t members);

  std::size_t pending() const { return order_.size(); }
  /// The transmission limit for a cluster of `members`: at least 1.
  std::size_t limit(std::size_t members) const;

 private:
  // Order of take(): urgent first, then fewer transmissions, then newer.
  // Sequence numbers are unique, so a rank names one update.
  struct Rank {
    bool not_urgent = true;
    std::size_t sent = 0;
    uint64_t inverse_seq = 0;  // ~seq: newer first
    auto operator<=>(const Rank&) const = default;
  };
  struct Entry {
    std::string key, payload;
    std::size_t times = 1;
  };

  int mult_;
  uint64_t next_seq_ = 0;
  std::map<Rank, Entry> order_;
  std::unordered_map<std::string, Rank> ranks_;  // key -> its rank in order_
};

}  // namespace vigil::membership

#endif  // VIGIL_MEMBERSHIP_BROADCAST_QUEUE_H_
