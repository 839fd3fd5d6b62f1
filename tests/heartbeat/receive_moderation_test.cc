#include "heartbeat/receive_moderation.h"

#include <stdexcept>

#include <gtest/gtest.h>

namespace vigil::heartbeat {
namespace {

using Next = ReceiveModeration::Next;
using std::chrono::microseconds;
using std::chrono::milliseconds;

const ReceiveModeration::Clock::time_point t0{std::chrono::seconds(100)};

TEST(ReceiveModerationTest, RejectsANonPositivePollInterval) {
  EXPECT_THROW(ReceiveModeration(microseconds(0)), std::invalid_argument);
  EXPECT_THROW(ReceiveModeration(microseconds(-1)), std::invalid_argument);
}

TEST(ReceiveModerationTest, SparseWakeUpsKeepWaitingForReadiness) {
  ReceiveModeration m(microseconds(500));
  // Heartbeats 100 ms apart: every pass reads one and goes back to waiting.
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(m.after_read(t0 + milliseconds(100) * i, 1, false), Next::kWaitReadable);
    EXPECT_FALSE(m.polling());
  }
}

TEST(ReceiveModerationTest, TwoWakeUpsWithinOneIntervalSwitchToPolling) {
  ReceiveModeration m(microseconds(500));
  EXPECT_EQ(m.after_read(t0, 2, false), Next::kWaitReadable);
  EXPECT_EQ(m.after_read(t0 + microseconds(499), 1, false), Next::kPollLater);
  EXPECT_TRUE(m.polling());
  // While polls find datagrams, polling goes on, however far apart.
  EXPECT_EQ(m.after_read(t0 + milliseconds(1), 40, false), Next::kPollLater);
  EXPECT_EQ(m.after_read(t0 + milliseconds(50), 1, false), Next::kPollLater);
  // An empty poll goes back to waiting.
  EXPECT_EQ(m.after_read(t0 + milliseconds(51), 0, false), Next::kWaitReadable);
  EXPECT_FALSE(m.polling());
}

TEST(ReceiveModerationTest, WakeUpsExactlyOneIntervalApartDoNotPoll) {
  ReceiveModeration m(microseconds(500));
  EXPECT_EQ(m.after_read(t0, 1, false), Next::kWaitReadable);
  EXPECT_EQ(m.after_read(t0 + microseconds(500), 1, false), Next::kWaitReadable);
}

TEST(ReceiveModerationTest, ACappedPassReadsAgainAtOnceAndThenPolls) {
  ReceiveModeration m(microseconds(500));
  EXPECT_EQ(m.after_read(t0, 256, true), Next::kPollNow);
  EXPECT_TRUE(m.polling());
  EXPECT_EQ(m.after_read(t0 + milliseconds(5), 256, true), Next::kPollNow);
  // The backlog is read: poll at the interval, not at once.
  EXPECT_EQ(m.after_read(t0 + milliseconds(6), 10, false), Next::kPollLater);
}

TEST(ReceiveModerationTest, ASpuriousWakeUpNeitherPollsNorCountsAsAWakeUp) {
  ReceiveModeration m(microseconds(500));
  EXPECT_EQ(m.after_read(t0, 0, false), Next::kWaitReadable);
  EXPECT_EQ(m.after_read(t0 + microseconds(100), 1, false), Next::kWaitReadable);
  EXPECT_FALSE(m.polling());
}

TEST(ReceiveModerationTest, ResetForgetsPollingAndTheLastWakeUp) {
  ReceiveModeration m(microseconds(500));
  m.after_read(t0, 1, false);
  EXPECT_EQ(m.after_read(t0 + microseconds(10), 1, false), Next::kPollLater);
  m.reset();
  EXPECT_FALSE(m.polling());
  EXPECT_EQ(m.after_read(t0 + microseconds(20), 1, false), Next::kWaitReadable);
}

}  // namespace
}  // namespace vigil::heartbeat
