#include "agent/api/operations.h"

#include <chrono>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace vigil::agent {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

std::string header(const Operations::Answer& a, const std::string& name) {
  for (const auto& [k, v] : a.headers)
    if (k == name) return v;
  return "";
}

class OperationsTest : public ::testing::Test {
 protected:
  Operations make(std::size_t max = Operations::kMaxOperations) {
    return Operations({.max_operations = max, .now = [this] { return now_; }, .make_id = nullptr});
  }
  Operations::Clock::time_point now_{std::chrono::hours(1)};
};

TEST_F(OperationsTest, IdsAre128RandomBitsIn32LowercaseHexDigits) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    const std::string id = Operations::random_id();
    EXPECT_TRUE(Operations::valid_id(id)) << id;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 1000u);
  EXPECT_FALSE(Operations::valid_id(""));
  EXPECT_FALSE(Operations::valid_id(std::string(31, 'a')));
  EXPECT_FALSE(Operations::valid_id(std::string(33, 'a')));
  EXPECT_FALSE(Operations::valid_id(std::string(32, 'A')));
  EXPECT_FALSE(Operations::valid_id(std::string(31, 'a') + "g"));
  EXPECT_FALSE(Operations::valid_id(std::string(31, 'a') + "/"));
  EXPECT_EQ(Operations::location("ab"), "/v1/queue/ab");
}

TEST_F(OperationsTest, ARunningOperationAnswers200WithXPendingAndItsProgress) {
  auto ops = make();
  auto id = ops.start("hb rotate", "staging");
  ASSERT_TRUE(id);
  now_ += 1500ms;
  auto a = ops.poll(*id);
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(header(a, "X-Pending"), "true");
  EXPECT_EQ(a.body["id"], *id);
  EXPECT_EQ(a.body["op"], "hb rotate");
  EXPECT_EQ(a.body["state"], "running");
  EXPECT_EQ(a.body["progress"], "staging");
  EXPECT_EQ(a.body["elapsed_ms"], 1500);
  EXPECT_TRUE(a.body["started_at"].is_string());
  ops.progress(*id, "switching");
  EXPECT_EQ(ops.poll(*id).body["progress"], "switching");
  // Its result is not there yet.
  auto r = ops.result(*id);
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(r.body["location"], "/v1/queue/" + *id);
}

TEST_F(OperationsTest, ASucceededOperationAnswers303ToItsResult) {
  auto ops = make();
  auto id = ops.start("cluster forget", "removing");
  ops.finish(*id, 200, {{"node", "n3"}, {"nodes", {"n1", "n2"}}});
  auto a = ops.poll(*id);
  EXPECT_EQ(a.status, 303);
  EXPECT_EQ(header(a, "Location"), "/v1/queue/" + *id + "/result");
  EXPECT_EQ(header(a, "X-Pending"), "");
  EXPECT_EQ(a.body["state"], "succeeded");
  EXPECT_EQ(a.body["status"], 200);
  EXPECT_EQ(a.body["location"], "/v1/queue/" + *id + "/result");
  auto r = ops.result(*id);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, json({{"node", "n3"}, {"nodes", {"n1", "n2"}}}));
  // Through the path, as the route hands it over.
  EXPECT_EQ(ops.get("/v1/queue/" + *id).status, 303);
  EXPECT_EQ(ops.get("/v1/queue/" + *id + "/result").body["node"], "n3");
}

TEST_F(OperationsTest, AFailedOperationAnswers500WithTheReasonAndItsOwnStatus) {
  auto ops = make();
  auto id = ops.start("cluster join", "asking");
  ops.finish(*id, 409, {{"error", "the seed refused: token expired"}});
  auto a = ops.poll(*id);
  EXPECT_EQ(a.status, 500);
  EXPECT_EQ(a.body["state"], "failed");
  EXPECT_EQ(a.body["status"], 409);
  EXPECT_EQ(a.body["error"], "the seed refused: token expired");
  EXPECT_EQ(a.body["result"], json({{"error", "the seed refused: token expired"}}));
  EXPECT_TRUE(a.body["ended_at"].is_string());
  // The result route answers it as the synchronous route did.
  auto r = ops.result(*id);
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(r.body["error"], "the seed refused: token expired");
  // An answer without "error" still says what failed.
  auto other = ops.start("hb rotate", "staging");
  ops.finish(*other, 504, json::object());
  EXPECT_EQ(ops.poll(*other).body["error"], "hb rotate failed with status 504");
}

TEST_F(OperationsTest, OnlyTheFirstEndCounts) {
  auto ops = make();
  auto id = ops.start("cluster leave", "announcing");
  ops.finish(*id, 504, {{"error", "timeout"}});
  ops.finish(*id, 200, json::object());
  ops.progress(*id, "again");
  auto a = ops.poll(*id);
  EXPECT_EQ(a.status, 500);
  EXPECT_EQ(a.body["progress"], "failed");
  ops.finish("0123456789abcdef0123456789abcdef", 200, json::object());  // unknown: ignored
  EXPECT_EQ(ops.size(), 1u);
}

TEST_F(OperationsTest, UnknownMalformedAndOtherPathsAre404) {
  auto ops = make();
  auto id = ops.start("hb rotate", "staging");
  EXPECT_EQ(ops.poll("0123456789abcdef0123456789abcdef").status, 404);
  EXPECT_EQ(ops.result("0123456789abcdef0123456789abcdef").status, 404);
  for (const std::string& path : std::vector<std::string>{
           "/v1/queue/", "/v1/queue/x", "/v1/queue/" + *id + "/", "/v1/queue/" + *id + "/resul",
           "/v1/queue/" + *id + "/result/x", "/v1/queue/" + *id + "x", "/v1/queue/../status",
           "/v1/queue/" + std::string(32, 'G'), "/v1/status",
           std::string("/v1/queue/\n") + std::string(31, 'a')}) {
    auto a = ops.get(path);
    EXPECT_EQ(a.status, 404) << path;
    EXPECT_TRUE(a.body["error"].is_string()) << path;
    // A malformed id is never echoed.
    EXPECT_EQ(a.body["error"].get<std::string>().find('\n'), std::string::npos) << path;
  }
  EXPECT_EQ(ops.get("/v1/queue/" + *id).status, 200);
}

TEST_F(OperationsTest, AnEndedOperationExpiresTenMinutesAfterItsEnd) {
  auto ops = make();
  auto done = ops.start("cluster forget", "removing");
  auto running = ops.start("cluster join", "asking");
  now_ += 5min;
  ops.finish(*done, 200, json::object());
  now_ += 10min - 1ms;
  EXPECT_EQ(ops.poll(*done).status, 303);
  now_ += 1ms;
  EXPECT_EQ(ops.poll(*done).status, 404);
  EXPECT_EQ(ops.result(*done).status, 404);
  // A running operation never expires.
  now_ += 24h;
  EXPECT_EQ(ops.poll(*running).status, 200);
  EXPECT_EQ(ops.size(), 1u);
  ops.finish(*running, 200, json::object());
  now_ += 10min;
  EXPECT_EQ(ops.size(), 0u);
}

TEST_F(OperationsTest, WhenFullTheOldestFinishedIsDroppedFirst) {
  auto ops = make(3);
  auto a = ops.start("a", "");
  auto b = ops.start("b", "");
  auto c = ops.start("c", "");
  // b ends before a; c runs.
  ops.finish(*b, 200, json::object());
  now_ += 1s;
  ops.finish(*a, 200, json::object());
  auto d = ops.start("d", "");
  ASSERT_TRUE(d);
  EXPECT_EQ(ops.size(), 3u);
  EXPECT_EQ(ops.poll(*b).status, 404);  // ended first: dropped
  EXPECT_EQ(ops.poll(*a).status, 303);
  EXPECT_EQ(ops.poll(*c).status, 200);
  auto e = ops.start("e", "");
  ASSERT_TRUE(e);
  EXPECT_EQ(ops.poll(*a).status, 404);
  // c, d and e all run: a fourth start is refused, and nothing is dropped.
  EXPECT_FALSE(ops.start("f", ""));
  EXPECT_EQ(ops.size(), 3u);
  for (const auto& id : {*c, *d, *e}) EXPECT_EQ(ops.poll(id).status, 200);
  ops.finish(*d, 500, {{"error", "x"}});
  EXPECT_TRUE(ops.start("f", ""));
  EXPECT_EQ(ops.poll(*d).status, 404);
}

TEST_F(OperationsTest, TheDefaultBoundIsAThousand) {
  auto ops = make();
  for (std::size_t i = 0; i < Operations::kMaxOperations; ++i) ASSERT_TRUE(ops.start("x", ""));
  EXPECT_FALSE(ops.start("x", ""));
  EXPECT_EQ(ops.size(), Operations::kMaxOperations);
}

TEST_F(OperationsTest, AnInjectedIdThatIsMalformedOrTakenIsReplaced) {
  Operations ops({.now = [this] { return now_; }, .make_id = [] { return std::string("x"); }});
  auto id = ops.start("a", "");
  ASSERT_TRUE(id);
  EXPECT_TRUE(Operations::valid_id(*id));
  Operations same({.now = [this] { return now_; }, .make_id = [] { return std::string(32, 'a'); }});
  auto first = same.start("a", "");
  auto second = same.start("b", "");
  EXPECT_EQ(*first, std::string(32, 'a'));
  EXPECT_NE(*second, *first);
  EXPECT_TRUE(Operations::valid_id(*second));
}

}  // namespace
}  // namespace vigil::agent
