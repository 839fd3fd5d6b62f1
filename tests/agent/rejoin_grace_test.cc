#include "agent/quorum/rejoin_grace.h"

#include <gtest/gtest.h>

namespace vigil::agent {
namespace {

using namespace std::chrono_literals;
using Clock = RejoinGrace::Clock;
using State = RejoinGrace::State;

TEST(RejoinGrace, EndsEarlyOnceEveryMemberIsHeard) {
  const Clock::time_point t0{};
  RejoinGrace g({"n2", "n3"}, 90s, t0);
  EXPECT_TRUE(g.running());
  EXPECT_EQ(g.remaining(t0 + 10s), 80s);
  EXPECT_EQ(g.elapsed(t0 + 10s), 10s);
  EXPECT_FALSE(g.heard("n2"));
  EXPECT_FALSE(g.heard("n2"));  // twice: still one left
  EXPECT_FALSE(g.heard("n9"));  // not a member
  EXPECT_EQ(g.unheard(), std::set<std::string>{"n3"});
  EXPECT_TRUE(g.heard("n3"));
  EXPECT_EQ(g.state(), State::kAllHeard);
  EXPECT_EQ(g.remaining(t0 + 10s), 0ms);
  EXPECT_FALSE(g.expire(t0 + 90s));  // over already
  EXPECT_EQ(g.state(), State::kAllHeard);
  EXPECT_STREQ(to_string(g.state()), "all_heard");
}

TEST(RejoinGrace, ExpiresAtItsDeadline) {
  const Clock::time_point t0{};
  RejoinGrace g({"n2", "n3"}, 2s, t0);
  g.heard("n2");
  EXPECT_FALSE(g.expire(t0 + 1999ms));
  EXPECT_EQ(g.remaining(t0 + 1999ms), 1ms);
  EXPECT_TRUE(g.expire(t0 + 2s));
  EXPECT_FALSE(g.expire(t0 + 3s));  // reported once
  EXPECT_EQ(g.state(), State::kExpired);
  EXPECT_EQ(g.unheard(), std::set<std::string>{"n3"});
  EXPECT_FALSE(g.heard("n3"));  // too late to end it early
  EXPECT_STREQ(to_string(g.state()), "expired");
}

TEST(RejoinGrace, ZeroOrNoOtherMemberMeansNoGrace) {
  const Clock::time_point t0{};
  RejoinGrace off({"n2"}, 0ms, t0);
  EXPECT_EQ(off.state(), State::kDisabled);
  EXPECT_FALSE(off.heard("n2"));
  EXPECT_EQ(off.remaining(t0), 0ms);
  RejoinGrace alone({}, 90s, t0);
  EXPECT_EQ(alone.state(), State::kDisabled);
  EXPECT_FALSE(alone.expire(t0 + 90s));
  EXPECT_STREQ(to_string(alone.state()), "disabled");
  EXPECT_STREQ(to_string(State::kRunning), "running");
}

}  // namespace
}  // namespace vigil::agent
