#include "heartbeat/datagram.h"

#include <limits>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <msgpack.hpp>

#include "tests/heartbeat/test_keys.h"

namespace vigil::heartbeat {
namespace {

using testing::keyring_of;

Header sample_header() {
  Header h;
  h.cluster_id = crypto::cluster_id(testing::kCluster);
  h.sender = "n2";
  h.key_version = 3;
  h.boot = 1717000000123456;
  h.seq = 42;
  h.sent_ms = 1717000000123;
  h.msg_id = 7;
  h.frag_index = 1;
  h.frag_count = 4;
  h.nonce = crypto::random_nonce();
  return h;
}

const std::vector<uint8_t> kPayload = {'h', 'e', 'l', 'l', 'o', 0, 1, 2, 255};

TEST(DatagramTest, SealParseOpenRoundTrip) {
  const crypto::Keyring ring = keyring_of(1);
  const Header h = sample_header();
  const std::vector<uint8_t> d = seal_datagram(h, ring.current(), kPayload);

  DropReason why = DropReason::kCount;
  const auto parsed = parse_datagram(d, why);
  ASSERT_TRUE(parsed.has_value());
  const Header& got = parsed->header;
  EXPECT_EQ(got.cluster_id, h.cluster_id);
  EXPECT_EQ(got.sender, h.sender);
  EXPECT_EQ(got.key_version, h.key_version);
  EXPECT_EQ(got.boot, h.boot);
  EXPECT_EQ(got.seq, h.seq);
  EXPECT_EQ(got.sent_ms, h.sent_ms);
  EXPECT_EQ(got.msg_id, h.msg_id);
  EXPECT_EQ(got.frag_index, h.frag_index);
  EXPECT_EQ(got.frag_count, h.frag_count);
  EXPECT_EQ(got.nonce, h.nonce);
  EXPECT_EQ(parsed->ad.size() + parsed->ciphertext.size(), d.size());
  EXPECT_EQ(parsed->ciphertext.size(), kPayload.size() + crypto::kTagBytes);

  std::vector<uint8_t> plain;
  ASSERT_TRUE(open_datagram(*parsed, ring.current(), plain));
  EXPECT_EQ(plain, kPayload);
}

TEST(DatagramTest, NegativeSendTimeAndEmptyPayloadRoundTrip) {
  const crypto::Keyring ring = keyring_of(1);
  Header h = sample_header();
  h.sent_ms = -5;
  const std::vector<uint8_t> d = seal_datagram(h, ring.current(), {});
  DropReason why = DropReason::kCount;
  const auto parsed = parse_datagram(d, why);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->header.sent_ms, -5);
  std::vector<uint8_t> plain{1};
  ASSERT_TRUE(open_datagram(*parsed, ring.current(), plain));
  EXPECT_TRUE(plain.empty());
}

TEST(DatagramTest, WidestHeaderFitsMaxHeaderBytes) {
  const crypto::Keyring ring = keyring_of(1);
  Header h;
  h.cluster_id = std::numeric_limits<uint64_t>::max();
  h.sender = std::string(kMaxSenderBytes, 'x');
  h.key_version = std::numeric_limits<uint32_t>::max();
  h.boot = std::numeric_limits<uint64_t>::max();
  h.seq = std::numeric_limits<uint64_t>::max();
  h.sent_ms = std::numeric_limits<int64_t>::min();
  h.msg_id = std::numeric_limits<uint32_t>::max();
  h.frag_index = std::numeric_limits<uint16_t>::max() - 1;
  h.frag_count = std::numeric_limits<uint16_t>::max();
  const std::vector<uint8_t> d = seal_datagram(h, ring.current(), {});
  DropReason why = DropReason::kCount;
  const auto parsed = parse_datagram(d, why);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->ad.size(), kMaxHeaderBytes);
  EXPECT_EQ(parsed->header.sender, h.sender);
  EXPECT_EQ(parsed->header.sent_ms, h.sent_ms);
}

TEST(DatagramTest, SealRefusesHeadersParseWouldRejectAndOversizeDatagrams) {
  const crypto::Keyring ring = keyring_of(1);
  Header h = sample_header();
  h.sender = "";
  EXPECT_THROW(seal_datagram(h, ring.current(), kPayload), std::invalid_argument);
  h.sender = std::string(kMaxSenderBytes + 1, 'x');
  EXPECT_THROW(seal_datagram(h, ring.current(), kPayload), std::invalid_argument);
  h = sample_header();
  h.frag_index = h.frag_count;
  EXPECT_THROW(seal_datagram(h, ring.current(), kPayload), std::invalid_argument);
  h = sample_header();
  const std::vector<uint8_t> big(kMaxDatagramBytes, 0);
  EXPECT_THROW(seal_datagram(h, ring.current(), big), std::length_error);
}

TEST(DatagramTest, OpenWithAnotherKeyFails) {
  const Header h = sample_header();
  const std::vector<uint8_t> d = seal_datagram(h, keyring_of(1).current(), kPayload);
  DropReason why = DropReason::kCount;
  const auto parsed = parse_datagram(d, why);
  ASSERT_TRUE(parsed.has_value());
  std::vector<uint8_t> plain;
  EXPECT_FALSE(open_datagram(*parsed, keyring_of(2).current(), plain));
}

TEST(DatagramTest, EveryHeaderByteIsAuthenticated) {
  const crypto::Keyring ring = keyring_of(1);
  const std::vector<uint8_t> good = seal_datagram(sample_header(), ring.current(), kPayload);
  DropReason why = DropReason::kCount;
  const std::size_t header_size = parse_datagram(good, why)->ad.size();
  for (std::size_t i = 0; i < header_size; ++i) {
    std::vector<uint8_t> d = good;
    d[i] ^= 0x01;
    const auto parsed = parse_datagram(d, why);
    if (!parsed) continue;  // the flip broke the header itself
    std::vector<uint8_t> plain;
    EXPECT_FALSE(open_datagram(*parsed, ring.current(), plain)) << "byte " << i;
  }
}

TEST(DatagramTest, OversizeIsRejectedBeforeParsing) {
  std::vector<uint8_t> d = seal_datagram(sample_header(), keyring_of(1).current(), kPayload);
  d.resize(kMaxDatagramBytes + 1, 0);
  DropReason why = DropReason::kCount;
  EXPECT_FALSE(parse_datagram(d, why).has_value());
  EXPECT_EQ(why, DropReason::kOversize);
}

// A header array with `fields` elements built by hand.
std::vector<uint8_t> raw_header(uint64_t magic, uint64_t version, uint32_t fields) {
  msgpack::sbuffer buf;
  msgpack::packer<msgpack::sbuffer> pk(buf);
  pk.pack_array(fields);
  pk.pack_uint64(magic);
  if (fields > 1) pk.pack_uint64(version);
  for (uint32_t i = 2; i < fields; ++i) pk.pack_uint8(1);
  const auto* p = reinterpret_cast<const uint8_t*>(buf.data());
  return {p, p + buf.size()};
}

TEST(DatagramTest, WrongMagicVersionAndShapeAreClassified) {
  DropReason why = DropReason::kCount;
  EXPECT_FALSE(parse_datagram(raw_header(0x12345678, kProtocolVersion, 12), why));
  EXPECT_EQ(why, DropReason::kBadMagic);
  EXPECT_FALSE(parse_datagram(raw_header(kMagic, kProtocolVersion + 1, 12), why));
  EXPECT_EQ(why, DropReason::kBadVersion);
  EXPECT_FALSE(parse_datagram(raw_header(kMagic, kProtocolVersion + 1, 20), why));
  EXPECT_EQ(why, DropReason::kBadVersion);
  EXPECT_FALSE(parse_datagram(raw_header(kMagic, 0, 1), why));
  EXPECT_EQ(why, DropReason::kBadVersion);
  // Right magic and version but the fields have the wrong types.
  EXPECT_FALSE(parse_datagram(raw_header(kMagic, kProtocolVersion, 12), why));
  EXPECT_EQ(why, DropReason::kMalformed);
  EXPECT_FALSE(parse_datagram(raw_header(kMagic, kProtocolVersion, 11), why));
  EXPECT_EQ(why, DropReason::kMalformed);
  EXPECT_FALSE(parse_datagram(std::vector<uint8_t>{}, why));
  EXPECT_EQ(why, DropReason::kMalformed);
  EXPECT_FALSE(parse_datagram(std::vector<uint8_t>{0x90}, why));  // empty array
  EXPECT_EQ(why, DropReason::kMalformed);
  EXPECT_FALSE(parse_datagram(std::vector<uint8_t>{0xa3, 'a', 'b', 'c'}, why));
  EXPECT_EQ(why, DropReason::kMalformed);
}

TEST(DatagramTest, ParseRejectsFragmentIndexOutOfRange) {
  // Rewrite frag_index (uint16 0xcd) of a sealed datagram to equal frag_count.
  Header h = sample_header();
  h.frag_index = 0x0102;
  h.frag_count = 0x0102 + 1;
  std::vector<uint8_t> d = seal_datagram(h, keyring_of(1).current(), kPayload);
  bool patched = false;
  for (std::size_t i = 0; i + 2 < d.size(); ++i) {
    if (d[i] == 0xcd && d[i + 1] == 0x01 && d[i + 2] == 0x02) {
      d[i + 2] = 0x03;
      patched = true;
      break;
    }
  }
  ASSERT_TRUE(patched);
  DropReason why = DropReason::kCount;
  EXPECT_FALSE(parse_datagram(d, why));
  EXPECT_EQ(why, DropReason::kMalformed);
}

TEST(DatagramTest, ParseOfRandomAndTruncatedBytesNeverThrows) {
  std::mt19937 rng(99);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<std::size_t> length(0, 400);
  for (int i = 0; i < 20000; ++i) {
    std::vector<uint8_t> bytes(length(rng));
    for (auto& b : bytes) b = static_cast<uint8_t>(byte(rng));
    DropReason why = DropReason::kCount;
    std::optional<ParsedDatagram> parsed;
    ASSERT_NO_THROW(parsed = parse_datagram(bytes, why));
    EXPECT_FALSE(parsed.has_value());
    EXPECT_NE(why, DropReason::kCount);
  }
  const std::vector<uint8_t> good =
      seal_datagram(sample_header(), keyring_of(1).current(), kPayload);
  DropReason why = DropReason::kCount;
  const std::size_t header_size = parse_datagram(good, why)->ad.size();
  for (std::size_t n = 0; n < header_size; ++n) {
    why = DropReason::kCount;
    EXPECT_FALSE(parse_datagram(std::span(good).first(n), why)) << n;
    EXPECT_EQ(why, DropReason::kMalformed) << n;
  }
}

}  // namespace
}  // namespace vigil::heartbeat
