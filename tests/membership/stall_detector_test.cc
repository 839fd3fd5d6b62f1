#include "membership/stall_detector.h"

#include <gtest/gtest.h>

namespace vigil::membership {
namespace {

using namespace std::chrono_literals;
using Clock = StallDetector::Clock;

TEST(StallDetector, FirstTickAndOnTimeTicksReportNoStall) {
  StallDetector d(100ms, 50ms);
  Clock::time_point t{};
  EXPECT_EQ(d.on_tick(t), 0ms);
  EXPECT_EQ(d.on_tick(t + 100ms), 0ms);
  EXPECT_EQ(d.on_tick(t + 240ms), 0ms);  // 140ms: within period + tolerance
  EXPECT_EQ(d.total(), 0ms);
}

TEST(StallDetector, LateTickReportsTimeBeyondThePeriod) {
  StallDetector d(100ms, 50ms);
  Clock::time_point t{};
  d.on_tick(t);
  EXPECT_EQ(d.on_tick(t + 6100ms), 6000ms);  // SIGSTOP for ~6 s
  EXPECT_EQ(d.on_tick(t + 6200ms), 0ms);
  EXPECT_EQ(d.total(), 6000ms);
}

}  // namespace
}  // namespace vigil::membership
