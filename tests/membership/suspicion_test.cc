#include "membership/suspicion.h"

#include <gtest/gtest.h>

namespace vigil::membership {
namespace {

using std::chrono::milliseconds;
using Clock = Suspicion::Clock;

TEST(Suspicion, TheTimeoutShrinksFromMaxToMinAsConfirmationsArrive) {
  const Clock::time_point t0{};
  Suspicion s("n2", 3, milliseconds(2000), milliseconds(6000), t0);
  EXPECT_EQ(s.timeout(), milliseconds(6000));
  EXPECT_EQ(s.deadline(), t0 + milliseconds(6000));
  EXPECT_TRUE(s.confirm("n3"));
  // max - (max - min) * log(2) / log(4) = 6000 - 4000 * 0.5
  EXPECT_EQ(s.timeout(), milliseconds(4000));
  EXPECT_TRUE(s.confirm("n4"));
  EXPECT_TRUE(s.confirm("n5"));
  EXPECT_EQ(s.timeout(), milliseconds(2000));
  EXPECT_EQ(s.deadline(), t0 + milliseconds(2000));
}

TEST(Suspicion, OnlyNewConfirmersCountAndNeverPastK) {
  Suspicion s("n2", 2, milliseconds(1000), milliseconds(5000), Clock::time_point{});
  EXPECT_FALSE(s.confirm("n2")) << "the first suspecter is not a confirmation";
  EXPECT_TRUE(s.confirm("n3"));
  EXPECT_FALSE(s.confirm("n3")) << "a repeat";
  EXPECT_TRUE(s.confirm("n4"));
  EXPECT_FALSE(s.confirm("n5")) << "K reached";
  EXPECT_EQ(s.confirmations(), 2u);
  EXPECT_EQ(s.timeout(), milliseconds(1000));
}

TEST(Suspicion, WithNoConfirmationExpectedTheTimeoutIsMin) {
  EXPECT_EQ(Suspicion::timeout_for(0, 0, milliseconds(700), milliseconds(9000)), milliseconds(700));
  EXPECT_THROW(Suspicion("n2", 1, milliseconds(9), milliseconds(1), Clock::time_point{}),
               std::invalid_argument);
}

TEST(Suspicion, TheTimeoutNeverRisesWithMoreConfirmations) {
  for (std::size_t k = 1; k < 20; ++k) {
    auto previous = milliseconds::max();
    for (std::size_t c = 0; c <= k; ++c) {
      auto t = Suspicion::timeout_for(c, k, milliseconds(1000), milliseconds(8000));
      EXPECT_LE(t, previous) << "k=" << k << " c=" << c;
      EXPECT_GE(t, milliseconds(1000));
      previous = t;
    }
    EXPECT_EQ(previous, milliseconds(1000)) << "k confirmations reach min, k=" << k;
  }
}

}  // namespace
}  // namespace vigil::membership
