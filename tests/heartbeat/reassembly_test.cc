#include "heartbeat/reassembly.h"

#include <algorithm>
#include <numeric>
#include <random>
#include <vector>

#include <gtest/gtest.h>

namespace vigil::heartbeat {
namespace {

using Clock = Reassembler::Clock;
using std::chrono::milliseconds;

std::vector<uint8_t> bytes(std::size_t n, uint8_t fill) { return std::vector<uint8_t>(n, fill); }

TEST(ReassemblyTest, SingleFragmentIsReturnedAtOnce) {
  Reassembler r;
  std::optional<DropReason> dropped;
  const auto data = bytes(10, 7);
  const auto out = r.add("a", 1, 1, 0, 1, data, Clock::now(), dropped);
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(out->data(), data.data()) << "a single fragment is not copied";
  EXPECT_EQ(std::vector<uint8_t>(out->begin(), out->end()), bytes(10, 7));
  EXPECT_FALSE(dropped.has_value());
  EXPECT_EQ(r.pending(), 0u);
}

TEST(ReassemblyTest, FragmentsReassembleInAnyOrder) {
  std::vector<uint16_t> order(6);
  std::iota(order.begin(), order.end(), 0);
  std::mt19937 rng(3);
  for (int round = 0; round < 50; ++round) {
    std::shuffle(order.begin(), order.end(), rng);
    Reassembler r;
    const auto now = Clock::now();
    std::optional<std::vector<uint8_t>> out;
    for (std::size_t i = 0; i < order.size(); ++i) {
      std::optional<DropReason> dropped;
      ASSERT_FALSE(out.has_value());
      const auto data = bytes(3, static_cast<uint8_t>(order[i]));
      if (auto whole = r.add("a", 1, 9, order[i], 6, data, now, dropped))
        out.emplace(whole->begin(), whole->end());
      EXPECT_FALSE(dropped.has_value());
    }
    ASSERT_TRUE(out.has_value());
    EXPECT_EQ(*out, (std::vector<uint8_t>{0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 5, 5, 5}));
    EXPECT_EQ(r.pending(), 0u);
    EXPECT_EQ(r.pending_bytes(), 0u);
  }
}

TEST(ReassemblyTest, DuplicateFragmentIsIgnored) {
  Reassembler r;
  std::optional<DropReason> dropped;
  const auto now = Clock::now();
  EXPECT_FALSE(r.add("a", 1, 1, 0, 2, bytes(4, 1), now, dropped));
  EXPECT_FALSE(r.add("a", 1, 1, 0, 2, bytes(4, 9), now, dropped));
  EXPECT_FALSE(dropped.has_value());
  EXPECT_EQ(r.pending_bytes(), 4u);
  const auto out = r.add("a", 1, 1, 1, 2, bytes(4, 2), now, dropped);
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(std::vector<uint8_t>(out->begin(), out->end()),
            (std::vector<uint8_t>{1, 1, 1, 1, 2, 2, 2, 2}));
}

TEST(ReassemblyTest, BadIndexOrChangedCountIsMalformed) {
  Reassembler r;
  std::optional<DropReason> dropped;
  const auto now = Clock::now();
  EXPECT_FALSE(r.add("a", 1, 1, 2, 2, bytes(1, 0), now, dropped));
  EXPECT_EQ(dropped, DropReason::kMalformed);
  EXPECT_FALSE(r.add("a", 1, 1, 0, 0, bytes(1, 0), now, dropped));
  EXPECT_EQ(dropped, DropReason::kMalformed);
  EXPECT_FALSE(r.add("a", 1, 1, 0, 3, bytes(1, 0), now, dropped));
  EXPECT_FALSE(dropped.has_value());
  EXPECT_FALSE(r.add("a", 1, 1, 1, 4, bytes(1, 0), now, dropped));
  EXPECT_EQ(dropped, DropReason::kMalformed);
  EXPECT_EQ(r.pending(), 0u) << "the partial whose count changed is dropped";
}

TEST(ReassemblyTest, MessagesAboveMaxBytesAreRefused) {
  ReassemblyLimits limits;
  limits.max_message_bytes = 100;
  Reassembler r(limits);
  std::optional<DropReason> dropped;
  const auto now = Clock::now();
  EXPECT_FALSE(r.add("a", 1, 1, 0, 1, bytes(101, 0), now, dropped));
  EXPECT_EQ(dropped, DropReason::kOversize);
  EXPECT_TRUE(r.add("a", 1, 2, 0, 1, bytes(100, 0), now, dropped).has_value());

  EXPECT_FALSE(r.add("a", 1, 3, 0, 3, bytes(60, 0), now, dropped));
  EXPECT_FALSE(dropped.has_value());
  EXPECT_FALSE(r.add("a", 1, 3, 1, 3, bytes(41, 0), now, dropped));
  EXPECT_EQ(dropped, DropReason::kOversize);
  EXPECT_EQ(r.pending(), 0u);
  EXPECT_EQ(r.pending_bytes(), 0u);
  // A late fragment of the dropped message starts over and never completes
  // above the limit.
  EXPECT_FALSE(r.add("a", 1, 3, 2, 3, bytes(60, 0), now, dropped));
  EXPECT_FALSE(r.add("a", 1, 3, 1, 3, bytes(60, 0), now, dropped));
  EXPECT_EQ(dropped, DropReason::kOversize);
}

TEST(ReassemblyTest, FragmentCountAboveMaxFragmentsIsRefused) {
  ReassemblyLimits limits;
  limits.max_fragments = 4;
  Reassembler r(limits);
  std::optional<DropReason> dropped;
  EXPECT_FALSE(r.add("a", 1, 1, 0, 5, bytes(1, 0), Clock::now(), dropped));
  EXPECT_EQ(dropped, DropReason::kOversize);
  EXPECT_EQ(r.pending(), 0u);
  EXPECT_FALSE(r.add("a", 1, 1, 0, 4, bytes(1, 0), Clock::now(), dropped));
  EXPECT_FALSE(dropped.has_value());
}

TEST(ReassemblyTest, PerSenderPendingLimitEvictsTheOldestOfThatSender) {
  ReassemblyLimits limits;
  limits.max_pending_per_sender = 2;
  Reassembler r(limits);
  std::optional<DropReason> dropped;
  const auto t0 = Clock::now();
  EXPECT_FALSE(r.add("a", 1, 1, 0, 2, bytes(1, 1), t0, dropped));
  EXPECT_FALSE(r.add("a", 1, 2, 0, 2, bytes(1, 2), t0 + milliseconds(1), dropped));
  EXPECT_FALSE(r.add("b", 1, 1, 0, 2, bytes(1, 3), t0 + milliseconds(2), dropped));
  EXPECT_FALSE(r.add("b", 1, 2, 0, 2, bytes(1, 4), t0 + milliseconds(3), dropped));
  EXPECT_FALSE(dropped.has_value());
  EXPECT_EQ(r.pending(), 4u);

  // A third message from "a" evicts a's message 1, not b's.
  EXPECT_FALSE(r.add("a", 1, 3, 0, 2, bytes(1, 5), t0 + milliseconds(4), dropped));
  EXPECT_EQ(dropped, DropReason::kReassemblyOverflow);
  EXPECT_EQ(r.pending(), 4u);

  // Message 1 of "a" is gone: its second fragment starts a new partial
  // (evicting message 2, now the oldest) instead of completing.
  EXPECT_FALSE(r.add("a", 1, 1, 1, 2, bytes(1, 6), t0 + milliseconds(5), dropped));
  EXPECT_EQ(dropped, DropReason::kReassemblyOverflow);
  // Message 3 is still there and completes.
  const auto out = r.add("a", 1, 3, 1, 2, bytes(1, 7), t0 + milliseconds(6), dropped);
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(std::vector<uint8_t>(out->begin(), out->end()), (std::vector<uint8_t>{5, 7}));
  // Both of b's messages survived.
  EXPECT_TRUE(r.add("b", 1, 1, 1, 2, bytes(1, 0), t0, dropped).has_value());
  EXPECT_TRUE(r.add("b", 1, 2, 1, 2, bytes(1, 0), t0, dropped).has_value());
}

TEST(ReassemblyTest, IncompleteMessagesExpireAfterTimeout) {
  ReassemblyLimits limits;
  limits.timeout = milliseconds(5000);
  Reassembler r(limits);
  std::optional<DropReason> dropped;
  const auto t0 = Clock::now();
  r.add("a", 1, 1, 0, 2, bytes(10, 0), t0, dropped);
  r.add("b", 1, 1, 0, 3, bytes(10, 0), t0 + milliseconds(3000), dropped);
  EXPECT_EQ(r.pending_bytes(), 20u);
  EXPECT_EQ(r.expire(t0 + milliseconds(5000)), 0u);
  EXPECT_EQ(r.expire(t0 + milliseconds(5001)), 1u);
  EXPECT_EQ(r.pending(), 1u);
  EXPECT_EQ(r.expire(t0 + milliseconds(8001)), 1u);
  EXPECT_EQ(r.pending(), 0u);
  EXPECT_EQ(r.pending_bytes(), 0u);
}

TEST(ReassemblyTest, ForgetDropsOnlyThatSender) {
  Reassembler r;
  std::optional<DropReason> dropped;
  const auto now = Clock::now();
  r.add("a", 1, 1, 0, 2, bytes(1, 0), now, dropped);
  r.add("a", 2, 1, 0, 2, bytes(1, 0), now, dropped);
  r.add("ab", 1, 1, 0, 2, bytes(1, 0), now, dropped);
  r.add("b", 1, 1, 0, 2, bytes(1, 0), now, dropped);
  r.forget("a");
  EXPECT_EQ(r.pending(), 2u);
  EXPECT_TRUE(r.add("ab", 1, 1, 1, 2, bytes(1, 0), now, dropped).has_value());
  EXPECT_TRUE(r.add("b", 1, 1, 1, 2, bytes(1, 0), now, dropped).has_value());
}

TEST(ReassemblyTest, SameMessageIdOfDifferentBootsIsKeptApart) {
  Reassembler r;
  std::optional<DropReason> dropped;
  const auto now = Clock::now();
  r.add("a", 1, 1, 0, 2, bytes(1, 1), now, dropped);
  r.add("a", 2, 1, 0, 2, bytes(1, 2), now, dropped);
  const auto out = r.add("a", 2, 1, 1, 2, bytes(1, 3), now, dropped);
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(std::vector<uint8_t>(out->begin(), out->end()), (std::vector<uint8_t>{2, 3}));
}

}  // namespace
}  // namespace vigil::heartbeat
