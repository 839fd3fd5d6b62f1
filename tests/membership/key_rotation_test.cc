#include "membership/key_rotation.h"

#include <stdexcept>

#include <gtest/gtest.h>

namespace vigil::membership {
namespace {

using std::chrono::milliseconds;
using Clock = KeyRotation::Clock;

crypto::Secret secret_of(uint8_t fill) {
  crypto::Secret s;
  s.fill(fill);
  return s;
}

const Clock::time_point t0{std::chrono::seconds(1000)};
const KeyRotation::Options kOptions{.grace = milliseconds(5000), .timeout = milliseconds(3000)};

struct Node {
  explicit Node(std::map<uint32_t, crypto::Secret> secrets = {{1, secret_of(1)}},
                uint32_t current = 1, std::string name = "a")
      : rotation(ring, "c", std::move(name), std::move(secrets), current, kOptions) {}
  explicit Node(std::string name) : Node({{1, secret_of(1)}}, 1, std::move(name)) {}
  crypto::Keyring ring;
  KeyRotation rotation;
};

TEST(KeyRotationTest, StartsWithTheGivenVersionsAndKeys) {
  Node n({{1, secret_of(1)}, {2, secret_of(2)}}, 2);
  EXPECT_EQ(n.ring.current_version(), 2u);
  ASSERT_NE(n.ring.find(1), nullptr);
  EXPECT_EQ(*n.ring.find(1), crypto::derive_key(secret_of(1), "c", 1));
  EXPECT_EQ(n.rotation.versions(), (std::vector<uint32_t>{1, 2}));
  EXPECT_EQ(n.rotation.next_version(), 3u);
  EXPECT_FALSE(n.rotation.leading());
}

TEST(KeyRotationTest, RefusesNoSecretOrAnUnheldCurrentVersion) {
  crypto::Keyring ring;
  EXPECT_THROW(KeyRotation(ring, "c", "a", {}, 1, kOptions), std::invalid_argument);
  EXPECT_THROW(KeyRotation(ring, "c", "a", {{1, secret_of(1)}}, 2, kOptions),
               std::invalid_argument);
}

TEST(KeyRotationTest, SendersSwitchOnlyOnceEveryAlivePeerHoldsTheNewVersion) {
  Node leader, b, c;
  const uint32_t v = leader.rotation.start(secret_of(9), t0);
  EXPECT_EQ(v, 2u);
  EXPECT_TRUE(leader.rotation.leading());
  ASSERT_TRUE(leader.rotation.offer().has_value());
  EXPECT_EQ(leader.rotation.offer()->version, 2u);
  // Staged, not used: the peers have not acknowledged.
  leader.rotation.heard("b", {1});
  leader.rotation.heard("c", {1});
  auto sel = leader.rotation.select({"b", "c"}, t0);
  EXPECT_FALSE(sel.switched_to);
  EXPECT_EQ(leader.ring.current_version(), 1u);
  ASSERT_NE(leader.ring.find(2), nullptr);  // but already accepted

  // b and c receive the offer and stage it.
  for (Node* n : {&b, &c}) {
    EXPECT_EQ(n->rotation.check_offer(*leader.rotation.offer()), KeyRotation::OfferCheck::kNew);
    n->rotation.stage(*leader.rotation.offer());
    EXPECT_EQ(n->rotation.check_offer(*leader.rotation.offer()), KeyRotation::OfferCheck::kHeld);
    EXPECT_EQ(n->rotation.versions(), (std::vector<uint32_t>{1, 2}));
  }
  // b acknowledged, c not yet: nobody switches.
  leader.rotation.heard("b", b.rotation.versions());
  EXPECT_FALSE(leader.rotation.select({"b", "c"}, t0 + milliseconds(100)).switched_to);
  b.rotation.heard("a", leader.rotation.versions());
  b.rotation.heard("c", {1});
  EXPECT_FALSE(b.rotation.select({"a", "c"}, t0 + milliseconds(100)).switched_to);
  // c acknowledged: each switches on its own.
  leader.rotation.heard("c", c.rotation.versions());
  sel = leader.rotation.select({"b", "c"}, t0 + milliseconds(200));
  EXPECT_EQ(sel.switched_to, 2u);
  EXPECT_EQ(sel.succeeded, 2u);
  EXPECT_FALSE(leader.rotation.leading());
  EXPECT_FALSE(leader.rotation.offer().has_value());
  EXPECT_EQ(leader.ring.current_version(), 2u);
  b.rotation.heard("c", c.rotation.versions());
  sel = b.rotation.select({"a", "c"}, t0 + milliseconds(200));
  EXPECT_EQ(sel.switched_to, 2u);
  EXPECT_FALSE(sel.succeeded) << "only the leader's rotation succeeds";
}

TEST(KeyRotationTest, AnAlivePeerThatHasNotAcknowledgedHoldsTheSwitchBack) {
  // c is alive and its last list lacks version 2: no switch, and the
  // rotation fails at the timeout.
  Node leader;
  leader.rotation.start(secret_of(9), t0);
  leader.rotation.heard("b", {1, 2});
  leader.rotation.heard("c", {1});
  EXPECT_FALSE(leader.rotation.select({"b", "c"}, t0).switched_to);
  EXPECT_EQ(leader.rotation.select({"b", "c"}, t0 + milliseconds(3000)).failed, 2u);
  EXPECT_FALSE(leader.rotation.select({"b", "c"}, t0 + milliseconds(9000)).switched_to);
  EXPECT_EQ(leader.ring.current_version(), 1u);
  // Once c lists version 2 (staged from a catch-up offer), the switch happens.
  leader.rotation.heard("c", {1, 2});
  EXPECT_EQ(leader.rotation.select({"b", "c"}, t0 + milliseconds(9500)).switched_to, 2u);
}

TEST(KeyRotationTest, APeerNeverHeardWithAListHoldsNothing) {
  Node n({{1, secret_of(1)}, {2, secret_of(2)}}, 2);
  auto sel = n.rotation.select({"b"}, t0);
  EXPECT_FALSE(sel.switched_to);
  EXPECT_EQ(n.ring.current_version(), 2u);
  // b holds only the older version: the sealing version never moves down;
  // b is caught up instead, with a ping sealed under version 1.
  n.rotation.heard("b", {1});
  EXPECT_FALSE(n.rotation.select({"b"}, t0).switched_to);
  EXPECT_EQ(n.ring.current_version(), 2u);
  const auto catch_up = n.rotation.catch_up({"b"});
  ASSERT_EQ(catch_up.size(), 1u);
  EXPECT_EQ(catch_up[0].version, 1u);
  EXPECT_EQ(catch_up[0].offer.version, 2u);
  EXPECT_TRUE(catch_up[0].offer.settled);
  EXPECT_EQ(catch_up[0].peers, (std::vector<std::string>{"b"}));
}

TEST(KeyRotationTest, ALeaderWithoutAcknowledgementsFailsAtTheTimeout) {
  Node leader;
  leader.rotation.start(secret_of(9), t0);
  leader.rotation.heard("b", {1});
  EXPECT_FALSE(leader.rotation.select({"b"}, t0 + milliseconds(2999)).failed);
  const auto sel = leader.rotation.select({"b"}, t0 + milliseconds(3000));
  EXPECT_EQ(sel.failed, 2u);
  EXPECT_FALSE(leader.rotation.leading());
  EXPECT_EQ(leader.ring.current_version(), 1u);
  // The next rotation takes the next version.
  EXPECT_EQ(leader.rotation.start(secret_of(10), t0 + milliseconds(4000)), 3u);
}

TEST(KeyRotationTest, OneRotationAtATime) {
  Node leader;
  leader.rotation.start(secret_of(9), t0);
  EXPECT_THROW(leader.rotation.start(secret_of(10), t0), std::logic_error);
}

TEST(KeyRotationTest, AVersionInUseNeverChanges) {
  Node n;
  heartbeat::KeyOffer other{.version = 1, .secret = secret_of(7), .leader = "z"};
  EXPECT_EQ(n.rotation.check_offer(other), KeyRotation::OfferCheck::kLoses);
  other.settled = true;  // two settled secrets for one version: an error to report
  EXPECT_EQ(n.rotation.check_offer(other), KeyRotation::OfferCheck::kConflict);
}

TEST(KeyRotationTest, OldVersionsAreRetiredAfterTheGracePeriod) {
  Node n;
  n.rotation.start(secret_of(9), t0);
  ASSERT_EQ(n.rotation.select({}, t0).switched_to, 2u);  // alone: no one to wait for
  EXPECT_TRUE(n.rotation.retire_expired(t0 + milliseconds(4999)).empty());
  EXPECT_NE(n.ring.find(1), nullptr);
  EXPECT_EQ(n.rotation.retire_expired(t0 + milliseconds(5000)), (std::vector<uint32_t>{1}));
  EXPECT_EQ(n.ring.find(1), nullptr);
  EXPECT_EQ(n.rotation.versions(), (std::vector<uint32_t>{2}));
  EXPECT_EQ(n.rotation.secrets().count(1), 0u);
}

TEST(KeyRotationTest, VersionsLoadedAtStartAreRetiredAGraceAfterTheFirstSelect) {
  Node n({{1, secret_of(1)}, {2, secret_of(2)}}, 2);
  n.rotation.heard("b", {1, 2});
  n.rotation.select({"b"}, t0);
  EXPECT_TRUE(n.rotation.retire_expired(t0 + milliseconds(4000)).empty());
  EXPECT_EQ(n.rotation.retire_expired(t0 + milliseconds(5000)), (std::vector<uint32_t>{1}));
}

TEST(KeyRotationTest, ConcurrentRotationsConvergeOnTheHigherLeader) {
  Node a("a"), b("b"), c1("c1"), c2("c2");
  a.rotation.start(secret_of(10), t0);
  b.rotation.start(secret_of(20), t0);
  const heartbeat::KeyOffer from_a = *a.rotation.offer(), from_b = *b.rotation.offer();
  ASSERT_EQ(from_a.version, 2u);
  ASSERT_EQ(from_b.version, 2u);
  // Both list version 2, with different key ids: neither counts the other's
  // list as an acknowledgement, so neither switches.
  a.rotation.heard("b", b.rotation.versions(), b.rotation.key_ids());
  EXPECT_NE(a.rotation.key_ids(), b.rotation.key_ids());
  EXPECT_FALSE(a.rotation.select({"b"}, t0).switched_to);
  // Whatever the order offers arrive in, (2, "b") wins everywhere.
  EXPECT_EQ(c1.rotation.check_offer(from_a), KeyRotation::OfferCheck::kNew);
  c1.rotation.stage(from_a);
  EXPECT_EQ(c1.rotation.check_offer(from_b), KeyRotation::OfferCheck::kReplace);
  c1.rotation.stage(from_b);
  EXPECT_EQ(c2.rotation.check_offer(from_b), KeyRotation::OfferCheck::kNew);
  c2.rotation.stage(from_b);
  EXPECT_EQ(c2.rotation.check_offer(from_a), KeyRotation::OfferCheck::kLoses);
  EXPECT_EQ(b.rotation.check_offer(from_a), KeyRotation::OfferCheck::kLoses);
  // The losing leader adopts the winner's secret, and its rotation is lost.
  EXPECT_EQ(a.rotation.check_offer(from_b), KeyRotation::OfferCheck::kReplace);
  EXPECT_EQ(a.rotation.stage(from_b), 2u);
  EXPECT_FALSE(a.rotation.leading());
  for (Node* n : {&a, &c1, &c2}) EXPECT_EQ(n->rotation.key_ids(), b.rotation.key_ids());
  EXPECT_EQ(*a.ring.find(2), *b.ring.find(2));
  // Every list now names the winner's key: the winner switches and succeeds.
  for (auto [name, n] : {std::pair{"a", &a}, {"c1", &c1}, {"c2", &c2}})
    b.rotation.heard(name, n->rotation.versions(), n->rotation.key_ids());
  const auto sel = b.rotation.select({"a", "c1", "c2"}, t0 + milliseconds(100));
  EXPECT_EQ(sel.switched_to, 2u);
  EXPECT_EQ(sel.succeeded, 2u);
}

TEST(KeyRotationTest, ARotationPassedByANewerVersionIsLost) {
  Node a("a"), b("b");
  a.rotation.start(secret_of(10), t0);
  // b staged a's version 2 and started its own rotation to version 3.
  b.rotation.stage(*a.rotation.offer());
  b.rotation.start(secret_of(30), t0);
  EXPECT_EQ(a.rotation.check_offer(*b.rotation.offer()), KeyRotation::OfferCheck::kNew);
  EXPECT_FALSE(a.rotation.stage(*b.rotation.offer()));
  a.rotation.heard("b", b.rotation.versions(), b.rotation.key_ids());
  const auto sel = a.rotation.select({"b"}, t0 + milliseconds(100));
  EXPECT_EQ(sel.switched_to, 3u);
  EXPECT_EQ(sel.lost, 2u);
  EXPECT_FALSE(sel.succeeded);
  EXPECT_FALSE(a.rotation.leading());
}

TEST(KeyRotationTest, ANodeDownDuringARotationIsCaughtUp) {
  Node a("a"), b("b"), c("c");
  a.rotation.heard("c", c.rotation.versions(), c.rotation.key_ids());  // before c went down
  a.rotation.start(secret_of(10), t0);
  b.rotation.stage(*a.rotation.offer());
  a.rotation.heard("b", b.rotation.versions(), b.rotation.key_ids());
  // c is down: only the alive peers count for the switch.
  const auto sel = a.rotation.select({"b"}, t0 + milliseconds(100));
  EXPECT_EQ(sel.switched_to, 2u);
  EXPECT_EQ(sel.succeeded, 2u);
  // Version 1 stays while c, the last time it was heard, held nothing newer.
  EXPECT_TRUE(a.rotation.retire_expired(t0 + milliseconds(60000)).empty());
  ASSERT_NE(a.ring.find(1), nullptr);
  // c returns, sealing with version 1: it is offered version 2, settled,
  // in a ping sealed under version 1.
  a.rotation.heard("c", c.rotation.versions(), c.rotation.key_ids());
  EXPECT_FALSE(a.rotation.select({"b", "c"}, t0 + milliseconds(60100)).switched_to);
  EXPECT_EQ(a.ring.current_version(), 2u) << "never follows a laggard down";
  const auto catch_up = a.rotation.catch_up({"b", "c"});
  ASSERT_EQ(catch_up.size(), 1u);
  EXPECT_EQ(catch_up[0].version, 1u);
  EXPECT_EQ(catch_up[0].peers, (std::vector<std::string>{"c"}));
  const heartbeat::KeyOffer& offer = catch_up[0].offer;
  EXPECT_EQ(offer.version, 2u);
  EXPECT_EQ(offer.leader, "a");
  EXPECT_TRUE(offer.settled);
  EXPECT_EQ(c.rotation.check_offer(offer), KeyRotation::OfferCheck::kNew);
  c.rotation.stage(offer);
  c.rotation.heard("a", a.rotation.versions(), a.rotation.key_ids());
  c.rotation.heard("b", b.rotation.versions(), b.rotation.key_ids());
  EXPECT_EQ(c.rotation.select({"a", "b"}, t0 + milliseconds(60200)).switched_to, 2u);
  // Once c holds version 2, nothing needs version 1: retired a grace later.
  a.rotation.heard("c", c.rotation.versions(), c.rotation.key_ids());
  EXPECT_TRUE(a.rotation.catch_up({"b", "c"}).empty());
  EXPECT_TRUE(a.rotation.retire_expired(t0 + milliseconds(60300)).empty());
  EXPECT_EQ(a.rotation.retire_expired(t0 + milliseconds(65300)), (std::vector<uint32_t>{1}));
}

TEST(KeyRotationTest, ASettledVersionReplacesALeftoverOfAFailedRotation) {
  // c led a rotation to version 2 that failed; the cluster later settled
  // another secret as version 2. The settled one wins.
  Node c("c");
  c.rotation.start(secret_of(50), t0);
  ASSERT_EQ(c.rotation.select({"a"}, t0 + milliseconds(3000)).failed, 2u);
  heartbeat::KeyOffer settled{
      .version = 2, .secret = secret_of(10), .leader = "a", .settled = true};
  EXPECT_EQ(c.rotation.check_offer(settled), KeyRotation::OfferCheck::kReplace);
  EXPECT_FALSE(c.rotation.stage(settled));
  EXPECT_EQ(*c.ring.find(2), crypto::derive_key(secret_of(10), "c", 2));
}

TEST(KeyRotationTest, WithNoPeerAliveOnlyThisNodesOwnRotationSwitches) {
  // Restarted holding version 2, staged from an offer but never used: no
  // peer is heard yet, so it keeps sealing with version 1.
  Node n({{1, secret_of(1)}, {2, secret_of(2)}}, 1);
  EXPECT_FALSE(n.rotation.select({}, t0).switched_to);
  EXPECT_EQ(n.ring.current_version(), 1u);
  // Its own rotation, with nobody else up, completes at once.
  EXPECT_EQ(n.rotation.start(secret_of(3), t0), 3u);
  EXPECT_EQ(n.rotation.select({}, t0).switched_to, 3u);
}

}  // namespace
}  // namespace vigil::membership
