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
                uint32_t current = 1)
      : rotation(ring, "c", std::move(secrets), current, kOptions) {}
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
  EXPECT_THROW(KeyRotation(ring, "c", {}, 1, kOptions), std::invalid_argument);
  EXPECT_THROW(KeyRotation(ring, "c", {{1, secret_of(1)}}, 2, kOptions), std::invalid_argument);
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

TEST(KeyRotationTest, APeerThatHasNotAcknowledgedHoldsTheSwitchBack) {
  // c's last list lacks version 2, even if c is down: no switch, so a
  // rotation that failed never completes behind c's back.
  Node leader;
  leader.rotation.start(secret_of(9), t0);
  leader.rotation.heard("b", {1, 2});
  leader.rotation.heard("c", {1});
  EXPECT_FALSE(leader.rotation.select({"b", "c"}, t0).switched_to);
  EXPECT_EQ(leader.rotation.select({"b", "c"}, t0 + milliseconds(3000)).failed, 2u);
  EXPECT_FALSE(leader.rotation.select({"b", "c"}, t0 + milliseconds(9000)).switched_to);
  EXPECT_EQ(leader.ring.current_version(), 1u);
  // Once c lists version 2 (its keyring file copied from a peer, say), the switch happens.
  leader.rotation.heard("c", {1, 2});
  EXPECT_EQ(leader.rotation.select({"b", "c"}, t0 + milliseconds(9500)).switched_to, 2u);
}

TEST(KeyRotationTest, APeerNeverHeardWithAListHoldsNothing) {
  Node n({{1, secret_of(1)}, {2, secret_of(2)}}, 2);
  auto sel = n.rotation.select({"b"}, t0);
  EXPECT_FALSE(sel.switched_to);
  EXPECT_EQ(n.ring.current_version(), 2u);
  n.rotation.heard("b", {1});  // b holds only the older version: seal with it
  EXPECT_EQ(n.rotation.select({"b"}, t0).switched_to, 1u);
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

TEST(KeyRotationTest, ASecondSecretForAHeldVersionIsAConflict) {
  Node n;
  heartbeat::KeyOffer other{.version = 1, .secret = secret_of(7)};
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

}  // namespace
}  // namespace vigil::membership
