// Boot/sequence anti-replay window and clock skew.
#include "crypto/replay_window.h"

#include <cstdint>
#include <limits>
#include <random>
#include <set>
#include <string_view>

#include <gtest/gtest.h>

namespace vigil::crypto {
namespace {

constexpr int64_t kNow = 1'700'000'000'000;
constexpr uint64_t kBoot = 1'000'000;

// check() then record() when fresh, as a receiver does after opening.
ReplayVerdict accept(ReplayWindow& w, uint64_t boot, uint64_t seq, int64_t sent_ms = kNow) {
  const ReplayVerdict v = w.check(boot, seq, sent_ms, kNow);
  if (v == ReplayVerdict::kFresh) w.record(boot, seq);
  return v;
}

TEST(ReplayWindow, FirstMessageIsFreshAndRecordReportsNewBoot) {
  ReplayWindow w;
  EXPECT_EQ(w.check(kBoot, 1, kNow, kNow), ReplayVerdict::kFresh);
  EXPECT_TRUE(w.record(kBoot, 1));
  EXPECT_EQ(w.boot(), kBoot);
}

TEST(ReplayWindow, CheckDoesNotRecord) {
  ReplayWindow w;
  EXPECT_EQ(w.check(kBoot, 1, kNow, kNow), ReplayVerdict::kFresh);
  EXPECT_EQ(w.check(kBoot, 1, kNow, kNow), ReplayVerdict::kFresh);
}

TEST(ReplayWindow, DuplicateIsReplay) {
  ReplayWindow w;
  ASSERT_EQ(accept(w, kBoot, 5), ReplayVerdict::kFresh);
  EXPECT_EQ(w.check(kBoot, 5, kNow, kNow), ReplayVerdict::kReplay);
}

TEST(ReplayWindow, IncreasingSequenceIsFreshAndRecordReportsNoNewBoot) {
  ReplayWindow w;
  ASSERT_TRUE(w.record(kBoot, 1));
  for (uint64_t seq = 2; seq < 10; ++seq) {
    EXPECT_EQ(w.check(kBoot, seq, kNow, kNow), ReplayVerdict::kFresh) << seq;
    EXPECT_FALSE(w.record(kBoot, seq)) << seq;
  }
}

TEST(ReplayWindow, ReorderingInsideTheWindowIsAcceptedOnce) {
  ReplayWindow w;
  ASSERT_EQ(accept(w, kBoot, 10), ReplayVerdict::kFresh);
  EXPECT_EQ(accept(w, kBoot, 8), ReplayVerdict::kFresh);
  EXPECT_EQ(accept(w, kBoot, 9), ReplayVerdict::kFresh);
  EXPECT_EQ(accept(w, kBoot, 7), ReplayVerdict::kFresh);
  EXPECT_EQ(accept(w, kBoot, 8), ReplayVerdict::kReplay);
  EXPECT_EQ(accept(w, kBoot, 9), ReplayVerdict::kReplay);
  EXPECT_EQ(accept(w, kBoot, 10), ReplayVerdict::kReplay);
  EXPECT_EQ(accept(w, kBoot, 6), ReplayVerdict::kFresh);
}

TEST(ReplayWindow, SeenBitsSurviveTheWindowSliding) {
  ReplayWindow w;
  ASSERT_EQ(accept(w, kBoot, 100), ReplayVerdict::kFresh);
  ASSERT_EQ(accept(w, kBoot, 98), ReplayVerdict::kFresh);
  ASSERT_EQ(accept(w, kBoot, 600), ReplayVerdict::kFresh);
  EXPECT_EQ(w.check(kBoot, 100, kNow, kNow), ReplayVerdict::kReplay);
  EXPECT_EQ(w.check(kBoot, 98, kNow, kNow), ReplayVerdict::kReplay);
  EXPECT_EQ(w.check(kBoot, 99, kNow, kNow), ReplayVerdict::kFresh);
}

TEST(ReplayWindow, BelowTheWindowIsReplay) {
  ReplayWindow w;
  ASSERT_EQ(accept(w, kBoot, 5000), ReplayVerdict::kFresh);
  const uint64_t oldest_tracked = 5000 - (ReplayWindow::kWindow - 1);
  EXPECT_EQ(w.check(kBoot, oldest_tracked, kNow, kNow), ReplayVerdict::kFresh);
  EXPECT_EQ(w.check(kBoot, oldest_tracked - 1, kNow, kNow), ReplayVerdict::kReplay);
  EXPECT_EQ(w.check(kBoot, 0, kNow, kNow), ReplayVerdict::kReplay);
}

TEST(ReplayWindow, JumpBeyondTheWindowForgetsOlderBits) {
  ReplayWindow w;
  ASSERT_EQ(accept(w, kBoot, 1), ReplayVerdict::kFresh);
  ASSERT_EQ(accept(w, kBoot, 1 + 3 * ReplayWindow::kWindow), ReplayVerdict::kFresh);
  const uint64_t inside = 3 * ReplayWindow::kWindow;
  EXPECT_EQ(w.check(kBoot, inside, kNow, kNow), ReplayVerdict::kFresh);
  EXPECT_EQ(w.check(kBoot, 1, kNow, kNow), ReplayVerdict::kReplay);
}

TEST(ReplayWindow, NewBootResetsTheWindow) {
  ReplayWindow w;
  ASSERT_EQ(accept(w, kBoot, 500), ReplayVerdict::kFresh);
  EXPECT_EQ(w.check(kBoot + 1, 1, kNow, kNow), ReplayVerdict::kFresh);
  EXPECT_TRUE(w.record(kBoot + 1, 1));
  EXPECT_EQ(w.boot(), kBoot + 1);
  // Sequence numbers restart with the new boot: 2 is new, 1 is a duplicate.
  EXPECT_EQ(w.check(kBoot + 1, 2, kNow, kNow), ReplayVerdict::kFresh);
  EXPECT_EQ(w.check(kBoot + 1, 1, kNow, kNow), ReplayVerdict::kReplay);
}

TEST(ReplayWindow, OlderBootIsOldBoot) {
  ReplayWindow w;
  ASSERT_EQ(accept(w, kBoot, 1), ReplayVerdict::kFresh);
  ASSERT_EQ(accept(w, kBoot + 10, 1), ReplayVerdict::kFresh);
  EXPECT_EQ(w.check(kBoot, 2, kNow, kNow), ReplayVerdict::kOldBoot);
  EXPECT_EQ(w.check(kBoot + 9, 1000, kNow, kNow), ReplayVerdict::kOldBoot);
  EXPECT_FALSE(w.record(kBoot, 2));
  EXPECT_EQ(w.boot(), kBoot + 10);
}

TEST(ReplayWindow, SkewBeyondTheBoundIsSkewInBothDirections) {
  ReplayWindow w(5000);
  EXPECT_EQ(w.check(kBoot, 1, kNow + 5000, kNow), ReplayVerdict::kFresh);
  EXPECT_EQ(w.check(kBoot, 1, kNow - 5000, kNow), ReplayVerdict::kFresh);
  EXPECT_EQ(w.check(kBoot, 1, kNow + 5001, kNow), ReplayVerdict::kSkew);
  EXPECT_EQ(w.check(kBoot, 1, kNow - 5001, kNow), ReplayVerdict::kSkew);
}

TEST(ReplayWindow, ExtremeTimestampsAreSkewWithoutOverflow) {
  ReplayWindow w(5000);
  EXPECT_EQ(w.check(kBoot, 1, std::numeric_limits<int64_t>::min(), kNow), ReplayVerdict::kSkew);
  EXPECT_EQ(w.check(kBoot, 1, std::numeric_limits<int64_t>::max(), -kNow), ReplayVerdict::kSkew);
}

TEST(ReplayWindow, NegativeBoundDisablesTheSkewCheck) {
  ReplayWindow w(-1);
  EXPECT_EQ(w.check(kBoot, 1, 0, kNow), ReplayVerdict::kFresh);
}

// The window against its definition (RFC 4303 section 3.4.3): a seq is a
// replay when it was recorded, or is kWindow or more below the highest
// recorded. Random walks of one boot, with small steps, jumps around the
// window size and reordering, so that the word ring (RFC 6479) wraps often.
TEST(ReplayWindow, MatchesTheDefinitionOnRandomSequences) {
  std::mt19937_64 rng(7);
  for (int walk = 0; walk < 50; ++walk) {
    ReplayWindow w;
    std::set<uint64_t> recorded;
    uint64_t highest = 0;
    uint64_t at = 1;
    for (int i = 0; i < 4000; ++i) {
      const uint64_t step = rng() % 8 == 0 ? rng() % 2200 : rng() % 70;
      const uint64_t seq = rng() % 3 == 0 && at > step ? at - step : at + step;
      at = std::max<uint64_t>(1, seq);
      const bool expect_replay = recorded.contains(at) || (!recorded.empty() && highest >= at &&
                                                           highest - at >= ReplayWindow::kWindow);
      const ReplayVerdict v = accept(w, kBoot, at);
      ASSERT_EQ(v, expect_replay ? ReplayVerdict::kReplay : ReplayVerdict::kFresh)
          << "walk " << walk << " step " << i << " seq " << at << " highest " << highest;
      if (!expect_replay) {
        recorded.insert(at);
        highest = std::max(highest, at);
      }
    }
  }
}

TEST(ReplayVerdict, ToStringNamesEachVerdict) {
  EXPECT_EQ(std::string_view(to_string(ReplayVerdict::kFresh)), "fresh");
  EXPECT_EQ(std::string_view(to_string(ReplayVerdict::kReplay)), "replay");
  EXPECT_EQ(std::string_view(to_string(ReplayVerdict::kOldBoot)), "old_boot");
  EXPECT_EQ(std::string_view(to_string(ReplayVerdict::kSkew)), "skew");
}

}  // namespace
}  // namespace vigil::crypto
