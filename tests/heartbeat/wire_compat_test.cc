// Wire compatibility of the message codec (heartbeat/message.h) across the
// receive-pipeline rewrite:
//  - every message shape encodes to the very bytes the codec produced
//    before it (golden bytes below, written by that code);
//  - those bytes decode to the same message under the current decoder and
//    the one they were written for (legacy_decode.h);
//  - on every edit of them (each byte flipped, cut short, a byte inserted)
//    both decoders accept or refuse alike, and agree on what they accept;
//  - nesting is refused at the same depth.
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "heartbeat/message.h"
#include "tests/heartbeat/legacy_decode.h"

namespace vigil::heartbeat {
namespace {

using nlohmann::json;
using Bytes = std::vector<uint8_t>;

// Every field of `m`, as JSON: two messages are the same when these are.
json describe(const Message& m) {
  json d = {
      {"kind", static_cast<int>(m.kind)}, {"gens", json::object()}, {"deltas", json::array()}};
  for (const auto& [node, gen] : m.gens) d["gens"][node] = gen;
  for (const auto& delta : m.deltas) d["deltas"].push_back({delta.gen, delta.ops});
  d["full_gen"] = m.full_gen;
  d["full"] = m.full;
  d["full_dump"] = m.full.dump();  // tells 1 from 1.0
  d["key_versions"] = m.key_versions;
  d["key_ids"] = m.key_ids;
  if (m.key_offer)
    d["key_offer"] = {m.key_offer->version,
                      std::string(m.key_offer->secret.begin(), m.key_offer->secret.end()) ==
                          std::string(32, '\x11'),
                      m.key_offer->leader, m.key_offer->settled};
  if (m.member_digest) d["member_digest"] = *m.member_digest;
  d["members"] = m.members;
  if (m.webhook_digest) d["webhook_digest"] = *m.webhook_digest;
  d["webhooks"] = m.webhooks;
  d["queries"] = m.queries;
  d["query_answers"] = m.query_answers;
  d["stop"] = m.stop;
  if (m.swim) {
    json s = json::object();
    if (m.swim->ping) s["p"] = *m.swim->ping;
    if (m.swim->ack) s["a"] = *m.swim->ack;
    if (m.swim->nack) s["n"] = *m.swim->nack;
    if (m.swim->ping_req) s["r"] = {m.swim->ping_req->seq, m.swim->ping_req->target};
    for (const auto& u : m.swim->updates) s["u"].push_back({u.kind, u.node, u.incarnation, u.from});
    if (m.swim->heard)
      s["h"] = {m.swim->heard->list,
                json::binary({m.swim->heard->bits.begin(), m.swim->heard->bits.end()})};
    d["swim"] = s;
  }
  for (const auto& r : m.relayed) d["relayed"].push_back({r.writer, r.boot, r.gen, r.ops});
  for (const auto& f : m.relayed_full)
    d["relayed_full"].push_back({f.writer, f.boot, f.gen, f.doc, f.doc.dump()});
  if (m.versions)
    for (const auto& [node, v] : *m.versions) d["versions"][node] = {v.boot, v.gen};
  d["versions_request"] = m.versions_request;
  if (m.versions_digest) d["versions_digest"] = *m.versions_digest;
  return d;
}

json op(const char* name, const char* path, json value) {
  return {{"op", name}, {"path", path}, {"value", std::move(value)}};
}

json document() {
  return {{"labels", {{"zone", "eu-west-1a"}, {"rack", "r12"}}},
          {"frozen", false},
          {"frozen_at", nullptr},
          {"data",
           {{"ratio", 0.25},
            {"n", -17},
            {"big", 18446744073709551615ull},
            {"text", "h\u00e9llo \u2603 \U0001f600"},
            {"list", {1, "two", 3.5, nullptr}},
            {"nested", {{"a", {{"b", {{"c", json::array()}}}}}}}}}};
}

// The shapes of message every mode and feature sends.
std::map<std::string, Message> shapes() {
  std::map<std::string, Message> out;
  out["ping"] = Message{.kind = MessageKind::kPing, .gens = {{"n1", 3}}};
  Message patch{.kind = MessageKind::kPatch, .gens = {{"n1", 12}, {"n2", 0}, {"n3", 977}}};
  patch.deltas.push_back({10, json::array({op("replace", "/labels/x", std::string(160, 'v'))})});
  patch.deltas.push_back({11, json::array({op("add", "/data/k", {{"a", 1}}),
                                           json{{"op", "remove"}, {"path", "/labels/y"}}})});
  patch.deltas.push_back({12, json::array({op("test", "/frozen", false),
                                           json{{"op", "move"}, {"from", "/a"}, {"path", "/b"}},
                                           json{{"op", "copy"}, {"from", "/b"}, {"path", "/c"}}})});
  out["patch"] = patch;
  Message full{.kind = MessageKind::kFull, .gens = {{"n2", 5}, {"n1", 9}}};
  full.full_gen = 9;
  full.full = document();
  out["full"] = full;
  Message all{.kind = MessageKind::kPing, .gens = {{"node-a", 1}, {"node-b", 2}}};
  all.key_versions = {1, 2, 7};
  all.key_ids = {0x1111, 0x2222, 0x7777};
  all.key_offer = KeyOffer{.version = 7, .secret = {}, .leader = "node-a", .settled = false};
  all.key_offer->secret.fill(0x11);
  all.member_digest = 0xfeedfacecafebeefull;
  all.members = json::array({{{"name", "node-a"},
                              {"paths", {{"hb0", "127.0.0.1:10001"}}},
                              {"state", "up"},
                              {"ltime", 4}}});
  all.webhook_digest = 42;
  all.webhooks =
      json::array({{{"url", "https://127.0.0.1/x"}, {"state", "present"}, {"ltime", 1}}});
  all.queries = json::array({{{"id", "q1"}, {"from", "node-a"}, {"kind", "ping"}, {"args", {}}}});
  all.query_answers = json::array({{{"id", "q1"}, {"node", "node-b"}, {"answer", "pong"}}});
  all.stop = true;
  out["ping-every-field"] = all;
  Message gossip{.kind = MessageKind::kPing, .gens = {{"g1", 4}}};
  gossip.swim =
      SwimPart{.ping = 70000, .ack = 3, .nack = 4, .ping_req = SwimPart::PingReq{9, "g7"}};
  gossip.swim->updates = {
      {0, "g1", 1717000000000000ull, ""}, {1, "g2", 0, "g1"}, {2, "g3", 5, "g4"}};
  gossip.swim->heard = SwimPart::Heard{
      .list = 0xabcdef, .bits = std::string("\x01\xff\x00\x80\x7f\x10\x20\x30\x40", 9)};
  gossip.relayed.push_back(
      {"g2", 1717000000000001ull, 8, json::array({op("replace", "/labels/z", 1)})});
  gossip.relayed_full.push_back({"g3", 1717000000000002ull, 3, document()});
  gossip.versions = VersionVector{{"g1", {1, 4}}, {"g2", {1717000000000001ull, 8}}, {"g3", {2, 0}}};
  gossip.versions_request = true;
  gossip.versions_digest = 0x5a5a5a5a5a5a5a5aull;
  out["gossip"] = gossip;
  return out;
}

std::string hex(std::span<const uint8_t> bytes) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (uint8_t b : bytes) {
    s += digits[b >> 4];
    s += digits[b & 15];
  }
  return s;
}

Bytes unhex(const std::string& s) {
  Bytes out;
  for (std::size_t i = 0; i + 1 < s.size(); i += 2)
    out.push_back(static_cast<uint8_t>(std::stoi(s.substr(i, 2), nullptr, 16)));
  return out;
}

// What each shape encoded to before the rewrite.
const std::map<std::string, std::string>& golden() {
  static const std::map<std::string, std::string> kGolden = {
      {"full",
       "84a16b02a16782a26e3109a26e3205a2666709a16684a46461746186a3626967cfffffffffffffffffa4"
       "6c6973749401a374776fcb400c000000000000c0a16eefa66e657374656481a16181a16281a16390a572"
       "6174696fcb3fd0000000000000a474657874af68c3a96c6c6f20e2988320f09f9880a666726f7a656ec2"
       "a966726f7a656e5f6174c0a66c6162656c7382a47261636ba3723132a47a6f6e65aa65752d776573742d"
       "3161"},
      {"gossip",
       "88a16b00a16781a2673104a2737786a170ce00011170a16103a16e04a1729209a26737a175939400a267"
       "31cf0006199a37145000a09401a2673200a267319402a2673305a26734a16893ce00abcdef0992cf3020"
       "107f8000ff0140a272649194a26732cf0006199a37145001089183a26f70a77265706c616365a4706174"
       "68a92f6c6162656c732f7aa576616c756501a272669194a26733cf0006199a371450020384a464617461"
       "86a3626967cfffffffffffffffffa46c6973749401a374776fcb400c000000000000c0a16eefa66e6573"
       "74656481a16181a16281a16390a5726174696fcb3fd0000000000000a474657874af68c3a96c6c6f20e2"
       "988320f09f9880a666726f7a656ec2a966726f7a656e5f6174c0a66c6162656c7382a47261636ba37231"
       "32a47a6f6e65aa65752d776573742d3161a2617683a26731920104a2673292cf0006199a3714500108a2"
       "6733920200a26171c3a26164cf5a5a5a5a5a5a5a5a"},
      {"patch",
       "83a16b01a16783a26e310ca26e3200a26e33cd03d1a16493920a9183a26f70a77265706c616365a47061"
       "7468a92f6c6162656c732f78a576616c7565d9a076767676767676767676767676767676767676767676"
       "767676767676767676767676767676767676767676767676767676767676767676767676767676767676"
       "767676767676767676767676767676767676767676767676767676767676767676767676767676767676"
       "767676767676767676767676767676767676767676767676767676767676767676767676767676767676"
       "767676767676767676767676920b9283a26f70a3616464a470617468a72f646174612f6ba576616c7565"
       "81a1610182a26f70a672656d6f7665a470617468a92f6c6162656c732f79920c9383a26f70a474657374"
       "a470617468a72f66726f7a656ea576616c7565c283a466726f6da22f61a26f70a46d6f7665a470617468"
       "a22f6283a466726f6da22f62a26f70a4636f7079a470617468a22f63"},
      {"ping", "82a16b00a16781a26e3103"},
      {"ping-every-field",
       "8ca16b00a16782a66e6f64652d6101a66e6f64652d6202a26b7693010207a26b6993cd1111cd2222cd77"
       "77a26b6f9407d94031313131313131313131313131313131313131313131313131313131313131313131"
       "313131313131313131313131313131313131313131313131313131313131a66e6f64652d61c2a26d64cf"
       "feedfacecafebeefa16d9184a56c74696d6504a46e616d65a66e6f64652d61a5706174687381a3686230"
       "af3132372e302e302e313a3130303031a57374617465a27570a277642aa1779183a56c74696d6501a573"
       "74617465a770726573656e74a375726cb368747470733a2f2f3132372e302e302e312f78a1719184a461"
       "726773c0a466726f6da66e6f64652d61a26964a27131a46b696e64a470696e67a271619183a6616e7377"
       "6572a4706f6e67a26964a27131a46e6f6465a66e6f64652d62a27374c3"},
  };
  return kGolden;
}

// Both decoders on `bytes`: the description of what they accept, or nullopt.
std::optional<json> current(std::span<const uint8_t> bytes) {
  try {
    return describe(decode(bytes));
  } catch (const DecodeError&) {
    return std::nullopt;
  }
}
std::optional<json> legacy(std::span<const uint8_t> bytes) {
  try {
    return describe(legacy::decode(bytes));
  } catch (const DecodeError&) {
    return std::nullopt;
  }
}

TEST(WireCompat, EveryShapeEncodesToTheBytesItHadBeforeTheRewrite) {
  for (const auto& [name, msg] : shapes()) {
    const Bytes bytes = encode(msg);
    if (!golden().contains(name)) {
      ADD_FAILURE() << "no golden bytes for " << name << ": " << hex(bytes);
      continue;
    }
    EXPECT_EQ(hex(bytes), golden().at(name)) << name;
  }
}

TEST(WireCompat, TheBytesOfBeforeDecodeToTheSameMessageUnderBothDecoders) {
  for (const auto& [name, msg] : shapes()) {
    ASSERT_TRUE(golden().contains(name)) << name;
    const Bytes bytes = unhex(golden().at(name));
    const auto now = current(bytes);
    const auto then = legacy(bytes);
    ASSERT_TRUE(now.has_value()) << name;
    ASSERT_TRUE(then.has_value()) << name;
    EXPECT_EQ(*now, *then) << name;
    EXPECT_EQ(*now, describe(msg)) << name;
  }
}

TEST(WireCompat, BothDecodersAgreeOnEveryEditOfEveryShape) {
  std::size_t accepted = 0, refused = 0;
  auto agree = [&](const std::string& what, const Bytes& bytes) {
    const auto now = current(bytes);
    const auto then = legacy(bytes);
    ASSERT_EQ(now.has_value(), then.has_value()) << what << " " << hex(bytes);
    if (now) {
      ASSERT_EQ(*now, *then) << what;
      ++accepted;
    } else {
      ++refused;
    }
  };
  for (const auto& [name, text] : golden()) {
    const Bytes original = unhex(text);
    for (std::size_t i = 0; i < original.size(); ++i) {
      for (uint8_t mask : {0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0xff}) {
        Bytes edited = original;
        edited[i] ^= mask;
        agree(name + " flip " + std::to_string(i), edited);
      }
      agree(name + " cut " + std::to_string(i), Bytes(original.begin(), original.begin() + i));
      for (uint8_t b : {0x00, 0x90, 0xc0, 0xc1, 0xc4, 0xd4, 0xdd, 0xff}) {
        Bytes edited = original;
        edited.insert(edited.begin() + static_cast<std::ptrdiff_t>(i), b);
        agree(name + " insert " + std::to_string(i), edited);
      }
    }
  }
  // Both kinds of outcome were exercised.
  EXPECT_GT(accepted, 100u);
  EXPECT_GT(refused, 1000u);
}

TEST(WireCompat, NestingIsRefusedAtTheSameDepth) {
  for (std::size_t depth = 55; depth <= 70; ++depth) {
    // "f": `depth` nested arrays around a 0.
    Bytes doc(depth, 0x91);
    doc.push_back(0x00);
    Bytes msg = {0x84, 0xa1, 'k', 0x02, 0xa1, 'g', 0x80, 0xa2, 'f', 'g', 0x01, 0xa1, 'f'};
    msg.insert(msg.end(), doc.begin(), doc.end());
    const auto now = current(msg);
    const auto then = legacy(msg);
    EXPECT_EQ(now.has_value(), then.has_value()) << "depth " << depth;
    if (now && then) EXPECT_EQ(*now, *then);
    if (depth == 55) EXPECT_TRUE(now.has_value()) << "well within kMaxDepth";
    if (depth == 70) EXPECT_FALSE(now.has_value()) << "beyond kMaxDepth";
  }
}

}  // namespace
}  // namespace vigil::heartbeat
