#include "heartbeat/message.h"

#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <msgpack.hpp>

namespace vigil::heartbeat {
namespace {

using nlohmann::json;

// Hand-built msgpack for inputs encode() never produces.
class Raw {
 public:
  Raw() : pk_(buf_) {}
  msgpack::packer<msgpack::sbuffer>& pk() { return pk_; }
  Raw& str(std::string_view s) {
    pk_.pack_str(static_cast<uint32_t>(s.size()));
    pk_.pack_str_body(s.data(), static_cast<uint32_t>(s.size()));
    return *this;
  }
  std::vector<uint8_t> bytes() const {
    const auto* p = reinterpret_cast<const uint8_t*>(buf_.data());
    return {p, p + buf_.size()};
  }

 private:
  msgpack::sbuffer buf_;
  msgpack::packer<msgpack::sbuffer> pk_;
};

json tricky_document() {
  return json{{"labels", {{"zone", "eu-west"}, {"tier", "gold"}}},
              {"frozen", false},
              {"agent", {{"version", "0.1.0"}, {"ok", true}}},
              {"data",
               {{"unicode", "h\u00e9llo w\u00f6rld \u2713 \u65e5\u672c\u8a9e \U0001F680"},
                {"max_u64", std::numeric_limits<uint64_t>::max()},
                {"min_i64", std::numeric_limits<int64_t>::min()},
                {"negative", -42},
                {"pi", 3.141592653589793},
                {"tiny", 5e-324},
                {"huge", 1.7976931348623157e308},
                {"null", nullptr},
                {"empty_obj", json::object()},
                {"empty_arr", json::array()},
                {"nested", {{"a", {{"b", {{"c", {1, 2, {{"d", "deep"}}}}}}}}}}}}};
}

TEST(MessageTest, PingRoundTripsGensIncludingLargeValues) {
  Message m;
  m.kind = MessageKind::kPing;
  m.gens = {{"n1", 1}, {"n2", 0}, {"n\u00f63", std::numeric_limits<uint64_t>::max()}};
  const Message back = decode(encode(m));
  EXPECT_EQ(back.kind, MessageKind::kPing);
  EXPECT_EQ(back.gens, m.gens);
  EXPECT_TRUE(back.deltas.empty());
  EXPECT_TRUE(back.full.is_null());
}

TEST(MessageTest, TheStopFlagRoundTripsOnEveryKindAndIsSentOnlyWhenSet) {
  for (auto kind : {MessageKind::kPing, MessageKind::kPatch, MessageKind::kFull}) {
    SCOPED_TRACE(to_string(kind));
    Message m;
    m.kind = kind;
    m.gens = {{"n1", 3}};
    if (kind == MessageKind::kPatch) m.deltas = {{3, json::array()}};
    if (kind == MessageKind::kFull) {
      m.full_gen = 3;
      m.full = json::object();
    }
    const auto plain = encode(m);
    EXPECT_FALSE(decode(plain).stop);
    m.stop = true;
    const auto stopping = encode(m);
    EXPECT_TRUE(decode(stopping).stop);
    // One optional key more: "st" and true.
    EXPECT_EQ(stopping.size(), plain.size() + 4);
  }
}

TEST(MessageTest, TheStopFlagMustBeABool) {
  for (int variant = 0; variant < 3; ++variant) {
    SCOPED_TRACE(variant);
    Raw r;
    r.pk().pack_map(variant == 2 ? 4 : 3);
    r.str("k").pk().pack_uint8(0);
    r.str("g").pk().pack_map(0);
    if (variant == 0) r.str("st").pk().pack_uint8(1);
    if (variant == 1) r.str("st").str("true");
    if (variant == 2) {
      r.str("st").pk().pack_true();
      r.str("st").pk().pack_true();  // duplicate
    }
    EXPECT_THROW(decode(r.bytes()), DecodeError);
  }
  Raw ok;
  ok.pk().pack_map(3);
  ok.str("k").pk().pack_uint8(0);
  ok.str("g").pk().pack_map(0);
  ok.str("st").pk().pack_false();
  EXPECT_FALSE(decode(ok.bytes()).stop);
}

TEST(MessageTest, KeyVersionsAndKeyOfferRoundTripOnEveryKind) {
  KeyOffer offer{.version = 7};
  for (std::size_t i = 0; i < offer.secret.size(); ++i)
    offer.secret[i] = static_cast<uint8_t>(i * 7);
  for (auto kind : {MessageKind::kPing, MessageKind::kPatch, MessageKind::kFull}) {
    Message m;
    m.kind = kind;
    m.gens = {{"n1", 3}};
    if (kind == MessageKind::kPatch) m.deltas = {{1, json::array()}};
    if (kind == MessageKind::kFull) m.full = json::object();
    m.key_versions = {1, 2, 7};
    m.key_offer = offer;
    const Message back = decode(encode(m));
    EXPECT_EQ(back.kind, kind);
    EXPECT_EQ(back.key_versions, (std::vector<uint32_t>{1, 2, 7}));
    ASSERT_TRUE(back.key_offer.has_value());
    EXPECT_EQ(*back.key_offer, offer);
  }
  // Both are optional: a message without them decodes without them.
  Message plain;
  plain.gens = {{"n1", 1}};
  const Message back = decode(encode(plain));
  EXPECT_TRUE(back.key_versions.empty());
  EXPECT_FALSE(back.key_offer.has_value());
}

TEST(MessageTest, KeyIdsAndTheOffersLeaderRoundTrip) {
  Message m;
  m.gens = {{"n1", 1}};
  m.key_versions = {1, 2};
  m.key_ids = {7, 0xffffffffffffffffull};
  m.key_offer = KeyOffer{.version = 2, .leader = "n3", .settled = true};
  const Message back = decode(encode(m));
  EXPECT_EQ(back.key_ids, m.key_ids);
  ASSERT_TRUE(back.key_offer.has_value());
  EXPECT_EQ(back.key_offer->leader, "n3");
  EXPECT_TRUE(back.key_offer->settled);
  // Key ids are one per key version.
  m.key_ids = {7};
  EXPECT_THROW(encode(m), std::invalid_argument);
}

TEST(MessageTest, MemberDigestAndEntriesRoundTrip) {
  Message m;
  m.gens = {{"n1", 1}};
  m.member_digest = 0xfedcba9876543210ull;
  m.members = json::array(
      {{{"name", "n4"}, {"paths", {{"u1", "127.0.0.4:1"}}}, {"state", "member"}, {"ltime", 3}}});
  const Message back = decode(encode(m));
  EXPECT_EQ(back.member_digest, m.member_digest);
  EXPECT_EQ(back.members, m.members);
  // Both optional.
  Message plain;
  plain.gens = {{"n1", 1}};
  const Message none = decode(encode(plain));
  EXPECT_FALSE(none.member_digest);
  EXPECT_TRUE(none.members.is_null());
  // "m" is an array.
  m.members = json::object();
  EXPECT_THROW(encode(m), std::invalid_argument);
  Raw r;
  r.pk().pack_map(3);
  r.str("k").pk().pack_uint8(0);
  r.str("g").pk().pack_map(0);
  r.str("m").pk().pack_map(0);
  EXPECT_THROW(decode(r.bytes()), DecodeError);
}

TEST(MessageTest, WebhookDigestAndEntriesRoundTrip) {
  Message m;
  m.gens = {{"n1", 1}};
  m.webhook_digest = 0x0123456789abcdefull;
  m.webhooks = json::array({{{"url", "http://127.0.0.1:8080/hook"},
                             {"state", "active"},
                             {"ltime", 2},
                             {"writer", "n1"},
                             {"auth", "bearer"},
                             {"token", "t"},
                             {"filters", json::array({"NodeStale"})}}});
  const Message back = decode(encode(m));
  EXPECT_EQ(back.webhook_digest, m.webhook_digest);
  EXPECT_EQ(back.webhooks, m.webhooks);
  Message plain;
  plain.gens = {{"n1", 1}};
  const Message none = decode(encode(plain));
  EXPECT_FALSE(none.webhook_digest);
  EXPECT_TRUE(none.webhooks.is_null());
  // "w" is an array, "wd" an unsigned integer.
  m.webhooks = json::object();
  EXPECT_THROW(encode(m), std::invalid_argument);
  Raw r;
  r.pk().pack_map(3);
  r.str("k").pk().pack_uint8(0);
  r.str("g").pk().pack_map(0);
  r.str("w").pk().pack_map(0);
  EXPECT_THROW(decode(r.bytes()), DecodeError);
  Raw d;
  d.pk().pack_map(3);
  d.str("k").pk().pack_uint8(0);
  d.str("g").pk().pack_map(0);
  d.str("wd").str("x");
  EXPECT_THROW(decode(d.bytes()), DecodeError);
}

TEST(MessageTest, QueriesAndAnswersRoundTrip) {
  Message m;
  m.gens = {{"n1", 1}};
  m.queries =
      json::array({{{"id", "n1-7-1"}, {"from", "n1"}, {"kind", "k"}, {"args", {{"a", 1}}}}});
  m.query_answers = json::array({{{"id", "n1-7-1"}, {"node", "n2"}, {"answer", {{"ok", true}}}}});
  const Message back = decode(encode(m));
  EXPECT_EQ(back.queries, m.queries);
  EXPECT_EQ(back.query_answers, m.query_answers);
  m.query_answers = json::object();
  EXPECT_THROW(encode(m), std::invalid_argument);
  Raw r;
  r.pk().pack_map(3);
  r.str("k").pk().pack_uint8(0);
  r.str("g").pk().pack_map(0);
  r.str("q").pk().pack_map(0);
  EXPECT_THROW(decode(r.bytes()), DecodeError);
}

TEST(MessageTest, AnOfferOfTwoElementsHasNoLeaderAndIsNotSettled) {
  // [version, secret]: what a sender without leaders in its offers sends.
  Raw r;
  r.pk().pack_map(3);
  r.str("k").pk().pack_uint8(0);
  r.str("g").pk().pack_map(0);
  r.str("ko").pk().pack_array(2);
  r.pk().pack_uint8(4);
  r.str(std::string(64, 'a'));
  const Message back = decode(r.bytes());
  ASSERT_TRUE(back.key_offer.has_value());
  EXPECT_EQ(back.key_offer->version, 4u);
  EXPECT_EQ(back.key_offer->leader, "");
  EXPECT_FALSE(back.key_offer->settled);
}

TEST(MessageTest, BadKeyIdsAndOfferLeadersAreRefused) {
  auto with = [](auto&& pack_rest, uint32_t extra) {
    Raw r;
    r.pk().pack_map(2 + extra);
    r.str("k").pk().pack_uint8(0);
    r.str("g").pk().pack_map(0);
    pack_rest(r);
    return r.bytes();
  };
  // "ki" without "kv", or of another length.
  EXPECT_THROW(decode(with([](Raw& r) { r.str("ki").pk().pack_array(0); }, 1)), DecodeError);
  EXPECT_THROW(decode(with(
                   [](Raw& r) {
                     r.str("kv").pk().pack_array(1);
                     r.pk().pack_uint8(1);
                     r.str("ki").pk().pack_array(2);
                     r.pk().pack_uint8(1);
                     r.pk().pack_uint8(2);
                   },
                   2)),
               DecodeError);
  auto offer = [&](auto&& leader, auto&& settled) {
    return with(
        [&](Raw& r) {
          r.str("ko").pk().pack_array(4);
          r.pk().pack_uint8(2);
          r.str(std::string(64, 'b'));
          leader(r);
          settled(r);
        },
        1);
  };
  auto name = [](std::string s) { return [s](Raw& r) { r.str(s); }; };
  auto yes = [](Raw& r) { r.pk().pack_true(); };
  EXPECT_NO_THROW(decode(offer(name("n1"), yes)));
  EXPECT_THROW(decode(offer(name(std::string(256, 'x')), yes)), DecodeError);
  EXPECT_THROW(decode(offer([](Raw& r) { r.pk().pack_uint8(1); }, yes)), DecodeError);
  EXPECT_THROW(decode(offer(name("n1"), [](Raw& r) { r.pk().pack_uint8(1); })), DecodeError);
}

TEST(MessageTest, BadKeyVersionsAndOffersAreRefused) {
  Message m;
  m.gens = {{"n1", 1}};
  m.key_versions = {2, 1};
  EXPECT_THROW(encode(m), std::invalid_argument);
  m.key_versions.assign(kMaxKeyVersions + 1, 0);
  for (std::size_t i = 0; i < m.key_versions.size(); ++i) m.key_versions[i] = uint32_t(i + 1);
  EXPECT_THROW(encode(m), std::invalid_argument);
  m.key_versions = {};
  m.key_offer = KeyOffer{.version = 0};
  EXPECT_THROW(encode(m), std::invalid_argument);

  auto with = [](std::string_view key, auto&& pack_value) {
    Raw r;
    r.pk().pack_map(3);
    r.str("k").pk().pack_uint8(0);
    r.str("g").pk().pack_map(0);
    r.str(key);
    pack_value(r);
    return r.bytes();
  };
  EXPECT_THROW(decode(with("kv", [](Raw& r) { r.pk().pack_uint8(1); })), DecodeError);
  EXPECT_THROW(decode(with("kv",
                           [](Raw& r) {
                             r.pk().pack_array(2);
                             r.pk().pack_uint8(2);
                             r.pk().pack_uint8(2);
                           })),
               DecodeError);
  EXPECT_THROW(decode(with("ko",
                           [](Raw& r) {
                             r.pk().pack_array(2);
                             r.pk().pack_uint8(0);
                             r.str(std::string(64, 'a'));
                           })),
               DecodeError);
  EXPECT_THROW(decode(with("ko",
                           [](Raw& r) {
                             r.pk().pack_array(2);
                             r.pk().pack_uint8(2);
                             r.str(std::string(63, 'a'));
                           })),
               DecodeError);
  EXPECT_THROW(decode(with("ko",
                           [](Raw& r) {
                             r.pk().pack_array(2);
                             r.pk().pack_uint8(2);
                             r.str(std::string(64, 'z'));
                           })),
               DecodeError);
  EXPECT_THROW(decode(with("ko", [](Raw& r) { r.pk().pack_uint8(2); })), DecodeError);
}

TEST(MessageTest, PatchRoundTripsDeltasWithNestedJson) {
  Message m;
  m.kind = MessageKind::kPatch;
  m.gens = {{"n1", 12}, {"n2", 7}};
  m.deltas.push_back({11, json::array({{{"op", "replace"}, {"path", "/labels/x"}, {"value", 1}}})});
  m.deltas.push_back(
      {12, json::array({{{"op", "add"}, {"path", "/data"}, {"value", tricky_document()}},
                        {{"op", "remove"}, {"path", "/frozen"}}})});
  const Message back = decode(encode(m));
  EXPECT_EQ(back.kind, MessageKind::kPatch);
  EXPECT_EQ(back.gens, m.gens);
  ASSERT_EQ(back.deltas.size(), 2u);
  EXPECT_EQ(back.deltas[0].gen, 11u);
  EXPECT_EQ(back.deltas[0].ops, m.deltas[0].ops);
  EXPECT_EQ(back.deltas[1].gen, 12u);
  EXPECT_EQ(back.deltas[1].ops, m.deltas[1].ops);
}

TEST(MessageTest, FullRoundTripsUnicodeLargeIntsDoublesBoolsNull) {
  Message m;
  m.kind = MessageKind::kFull;
  m.gens = {{"n1", 99}};
  m.full_gen = 99;
  m.full = tricky_document();
  const Message back = decode(encode(m));
  EXPECT_EQ(back.kind, MessageKind::kFull);
  EXPECT_EQ(back.full_gen, 99u);
  EXPECT_EQ(back.full, m.full);
  const json& data = back.full["data"];
  EXPECT_EQ(data["max_u64"].get<uint64_t>(), std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(data["min_i64"].get<int64_t>(), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(data["pi"].get<double>(), 3.141592653589793);
  EXPECT_EQ(data["tiny"].get<double>(), 5e-324);
  EXPECT_TRUE(data["null"].is_null());
  EXPECT_EQ(data["unicode"].get<std::string>(),
            "h\u00e9llo w\u00f6rld \u2713 \u65e5\u672c\u8a9e \U0001F680");
  EXPECT_EQ(back.full.dump(), m.full.dump());
}

TEST(MessageTest, FullCarriesAnyJsonValueAsDocument) {
  for (const json& doc : {json(nullptr), json(true), json(-7), json("s"), json::array()}) {
    Message m;
    m.kind = MessageKind::kFull;
    m.full = doc;
    EXPECT_EQ(decode(encode(m)).full, doc) << doc.dump();
  }
}

TEST(MessageTest, NonFiniteFloatsEncodeAsNull) {
  Message m;
  m.kind = MessageKind::kFull;
  m.full = {{"nan", std::numeric_limits<double>::quiet_NaN()},
            {"inf", std::numeric_limits<double>::infinity()}};
  const Message back = decode(encode(m));
  EXPECT_TRUE(back.full["nan"].is_null());
  EXPECT_TRUE(back.full["inf"].is_null());
}

TEST(MessageTest, GossipFieldsRoundTrip) {
  Message m;
  m.gens = {{"n1", 3}};
  m.swim = SwimPart{
      .ping = 1,
      .ack = 0xffffffffu,
      .nack = 9,
      .ping_req = SwimPart::PingReq{4, "n7"},
      .updates = {{0, "n1", 12, ""}, {1, "n2", 3, "n1"}, {2, "n\u00f63", 0, "n4"}},
      .heard = SwimPart::Heard{0x1234, std::string("\x01\xff\x00\x80\x7f\x10\x20\x30\x41", 9)}};
  m.relayed.push_back({"n2", 99, 4, json::array({{{"op", "add"}, {"path", "/a"}, {"value", 1}}})});
  m.relayed.push_back({"n2", 99, 5, json::array()});
  m.relayed_full.push_back({"n3", 7, 2, tricky_document()});
  m.versions = VersionVector{{"n1", {5, 3}}, {"n2", {99, 5}}, {"n3", {7, 0}}};
  m.versions_request = true;
  m.versions_digest = 0xfedcba9876543210ull;
  const Message back = decode(encode(m));
  EXPECT_EQ(back.versions_digest, m.versions_digest);
  EXPECT_EQ(back.swim, m.swim);
  ASSERT_EQ(back.relayed.size(), 2u);
  EXPECT_EQ(back.relayed[0].writer, "n2");
  EXPECT_EQ(back.relayed[0].boot, 99u);
  EXPECT_EQ(back.relayed[1].gen, 5u);
  EXPECT_EQ(back.relayed[0].ops, m.relayed[0].ops);
  ASSERT_EQ(back.relayed_full.size(), 1u);
  EXPECT_EQ(back.relayed_full[0].doc, tricky_document());
  EXPECT_EQ(back.versions, m.versions);
  EXPECT_TRUE(back.versions_request);
  // Absent gossip fields stay absent: a mesh message is unchanged on the wire.
  Message mesh;
  mesh.gens = {{"n1", 3}};
  const Message plain = decode(encode(mesh));
  EXPECT_FALSE(plain.swim);
  EXPECT_TRUE(plain.relayed.empty());
  EXPECT_FALSE(plain.versions);
  EXPECT_EQ(encode(mesh).size(), 11u);  // {"k": 0, "g": {"n1": 3}}
}

TEST(MessageTest, VersionDigestIgnoresGenZeroAndSeesEveryOtherChange) {
  const VersionVector a = {{"n1", {5, 3}}, {"n2", {7, 1}}};
  VersionVector b = a;
  b["n3"] = {9, 0};  // a document awaited, not held: left out
  EXPECT_EQ(digest(a), digest(b));
  b["n3"] = {9, 1};
  EXPECT_NE(digest(a), digest(b));
  VersionVector c = a;
  c["n2"] = {7, 2};
  EXPECT_NE(digest(a), digest(c));
  c["n2"] = {8, 1};
  EXPECT_NE(digest(a), digest(c));
  EXPECT_NE(digest(a), digest(VersionVector{}));
}

TEST(MessageTest, GossipFieldsRejectBadShapes) {
  auto gossip = [](const char* key, auto value) {
    Raw r;
    r.pk().pack_map(3);
    r.str("k").pk().pack_uint8(0);
    r.str("g").pk().pack_map(0);
    r.str(key);
    value(r);
    return r.bytes();
  };
  const std::vector<std::pair<const char*, std::vector<uint8_t>>> cases = {
      {"sw not a map", gossip("sw", [](Raw& r) { r.pk().pack_array(0); })},
      {"sw unknown key", gossip("sw",
                                [](Raw& r) {
                                  r.pk().pack_map(1);
                                  r.str("x").pk().pack_uint8(1);
                                })},
      {"sw seq too large", gossip("sw",
                                  [](Raw& r) {
                                    r.pk().pack_map(1);
                                    r.str("p").pk().pack_uint64(uint64_t{1} << 32);
                                  })},
      {"sw update kind 3", gossip("sw",
                                  [](Raw& r) {
                                    r.pk().pack_map(1);
                                    r.str("u").pk().pack_array(1);
                                    r.pk().pack_array(4);
                                    r.pk().pack_uint8(3);
                                    r.str("n1").pk().pack_uint8(1);
                                    r.str("");
                                  })},
      {"sw update empty node", gossip("sw",
                                      [](Raw& r) {
                                        r.pk().pack_map(1);
                                        r.str("u").pk().pack_array(1);
                                        r.pk().pack_array(4);
                                        r.pk().pack_uint8(0);
                                        r.str("").pk().pack_uint8(1);
                                        r.str("");
                                      })},
      {"sw ping-req empty target", gossip("sw",
                                          [](Raw& r) {
                                            r.pk().pack_map(1);
                                            r.str("r").pk().pack_array(2);
                                            r.pk().pack_uint8(1);
                                            r.str("");
                                          })},
      {"rd gen 0", gossip("rd",
                          [](Raw& r) {
                            r.pk().pack_array(1);
                            r.pk().pack_array(4);
                            r.str("n1").pk().pack_uint8(1);
                            r.pk().pack_uint8(0);
                            r.pk().pack_array(0);
                          })},
      {"rd ops not maps", gossip("rd",
                                 [](Raw& r) {
                                   r.pk().pack_array(1);
                                   r.pk().pack_array(4);
                                   r.str("n1").pk().pack_uint8(1);
                                   r.pk().pack_uint8(1);
                                   r.pk().pack_array(1);
                                   r.pk().pack_uint8(1);
                                 })},
      {"rd entry of 3", gossip("rd",
                               [](Raw& r) {
                                 r.pk().pack_array(1);
                                 r.pk().pack_array(3);
                                 r.str("n1").pk().pack_uint8(1);
                                 r.pk().pack_uint8(1);
                               })},
      {"rf empty writer", gossip("rf",
                                 [](Raw& r) {
                                   r.pk().pack_array(1);
                                   r.pk().pack_array(4);
                                   r.str("").pk().pack_uint8(1);
                                   r.pk().pack_uint8(1);
                                   r.pk().pack_map(0);
                                 })},
      {"av value not a pair", gossip("av",
                                     [](Raw& r) {
                                       r.pk().pack_map(1);
                                       r.str("n1").pk().pack_uint8(1);
                                     })},
      {"aq without av", gossip("aq", [](Raw& r) { r.pk().pack_true(); })},
      {"sw heard count above the words", gossip("sw",
                                                [](Raw& r) {
                                                  r.pk().pack_map(1);
                                                  r.str("h").pk().pack_array(3);
                                                  r.pk().pack_uint8(1);
                                                  r.pk().pack_uint8(9);
                                                  r.pk().pack_array(1);
                                                  r.pk().pack_uint8(0);
                                                })},
      {"sw heard words beyond the count", gossip("sw",
                                                 [](Raw& r) {
                                                   r.pk().pack_map(1);
                                                   r.str("h").pk().pack_array(3);
                                                   r.pk().pack_uint8(1);
                                                   r.pk().pack_uint8(1);
                                                   r.pk().pack_array(2);
                                                   r.pk().pack_uint8(0);
                                                   r.pk().pack_uint8(0);
                                                 })},
      {"aq false", gossip("aq", [](Raw& r) { r.pk().pack_false(); })},
  };
  for (const auto& [name, bytes] : cases) EXPECT_THROW(decode(bytes), DecodeError) << name;
  Message m;
  m.versions_request = true;
  EXPECT_THROW(encode(m), std::invalid_argument);
  Message zero;
  zero.relayed.push_back({"n1", 1, 0, json::array()});
  EXPECT_THROW(encode(zero), std::invalid_argument);
}

TEST(MessageTest, KindNames) {
  EXPECT_EQ(to_string(MessageKind::kPing), "ping");
  EXPECT_EQ(to_string(MessageKind::kPatch), "patch");
  EXPECT_EQ(to_string(MessageKind::kFull), "full");
}

json nested_arrays(std::size_t levels) {
  json v = json::array();
  for (std::size_t i = 1; i < levels; ++i) v = json::array({v});
  return v;
}

TEST(MessageTest, DepthLimitIsSharedByEncodeAndDecode) {
  // "f" sits at depth 2, so 63 nested containers reach depth 64 exactly.
  Message ok;
  ok.kind = MessageKind::kFull;
  ok.full = nested_arrays(kMaxDepth - 1);
  EXPECT_EQ(decode(encode(ok)).full, ok.full);

  Message deep = ok;
  deep.full = nested_arrays(kMaxDepth);
  EXPECT_THROW(encode(deep), std::invalid_argument);
}

std::vector<uint8_t> full_with_nested_arrays(std::size_t levels, bool innermost_empty) {
  Raw r;
  r.pk().pack_map(4);
  r.str("k").pk().pack_uint8(2);
  r.str("g").pk().pack_map(0);
  r.str("fg").pk().pack_uint8(1);
  r.str("f");
  for (std::size_t i = 0; i < levels; ++i) {
    const bool last = i + 1 == levels;
    r.pk().pack_array(last && innermost_empty ? 0 : 1);
  }
  if (!innermost_empty) r.pk().pack_nil();
  return r.bytes();
}

TEST(MessageTest, DecodeRejectsNestingDeeperThan64) {
  EXPECT_NO_THROW(decode(full_with_nested_arrays(kMaxDepth - 1, false)));
  EXPECT_NO_THROW(decode(full_with_nested_arrays(kMaxDepth - 1, true)));
  EXPECT_THROW(decode(full_with_nested_arrays(kMaxDepth, false)), DecodeError);
  // An empty innermost container still counts as a level.
  EXPECT_THROW(decode(full_with_nested_arrays(kMaxDepth, true)), DecodeError);
  EXPECT_THROW(decode(full_with_nested_arrays(10000, false)), DecodeError);
}

TEST(MessageTest, EncodeRejectsWhatDecodeWouldRefuse) {
  Message m;
  m.kind = MessageKind::kPatch;
  m.deltas = {{3, json::array()}, {5, json::array()}};
  EXPECT_THROW(encode(m), std::invalid_argument) << "gap between gens";
  m.deltas = {{0, json::array()}};
  EXPECT_THROW(encode(m), std::invalid_argument) << "gen 0";
  m.deltas = {{1, json::object()}};
  EXPECT_THROW(encode(m), std::invalid_argument) << "ops not an array";
  m.deltas = {{1, json::array({1})}};
  EXPECT_THROW(encode(m), std::invalid_argument) << "op not an object";
  Message full;
  full.kind = MessageKind::kFull;
  full.full = json::binary({1, 2, 3});
  EXPECT_THROW(encode(full), std::invalid_argument) << "binary value";
}

TEST(MessageTest, DecodeOfRandomBytesThrowsDecodeError) {
  std::mt19937 rng(20240601);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<std::size_t> length(0, 256);
  for (int i = 0; i < 20000; ++i) {
    std::vector<uint8_t> bytes(length(rng));
    for (auto& b : bytes) b = static_cast<uint8_t>(byte(rng));
    EXPECT_THROW(decode(bytes), DecodeError) << "input #" << i;
  }
}

TEST(MessageTest, DecodeOfEveryTruncationThrowsDecodeError) {
  Message m;
  m.kind = MessageKind::kFull;
  m.gens = {{"n1", 5}, {"n2", 3}};
  m.full_gen = 5;
  m.full = tricky_document();
  const std::vector<uint8_t> bytes = encode(m);
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_THROW(decode(std::span(bytes).first(n)), DecodeError) << "prefix of " << n;
  }
}

TEST(MessageTest, DecodeOfMutatedMessagesEitherSucceedsOrThrowsDecodeError) {
  Message m;
  m.kind = MessageKind::kPatch;
  m.gens = {{"n1", 5}, {"n2", 3}};
  m.deltas = {{5, json::array({{{"op", "add"}, {"path", "/data"}, {"value", tricky_document()}}})}};
  const std::vector<uint8_t> good = encode(m);
  std::mt19937 rng(7);
  std::uniform_int_distribution<std::size_t> pos(0, good.size() - 1);
  std::uniform_int_distribution<int> byte(0, 255);
  int decoded = 0;
  for (int i = 0; i < 20000; ++i) {
    std::vector<uint8_t> bytes = good;
    for (int flips = 1 + i % 4; flips > 0; --flips)
      bytes[pos(rng)] = static_cast<uint8_t>(byte(rng));
    try {
      decode(bytes);
      ++decoded;
    } catch (const DecodeError&) {
    } catch (const std::exception& e) {
      ADD_FAILURE() << "mutation #" << i << " threw a non-DecodeError: " << e.what();
    }
  }
  EXPECT_LT(decoded, 20000);
}

TEST(MessageTest, DecodeRejectsTrailingBytes) {
  std::vector<uint8_t> bytes = encode(Message{});
  ASSERT_NO_THROW(decode(bytes));
  bytes.push_back(0xc0);
  EXPECT_THROW(decode(bytes), DecodeError);
}

TEST(MessageTest, DecodeRejectsHugeDeclaredContainersWithoutAllocating) {
  // array32 / map32 / str32 headers claiming 4 G entries, then nothing.
  EXPECT_THROW(decode(std::vector<uint8_t>{0xdd, 0xff, 0xff, 0xff, 0xff}), DecodeError);
  EXPECT_THROW(decode(std::vector<uint8_t>{0xdf, 0xff, 0xff, 0xff, 0xff}), DecodeError);
  EXPECT_THROW(decode(std::vector<uint8_t>{0xdb, 0xff, 0xff, 0xff, 0xff, 'a'}), DecodeError);
}

TEST(MessageTest, DecodeRejectsUnknownKind) {
  Raw r;
  r.pk().pack_map(2);
  r.str("k").pk().pack_uint8(3);
  r.str("g").pk().pack_map(0);
  EXPECT_THROW(decode(r.bytes()), DecodeError);
}

TEST(MessageTest, DecodeRejectsWrongTypesAndShapes) {
  struct Case {
    const char* name;
    std::vector<uint8_t> bytes;
  };
  std::vector<Case> cases;
  auto add = [&](const char* name, auto build) {
    Raw r;
    build(r);
    cases.push_back({name, r.bytes()});
  };
  add("root not a map", [](Raw& r) { r.pk().pack_array(0); });
  add("missing k", [](Raw& r) {
    r.pk().pack_map(1);
    r.str("g").pk().pack_map(0);
  });
  add("missing g", [](Raw& r) {
    r.pk().pack_map(1);
    r.str("k").pk().pack_uint8(0);
  });
  add("kind is a string", [](Raw& r) {
    r.pk().pack_map(2);
    r.str("k").str("ping");
    r.str("g").pk().pack_map(0);
  });
  add("negative kind", [](Raw& r) {
    r.pk().pack_map(2);
    r.str("k").pk().pack_int8(-1);
    r.str("g").pk().pack_map(0);
  });
  add("gens is an array", [](Raw& r) {
    r.pk().pack_map(2);
    r.str("k").pk().pack_uint8(0);
    r.str("g").pk().pack_array(0);
  });
  add("gen is negative", [](Raw& r) {
    r.pk().pack_map(2);
    r.str("k").pk().pack_uint8(0);
    r.str("g").pk().pack_map(1);
    r.str("n1").pk().pack_int8(-3);
  });
  add("gen key is an int", [](Raw& r) {
    r.pk().pack_map(2);
    r.str("k").pk().pack_uint8(0);
    r.str("g").pk().pack_map(1);
    r.pk().pack_uint8(1);
    r.pk().pack_uint8(1);
  });
  add("duplicate key", [](Raw& r) {
    r.pk().pack_map(3);
    r.str("k").pk().pack_uint8(0);
    r.str("g").pk().pack_map(0);
    r.str("k").pk().pack_uint8(0);
  });
  add("unknown key", [](Raw& r) {
    r.pk().pack_map(3);
    r.str("k").pk().pack_uint8(0);
    r.str("g").pk().pack_map(0);
    r.str("zz").pk().pack_nil();
  });
  add("deltas in a ping", [](Raw& r) {
    r.pk().pack_map(3);
    r.str("k").pk().pack_uint8(0);
    r.str("g").pk().pack_map(0);
    r.str("d").pk().pack_array(0);
  });
  add("patch without deltas", [](Raw& r) {
    r.pk().pack_map(2);
    r.str("k").pk().pack_uint8(1);
    r.str("g").pk().pack_map(0);
  });
  add("full without document", [](Raw& r) {
    r.pk().pack_map(3);
    r.str("k").pk().pack_uint8(2);
    r.str("g").pk().pack_map(0);
    r.str("fg").pk().pack_uint8(1);
  });
  auto patch_with = [&](const char* name, auto deltas) {
    add(name, [&](Raw& r) {
      r.pk().pack_map(3);
      r.str("k").pk().pack_uint8(1);
      r.str("g").pk().pack_map(0);
      r.str("d");
      deltas(r);
    });
  };
  patch_with("delta not a pair", [](Raw& r) {
    r.pk().pack_array(1);
    r.pk().pack_array(1);
    r.pk().pack_uint8(1);
  });
  patch_with("delta gens not consecutive", [](Raw& r) {
    r.pk().pack_array(2);
    r.pk().pack_array(2);
    r.pk().pack_uint8(1);
    r.pk().pack_array(0);
    r.pk().pack_array(2);
    r.pk().pack_uint8(3);
    r.pk().pack_array(0);
  });
  patch_with("delta gen 0", [](Raw& r) {
    r.pk().pack_array(1);
    r.pk().pack_array(2);
    r.pk().pack_uint8(0);
    r.pk().pack_array(0);
  });
  patch_with("ops not an array", [](Raw& r) {
    r.pk().pack_array(1);
    r.pk().pack_array(2);
    r.pk().pack_uint8(1);
    r.pk().pack_map(0);
  });
  patch_with("op not a map", [](Raw& r) {
    r.pk().pack_array(1);
    r.pk().pack_array(2);
    r.pk().pack_uint8(1);
    r.pk().pack_array(1);
    r.str("add");
  });
  auto full_with = [&](const char* name, auto value) {
    add(name, [&](Raw& r) {
      r.pk().pack_map(4);
      r.str("k").pk().pack_uint8(2);
      r.str("g").pk().pack_map(0);
      r.str("fg").pk().pack_uint8(1);
      r.str("f");
      value(r);
    });
  };
  full_with("bin value", [](Raw& r) {
    r.pk().pack_bin(1);
    r.pk().pack_bin_body("x", 1);
  });
  full_with("ext value", [](Raw& r) {
    r.pk().pack_ext(1, 5);
    r.pk().pack_ext_body("x", 1);
  });
  full_with("nan value",
            [](Raw& r) { r.pk().pack_double(std::numeric_limits<double>::quiet_NaN()); });
  full_with("invalid utf-8", [](Raw& r) { r.str("\xc3\x28"); });
  full_with("utf-8 surrogate", [](Raw& r) { r.str("\xed\xa0\x80"); });
  full_with("overlong utf-8", [](Raw& r) { r.str("\xc0\xaf"); });
  full_with("object key not a string", [](Raw& r) {
    r.pk().pack_map(1);
    r.pk().pack_uint8(1);
    r.pk().pack_nil();
  });
  full_with("duplicate object key", [](Raw& r) {
    r.pk().pack_map(2);
    r.str("a").pk().pack_nil();
    r.str("a").pk().pack_nil();
  });
  add("fg negative", [](Raw& r) {
    r.pk().pack_map(4);
    r.str("k").pk().pack_uint8(2);
    r.str("g").pk().pack_map(0);
    r.str("fg").pk().pack_int8(-1);
    r.str("f").pk().pack_nil();
  });
  for (const Case& c : cases) {
    EXPECT_THROW(decode(c.bytes), DecodeError) << c.name;
  }
}

TEST(MessageTest, DecodeAcceptsFloat32AndSignedIntsAsJsonNumbers) {
  Raw r;
  r.pk().pack_map(4);
  r.str("k").pk().pack_uint8(2);
  r.str("g").pk().pack_map(0);
  r.str("fg").pk().pack_uint8(1);
  r.str("f").pk().pack_array(3);
  r.pk().pack_float(1.5f);
  r.pk().pack_int8(-128);
  r.pk().pack_uint16(65535);
  const Message m = decode(r.bytes());
  EXPECT_EQ(m.full, json::array({1.5, -128, 65535}));
}

}  // namespace
}  // namespace vigil::heartbeat
