#include "heartbeat/datagram.h"

#include <algorithm>
#include <array>
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

// The header is read by a small fixed-purpose msgpack reader instead of
// msgpack::unpack: it runs on every datagram, garbage included, so it must
// not allocate. It accepts exactly what msgpack::unpack accepted with the
// limits below: scalars only (depth 1), strings up to kMaxSenderBytes, bins
// up to kNonceBytes, no ext, arrays of 1..kMaxHeaderArray fields.

// One header field as read off the wire.
struct Scalar {
  enum Kind { kUint, kNegInt, kStr, kBin, kOther } kind = kOther;
  uint64_t u = 0;                  // kUint
  int64_t i = 0;                   // kNegInt
  std::span<const uint8_t> bytes;  // kStr, kBin
};

class Reader {
 public:
  explicit Reader(std::span<const uint8_t> in) : in_(in) {}
  std::size_t offset() const { return pos_; }

  // Big-endian unsigned integer of `n` bytes; false when truncated.
  bool be(std::size_t n, uint64_t& out) {
    if (in_.size() - pos_ < n) return false;
    out = 0;
    for (std::size_t k = 0; k < n; ++k) out = (out << 8) | in_[pos_ + k];
    pos_ += n;
    return true;
  }

  bool array_header(uint32_t& n) {
    if (pos_ >= in_.size()) return false;
    const uint8_t t = in_[pos_++];
    uint64_t v = 0;
    if (t >= 0x90 && t <= 0x9f) {
      n = t & 0x0f;
      return true;
    }
    if (t == 0xdc && be(2, v)) {
      n = static_cast<uint32_t>(v);
      return true;
    }
    if (t == 0xdd && be(4, v)) {
      n = static_cast<uint32_t>(v);
      return true;
    }
    return false;
  }

  // One scalar; false on truncation, containers, ext, or sizes above the
  // limits.
  bool scalar(Scalar& s) {
    if (pos_ >= in_.size()) return false;
    const uint8_t t = in_[pos_++];
    uint64_t v = 0;
    if (t <= 0x7f) return set_uint(s, t);
    if (t >= 0xe0) return set_int(s, static_cast<int8_t>(t));
    if (t >= 0xa0 && t <= 0xbf) return blob(s, Scalar::kStr, t & 0x1f, kMaxSenderBytes);
    switch (t) {
      case 0xc0:  // nil
      case 0xc2:  // false
      case 0xc3:  // true
        s.kind = Scalar::kOther;
        return true;
      case 0xca:
        s.kind = Scalar::kOther;
        return be(4, v);
      case 0xcb:
        s.kind = Scalar::kOther;
        return be(8, v);
      case 0xcc:
        return be(1, v) && set_uint(s, v);
      case 0xcd:
        return be(2, v) && set_uint(s, v);
      case 0xce:
        return be(4, v) && set_uint(s, v);
      case 0xcf:
        return be(8, v) && set_uint(s, v);
      case 0xd0:
        return be(1, v) && set_int(s, static_cast<int8_t>(v));
      case 0xd1:
        return be(2, v) && set_int(s, static_cast<int16_t>(v));
      case 0xd2:
        return be(4, v) && set_int(s, static_cast<int32_t>(v));
      case 0xd3:
        return be(8, v) && set_int(s, static_cast<int64_t>(v));
      case 0xd9:
        return be(1, v) && blob(s, Scalar::kStr, v, kMaxSenderBytes);
      case 0xda:
        return be(2, v) && blob(s, Scalar::kStr, v, kMaxSenderBytes);
      case 0xdb:
        return be(4, v) && blob(s, Scalar::kStr, v, kMaxSenderBytes);
      case 0xc4:
        return be(1, v) && blob(s, Scalar::kBin, v, crypto::kNonceBytes);
      case 0xc5:
        return be(2, v) && blob(s, Scalar::kBin, v, crypto::kNonceBytes);
      case 0xc6:
        return be(4, v) && blob(s, Scalar::kBin, v, crypto::kNonceBytes);
      default:  // containers (depth limit), ext (limit 0), 0xc1 (never used)
        return false;
    }
  }

 private:
  static bool set_uint(Scalar& s, uint64_t v) {
    s.kind = Scalar::kUint;
    s.u = v;
    return true;
  }
  // msgpack-c reads a signed encoding of a non-negative value as unsigned.
  static bool set_int(Scalar& s, int64_t v) {
    if (v >= 0) return set_uint(s, static_cast<uint64_t>(v));
    s.kind = Scalar::kNegInt;
    s.i = v;
    return true;
  }
  bool blob(Scalar& s, Scalar::Kind kind, uint64_t size, std::size_t limit) {
    if (size > limit || in_.size() - pos_ < size) return false;
    s.kind = kind;
    s.bytes = in_.subspan(pos_, size);
    pos_ += size;
    return true;
  }

  std::span<const uint8_t> in_;
  std::size_t pos_ = 0;
};

// Each reader returns false when the field has the wrong type or range.
bool read_uint(const Scalar& o, uint64_t max, uint64_t& out) {
  if (o.kind != Scalar::kUint || o.u > max) return false;
  out = o.u;
  return true;
}

bool read_int64(const Scalar& o, int64_t& out) {
  if (o.kind == Scalar::kNegInt) {
    out = o.i;
    return true;
  }
  uint64_t u = 0;
  if (!read_uint(o, static_cast<uint64_t>(std::numeric_limits<int64_t>::max()), u)) return false;
  out = static_cast<int64_t>(u);
  return true;
}

bool read_header_fields(const Scalar* f, Header& h) {
  uint64_t u = 0;
  if (!read_uint(f[kFieldCluster], std::numeric_limits<uint64_t>::max(), h.cluster_id)) {
    return false;
  }
  const Scalar& sender = f[kFieldSender];
  if (sender.kind != Scalar::kStr || sender.bytes.empty() ||
      sender.bytes.size() > kMaxSenderBytes) {
    return false;
  }
  h.sender.assign(reinterpret_cast<const char*>(sender.bytes.data()), sender.bytes.size());
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
  const Scalar& nonce = f[kFieldNonce];
  if (nonce.kind != Scalar::kBin || nonce.bytes.size() != h.nonce.size()) return false;
  std::copy_n(nonce.bytes.begin(), h.nonce.size(), h.nonce.begin());
  return true;
}

std::optional<ParsedDatagram> parse(std::span<const uint8_t> bytes, DropReason& why) {
  if (bytes.size() > kMaxDatagramBytes) {
    why = DropReason::kOversize;
    return std::nullopt;
  }
  Reader r(bytes);
  uint32_t n = 0;
  // The fields of this version; those of a longer (future) header are
  // parsed too, into `extra`, for the version check below.
  std::array<Scalar, kHeaderFields> f;
  Scalar extra;
  if (!r.array_header(n) || n == 0 || n > kMaxHeaderArray) {
    why = DropReason::kMalformed;
    return std::nullopt;
  }
  for (uint32_t k = 0; k < n; ++k) {
    if (!r.scalar(k < kHeaderFields ? f[k] : extra)) {
      why = DropReason::kMalformed;
      return std::nullopt;
    }
  }
  if (f[kFieldMagic].kind != Scalar::kUint || f[kFieldMagic].u != kMagic) {
    why = DropReason::kBadMagic;
    return std::nullopt;
  }
  if (n <= kFieldVersion || f[kFieldVersion].kind != Scalar::kUint ||
      f[kFieldVersion].u != kProtocolVersion) {
    why = DropReason::kBadVersion;
    return std::nullopt;
  }
  ParsedDatagram d;
  if (n != kHeaderFields || !read_header_fields(f.data(), d.header)) {
    why = DropReason::kMalformed;
    return std::nullopt;
  }
  d.ad = bytes.first(r.offset());
  d.ciphertext = bytes.subspan(r.offset());
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
  // One buffer: the header is written first, then sealed over as the
  // additional data while the ciphertext is appended behind it (the
  // reserve keeps the header where it is).
  std::vector<uint8_t> out;
  out.reserve(kMaxHeaderBytes + payload.size() + crypto::kTagBytes);
  detail::VectorWriter writer(out);
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

  const std::size_t header = out.size();
  const std::size_t total = header + payload.size() + crypto::kTagBytes;
  if (total > kMaxDatagramBytes) {
    throw std::length_error("datagram of " + std::to_string(total) + " bytes exceeds " +
                            std::to_string(kMaxDatagramBytes));
  }
  crypto::seal(key, h.nonce, std::span<const uint8_t>(out.data(), header), payload, out);
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
