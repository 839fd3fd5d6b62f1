#include "membership/broadcast_queue.h"

#include <gtest/gtest.h>

#include "membership/awareness.h"

namespace vigil::membership {
namespace {

TEST(BroadcastQueue, EachUpdateIsSentAtMostLimitTimes) {
  BroadcastQueue q(3);
  EXPECT_EQ(q.limit(9), 3u);   // 3 * ceil(log10(10))
  EXPECT_EQ(q.limit(10), 6u);  // 3 * ceil(log10(11))
  EXPECT_EQ(q.limit(0), 1u);   // never zero
  q.queue("a", "AAAA");
  int sent = 0;
  while (!q.take(1000, 9).empty()) ++sent;
  EXPECT_EQ(sent, 3);
  EXPECT_EQ(q.pending(), 0u);
}

TEST(BroadcastQueue, TheLeastTransmittedGoFirstThenTheNewest) {
  BroadcastQueue q(4);
  q.queue("a", "a");
  EXPECT_EQ(q.take(1, 100), std::vector<std::string>{"a"});  // a sent once
  q.queue("b", "b");
  q.queue("c", "c");
  // b and c were never sent: c (newest), then b, before a.
  EXPECT_EQ(q.take(2, 100), (std::vector<std::string>{"c", "b"}));
  EXPECT_EQ(q.take(3, 100), (std::vector<std::string>{"c", "b", "a"}));
}

TEST(BroadcastQueue, ANewerUpdateForAKeyReplacesTheQueuedOne) {
  BroadcastQueue q(4);
  q.queue("n3", "n3 alive, incarnation 1");
  q.take(100, 10);
  q.queue("n3", "n3 suspect, incarnation 1");
  EXPECT_EQ(q.pending(), 1u);
  EXPECT_EQ(q.take(100, 10), std::vector<std::string>{"n3 suspect, incarnation 1"});
  q.drop("n3");
  EXPECT_EQ(q.pending(), 0u);
}

TEST(BroadcastQueue, TheBudgetIsRespectedAndSmallerOnesStillFit) {
  BroadcastQueue q(4);
  q.queue("big", std::string(60, 'x'));
  q.queue("small", "yy");
  q.queue("mid", std::string(30, 'z'));
  auto out = q.take(40, 10);
  std::size_t bytes = 0;
  for (const auto& p : out) bytes += p.size();
  EXPECT_LE(bytes, 40u);
  EXPECT_EQ(out.size(), 2u);                     // mid and small; big does not fit
  EXPECT_TRUE(q.take(10, 10).empty() == false);  // small again
}

TEST(BroadcastQueue, AnUpdateQueuedTwiceOverIsSentTwiceTheLimit) {
  BroadcastQueue q(2);
  const std::size_t members = 50;  // limit: 2 x ceil(log10(51)) = 4
  ASSERT_EQ(q.limit(members), 4u);
  q.queue("once", "a");
  q.queue("twice", "b", false, 2);
  std::size_t once = 0, twice = 0;
  for (int i = 0; i < 20; ++i)
    for (const auto& p : q.take(100, members)) (p == "a" ? once : twice) += 1;
  EXPECT_EQ(once, 4u);
  EXPECT_EQ(twice, 8u);
  EXPECT_EQ(q.pending(), 0u);
}

TEST(Awareness, TheScoreIsClampedAndScalesTimeouts) {
  Awareness a(4);
  EXPECT_EQ(a.scale(std::chrono::milliseconds(500)), std::chrono::milliseconds(500));
  a.apply(2);
  EXPECT_EQ(a.scale(std::chrono::milliseconds(500)), std::chrono::milliseconds(1500));
  a.apply(10);
  EXPECT_EQ(a.score(), 3);
  a.apply(-10);
  EXPECT_EQ(a.score(), 0);
}

}  // namespace
}  // namespace vigil::membership
