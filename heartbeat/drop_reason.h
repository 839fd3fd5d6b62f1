// Why a received datagram was dropped, and per-reason counters.
#ifndef VIGIL_HEARTBEAT_DROP_REASON_H_
#define VIGIL_HEARTBEAT_DROP_REASON_H_

#include <array>
#include <cstdint>
#include <string_view>

namespace vigil::heartbeat {

enum class DropReason : uint8_t {
  kMalformed = 0,       // header does not parse, or the message does not decode
  kBadMagic,            // not a vigil datagram
  kBadVersion,          // unsupported protocol version
  kBadCluster,          // cluster id of another cluster
  kUnknownSender,       // sender is not a cluster member, or is this node
  kUnknownKey,          // key version not in the keyring
  kBadTag,              // AEAD authentication failed (wrong key, forged, truncated)
  kReplay,              // (boot, seq) already seen
  kOldBoot,             // from an older incarnation of the sender
  kSkew,                // send timestamp outside the accepted clock skew
  kOversize,            // datagram, fragment count or message above the limits
  kReassemblyTimeout,   // fragments of a message that never completed
  kReassemblyOverflow,  // too many messages pending reassembly for one sender
  kBadDocument,         // authentic, but the node document it carries breaks the schema
  kCount
};

/// Stable snake_case name, e.g. "bad_cluster"; used in `hb status` and metrics.
std::string_view to_string(DropReason reason);

/// Drop counters indexed by DropReason.
struct DropCounters {
  std::array<uint64_t, static_cast<std::size_t>(DropReason::kCount)> by_reason{};
  void add(DropReason r, uint64_t n = 1) { by_reason[static_cast<std::size_t>(r)] += n; }
  uint64_t get(DropReason r) const { return by_reason[static_cast<std::size_t>(r)]; }
  uint64_t total() const;
};

}  // namespace vigil::heartbeat

#endif  // VIGIL_HEARTBEAT_DROP_REASON_H_
