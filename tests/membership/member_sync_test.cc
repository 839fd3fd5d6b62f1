#include "membership/member_sync.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace vigil::membership {
namespace {

using Clock = MemberSync::Clock;
using std::chrono::milliseconds;

MemberList seeded(std::initializer_list<const char*> names) {
  MemberList list;
  for (const char* n : names)
    list.merge(Member{.name = n, .paths = {{"u1", std::string(n) + ":1"}}, .ltime = 1});
  return list;
}

// One heartbeat from `from` to `to`, as the engine would exchange it.
heartbeat::Message beat(const MemberSync& from, const std::set<std::string>& alive,
                        Clock::time_point now) {
  heartbeat::Message msg;
  from.prepare(msg, alive, now);
  return msg;
}

TEST(MemberSync, EveryHeartbeatCarriesTheDigestAndNoEntriesWhenAllAgree) {
  const Clock::time_point t0{};
  MemberSync a(seeded({"n1", "n2"})), b(seeded({"n1", "n2"}));
  b.on_message("n1", beat(a, {"n2"}, t0), t0);
  auto msg = beat(a, {"n2"}, t0);
  a.on_message("n2", beat(b, {"n1"}, t0), t0);
  msg = beat(a, {"n2"}, t0);
  ASSERT_TRUE(msg.member_digest);
  EXPECT_EQ(*msg.member_digest, a.list().digest());
  EXPECT_TRUE(msg.members.is_null());
  EXPECT_TRUE(a.agreed({"n2"}));
}

TEST(MemberSync, ALocalChangeIsPushedForAWhileThenStops) {
  const Clock::time_point t0{};
  MemberSync a(seeded({"n1", "n2"}));
  a.join("n3", {{"u1", "n3:1"}}, t0);
  EXPECT_TRUE(beat(a, {}, t0 + milliseconds(100)).members.is_array());
  EXPECT_TRUE(beat(a, {}, t0 + DigestSync::kPushFor).members.is_null());
}

TEST(MemberSync, ADigestThatDiffersPullsTheListFromBothSides) {
  const Clock::time_point t0{};
  const auto later = t0 + DigestSync::kPushFor * 2;
  MemberSync a(seeded({"n1", "n2"})), b(seeded({"n1", "n2"}));
  a.join("n3", {{"u1", "n3:1"}}, t0);  // a's push is over by `later`: b missed it
  b.join("n4", {{"u1", "n4:1"}}, t0);
  // a hears b's digest, differing: a sends its entries although its push is over.
  a.on_message("n2", beat(b, {}, later), later);
  auto from_a = beat(a, {"n2"}, later);
  ASSERT_TRUE(from_a.members.is_array());
  auto merged = b.on_message("n1", from_a, later);
  EXPECT_EQ(merged.changed, std::vector<std::string>{"n3"});
  // b changed, so it pushes; a merges and both agree.
  a.on_message("n2", beat(b, {"n1"}, later), later);
  EXPECT_EQ(a.list().members(), (std::vector<std::string>{"n1", "n2", "n3", "n4"}));
  EXPECT_EQ(a.list().digest(), b.list().digest());
  b.on_message("n1", beat(a, {"n2"}, later), later);
  EXPECT_TRUE(a.agreed({"n2"}));
  EXPECT_TRUE(b.agreed({"n1"}));
}

TEST(MemberSync, ALeaveIsAgreedOnlyOnceEveryPeerSentTheNewDigest) {
  const Clock::time_point t0{};
  MemberSync a(seeded({"n1", "n2", "n3"})), b(seeded({"n1", "n2", "n3"})),
      c(seeded({"n1", "n2", "n3"}));
  a.on_message("n2", beat(b, {}, t0), t0);
  a.on_message("n3", beat(c, {}, t0), t0);
  EXPECT_TRUE(a.agreed({"n2", "n3"}));
  a.leave("n1", t0);
  EXPECT_FALSE(a.agreed({"n2", "n3"}));
  b.on_message("n1", beat(a, {}, t0), t0);
  a.on_message("n2", beat(b, {}, t0), t0);
  EXPECT_TRUE(a.agreed({"n2"}));
  EXPECT_FALSE(a.agreed({"n2", "n3"}));
  c.on_message("n1", beat(a, {}, t0), t0);
  a.on_message("n3", beat(c, {}, t0), t0);
  EXPECT_TRUE(a.agreed({"n2", "n3"}));
  EXPECT_EQ(c.list().find("n1")->state, Member::State::kLeft);
}

TEST(MemberSync, MalformedEntriesAreCountedNotThrown) {
  const Clock::time_point t0{};
  MemberSync a(seeded({"n1"}));
  heartbeat::Message msg;
  msg.members = nlohmann::json::array({{{"name", 3}}, "x"});
  auto merged = a.on_message("n2", msg, t0);
  EXPECT_EQ(merged.refused, 2u);
  EXPECT_TRUE(merged.changed.empty());
  EXPECT_EQ(a.list().members(), std::vector<std::string>{"n1"});
}

}  // namespace
}  // namespace vigil::membership
