#include "membership/webhook_set.h"

#include <stdexcept>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "membership/webhook_sync.h"

namespace vigil::membership {
namespace {

using json = nlohmann::json;

WebhookEntry hook(const std::string& url, const std::string& token = "") {
  WebhookEntry e{.url = url};
  if (!token.empty()) {
    e.auth = WebhookEntry::Auth::kBearer;
    e.token = token;
  }
  return e;
}

TEST(WebhookSet, PutStampsTheNextLamportTimeAndTheWriter) {
  WebhookSet s;
  auto a = s.put(hook("http://127.0.0.1:1/a"), "n1");
  auto b = s.put(hook("http://127.0.0.1:1/b"), "n2");
  EXPECT_EQ(a.ltime, 1u);
  EXPECT_EQ(b.ltime, 2u);
  EXPECT_EQ(b.writer, "n2");
  EXPECT_EQ(s.active().size(), 2u);
}

TEST(WebhookSet, AnyDeliveryOrderConverges) {
  WebhookSet n1, n2;
  auto add = n1.put(hook("http://h/x", "t1"), "n1");
  n2.merge(add);
  auto mod = n2.put(hook("http://h/x", "t2"), "n2");
  auto del = n1.remove("http://h/x", "n1");  // concurrent with mod: same ltime
  ASSERT_EQ(mod.ltime, del.ltime);
  WebhookSet a, b;
  for (const auto& e : {add, mod, del}) a.merge(e);
  for (const auto& e : {del, mod, add, mod}) b.merge(e);
  EXPECT_EQ(a.digest(), b.digest());
  // On a tie, the delete wins: a change racing a delete does not undo it.
  EXPECT_EQ(a.find("http://h/x")->state, WebhookEntry::State::kDeleted);
  EXPECT_TRUE(a.active().empty());
  // Adding again makes a newer entry.
  a.put(hook("http://h/x"), "n3");
  EXPECT_EQ(a.active().size(), 1u);
}

TEST(WebhookSet, ATombstoneKeepsNoCredential) {
  WebhookSet s;
  s.put(hook("http://h/x", "secret-token"), "n1");
  auto del = s.remove("http://h/x", "n1");
  EXPECT_TRUE(del.token.empty());
  EXPECT_EQ(s.entries_json().dump().find("secret-token"), std::string::npos);
}

TEST(WebhookSet, JsonRoundTripAndFieldErrors) {
  WebhookSet s;
  WebhookEntry e = hook("https://h/x");
  e.auth = WebhookEntry::Auth::kJwt;
  e.secret = "k";
  e.filters = {"NodeStale", "NodeAlive,node=n2"};
  s.put(e, "n1");
  const WebhookSet back = WebhookSet::from_json(s.to_json());
  EXPECT_EQ(back.digest(), s.digest());
  EXPECT_EQ(back.clock(), s.clock());
  json good = to_json(*s.find("https://h/x"));
  for (const auto& [field, value, reason] : std::vector<std::tuple<std::string, json, std::string>>{
           {"url", "ftp://h/x", "webhook url: expected an http:// or https:// URL"},
           {"state", "gone", "webhook state"},
           {"auth", "basic", "webhook auth"},
           {"ltime", -1, "webhook ltime"},
           {"writer", "", "webhook writer"},
           {"filters", json::array({1}), "webhook filters"},
           {"secret", "", "webhook secret: missing"},
           {"extra", 1, "webhook extra: unknown field"}}) {
    json bad = good;
    bad[field] = value;
    try {
      webhook_from_json(bad);
      FAIL() << field;
    } catch (const std::invalid_argument& err) {
      EXPECT_EQ(std::string(err.what()).rfind(reason, 0), 0u) << err.what();
    }
  }
  // A malformed entry among good ones is counted, never thrown.
  WebhookSet other;
  auto merged = other.merge_all(json::array({good, json::object(), 5}));
  EXPECT_EQ(merged.changed.size(), 1u);
  EXPECT_EQ(merged.refused, 2u);
}

TEST(WebhookSet, BoundsRefuseALocalPutAndChangeNothing) {
  WebhookSet s;
  WebhookEntry big = hook("http://h/big", std::string(kMaxWebhookCredentialBytes, 't'));
  for (int i = 0; i < 7; ++i) {
    big.url = "http://h/big" + std::to_string(i);
    s.put(big, "n1");
  }
  const uint64_t before = s.digest();
  big.url = "http://h/big-too-many";
  EXPECT_THROW(s.put(big, "n1"), std::length_error);
  EXPECT_EQ(s.digest(), before);
}

TEST(WebhookSync, ADigestDifferencePullsAndAChangeIsAgreedOnceBothHoldIt) {
  using Clock = WebhookSync::Clock;
  const auto t0 = Clock::time_point{} + std::chrono::hours(1);
  WebhookSync a, b;
  heartbeat::Message quiet;
  b.prepare(quiet, {"a"}, t0);
  EXPECT_FALSE(quiet.webhook_digest);  // the empty set sends no digest
  EXPECT_TRUE(quiet.webhooks.is_null());

  a.put(hook("http://h/x"), "a", t0);
  EXPECT_FALSE(a.agreed("b"));
  heartbeat::Message from_a;
  a.prepare(from_a, {"b"}, t0);
  ASSERT_TRUE(from_a.webhooks.is_array());  // pushed after a change
  b.on_message("a", from_a, t0);
  EXPECT_EQ(b.digest(), a.digest());
  heartbeat::Message from_b;
  b.prepare(from_b, {"a"}, t0 + DigestSync::kPushFor * 2);
  EXPECT_TRUE(from_b.webhooks.is_null());  // nothing differs any more
  a.on_message("b", from_b, t0 + DigestSync::kPushFor * 2);
  EXPECT_TRUE(a.agreed("b"));

  // A peer that missed the push (its digest differs) gets the set again.
  WebhookSync c;
  heartbeat::Message from_c;
  c.prepare(from_c, {"a"}, t0);
  a.on_message("c", from_c, t0 + DigestSync::kPushFor * 3);
  heartbeat::Message again;
  a.prepare(again, {"b", "c"}, t0 + DigestSync::kPushFor * 3);
  EXPECT_TRUE(again.webhooks.is_array());
}

}  // namespace
}  // namespace vigil::membership
