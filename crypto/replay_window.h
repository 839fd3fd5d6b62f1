// Per-sender replay protection: boot id + sequence number sliding window
// (the anti-replay window of RFC 4303 section 3.4.3, kept as the ring of
// words of RFC 6479, so that sliding never shifts bits) plus a clock-skew
// bound on the send timestamp.
#ifndef VIGIL_CRYPTO_REPLAY_WINDOW_H_
#define VIGIL_CRYPTO_REPLAY_WINDOW_H_

#include <array>
#include <cstdint>

namespace vigil::crypto {

enum class ReplayVerdict {
  kFresh,    // never seen: accept
  kReplay,   // (boot, seq) already seen, or older than the window
  kOldBoot,  // boot id older than the newest boot seen from this sender
  kSkew,     // send timestamp outside +/- max_skew_ms of the local clock
};

const char* to_string(ReplayVerdict v);

/// State for one sender. Boot ids are ordered: a sender picks a boot id that
/// grows across restarts (start time in microseconds since the epoch), so a
/// smaller boot id than the newest seen is an old incarnation.
class ReplayWindow {
 public:
  /// Number of sequence numbers tracked below the highest seen.
  static constexpr uint64_t kWindow = 1024;

  /// `max_skew_ms`: largest accepted |sent_ms - now_ms|, in milliseconds; a
  /// negative value disables the skew check.
  explicit ReplayWindow(int64_t max_skew_ms = 30000) : max_skew_ms_(max_skew_ms) {}

  /// Classifies (boot, seq, sent_ms) against what was recorded, without
  /// recording anything. `sent_ms` and `now_ms` are wall times in ms since
  /// the epoch (sender's and local). Checks, in order: an older boot than
  /// the newest recorded -> kOldBoot; skew -> kSkew; for the current boot, a
  /// seq already recorded or at least kWindow below the highest -> kReplay.
  /// A newer boot, or a seq above the highest, is kFresh.
  ReplayVerdict check(uint64_t boot, uint64_t seq, int64_t sent_ms, int64_t now_ms) const;

  /// Records an authenticated (boot, seq). Call only after check() returned
  /// kFresh and the datagram opened. A newer boot resets the window to hold
  /// only `seq`; a seq above the highest slides the window up. Returns true
  /// when `boot` is newer than every boot recorded before (a peer restart or
  /// its first datagram); an older boot is ignored.
  bool record(uint64_t boot, uint64_t seq);

  uint64_t boot() const { return boot_; }

 private:
  int64_t max_skew_ms_;
  uint64_t boot_ = 0;
  uint64_t highest_ = 0;  // highest seq recorded for boot_
  bool any_ = false;      // false until the first record() for boot_
  // RFC 6479: bit (s % 64) of word (s / 64) % kWords says whether seq s was
  // seen, for s within the window below highest_. One word more than the
  // window needs, so that the word entered when highest_ moves up never
  // holds a seq still in the window.
  static constexpr uint64_t kWords = kWindow / 64 + 1;
  std::array<uint64_t, kWords> seen_{};
  bool seen(uint64_t seq) const { return (seen_[(seq / 64) % kWords] >> (seq % 64)) & 1; }
  void mark(uint64_t seq) { seen_[(seq / 64) % kWords] |= uint64_t{1} << (seq % 64); }
};

}  // namespace vigil::crypto

#endif  // VIGIL_CRYPTO_REPLAY_WINDOW_H_
