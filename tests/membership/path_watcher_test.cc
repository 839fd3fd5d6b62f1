#include "membership/path_watcher.h"

#include <gtest/gtest.h>

namespace vigil::membership {
namespace {

using namespace std::chrono_literals;
using Clock = PathWatcher::Clock;

TEST(PathWatcher, UnknownUntilFirstHeardThenAlive) {
  PathWatcher w(2000ms);
  Clock::time_point t{};
  EXPECT_EQ(w.state(), PeerState::kUnknown);
  EXPECT_FALSE(w.check(t + 10s));  // never heard: never stale
  EXPECT_TRUE(w.heard(t));
  EXPECT_EQ(w.state(), PeerState::kAlive);
  EXPECT_FALSE(w.heard(t + 100ms));  // already alive: no transition
}

TEST(PathWatcher, StaleOnlyAfterTheTimeout) {
  PathWatcher w(2000ms);
  Clock::time_point t{};
  w.heard(t);
  EXPECT_FALSE(w.check(t + 2000ms));
  EXPECT_TRUE(w.check(t + 2001ms));
  EXPECT_EQ(w.state(), PeerState::kStale);
  EXPECT_FALSE(w.check(t + 3000ms));  // reported once
  EXPECT_TRUE(w.heard(t + 3000ms));   // and alive again when heard
}

TEST(PathWatcher, StoppedNeverTurnsStaleUntilHeardAgain) {
  PathWatcher w(2000ms);
  Clock::time_point t{};
  w.heard(t);
  w.stop();
  EXPECT_EQ(w.state(), PeerState::kStopped);
  EXPECT_FALSE(w.check(t + 1h));
  EXPECT_EQ(w.state(), PeerState::kStopped);
  EXPECT_TRUE(w.heard(t + 1h));  // a transition: stopped -> alive
  EXPECT_EQ(w.state(), PeerState::kAlive);
}

TEST(PathWatcher, CreditMovesTheDeadlineButNeverPastNow) {
  PathWatcher w(2000ms);
  Clock::time_point t{};
  w.heard(t);
  // The daemon was stopped for 6 s: credit 6 s at t+6.1s.
  w.credit(6000ms, t + 6100ms);
  EXPECT_FALSE(w.check(t + 6100ms));
  EXPECT_EQ(*w.last_heard(), t + 6000ms);
  w.credit(10s, t + 6200ms);
  EXPECT_EQ(*w.last_heard(), t + 6200ms);
  EXPECT_TRUE(w.check(t + 8201ms));
}

}  // namespace
}  // namespace vigil::membership
