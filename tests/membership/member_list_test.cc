#include "membership/member_list.h"

#include <algorithm>
#include <random>
#include <stdexcept>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace vigil::membership {
namespace {

using json = nlohmann::json;
using State = Member::State;

Member entry(const std::string& name, uint64_t ltime, State state = State::kMember,
             std::map<std::string, std::string> paths = {{"u1", "127.0.0.1:1"}}) {
  return Member{.name = name, .paths = std::move(paths), .state = state, .ltime = ltime};
}

TEST(MemberList, TheHigherLamportTimeWins) {
  MemberList list;
  EXPECT_TRUE(list.merge(entry("n1", 2)));
  EXPECT_FALSE(list.merge(entry("n1", 1, State::kLeft)));
  EXPECT_EQ(list.find("n1")->state, State::kMember);
  EXPECT_TRUE(list.merge(entry("n1", 3, State::kLeft)));
  EXPECT_EQ(list.find("n1")->state, State::kLeft);
  EXPECT_FALSE(list.merge(entry("n1", 3, State::kLeft)));  // idempotent
  EXPECT_EQ(list.members(), std::vector<std::string>{});
  EXPECT_EQ(list.clock(), 3u);
}

TEST(MemberList, OnATieLeftWinsThenTheGreaterPaths) {
  MemberList a, b;
  a.merge(entry("n4", 5, State::kLeft));
  a.merge(entry("n4", 5, State::kMember));
  b.merge(entry("n4", 5, State::kMember));
  b.merge(entry("n4", 5, State::kLeft));
  EXPECT_EQ(a.find("n4")->state, State::kLeft);
  EXPECT_EQ(a.entries(), b.entries());
  MemberList c, d;
  c.merge(entry("n5", 1, State::kMember, {{"u1", "127.0.0.1:2"}}));
  c.merge(entry("n5", 1, State::kMember, {{"u1", "127.0.0.1:1"}}));
  d.merge(entry("n5", 1, State::kMember, {{"u1", "127.0.0.1:1"}}));
  d.merge(entry("n5", 1, State::kMember, {{"u1", "127.0.0.1:2"}}));
  EXPECT_EQ(c.entries(), d.entries());
  EXPECT_EQ(c.find("n5")->paths.at("u1"), "127.0.0.1:2");
}

TEST(MemberList, LocalOperationsTakeTheNextLamportTime) {
  MemberList list;
  list.merge(entry("n1", 7));
  const Member joined = list.join("n4", {{"u1", "127.0.0.4:1"}});
  EXPECT_EQ(joined.ltime, 8u);
  EXPECT_EQ(list.members(), (std::vector<std::string>{"n1", "n4"}));
  const Member left = list.leave("n4");
  EXPECT_EQ(left.ltime, 9u);
  EXPECT_EQ(left.state, State::kLeft);
  EXPECT_EQ(left.paths, joined.paths) << "a tombstone keeps the addresses it had";
  // A stale copy of the join cannot bring n4 back; a new join can.
  EXPECT_FALSE(list.merge(joined));
  EXPECT_EQ(list.join("n4", {{"u1", "127.0.0.4:1"}}).ltime, 10u);
  EXPECT_EQ(list.find("n4")->state, State::kMember);
  EXPECT_EQ(list.forget("n1").state, State::kLeft);
  EXPECT_EQ(list.members(), std::vector<std::string>{"n4"});
}

// Property: replicas that make random joins, leaves and forgets, then
// receive every entry made anywhere in any order, with repeats, all hold
// the same list.
TEST(MemberList, AnyDeliveryOrderConverges) {
  std::mt19937 rng(1234);
  for (int round = 0; round < 200; ++round) {
    const int replicas = 2 + static_cast<int>(rng() % 4);
    std::vector<MemberList> lists(replicas);
    std::vector<Member> made;
    const int ops = 1 + static_cast<int>(rng() % 30);
    for (int i = 0; i < ops; ++i) {
      MemberList& at = lists[rng() % replicas];
      // Some of what was made so far reaches this replica first.
      for (const auto& m : made)
        if (rng() % 3 == 0) at.merge(m);
      const std::string name = "n" + std::to_string(rng() % 6);
      switch (rng() % 3) {
        case 0:
          made.push_back(at.join(name, {{"u1", "127.0.0." + std::to_string(rng() % 4) + ":1"}}));
          break;
        case 1:
          made.push_back(at.leave(name));
          break;
        default:
          made.push_back(at.forget(name));
          break;
      }
    }
    for (auto& list : lists) {
      std::vector<Member> deliveries = made;
      deliveries.insert(deliveries.end(), made.begin(), made.begin() + made.size() / 2);
      std::shuffle(deliveries.begin(), deliveries.end(), rng);
      for (const auto& m : deliveries) list.merge(m);
    }
    for (int r = 1; r < replicas; ++r)
      ASSERT_EQ(lists[r].entries(), lists[0].entries()) << "round " << round;
  }
}

TEST(MemberList, TheDigestFollowsTheEntriesAndMergeAllSkipsBadOnes) {
  MemberList a, b;
  EXPECT_EQ(a.digest(), b.digest());
  a.join("n1", {{"u1", "127.0.0.1:1"}});
  EXPECT_NE(a.digest(), b.digest());
  const auto merged = b.merge_all(json::array({to_json(*a.find("n1")), 5, {{"name", "x"}}}));
  EXPECT_EQ(merged.changed, std::vector<std::string>{"n1"});
  EXPECT_EQ(merged.refused, 2u);
  EXPECT_EQ(a.digest(), b.digest());
  EXPECT_EQ(b.merge_all(a.entries_json()).changed, std::vector<std::string>{});
  EXPECT_EQ(b.merge_all(json("not an array")).refused, 1u);
}

TEST(MemberList, JsonRoundTripAndRefusals) {
  MemberList list;
  list.join("n1", {{"u1", "127.0.0.1:10001"}, {"u2", "[::1]:10002"}});
  list.join("n2", {{"u1", "127.0.0.2:10001"}});
  list.leave("n2");
  const MemberList back = MemberList::from_json(list.to_json());
  EXPECT_EQ(back.entries(), list.entries());
  EXPECT_EQ(back.clock(), list.clock());

  auto refused = [](const std::string& text) {
    try {
      MemberList::from_json(json::parse(text));
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_EQ(refused(R"({"members": 5})"), "members: expected an array");
  EXPECT_EQ(refused(R"({"members": [{"name": "n1", "paths": {}, "state": "gone", "ltime": 1}]})"),
            "members[0].state: expected \"member\" or \"left\"");
  EXPECT_EQ(refused(R"({"members": [{"name": "", "paths": {}, "state": "left", "ltime": 1}]})"),
            "members[0].name: expected a name of 1 to 255 bytes");
  EXPECT_EQ(
      refused(R"({"members": [{"name": "n1", "paths": {"u1": 5}, "state": "left", "ltime": 1}]})"),
      "members[0].paths.u1: expected a \"host:port\" string");
  EXPECT_EQ(refused(R"({"members": [{"name": "n1", "paths": {}, "state": "left", "ltime": -1}]})"),
            "members[0].ltime: expected an unsigned integer");
  EXPECT_EQ(refused(R"({"members": [{"name": "n1", "paths": {}, "state": "left"}]})"),
            "members[0].ltime: missing");
  EXPECT_EQ(
      refused(R"({"members": [{"name": "n1", "paths": {}, "state": "left", "ltime": 1, "x": 1}]})"),
      "members[0].member: unknown field");
}

}  // namespace
}  // namespace vigil::membership
