#include "membership/probe_schedule.h"

#include <map>

#include <gtest/gtest.h>

namespace vigil::membership {
namespace {

TEST(ProbeSchedule, EveryMemberIsProbedOncePerPass) {
  ProbeSchedule s(42);
  for (const char* m : {"n2", "n3", "n4", "n5", "n6"}) s.add(m);
  for (int pass = 0; pass < 20; ++pass) {
    std::set<std::string> seen;
    for (int i = 0; i < 5; ++i) seen.insert(*s.next());
    EXPECT_EQ(seen.size(), 5u) << "pass " << pass;
  }
}

TEST(ProbeSchedule, AFailedMemberIsProbedWithinTwoPasses) {
  // SWIM 4.3: at most 2N - 1 periods between two probes of one member.
  ProbeSchedule s(7);
  const int n = 8;
  for (int i = 0; i < n; ++i) s.add("n" + std::to_string(i));
  int last = -1, worst = 0;
  for (int period = 0; period < 2000; ++period) {
    if (*s.next() == "n3") {
      if (last >= 0) worst = std::max(worst, period - last);
      last = period;
    }
  }
  EXPECT_LE(worst, 2 * n - 1);
}

TEST(ProbeSchedule, JoinsAndLeavesTakeEffectInThePassInProgress) {
  ProbeSchedule s(1);
  s.add("n2");
  s.add("n3");
  s.next();  // one of the two
  s.remove("n2");
  s.remove("n3");
  EXPECT_FALSE(s.next().has_value());
  s.add("n4");
  EXPECT_EQ(*s.next(), "n4");
  EXPECT_EQ(s.size(), 1u);
}

TEST(ProbeSchedule, PickIsDistinctExcludesAndIsRoughlyUniform) {
  ProbeSchedule s(99);
  for (int i = 0; i < 10; ++i) s.add("n" + std::to_string(i));
  std::map<std::string, int> counts;
  for (int round = 0; round < 3000; ++round) {
    auto picked = s.pick(3, {"n0", "n1"});
    ASSERT_EQ(picked.size(), 3u);
    std::set<std::string> distinct(picked.begin(), picked.end());
    EXPECT_EQ(distinct.size(), 3u);
    for (const auto& p : picked) ++counts[p];
  }
  EXPECT_EQ(counts.count("n0") + counts.count("n1"), 0u);
  for (const auto& [m, c] : counts) EXPECT_NEAR(c, 3000 * 3 / 8, 200) << m;
  EXPECT_EQ(s.pick(20, {}).size(), 10u);
}

TEST(ProbeSchedule, PickIfNotSamplesLargeSetsAndFindsTheFewEligible) {
  ProbeSchedule s(5);
  for (int i = 0; i < 1000; ++i) s.add("n" + std::to_string(i));
  std::map<std::string, int> counts;
  auto odd = [](const std::string& m) { return (m.back() - '0') % 2 == 1; };
  for (int round = 0; round < 2000; ++round) {
    auto picked = s.pick_if_not(3, odd);
    ASSERT_EQ(picked.size(), 3u);
    EXPECT_EQ(std::set<std::string>(picked.begin(), picked.end()).size(), 3u);
    for (const auto& p : picked) {
      EXPECT_FALSE(odd(p)) << p;
      ++counts[p];
    }
  }
  EXPECT_GT(counts.size(), 490u) << "spread over the 500 eligible";
  // Only two eligible of 1000: rejection sampling gives up, a scan finds them.
  auto few = s.pick_if_not(3, [](const std::string& m) { return m != "n7" && m != "n900"; });
  EXPECT_EQ(std::set<std::string>(few.begin(), few.end()), (std::set<std::string>{"n7", "n900"}));
  s.remove("n7");
  s.remove("n900");
  EXPECT_TRUE(
      s.pick_if_not(3, [](const std::string& m) { return m != "n7" && m != "n900"; }).empty());
  EXPECT_EQ(s.size(), 998u);
}

TEST(ProbeSchedule, ProbeNextGoesBeforeTheRestOfThePass) {
  ProbeSchedule s(3);
  for (int i = 0; i < 20; ++i) s.add("n" + std::to_string(i));
  const std::string first = *s.next();  // probed: no longer in this pass
  s.probe_next("n13");
  EXPECT_EQ(*s.next(), "n13");
  s.probe_next(first);  // again in this pass
  EXPECT_EQ(*s.next(), first);
  s.probe_next("nobody");  // not a member: ignored
  std::set<std::string> rest;
  for (int i = 0; i < 17; ++i) rest.insert(*s.next());
  EXPECT_EQ(rest.size(), 17u);
  EXPECT_EQ(rest.count("nobody"), 0u);
}

}  // namespace
}  // namespace vigil::membership
