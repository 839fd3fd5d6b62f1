#include "membership/quorum.h"

#include "membership/peer_table.h"

#include <stdexcept>
#include <vector>

#include <gtest/gtest.h>

namespace vigil::membership {
namespace {

// The votes present as split analysis counts them: this node plus the peers
// the table holds alive.
QuorumCount count_from(const PeerTable& t, std::size_t members) {
  return count_votes(members, 1 + t.alive().size(), {});
}

TEST(QuorumTest, AStoppedMemberStaysInTheTotalWithItsVoteAbsent) {
  using namespace std::chrono_literals;
  PeerTable t({{"u1", 2000ms, {"n2", "n3"}}});
  const PeerTable::Clock::time_point now{};
  t.heard("n2", "u1", now, 7);
  t.heard("n3", "u1", now, 9);
  t.stopped("n2", 7);  // a clean stop: not alive, still a member
  auto c = count_from(t, 3);
  EXPECT_EQ(c.total, 3u);
  EXPECT_EQ(c.present, 2u);
  EXPECT_TRUE(c.has_quorum());
  t.stopped("n3", 9);
  c = count_from(t, 3);
  EXPECT_EQ(c.total, 3u);
  EXPECT_EQ(c.present, 1u);
  EXPECT_FALSE(c.has_quorum());
  t.heard("n2", "u1", now + 1s, 8);  // n2 restarted: its vote is back
  EXPECT_TRUE(count_from(t, 3).has_quorum());
}

TEST(QuorumTest, AMajorityOfNodesHoldsQuorum) {
  const auto c = count_votes(3, 2, {});
  EXPECT_EQ(c.total, 3u);
  EXPECT_EQ(c.present, 2u);
  EXPECT_EQ(c.needed, 2u);
  EXPECT_TRUE(c.has_quorum());
}

TEST(QuorumTest, AMinorityOfNodesHasNoQuorum) {
  EXPECT_FALSE(count_votes(3, 1, {}).has_quorum());
  EXPECT_FALSE(count_votes(5, 2, {}).has_quorum());
  EXPECT_TRUE(count_votes(5, 3, {}).has_quorum());
}

TEST(QuorumTest, ATieIsNotAMajority) {
  // Two nodes without an arbitrator: the survivor of a split holds 1 of 2.
  const auto c = count_votes(2, 1, {});
  EXPECT_EQ(c.needed, 2u);
  EXPECT_FALSE(c.has_quorum());
  EXPECT_FALSE(count_votes(4, 2, {}).has_quorum());
}

TEST(QuorumTest, AReachableArbitratorBreaksTheTie) {
  const std::vector<ArbitratorVote> reached = {{"arb", 1, true}};
  const auto c = count_votes(2, 1, reached);
  EXPECT_EQ(c.total, 3u);
  EXPECT_EQ(c.present, 2u);
  EXPECT_TRUE(c.has_quorum());
  const std::vector<ArbitratorVote> lost = {{"arb", 1, false}};
  EXPECT_FALSE(count_votes(2, 1, lost).has_quorum());
}

TEST(QuorumTest, ArbitratorWeightsCountInTotalAndPresent) {
  // {n1} | {n2, n3} with an arbitrator of weight 2 that only n1 reaches.
  const std::vector<ArbitratorVote> n1_view = {{"a", 2, true}};
  const std::vector<ArbitratorVote> n23_view = {{"a", 2, false}};
  const auto n1 = count_votes(3, 1, n1_view);
  const auto n23 = count_votes(3, 2, n23_view);
  EXPECT_EQ(n1.total, 5u);
  EXPECT_EQ(n1.needed, 3u);
  EXPECT_TRUE(n1.has_quorum());    // 1 + 2 = 3 of 5
  EXPECT_FALSE(n23.has_quorum());  // 2 of 5
  // Never both sides: their present votes add up to at most the total.
  EXPECT_LE(n1.present + n23.present, n1.total);
}

TEST(QuorumTest, ASingleNodeClusterAlwaysHoldsQuorum) {
  EXPECT_TRUE(count_votes(1, 1, {}).has_quorum());
}

TEST(QuorumTest, ImpossibleCountsThrow) {
  EXPECT_THROW(count_votes(0, 0, {}), std::invalid_argument);
  EXPECT_THROW(count_votes(3, 0, {}), std::invalid_argument);
  EXPECT_THROW(count_votes(3, 4, {}), std::invalid_argument);
  const std::vector<ArbitratorVote> weightless = {{"a", 0, true}};
  EXPECT_THROW(count_votes(3, 2, weightless), std::invalid_argument);
}

}  // namespace
}  // namespace vigil::membership
