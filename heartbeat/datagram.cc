#include "heartbeat/datagram.h"

#include <algorithm>
#include <limits>
#include <new>
#include <stdexcept>
#include <string>

#include "heartbeat/json_msgpack.h"

namespace vigil::heartbeat {

namespace {

constexpr uint32_t kHeaderFields = 12;
// Arrays up to this size still parse far enough to report the version, so a
// future protocol with more header fields is counted as kBadVersion.
constexpr std::size_t kMaxHeaderArray = 32;

enum Field : uint32_t {
  kFieldMagic = 0,
  kFieldVersion,
  kFieldCluster,
  kFieldSender,
  kFieldKeyVersion,
  kFieldBoot,
  kFieldSeq,
  kFieldSentMs,
  kFieldMsgId,
  kFieldFragIndex,
  kFieldFragCount,
  kFieldNonce,
};

// Each reader returns false when the field has the wrong type or range.
bool read_uint(const msgpack::object& o, uint64_t max, uint64_t& out) {
  if (o.type != msgpack::type::POSITIVE_INTEGER || o.via.u64 > max) return false;
  out = o.via.u64;
  return true;
}

bool read_int64(const msgpack::object& o, int64_t& out) {
  if (o.type == msgpack::type::NEGATIVE_INTEGER) {
    out = o.via.i64;
    return true;
  }
  uint64_t u = 0;
  if (!read_uint(o, static_cast<uint64_t>(std::numeric_limits<int64_t>::max()), u)) return false;
  out = static_cast<int64_t>(u);
  return true;
}

bool read_header_fields(const msgpack::object* f, Header& h) {
  uint64_t u = 0;
  if (!read_uint(f[kFieldCluster], std::numeric_limits<uint64_t>::max(), h.cluster_id)) {
    return false;
  }
  const msgpack::object& sender = f[kFieldSender];
  if (sender.type != msgpack::type::STR || sender.via.str.size == 0 ||
      sender.via.str.size > kMaxSenderBytes) {
    return false;
  }
  h.sender.assign(sender.via.str.ptr, sender.via.str.size);
  if (!read_uint(f[kFieldKeyVersion], std::numeric_limits<uint32_t>::max(), u)) return false;
  h.key_version = static_cast<uint32_t>(u);
  if (!read_uint(f[kFieldBoot], std::numeric_limits<uint64_t>::max(), h.boot)) return false;
  if (!read_uint(f[kFieldSeq], std::numeric_limits<uint64_t>::max(), h.seq)) return false;
  if (!read_int64(f[kFieldSentMs], h.sent_ms)) return false;
  if (!read_uint(f[kFieldMsgId], std::numeric_limits<uint32_t>::max(), u)) return false;
  h.msg_id = static_cast<uint32_t>(u);
  if (!read_uint(f[kFieldFragIndex], std::numeric_limits<uint16_t>::max(), u)) return false;
  h.frag_index = static_cast<uint16_t>(u);
  if (!read_uint(f[kFieldFragCount], std::numeric_limits<uint16_t>::max(), u)) return false;
  h.frag_count = static_cast<uint16_t>(u);
  if (h.frag_count == 0 || h.frag_index >= h.frag_count) return false;
  const msgpack::object& nonce = f[kFieldNonce];
  if (nonce.type != msgpack::type::BIN || nonce.via.bin.size != h.nonce.size()) return false;
  std::copy_n(reinterpret_cast<const unsigned char*>(nonce.via.bin.ptr), h.nonce.size(),
              h.nonce.begin());
  return true;
}

std::optional<ParsedDatagram> parse(std::span<const uint8_t> bytes, DropReason& why) {
  if (bytes.size() > kMaxDatagramBytes) {
    why = DropReason::kOversize;
    return std::nullopt;
  }
  const msgpack::unpack_limit limit(/*array=*/kMaxHeaderArray, /*map=*/0,
                                    /*str=*/kMaxSenderBytes, /*bin=*/crypto::kNonceBytes,
                                    /*ext=*/0, /*depth=*/1);
  std::size_t offset = 0;
  msgpack::object_handle handle;
  try {
    handle = msgpack::unpack(reinterpret_cast<const char*>(bytes.data()), bytes.size(), offset,
                             detail::reference_input, nullptr, limit);
  } catch (const msgpack::unpack_error&) {
    why = DropReason::kMalformed;
    return std::nullopt;
  }
  const msgpack::object& root = handle.get();
  if (root.type != msgpack::type::ARRAY || root.via.array.size == 0) {
    why = DropReason::kMalformed;
    return std::nullopt;
  }
  const msgpack::object* f = root.via.array.ptr;
  const uint32_t n = root.via.array.size;
  if (f[kFieldMagic].type != msgpack::type::POSITIVE_INTEGER || f[kFieldMagic].via.u64 != kMagic) {
    why = DropReason::kBadMagic;
    return std::nullopt;
  }
  if (n <= kFieldVersion || f[kFieldVersion].type != msgpack::type::POSITIVE_INTEGER ||
      f[kFieldVersion].via.u64 != kProtocolVersion) {
    why = DropReason::kBadVersion;
    return std::nullopt;
  }
  ParsedDatagram d;
  if (n != kHeaderFields || !read_header_fields(f, d.header)) {
    why = DropReason::kMalformed;
    return std::nullopt;
  }
  d.ad = bytes.first(offset);
  d.ciphertext = bytes.subspan(offset);
  return d;
}

}  // namespace

std::vector<uint8_t> seal_datagram(const Header& h, const crypto::Key& key,
                                   std::span<const uint8_t> payload) {
  if (h.sender.empty() || h.sender.size() > kMaxSenderBytes) {
    throw std::invalid_argument("datagram sender name must be 1.." +
                                std::to_string(kMaxSenderBytes) + " bytes");
  }
  if (h.frag_count == 0 || h.frag_index >= h.frag_count) {
    throw std::invalid_argument("datagram fragment index must be below a non-zero count");
  }
  std::vector<uint8_t> ad;
  ad.reserve(kMaxHeaderBytes);
  detail::VectorWriter writer(ad);
  detail::Packer pk(writer);
  pk.pack_array(kHeaderFields);
  pk.pack_uint32(kMagic);
  pk.pack_uint8(kProtocolVersion);
  pk.pack_uint64(h.cluster_id);
  detail::pack_string(pk, h.sender);
  pk.pack_uint32(h.key_version);
  pk.pack_uint64(h.boot);
  pk.pack_uint64(h.seq);
  pk.pack_int64(h.sent_ms);
  pk.pack_uint32(h.msg_id);
  pk.pack_uint16(h.frag_index);
  pk.pack_uint16(h.frag_count);
  pk.pack_bin(static_cast<uint32_t>(h.nonce.size()));
  pk.pack_bin_body(reinterpret_cast<const char*>(h.nonce.data()),
                   static_cast<uint32_t>(h.nonce.size()));

  const std::size_t total = ad.size() + payload.size() + crypto::kTagBytes;
  if (total > kMaxDatagramBytes) {
    throw std::length_error("datagram of " + std::to_string(total) + " bytes exceeds " +
                            std::to_string(kMaxDatagramBytes));
  }
  std::vector<uint8_t> out;
  out.reserve(total);
  out.assign(ad.begin(), ad.end());
  crypto::seal(key, h.nonce, ad, payload, out);
  return out;
}

std::optional<ParsedDatagram> parse_datagram(std::span<const uint8_t> bytes, DropReason& why) {
  try {
    return parse(bytes, why);
  } catch (const std::exception&) {
    // msgpack-c zone allocation failure or any other library error: the
    // bytes are not a datagram we can use.
    why = DropReason::kMalformed;
    return std::nullopt;
  }
}

bool open_datagram(const ParsedDatagram& d, const crypto::Key& key,
                   std::vector<uint8_t>& plaintext) {
  return crypto::open(key, d.header.nonce, d.ad, d.ciphertext, plaintext);
}

}  // namespace vigil::heartbeat
