#include "membership/replicator.h"

#include <gtest/gtest.h>

namespace vigil::membership {
namespace {

using heartbeat::MessageKind;
using json = nlohmann::json;

// Two nodes replicating each other's documents through Replicator only.
struct Pair {
  patch::NodeDocument doc_a{json{{"labels", json::object()}}};
  patch::NodeDocument doc_b{json{{"labels", json::object()}}};
  Replicator a{"a", {"a", "b"}, doc_a};
  Replicator b{"b", {"a", "b"}, doc_b};
  uint64_t boot_a = 100, boot_b = 200;

  // a sends to b; returns what b did.
  Replicator::Received a_to_b() { return b.receive("a", boot_a, a.outgoing({"b"})); }
  Replicator::Received b_to_a() { return a.receive("b", boot_b, b.outgoing({"a"})); }
};

TEST(Replicator, FirstContactSendsPingThenFullOnRequest) {
  Pair p;
  // a has not heard b: b is not alive for a, so a pings.
  EXPECT_EQ(p.a.outgoing({}).kind, MessageKind::kPing);
  // b acknowledges gen 0 for a: a must send a full.
  p.b_to_a();
  auto msg = p.a.outgoing({"b"});
  ASSERT_EQ(msg.kind, MessageKind::kFull);
  EXPECT_EQ(msg.full_gen, 1u);
  auto r = p.b.receive("a", p.boot_a, msg);
  EXPECT_TRUE(r.full);
  EXPECT_EQ(p.b.document("a"), p.doc_a.committed());
  EXPECT_EQ(p.b.applied_gen("a"), 1u);
}

TEST(Replicator, CommittedChangeTravelsAsPatchAndIsAcknowledged) {
  Pair p;
  p.b_to_a();
  p.a_to_b();  // full
  p.b_to_a();  // b acks gen 1
  EXPECT_EQ(p.a.acked_gen("b"), 1u);
  EXPECT_EQ(p.a.outgoing({"b"}).kind, MessageKind::kPing);

  p.doc_a.set(json::json_pointer("/labels/rack"), "r7");
  ASSERT_TRUE(p.doc_a.commit());
  auto msg = p.a.outgoing({"b"});
  ASSERT_EQ(msg.kind, MessageKind::kPatch);
  ASSERT_EQ(msg.deltas.size(), 1u);
  EXPECT_EQ(msg.deltas[0].gen, 2u);
  auto r = p.b.receive("a", p.boot_a, msg);
  ASSERT_EQ(r.applied.size(), 1u);
  EXPECT_EQ(p.b.document("a")["labels"]["rack"], "r7");
  p.b_to_a();
  EXPECT_EQ(p.a.acked_gen("b"), 2u);
  EXPECT_EQ(p.a.outgoing({"b"}).kind, MessageKind::kPing);
  EXPECT_EQ(p.doc_a.journal().size(), 0u);  // trimmed once acknowledged
}

TEST(Replicator, UnacknowledgedDeltasAreResentUntilAcknowledged) {
  Pair p;
  p.b_to_a();
  p.a_to_b();
  p.b_to_a();
  p.doc_a.set(json::json_pointer("/labels/x"), 1);
  p.doc_a.commit();
  auto lost = p.a.outgoing({"b"});  // never delivered
  ASSERT_EQ(lost.kind, MessageKind::kPatch);
  p.doc_a.set(json::json_pointer("/labels/y"), 2);
  p.doc_a.commit();
  auto msg = p.a.outgoing({"b"});
  ASSERT_EQ(msg.deltas.size(), 2u);  // gen 2 again, and gen 3
  auto r = p.b.receive("a", p.boot_a, msg);
  EXPECT_EQ(r.applied.size(), 2u);
  EXPECT_EQ(p.b.document("a"), p.doc_a.committed());
}

TEST(Replicator, GapRequestsFullResync) {
  Pair p;
  p.b_to_a();
  p.a_to_b();
  p.b_to_a();
  p.doc_a.set(json::json_pointer("/labels/x"), 1);
  p.doc_a.commit();
  auto msg = p.a.outgoing({"b"});
  msg.deltas[0].gen = 5;  // b sees gen 5 after gen 1: a gap
  auto r = p.b.receive("a", p.boot_a, msg);
  EXPECT_TRUE(r.resync);
  EXPECT_EQ(p.b.gens().at("a"), 0u);  // advertises 0: full wanted
  p.b_to_a();
  EXPECT_EQ(p.a.outgoing({"b"}).kind, MessageKind::kFull);
}

TEST(Replicator, DeltaThatFailsToApplyRequestsFullResync) {
  Pair p;
  p.b_to_a();
  p.a_to_b();
  p.b_to_a();
  heartbeat::Message bad;
  bad.kind = MessageKind::kPatch;
  bad.gens = {{"a", 2}, {"b", 1}};
  bad.deltas.push_back({2, json::parse(R"([{"op":"remove","path":"/nope"}])")});
  auto r = p.b.receive("a", p.boot_a, bad);
  EXPECT_TRUE(r.resync);
  EXPECT_TRUE(r.applied.empty());
  EXPECT_EQ(p.b.gens().at("a"), 0u);
}

TEST(Replicator, PeerRestartResetsItsStateAndAsksForFull) {
  Pair p;
  p.b_to_a();
  p.a_to_b();
  EXPECT_EQ(p.b.applied_gen("a"), 1u);
  // a restarts: new boot, new document, gens start over.
  patch::NodeDocument doc_a2{json{{"labels", {{"boot", 2}}}}};
  Replicator a2{"a", {"a", "b"}, doc_a2};
  auto ping = a2.outgoing({});
  auto r = p.b.receive("a", 101, ping);
  EXPECT_FALSE(r.changed());
  EXPECT_EQ(p.b.gens().at("a"), 0u);
  // b's answer acknowledges 0 for a, so a2 sends a full; b takes it.
  a2.receive("b", p.boot_b, p.b.outgoing({"a"}));
  auto full = a2.outgoing({"b"});
  ASSERT_EQ(full.kind, MessageKind::kFull);
  r = p.b.receive("a", 101, full);
  EXPECT_TRUE(r.full);
  EXPECT_EQ(p.b.document("a")["labels"]["boot"], 2);
}

TEST(Replicator, ForgottenPeerIsAskedForFullWhenItReturns) {
  Pair p;
  p.a_to_b();
  p.b_to_a();  // b's document reaches a as a full
  p.a_to_b();
  p.b_to_a();
  EXPECT_EQ(p.a.gens().at("b"), 1u);
  p.a.forget("b");  // b went stale
  EXPECT_EQ(p.a.gens().at("b"), 0u);
  EXPECT_EQ(p.a.acked_gen("b"), 0u);
  // b comes back and hears a advertise 0 for it: b answers with a full.
  p.b.receive("a", p.boot_a, p.a.outgoing({}));
  auto msg = p.b.outgoing({"a"});
  ASSERT_EQ(msg.kind, MessageKind::kFull);
  EXPECT_TRUE(p.a.receive("b", p.boot_b, msg).full);
  EXPECT_EQ(p.a.gens().at("b"), 1u);
}

TEST(Replicator, AReorderedOlderFullNeverRollsTheDocumentBack) {
  Pair p;
  p.b_to_a();  // b asks for a full
  auto old_full = p.a.outgoing({"b"});
  ASSERT_EQ(old_full.kind, MessageKind::kFull);
  ASSERT_EQ(old_full.full_gen, 1u);
  p.doc_a.set(json::json_pointer("/labels/rack"), "r7");
  ASSERT_TRUE(p.doc_a.commit());
  auto new_full = p.a.outgoing({"b"});  // b still acknowledges 0: another full
  ASSERT_EQ(new_full.kind, MessageKind::kFull);
  ASSERT_EQ(new_full.full_gen, 2u);

  // The network delivers them in the wrong order.
  EXPECT_TRUE(p.b.receive("a", p.boot_a, new_full).full);
  EXPECT_FALSE(p.b.receive("a", p.boot_a, old_full).full);
  EXPECT_EQ(p.b.applied_gen("a"), 2u);
  EXPECT_EQ(p.b.document("a")["labels"]["rack"], "r7");
}

TEST(Replicator, TooManyDeltasAreSentAsFull) {
  Pair p;
  p.b_to_a();
  p.a_to_b();
  p.b_to_a();
  for (std::size_t i = 0; i <= Replicator::kMaxDeltasPerMessage; ++i) {
    p.doc_a.set(json::json_pointer("/labels/x"), i);
    p.doc_a.commit();
  }
  EXPECT_EQ(p.a.outgoing({"b"}).kind, MessageKind::kFull);
}

// Refuses documents holding "bad"; lets deltas skip the check only when
// `cheap` says so, so both the in-place and the copy path are run.
struct NoBadKey : DocumentCheck {
  bool cheap = false;
  std::optional<std::string> refuse(const json& doc) const override {
    if (doc.is_object() && doc.contains("bad")) return std::string("/bad: not allowed");
    return std::nullopt;
  }
  bool keeps_valid(const json&) const override { return cheap; }
};

heartbeat::Message full_of(const json& doc, uint64_t gen) {
  heartbeat::Message m;
  m.kind = MessageKind::kFull;
  m.gens = {{"a", gen}};
  m.full_gen = gen;
  m.full = doc;
  return m;
}

heartbeat::Message patch_of(const json& ops, uint64_t gen) {
  heartbeat::Message m;
  m.kind = MessageKind::kPatch;
  m.gens = {{"a", gen}};
  m.deltas = {{gen, ops}};
  return m;
}

TEST(Replicator, ARefusedFullIsNeverShownAndNotAskedForAgain) {
  NoBadKey check;
  patch::NodeDocument doc{json::object()};
  Replicator r{"b", {"a"}, doc, &check};
  auto got = r.receive("a", 1, full_of({{"bad", 1}}, 1));
  ASSERT_TRUE(got.refused.has_value());
  EXPECT_EQ(*got.refused, "/bad: not allowed");
  EXPECT_FALSE(got.changed());
  EXPECT_TRUE(r.document("a").is_null());
  // The gen is acknowledged all the same: the peer does not resend it forever.
  EXPECT_EQ(r.gens().at("a"), 1u);
  // A delta that makes the document acceptable shows it, as a full.
  got = r.receive("a", 1, patch_of(json::parse(R"([{"op":"remove","path":"/bad"}])"), 2));
  EXPECT_FALSE(got.refused);
  EXPECT_TRUE(got.full);
  EXPECT_EQ(r.document("a"), json::object());
}

TEST(Replicator, ADeltaThatBreaksTheDocumentKeepsTheLastAcceptedOne) {
  for (bool cheap : {false, true}) {
    NoBadKey check;
    patch::NodeDocument doc{json::object()};
    Replicator r{"b", {"a"}, doc, &check};
    ASSERT_TRUE(r.receive("a", 1, full_of({{"x", 1}}, 1)).full);
    check.cheap = cheap;  // an in-place apply is still checked once refused
    auto got =
        r.receive("a", 1, patch_of(json::parse(R"([{"op":"add","path":"/x","value":2}])"), 2));
    EXPECT_FALSE(got.refused);
    EXPECT_EQ(got.applied.size(), 1u);
    check.cheap = false;
    got = r.receive("a", 1, patch_of(json::parse(R"([{"op":"add","path":"/bad","value":1}])"), 3));
    ASSERT_TRUE(got.refused.has_value());
    EXPECT_TRUE(got.applied.empty());
    EXPECT_EQ(r.document("a"), json({{"x", 2}}));
    EXPECT_EQ(r.applied_gen("a"), 3u);
    // Later deltas still follow the peer's real document.
    got = r.receive("a", 1, patch_of(json::parse(R"([{"op":"add","path":"/y","value":1}])"), 4));
    ASSERT_TRUE(got.refused.has_value());
    EXPECT_EQ(r.document("a"), json({{"x", 2}}));
    got = r.receive("a", 1, patch_of(json::parse(R"([{"op":"remove","path":"/bad"}])"), 5));
    EXPECT_FALSE(got.refused);
    EXPECT_TRUE(got.full);
    EXPECT_EQ(r.document("a"), json({{"x", 2}, {"y", 1}}));
  }
}

TEST(Replicator, ASnapshotNeverChangesAndIsCopiedOnlyWhileHeld) {
  patch::NodeDocument doc{json::object()};
  Replicator r{"b", {"a"}, doc};
  EXPECT_EQ(r.snapshot("nobody"), nullptr);
  auto got = r.receive("a", 1, full_of({{"x", 1}}, 1));
  ASSERT_TRUE(got.full);
  // The change reports the document as shown, and its gen.
  ASSERT_NE(got.document, nullptr);
  EXPECT_EQ(*got.document, json({{"x", 1}}));
  EXPECT_EQ(got.gen, 1u);
  EXPECT_EQ(got.document, r.snapshot("a"));
  got = {};

  // Nothing holds the document: a delta applies in place.
  const json* before = &r.document("a");
  got = r.receive("a", 1, patch_of(json::parse(R"([{"op":"add","path":"/x","value":2}])"), 2));
  EXPECT_EQ(&r.document("a"), before);
  EXPECT_EQ(got.gen, 2u);
  got = {};

  // A snapshot is held (an event still carries it): the next delta applies
  // to a copy, and the snapshot keeps what it showed.
  auto held = r.snapshot("a");
  got = r.receive("a", 1, patch_of(json::parse(R"([{"op":"add","path":"/y","value":3}])"), 3));
  EXPECT_EQ(*held, json({{"x", 2}}));
  EXPECT_EQ(r.document("a"), json({{"x", 2}, {"y", 3}}));
  EXPECT_NE(&r.document("a"), held.get());
  EXPECT_EQ(*got.document, r.document("a"));
  // A full replaces it without touching the held one either.
  got = r.receive("a", 1, full_of({{"z", 4}}, 4));
  EXPECT_EQ(*held, json({{"x", 2}}));
  EXPECT_EQ(*r.snapshot("a"), json({{"z", 4}}));
  // Nothing changed, nothing reported.
  got = r.receive("a", 1, full_of({{"z", 4}}, 4));
  EXPECT_FALSE(got.changed());
  EXPECT_EQ(got.document, nullptr);
}

TEST(Replicator, ASnapshotOfARefusedPeerIsTheLastAcceptedDocument) {
  NoBadKey check;
  patch::NodeDocument doc{json::object()};
  Replicator r{"b", {"a"}, doc, &check};
  ASSERT_TRUE(r.receive("a", 1, full_of({{"x", 1}}, 1)).full);
  auto held = r.snapshot("a");
  auto got =
      r.receive("a", 1, patch_of(json::parse(R"([{"op":"add","path":"/bad","value":1}])"), 2));
  ASSERT_TRUE(got.refused.has_value());
  EXPECT_EQ(*r.snapshot("a"), json({{"x", 1}}));
  EXPECT_EQ(*held, json({{"x", 1}}));
  got = r.receive("a", 1, patch_of(json::parse(R"([{"op":"remove","path":"/bad"}])"), 3));
  ASSERT_TRUE(got.full);
  EXPECT_EQ(*got.document, json({{"x", 1}}));
  EXPECT_EQ(got.gen, 3u);
}

// ---- gossip mode ----

json add_label(const std::string& k, const std::string& v) {
  return json::array({{{"op", "add"}, {"path", "/labels/" + k}, {"value", v}}});
}

struct Three {
  patch::NodeDocument doc_a{json{{"labels", json::object()}}};
  patch::NodeDocument doc_b{json{{"labels", json::object()}}};
  patch::NodeDocument doc_c{json{{"labels", json::object()}}};
  Replicator a{"a", {"b", "c"}, doc_a};
  Replicator b{"b", {"a", "c"}, doc_b};
  Replicator c{"c", {"a", "b"}, doc_c};
};

TEST(ReplicatorGossip, ARelayedDeltaAppliesOnceAndIsFreshOnlyTheFirstTime) {
  Three t;
  ASSERT_TRUE(t.c.relayed_full(*t.a.full_of("a", 7)).full);
  auto r = t.c.relayed({"a", 7, 2, add_label("x", "1")});
  EXPECT_TRUE(r.fresh);
  ASSERT_EQ(r.applied.size(), 1u);
  EXPECT_EQ(t.c.document("a")["labels"]["x"], "1");
  // The same delta relayed by another node: not fresh, not applied again.
  auto again = t.c.relayed({"a", 7, 2, add_label("x", "1")});
  EXPECT_FALSE(again.fresh);
  EXPECT_TRUE(again.applied.empty());
  // Deltas of this node itself and of non-members are ignored.
  EXPECT_FALSE(t.c.relayed({"c", 1, 2, add_label("y", "1")}).fresh);
  EXPECT_FALSE(t.c.relayed({"zz", 1, 2, add_label("y", "1")}).fresh);
}

TEST(ReplicatorGossip, OutOfOrderDeltasAreHeldBackUntilTheGapFills) {
  Three t;
  t.c.relayed_full(*t.a.full_of("a", 7));
  auto r3 = t.c.relayed({"a", 7, 3, add_label("y", "2")});
  EXPECT_TRUE(r3.fresh);
  EXPECT_TRUE(r3.applied.empty());
  EXPECT_EQ(t.c.applied_gen("a"), 1u);
  auto r2 = t.c.relayed({"a", 7, 2, add_label("x", "1")});
  ASSERT_EQ(r2.applied.size(), 2u);
  EXPECT_EQ(t.c.applied_gen("a"), 3u);
  EXPECT_EQ(t.c.document("a")["labels"], (json{{"x", "1"}, {"y", "2"}}));
}

TEST(ReplicatorGossip, ANewerBootResetsAndAnOlderBootIsIgnored) {
  Three t;
  t.c.relayed_full(*t.a.full_of("a", 7));
  t.c.relayed({"a", 7, 2, add_label("x", "1")});
  // a restarted (boot 9): its gens start over; deltas wait for a full.
  auto r = t.c.relayed({"a", 9, 2, add_label("z", "1")});
  EXPECT_TRUE(r.applied.empty());
  EXPECT_EQ(t.c.versions(5).at("a"), (heartbeat::DocVersion{9, 0}));
  // An old boot's delta, relayed late, changes nothing.
  EXPECT_FALSE(t.c.relayed({"a", 7, 3, add_label("old", "1")}).fresh);
  auto full = t.c.relayed_full({"a", 9, 1, json{{"labels", json::object()}}});
  EXPECT_TRUE(full.full);
  EXPECT_EQ(t.c.applied_gen("a"), 2u);  // the held gen 2 followed the full
  EXPECT_EQ(t.c.document("a")["labels"]["z"], "1");
}

TEST(ReplicatorGossip, AntiEntropyFindsWhatEachSideLacks) {
  Three t;
  // b holds a's document at gen 1; c holds nothing of a.
  t.b.relayed_full(*t.a.full_of("a", 7));
  const auto vb = t.b.versions(20), vc = t.c.versions(30);
  EXPECT_EQ(t.b.newer_than(vc, 20), (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(t.c.older_than(vb, 30));
  EXPECT_TRUE(t.b.older_than(vc, 20));  // c holds its own document, b none of it
  // After the pull, nothing is missing either way for a and b.
  for (const auto& n : t.b.newer_than(vc, 20)) t.c.relayed_full(*t.b.full_of(n, 20));
  EXPECT_FALSE(t.c.older_than(t.b.versions(20), 30));
  EXPECT_EQ(t.c.document("a"), t.doc_a.committed());
  // A full already held is not fresh.
  EXPECT_FALSE(t.c.relayed_full(*t.b.full_of("a", 20)).fresh);
}

}  // namespace
}  // namespace vigil::membership
