// The datagram envelope: a plain msgpack header, used whole as the AEAD
// additional data, followed by the XChaCha20-Poly1305 ciphertext of one
// fragment of a message.
//
// Header (msgpack array, in this order):
//   magic uint32 = kMagic, version uint8 = kProtocolVersion, cluster_id uint64,
//   sender str, key_version uint32, boot uint64, seq uint64, sent_ms int64,
//   msg_id uint32, frag_index uint16, frag_count uint16, nonce bin(24)
// Datagram = header bytes || ciphertext bytes.
#ifndef VIGIL_HEARTBEAT_DATAGRAM_H_
#define VIGIL_HEARTBEAT_DATAGRAM_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "crypto/aead.h"
#include "heartbeat/drop_reason.h"

namespace vigil::heartbeat {

inline constexpr uint32_t kMagic = 0x5647494c;  // "VGIL"
inline constexpr uint8_t kProtocolVersion = 1;
/// Largest datagram accepted or produced, in bytes (header + ciphertext).
inline constexpr std::size_t kMaxDatagramBytes = 65000;
/// Longest sender node name, UTF-8 bytes.
inline constexpr std::size_t kMaxSenderBytes = 255;
/// Largest encoded header, bytes: every integer at its widest msgpack form
/// and a kMaxSenderBytes sender name.
inline constexpr std::size_t kMaxHeaderBytes = 342;

struct Header {
  uint64_t cluster_id = 0;
  std::string sender;
  uint32_t key_version = 0;
  uint64_t boot = 0;    // sender's boot id (start time, us since epoch)
  uint64_t seq = 0;     // per-boot datagram sequence, from 1
  int64_t sent_ms = 0;  // sender wall clock, ms since epoch
  uint32_t msg_id = 0;  // per-boot message id, shared by its fragments
  uint16_t frag_index = 0;
  uint16_t frag_count = 1;
  crypto::Nonce nonce{};
};

/// Serializes `h` and seals `payload` under `key`; returns the datagram
/// (header bytes, then payload.size() + crypto::kTagBytes ciphertext bytes).
/// Throws std::invalid_argument for a header parse_datagram() would refuse
/// (empty sender or longer than kMaxSenderBytes, frag_count 0, frag_index >=
/// frag_count) and std::length_error above kMaxDatagramBytes.
std::vector<uint8_t> seal_datagram(const Header& h, const crypto::Key& key,
                                   std::span<const uint8_t> payload);

/// A parsed but not yet authenticated datagram; spans point into the input.
struct ParsedDatagram {
  Header header;
  std::span<const uint8_t> ad;          // the header bytes
  std::span<const uint8_t> ciphertext;  // the rest
};

/// Parses the plain header. Returns nullopt and sets `why` when the bytes are
/// not a datagram, checking in this order: more than kMaxDatagramBytes
/// (kOversize); not led by a non-empty msgpack array (kMalformed);
/// first element not kMagic (kBadMagic); second element missing or not
/// kProtocolVersion (kBadVersion); any other field count, type, range or
/// size wrong, including an empty sender, frag_count 0 and frag_index >=
/// frag_count (kMalformed). Nothing is authenticated yet. Never throws.
std::optional<ParsedDatagram> parse_datagram(std::span<const uint8_t> bytes, DropReason& why);

/// Authenticates and decrypts with `d.ad` as additional data; replaces
/// `plaintext` on success. Returns false on a bad tag or a ciphertext shorter
/// than the tag.
bool open_datagram(const ParsedDatagram& d, const crypto::Key& key,
                   std::vector<uint8_t>& plaintext);

}  // namespace vigil::heartbeat

#endif  // VIGIL_HEARTBEAT_DATAGRAM_H_
