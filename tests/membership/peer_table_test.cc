#include "membership/peer_table.h"

#include <gtest/gtest.h>

namespace vigil::membership {
namespace {

using namespace std::chrono_literals;
using Clock = PeerTable::Clock;
using Kind = Transition::Kind;

PeerTable two_paths() { return PeerTable({{"u1", 2000ms, {"n2", "n3"}}, {"u2", 2000ms, {"n2"}}}); }

TEST(PeerTable, FirstHeardGivesHeartbeatAliveThenNodeAlive) {
  auto t = two_paths();
  Clock::time_point now{};
  auto tr = t.heard("n2", "u1", now);
  ASSERT_EQ(tr.size(), 2u);
  EXPECT_EQ(tr[0].kind, Kind::kHeartbeatAlive);
  EXPECT_EQ(tr[0].path, "u1");
  EXPECT_EQ(tr[1].kind, Kind::kNodeAlive);
  EXPECT_EQ(t.state("n2"), PeerState::kAlive);
  // Second path: only the path transition.
  tr = t.heard("n2", "u2", now);
  ASSERT_EQ(tr.size(), 1u);
  EXPECT_EQ(tr[0].kind, Kind::kHeartbeatAlive);
}

TEST(PeerTable, NodeStaysAliveWhileAnyPathHearsIt) {
  auto t = two_paths();
  Clock::time_point now{};
  t.heard("n2", "u1", now);
  t.heard("n2", "u2", now);
  t.heard("n2", "u2", now + 1900ms);  // only u2 keeps hearing
  auto tr = t.check(now + 2500ms);
  ASSERT_EQ(tr.size(), 1u);
  EXPECT_EQ(tr[0].kind, Kind::kHeartbeatStale);
  EXPECT_EQ(tr[0].path, "u1");
  EXPECT_EQ(t.state("n2"), PeerState::kAlive);
  EXPECT_EQ(*t.path_state("n2", "u1"), PeerState::kStale);
}

TEST(PeerTable, NodeStaleOnceEveryPathIsStale) {
  auto t = two_paths();
  Clock::time_point now{};
  t.heard("n2", "u1", now);
  t.heard("n2", "u2", now);
  auto tr = t.check(now + 2001ms);
  ASSERT_EQ(tr.size(), 3u);
  EXPECT_EQ(tr[0].kind, Kind::kHeartbeatStale);
  EXPECT_EQ(tr[1].kind, Kind::kHeartbeatStale);
  EXPECT_EQ(tr[2].kind, Kind::kNodeStale);
  EXPECT_EQ(tr[2].node, "n2");
  EXPECT_EQ(t.state("n2"), PeerState::kStale);
  EXPECT_TRUE(t.alive().empty());
}

TEST(PeerTable, NeverHeardPeerStaysUnknownAndRaisesNothing) {
  auto t = two_paths();
  Clock::time_point now{};
  EXPECT_TRUE(t.check(now + 1h).empty());
  EXPECT_EQ(t.state("n3"), PeerState::kUnknown);
}

TEST(PeerTable, UnknownNodeOrPathIsIgnored) {
  auto t = two_paths();
  EXPECT_TRUE(t.heard("n9", "u1", Clock::time_point{}).empty());
  EXPECT_TRUE(t.heard("n3", "u2", Clock::time_point{}).empty());  // u2 does not reach n3
  EXPECT_FALSE(t.path_state("n3", "u2").has_value());
}

TEST(PeerTable, CreditedStallDoesNotMakePeersStale) {
  auto t = two_paths();
  Clock::time_point now{};
  t.heard("n2", "u1", now);
  t.heard("n3", "u1", now);
  // Local loop stopped from +0.1s to +6.1s.
  t.credit(6000ms, now + 6100ms);
  EXPECT_TRUE(t.check(now + 6100ms).empty());
  EXPECT_EQ(t.state("n2"), PeerState::kAlive);
}

}  // namespace
}  // namespace vigil::membership
