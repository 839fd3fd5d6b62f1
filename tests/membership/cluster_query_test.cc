#include "membership/cluster_query.h"

#include <gtest/gtest.h>

namespace vigil::membership {
namespace {

using json = nlohmann::json;
using Clock = ClusterQueries::Clock;

const Clock::time_point t0 = Clock::time_point{} + std::chrono::hours(1);

heartbeat::Message beat(const ClusterQueries& q, Clock::time_point now) {
  heartbeat::Message m;
  q.prepare(m, now);
  return m;
}

TEST(ClusterQueries, AQueryRunsOnceAtEachNodeAndTheAnswersReachTheAsker) {
  ClusterQueries a, b, c;
  ASSERT_TRUE(a.ask({.id = "a-1-1", .from = "a", .kind = "webhook_test", .args = {{"x", 1}}}, t0));
  // b hears it from a, c only from b (gossip): each runs it once.
  auto at_b = b.on_message(beat(a, t0), t0);
  ASSERT_EQ(at_b.size(), 1u);
  EXPECT_EQ(at_b[0].kind, "webhook_test");
  EXPECT_EQ(at_b[0].args, (json{{"x", 1}}));
  EXPECT_TRUE(b.on_message(beat(a, t0), t0).empty());  // a repeat is not run again
  ASSERT_EQ(c.on_message(beat(b, t0), t0).size(), 1u);
  b.answer({.id = "a-1-1", .node = "b", .answer = {{"ok", true}}}, t0);
  c.answer({.id = "a-1-1", .node = "c", .answer = {{"ok", false}}}, t0);
  // c's answer reaches a through b.
  b.on_message(beat(c, t0), t0);
  a.on_message(beat(b, t0), t0);
  const auto answers = a.answers("a-1-1");
  ASSERT_EQ(answers.size(), 2u);
  EXPECT_EQ(answers.at("b"), (json{{"ok", true}}));
  EXPECT_EQ(answers.at("c"), (json{{"ok", false}}));
}

TEST(ClusterQueries, QueriesAndAnswersStopSpreadingAfterTheirWindow) {
  ClusterQueries a;
  a.ask({.id = "a-1-1", .from = "a", .kind = "k"}, t0);
  a.answer({.id = "a-1-1", .node = "a", .answer = 1}, t0);
  EXPECT_TRUE(beat(a, t0).queries.is_array());
  EXPECT_TRUE(beat(a, t0).query_answers.is_array());
  const auto later = t0 + ClusterQueries::kSpread;
  EXPECT_TRUE(beat(a, later).queries.is_null());
  EXPECT_TRUE(beat(a, later).query_answers.is_null());
  EXPECT_EQ(a.answers("a-1-1").size(), 1u);  // still held for the asker's wait
}

TEST(ClusterQueries, BadEntriesAreCountedNotRun) {
  ClusterQueries q;
  heartbeat::Message m;
  m.queries =
      json::array({json::object(),
                   {{"id", ""}, {"from", "a"}, {"kind", "k"}, {"args", json::object()}},
                   {{"id", "x"}, {"from", "a"}, {"kind", "k"}, {"args", 5}},
                   {{"id", "y"},
                    {"from", "a"},
                    {"kind", "k"},
                    {"args", {{"big", std::string(ClusterQueries::kMaxValueBytes, 'x')}}}}});
  m.query_answers = json::array({1, {{"id", "x"}, {"node", ""}, {"answer", 1}}});
  EXPECT_TRUE(q.on_message(m, t0).empty());
  EXPECT_EQ(q.refused(), 6u);
}

TEST(ClusterQueries, AtMostKMaxQueriesSpreadAtOnce) {
  ClusterQueries q;
  for (std::size_t i = 0; i < ClusterQueries::kMaxQueries; ++i)
    ASSERT_TRUE(q.ask({.id = "q" + std::to_string(i), .from = "a", .kind = "k"}, t0));
  EXPECT_FALSE(q.ask({.id = "one-too-many", .from = "a", .kind = "k"}, t0));
  // Once the window passed, new ones spread again.
  EXPECT_TRUE(q.ask({.id = "later", .from = "a", .kind = "k"}, t0 + ClusterQueries::kSpread));
}

}  // namespace
}  // namespace vigil::membership
