// Boot id + sequence anti-replay window (RFC 4303 section 3.4.3) with a
// clock-skew bound.
#include "crypto/replay_window.h"

namespace vigil::crypto {
namespace {

// |a - b| without signed overflow for any pair of int64 values.
uint64_t abs_diff(int64_t a, int64_t b) {
  return a >= b ? static_cast<uint64_t>(a) - static_cast<uint64_t>(b)
                : static_cast<uint64_t>(b) - static_cast<uint64_t>(a);
}

}  // namespace

const char* to_string(ReplayVerdict v) {
  switch (v) {
    case ReplayVerdict::kFresh:
      return "fresh";
    case ReplayVerdict::kReplay:
      return "replay";
    case ReplayVerdict::kOldBoot:
      return "old_boot";
    case ReplayVerdict::kSkew:
      return "skew";
  }
  return "unknown";
}

ReplayVerdict ReplayWindow::check(uint64_t boot, uint64_t seq, int64_t sent_ms,
                                  int64_t now_ms) const {
  if (any_ && boot < boot_) return ReplayVerdict::kOldBoot;
  if (max_skew_ms_ >= 0 && abs_diff(sent_ms, now_ms) > static_cast<uint64_t>(max_skew_ms_)) {
    return ReplayVerdict::kSkew;
  }
  if (!any_ || boot > boot_ || seq > highest_) return ReplayVerdict::kFresh;
  if (highest_ - seq >= kWindow || seen(seq)) return ReplayVerdict::kReplay;
  return ReplayVerdict::kFresh;
}

bool ReplayWindow::record(uint64_t boot, uint64_t seq) {
  if (!any_ || boot > boot_) {
    boot_ = boot;
    highest_ = seq;
    seen_.fill(0);
    mark(seq);
    any_ = true;
    return true;
  }
  if (boot < boot_) return false;
  if (seq > highest_) {
    // Clear the words entered on the way up (all of them after a long jump).
    const uint64_t from = highest_ / 64, to = seq / 64;
    if (to - from >= kWords) {
      seen_.fill(0);
    } else {
      for (uint64_t w = from + 1; w <= to; ++w) seen_[w % kWords] = 0;
    }
    highest_ = seq;
    mark(seq);
  } else if (highest_ - seq < kWindow) {
    mark(seq);
  }
  return false;
}

}  // namespace vigil::crypto
