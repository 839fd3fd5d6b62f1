#include "membership/peer_table.h"

#include <set>
#include <string>

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

TEST(PeerTable, AStopIsNotAFailure) {
  auto t = two_paths();
  Clock::time_point now{};
  t.heard("n2", "u1", now, 100);
  t.heard("n2", "u2", now, 100);
  auto tr = t.stopped("n2", 100);
  ASSERT_EQ(tr.size(), 1u);
  EXPECT_EQ(tr[0].kind, Kind::kNodeStopped);
  EXPECT_EQ(tr[0].node, "n2");
  EXPECT_EQ(event_kind(tr[0].kind), "NodeMonitorUpdated");
  EXPECT_EQ(t.state("n2"), PeerState::kStopped);
  EXPECT_EQ(to_string(t.state("n2")), "stopped");
  EXPECT_EQ(*t.path_state("n2", "u1"), PeerState::kStopped);
  EXPECT_EQ(*t.path_state("n2", "u2"), PeerState::kStopped);
  EXPECT_TRUE(t.alive().empty());  // its vote is absent
  // Silent for ever after: no HeartbeatStale, no NodeStale.
  EXPECT_TRUE(t.check(now + 1h).empty());
  EXPECT_EQ(t.state("n2"), PeerState::kStopped);
  // The second copy of the stop changes nothing.
  EXPECT_TRUE(t.stopped("n2", 100).empty());
}

TEST(PeerTable, DatagramsOfTheStoppedBootProveNothing) {
  auto t = two_paths();
  Clock::time_point now{};
  t.heard("n2", "u1", now, 100);
  t.stopped("n2", 100);
  // A late copy over another path, or a reordered earlier heartbeat.
  EXPECT_TRUE(t.heard("n2", "u2", now + 10ms, 100).empty());
  EXPECT_TRUE(t.heard("n2", "u1", now + 10ms, 99).empty());
  EXPECT_EQ(t.state("n2"), PeerState::kStopped);
  EXPECT_TRUE(t.alive().empty());
}

TEST(PeerTable, ANewBootBringsAStoppedNodeBack) {
  auto t = two_paths();
  Clock::time_point now{};
  t.heard("n2", "u1", now, 100);
  t.stopped("n2", 100);
  auto tr = t.heard("n2", "u1", now + 5s, 200);
  ASSERT_EQ(tr.size(), 2u);
  EXPECT_EQ(tr[0].kind, Kind::kHeartbeatAlive);
  EXPECT_EQ(tr[1].kind, Kind::kNodeAlive);
  EXPECT_EQ(t.state("n2"), PeerState::kAlive);
  EXPECT_EQ(t.alive(), std::set<std::string>{"n2"});
  // Back to the usual rules: silence makes it stale.
  tr = t.check(now + 5s + 2001ms);
  ASSERT_EQ(tr.size(), 2u);
  EXPECT_EQ(tr[1].kind, Kind::kNodeStale);
  // And the new boot can stop cleanly in turn.
  t.heard("n2", "u1", now + 10s, 200);
  EXPECT_EQ(t.stopped("n2", 200).size(), 1u);
}

TEST(PeerTable, AStopOfAnOlderBootIsIgnored) {
  auto t = two_paths();
  Clock::time_point now{};
  t.heard("n2", "u1", now, 100);
  t.heard("n2", "u1", now + 1s, 200);  // restarted
  // The stop of boot 100, replayed or late: the live node stays alive.
  EXPECT_TRUE(t.stopped("n2", 100).empty());
  EXPECT_EQ(t.state("n2"), PeerState::kAlive);
  EXPECT_EQ(*t.path_state("n2", "u1"), PeerState::kAlive);
  EXPECT_TRUE(t.stopped("n9", 100).empty());  // not a member
}

TEST(PeerTable, AJoinedMemberIsWatchedAndARemovedOneIsForgottenWithoutTransitions) {
  PeerTable t = two_paths();
  const Clock::time_point t0{};
  t.add("n4", {{"u1", 2000ms, {}}});
  EXPECT_EQ(t.state("n4"), PeerState::kUnknown);
  EXPECT_EQ(t.paths_of("n4"), std::vector<std::string>{"u1"});
  auto heard = t.heard("n4", "u1", t0);
  ASSERT_EQ(heard.size(), 2u);
  EXPECT_EQ(heard[1].kind, Kind::kNodeAlive);
  // Its paths change; its state stays.
  t.add("n4", {{"u1", 2000ms, {}}, {"u2", 2000ms, {}}});
  EXPECT_EQ(t.paths_of("n4"), (std::vector<std::string>{"u1", "u2"}));
  EXPECT_EQ(t.state("n4"), PeerState::kAlive);
  // Removed: no NodeStale when its deadline passes, and nothing heard counts.
  t.remove("n4");
  EXPECT_EQ(t.state("n4"), PeerState::kUnknown);
  for (const auto& tr : t.check(t0 + 10s)) EXPECT_NE(tr.node, "n4");
  EXPECT_TRUE(t.heard("n4", "u1", t0 + 10s).empty());
  EXPECT_EQ(t.alive().count("n4"), 0u);
}

TEST(PeerTable, DrivenExternallyNodeStatesFollowTheDetectorOnly) {
  using Kind = Transition::Kind;
  PeerTable t({{"lan", std::chrono::milliseconds(100), {"b"}},
               {"wan", std::chrono::milliseconds(100), {"b"}}});
  t.drive_externally();
  const auto t0 = PeerTable::Clock::time_point{};
  auto heard = t.heard("b", "lan", t0, 5);
  ASSERT_EQ(heard.size(), 1u);
  EXPECT_EQ(heard[0].kind, Kind::kHeartbeatAlive);  // the path, not the node
  EXPECT_EQ(t.state("b"), PeerState::kUnknown);
  EXPECT_TRUE(t.check(t0 + std::chrono::seconds(10)).empty());  // no timeouts
  auto alive = t.declare_alive("b");
  ASSERT_EQ(alive.size(), 1u);
  EXPECT_EQ(alive[0].kind, Kind::kNodeAlive);
  EXPECT_TRUE(t.declare_alive("b").empty());
  auto stale = t.declare_stale("b");
  ASSERT_EQ(stale.size(), 2u);  // lan (the path that was alive), then the node
  EXPECT_EQ(stale[0].kind, Kind::kHeartbeatStale);
  EXPECT_EQ(stale[0].path, "lan");
  EXPECT_EQ(stale[1].kind, Kind::kNodeStale);
  EXPECT_TRUE(t.declare_stale("b").empty());
  // A clean stop holds until a newer boot is heard.
  t.declare_alive("b");
  t.stopped("b", 5);
  EXPECT_TRUE(t.declare_alive("b").empty());
  t.heard("b", "lan", t0, 5);
  EXPECT_EQ(t.state("b"), PeerState::kStopped);
  t.heard("b", "lan", t0, 6);
  EXPECT_EQ(t.state("b"), PeerState::kUnknown);
  EXPECT_EQ(t.declare_alive("b").size(), 1u);
  // Back to heartbeats: every path of the alive node counts as heard now,
  // and goes stale a timeout later, not at once.
  const auto t1 = t0 + std::chrono::seconds(60);
  t.drive_by_heartbeats(t1);
  EXPECT_TRUE(t.check(t1 + std::chrono::milliseconds(50)).empty());
  EXPECT_EQ(t.state("b"), PeerState::kAlive);
  auto later = t.check(t1 + std::chrono::milliseconds(150));
  ASSERT_EQ(later.size(), 3u);  // lan, wan, then the node
  EXPECT_EQ(later[2].kind, Kind::kNodeStale);
}

}  // namespace
}  // namespace vigil::membership
