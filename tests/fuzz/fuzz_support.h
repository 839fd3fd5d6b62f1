// Fixtures shared by the heartbeat fuzz target and the seed corpus generator:
// the fixed cluster, key and clocks every input is interpreted against, and
// the input format of fuzz_datagram. Seeds written with these constants open
// as authentic datagrams inside the fuzz target.
#ifndef VIGIL_TESTS_FUZZ_FUZZ_SUPPORT_H_
#define VIGIL_TESTS_FUZZ_FUZZ_SUPPORT_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "crypto/key.h"
#include "crypto/keyring.h"

namespace vigil::fuzz {

inline constexpr std::string_view kCluster = "fuzz";
/// Key version held by the fuzz keyring; kForeignKeyVersion is not held.
inline constexpr uint32_t kKeyVersion = 1;
inline constexpr uint32_t kForeignKeyVersion = 2;
/// Sender boot id of every seed; fuzz inputs add a small offset to it.
inline constexpr uint64_t kBoot = 1717000000000000;
/// The receiver's wall clock (ms since the epoch) for every input, so that
/// seeds sealed with this send time pass the clock-skew check.
inline constexpr int64_t kNowWallMs = 1717000000000;

/// The local node is "n1"; "n2" and "n3" are the peers that may send.
inline constexpr std::string_view kSelf = "n1";

/// First byte of a fuzz_datagram input, modulo kModeCount.
enum class DatagramMode : uint8_t {
  /// The rest is one datagram for Opener::open.
  kRaw = 0,
  /// The rest is a train of datagrams, each led by its length (u16 LE).
  kRawTrain = 1,
  /// The rest is a list of fragment records (see FragmentRecord), each
  /// sealed with the real key, then opened; payloads that complete decode.
  kFragments = 2,
  /// [budget u16 LE][order u8] then plaintext: Sealer splits and seals the
  /// plaintext, the fragments are delivered in the chosen order, and the
  /// message must come back whole.
  kSealerRoundTrip = 3,
  /// The rest goes straight to heartbeat::decode.
  kDecode = 4,
  /// [plaintext length u8][plaintext][edits]: a sealed datagram of that
  /// plaintext is edited (each edit: position u16 LE, kind u8, value u8) and
  /// must open only when no edit changed it.
  kTamper = 5,
  kModeCount = 6,
};

/// Layout of one fragment record in DatagramMode::kFragments:
///   flags u8, sender u8, boot u8, msg_id u8, index u8, count u8,
///   advance_ms u16 LE, length u16 LE, then `length` payload bytes.
/// flags bit 0: unknown key version; bit 1: send time outside the skew
/// window; bit 2: reuse the previous seq; bit 3: expire before opening;
/// bit 4: count and index are scaled up (x257) to reach the fragment limits;
/// bit 5: the seq jumps past the replay window; bit 6: this datagram takes
/// an older seq (1 + index below the last), inside the window.
inline constexpr std::size_t kFragmentRecordHeader = 10;
enum FragmentFlags : uint8_t {
  kFlagForeignKey = 1 << 0,
  kFlagSkewed = 1 << 1,
  kFlagRepeatSeq = 1 << 2,
  kFlagExpire = 1 << 3,
  kFlagWide = 1 << 4,
  kFlagSeqJump = 1 << 5,
  kFlagSeqBack = 1 << 6,
};

/// Sender names a record's sender byte selects (modulo the size): two
/// members, the local node and a stranger.
inline constexpr std::string_view kSenders[] = {"n2", "n3", "n1", "n4"};

/// Secret of the fuzz cluster: 32 bytes of 0x5a.
inline crypto::Secret secret() {
  crypto::Secret s;
  s.fill(0x5a);
  return s;
}

/// The keyring of the fuzz cluster: kKeyVersion only, current.
inline crypto::Keyring keyring() {
  crypto::init();
  crypto::Keyring ring;
  ring.add(kKeyVersion, crypto::derive_key(secret(), kCluster, kKeyVersion));
  return ring;
}

}  // namespace vigil::fuzz

#endif  // VIGIL_TESTS_FUZZ_FUZZ_SUPPORT_H_
