// Bounded reassembly of fragmented messages. Fragments are authenticated
// before they reach here; limits keep memory bounded whatever peers send.
#ifndef VIGIL_HEARTBEAT_REASSEMBLY_H_
#define VIGIL_HEARTBEAT_REASSEMBLY_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "heartbeat/drop_reason.h"

namespace vigil::heartbeat {

struct ReassemblyLimits {
  std::size_t max_message_bytes = 1 << 20;  // whole message, bytes
  std::size_t max_fragments = 1024;         // per message
  std::size_t max_pending_per_sender = 8;   // incomplete messages per sender
  std::chrono::milliseconds timeout{5000};  // since the first fragment arrived
};

class Reassembler {
 public:
  using Clock = std::chrono::steady_clock;

  explicit Reassembler(ReassemblyLimits limits = {}) : limits_(limits) {}

  /// Adds fragment `index` of `count` of message (sender, boot, msg_id).
  /// Returns the whole payload when this fragment completes the message: a
  /// view of a buffer the Reassembler holds until the next add(). A
  /// single-fragment message (count 1) is returned at once, as `data`
  /// itself: nothing is copied. On refusal
  /// returns nullopt and sets `dropped`:
  ///  - kMalformed: count 0 or index >= count; or a count that differs from
  ///    the one the message's first fragment announced (that partial is
  ///    dropped too);
  ///  - kOversize: count above max_fragments, or the message growing above
  ///    max_message_bytes (the partial is dropped).
  /// When a fragment starts a new message while its sender already has
  /// max_pending_per_sender incomplete ones, the oldest of those (by first
  /// fragment arrival) is evicted to make room and `dropped` is set to
  /// kReassemblyOverflow; the new fragment is kept. Fresh messages carry the
  /// newest state, so they win over stalled ones.
  /// An incomplete message or a duplicate fragment returns nullopt and leaves
  /// `dropped` empty. A fragment of a message that already completed starts a
  /// new partial that times out: the replay window in front of the
  /// reassembler is what removes duplicate datagrams.
  std::optional<std::span<const uint8_t>> add(const std::string& sender, uint64_t boot,
                                              uint32_t msg_id, uint16_t index, uint16_t count,
                                              std::span<const uint8_t> data, Clock::time_point now,
                                              std::optional<DropReason>& dropped);

  /// Drops incomplete messages whose first fragment arrived more than
  /// `timeout` before `now`; returns how many.
  std::size_t expire(Clock::time_point now);

  /// Forgets everything pending from `sender` (e.g. on a peer restart).
  void forget(const std::string& sender);

  std::size_t pending() const;        // incomplete messages, all senders
  std::size_t pending_bytes() const;  // bytes held, all senders

 private:
  struct Partial {
    uint16_t count = 0;
    uint16_t received = 0;
    std::size_t bytes = 0;
    Clock::time_point first;
    std::vector<std::vector<uint8_t>> parts;  // parts[i] empty until received
    std::vector<bool> have;
  };
  struct Key {
    std::string sender;
    uint64_t boot;
    uint32_t msg_id;
    auto operator<=>(const Key&) const = default;
  };
  ReassemblyLimits limits_;
  std::map<Key, Partial> partial_;
  std::vector<uint8_t> whole_;  // the last message completed from fragments
};

}  // namespace vigil::heartbeat

#endif  // VIGIL_HEARTBEAT_REASSEMBLY_H_
