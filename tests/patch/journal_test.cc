// Journal of committed deltas: gens, since(), trim() and the entry bound.
#include "patch/journal.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace vigil::patch {
namespace {

using nlohmann::json;

json delta(int n) { return json::array({{{"op", "replace"}, {"path", "/n"}, {"value", n}}}); }

TEST(Journal, StartsAtGenOneWithNoDeltas) {
  Journal j;
  EXPECT_EQ(j.gen(), 1u);
  EXPECT_EQ(j.base(), 1u);
  EXPECT_EQ(j.size(), 0u);
}

TEST(Journal, AppendReturnsTheNextGen) {
  Journal j;
  EXPECT_EQ(j.append(delta(2)), 2u);
  EXPECT_EQ(j.append(delta(3)), 3u);
  EXPECT_EQ(j.gen(), 3u);
  EXPECT_EQ(j.size(), 2u);
}

TEST(Journal, SinceReturnsLaterDeltasInAscendingOrder) {
  Journal j;
  for (int g = 2; g <= 5; ++g) j.append(delta(g));
  const auto entries = j.since(2);
  ASSERT_TRUE(entries.has_value());
  ASSERT_EQ(entries->size(), 3u);
  for (std::size_t i = 0; i < entries->size(); ++i) {
    EXPECT_EQ((*entries)[i].gen, 3 + i);
    EXPECT_EQ(*(*entries)[i].ops, delta(static_cast<int>(3 + i)));
  }
}

TEST(Journal, SinceBaseReturnsEverything) {
  Journal j;
  j.append(delta(2));
  j.append(delta(3));
  const auto entries = j.since(1);
  ASSERT_TRUE(entries.has_value());
  EXPECT_EQ(entries->size(), 2u);
}

TEST(Journal, SinceCurrentOrLaterGenIsEmpty) {
  Journal j;
  j.append(delta(2));
  ASSERT_TRUE(j.since(2).has_value());
  EXPECT_TRUE(j.since(2)->empty());
  ASSERT_TRUE(j.since(7).has_value());
  EXPECT_TRUE(j.since(7)->empty());
}

TEST(Journal, SinceGenZeroNeedsAFullDocument) {
  Journal j;
  j.append(delta(2));
  EXPECT_FALSE(j.since(0).has_value());
}

TEST(Journal, TrimDropsAcknowledgedDeltas) {
  Journal j;
  for (int g = 2; g <= 5; ++g) j.append(delta(g));
  j.trim(3);
  EXPECT_EQ(j.base(), 3u);
  EXPECT_EQ(j.size(), 2u);
  EXPECT_EQ(j.gen(), 5u);
  const auto entries = j.since(3);
  ASSERT_TRUE(entries.has_value());
  ASSERT_EQ(entries->size(), 2u);
  EXPECT_EQ((*entries)[0].gen, 4u);
  EXPECT_EQ(*(*entries)[0].ops, delta(4));
}

TEST(Journal, PeerBehindTrimmedBaseGetsNullopt) {
  Journal j;
  for (int g = 2; g <= 5; ++g) j.append(delta(g));
  j.trim(3);
  EXPECT_FALSE(j.since(2).has_value());
}

TEST(Journal, TrimBeyondGenEmptiesWithoutMovingGen) {
  Journal j;
  j.append(delta(2));
  j.trim(100);
  EXPECT_EQ(j.size(), 0u);
  EXPECT_EQ(j.base(), 2u);
  EXPECT_EQ(j.gen(), 2u);
  EXPECT_EQ(j.append(delta(3)), 3u);
  ASSERT_TRUE(j.since(2).has_value());
  EXPECT_EQ(j.since(2)->size(), 1u);
}

TEST(Journal, TrimOfAnOlderGenIsANoOp) {
  Journal j;
  j.append(delta(2));
  j.append(delta(3));
  j.trim(2);
  j.trim(1);
  EXPECT_EQ(j.base(), 2u);
  EXPECT_EQ(j.size(), 1u);
}

TEST(Journal, MaxEntriesBoundsSizeAndPeerBehindBaseGetsNullopt) {
  Journal j(3);
  for (int g = 2; g <= 7; ++g) j.append(delta(g));
  EXPECT_EQ(j.size(), 3u);
  EXPECT_EQ(j.gen(), 7u);
  EXPECT_EQ(j.base(), 4u);
  EXPECT_FALSE(j.since(3).has_value());
  const auto entries = j.since(4);
  ASSERT_TRUE(entries.has_value());
  ASSERT_EQ(entries->size(), 3u);
  EXPECT_EQ((*entries)[0].gen, 5u);
  EXPECT_EQ(*(*entries)[0].ops, delta(5));
}

}  // namespace
}  // namespace vigil::patch
