#include "heartbeat/drop_reason.h"

#include <numeric>

namespace vigil::heartbeat {

std::string_view to_string(DropReason reason) {
  switch (reason) {
    case DropReason::kMalformed:
      return "malformed";
    case DropReason::kBadMagic:
      return "bad_magic";
    case DropReason::kBadVersion:
      return "bad_version";
    case DropReason::kBadCluster:
      return "bad_cluster";
    case DropReason::kUnknownSender:
      return "unknown_sender";
    case DropReason::kUnknownKey:
      return "unknown_key";
    case DropReason::kBadTag:
      return "bad_tag";
    case DropReason::kReplay:
      return "replay";
    case DropReason::kOldBoot:
      return "old_boot";
    case DropReason::kSkew:
      return "skew";
    case DropReason::kOversize:
      return "oversize";
    case DropReason::kReassemblyTimeout:
      return "reassembly_timeout";
    case DropReason::kReassemblyOverflow:
      return "reassembly_overflow";
    case DropReason::kBadDocument:
      return "bad_document";
    case DropReason::kCount:
      break;
  }
  return "unknown";
}

uint64_t DropCounters::total() const {
  return std::accumulate(by_reason.begin(), by_reason.end(), uint64_t{0});
}

}  // namespace vigil::heartbeat
