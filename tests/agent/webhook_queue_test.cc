#include "agent/webhooks/webhook_queue.h"

#include <chrono>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>

#include "agent/base/blocking_worker.h"
#include "tests/support/temp_dir.h"

namespace vigil::agent {
namespace {

using std::chrono::milliseconds;

class WebhookQueueTest : public ::testing::Test {
 protected:
  void RunUntil(const std::function<bool()>& pred, milliseconds limit = milliseconds(10'000)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!pred() && std::chrono::steady_clock::now() < deadline) {
      io_.restart();
      io_.run_one_for(milliseconds(10));
    }
    ASSERT_TRUE(pred()) << "condition not met within " << limit.count() << " ms";
  }

  std::unique_ptr<WebhookQueue> Open(WebhookQueue::Options opts = {}) {
    auto q = std::make_unique<WebhookQueue>(worker_, dir(), opts);
    report_.reset();
    q->load([this](const QueueLoadReport& r) { report_ = r; });
    RunUntil([&] { return report_.has_value(); });
    return q;
  }

  void Flush(WebhookQueue& q) {
    bool flushed = false;
    q.flush([&] { flushed = true; });
    RunUntil([&] { return flushed; });
  }

  /// Pops every delivery, returning their ids in order.
  std::vector<std::string> Drain(WebhookQueue& q) {
    std::vector<std::string> ids;
    while (const QueuedDelivery* d = q.front()) {
      ids.push_back(d->id);
      q.pop_front();
    }
    return ids;
  }

  std::filesystem::path dir() const { return tmp_.path() / "webhooks" / "0123456789abcdef"; }
  std::filesystem::path log() const { return dir() / "queue.log"; }
  std::string ReadLog() const {
    std::ifstream in(log(), std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  void AppendLog(const std::string& text) const {
    std::ofstream(log(), std::ios::binary | std::ios::app) << text;
  }

  testing::TempDir tmp_{"webhook-queue"};
  boost::asio::io_context io_;
  BlockingWorker worker_{io_};
  std::optional<QueueLoadReport> report_;
};

TEST_F(WebhookQueueTest, ANewQueueIsEmptyAndMakesItsDirectory) {
  auto q = Open();
  EXPECT_TRUE(q->loaded());
  EXPECT_EQ(q->size(), 0u);
  EXPECT_EQ(q->front(), nullptr);
  EXPECT_EQ(report_->loaded, 0u);
  EXPECT_TRUE(report_->error.empty());
  EXPECT_TRUE(std::filesystem::is_directory(dir()));
  EXPECT_EQ(std::filesystem::status(dir()).permissions(), std::filesystem::perms::owner_all);
}

TEST_F(WebhookQueueTest, KeepsOrderAcrossInstancesAndHonoursTheCursor) {
  {
    auto q = Open();
    for (int i = 1; i <= 5; ++i) {
      ASSERT_TRUE(
          q->push("d" + std::to_string(i), "NodeStale", "{\"n\":" + std::to_string(i) + "}"));
    }
    ASSERT_EQ(q->front()->id, "d1");
    EXPECT_EQ(q->front()->seq, 1u);
    q->pop_front();  // d1 delivered
    q->pop_front();  // d2 delivered
    Flush(*q);
  }
  {
    auto q = Open();
    EXPECT_EQ(report_->loaded, 3u);
    EXPECT_EQ(report_->skipped, 0u);
    ASSERT_EQ(q->size(), 3u);
    EXPECT_EQ(q->front()->id, "d3");
    EXPECT_EQ(q->front()->kind, "NodeStale");
    EXPECT_EQ(q->front()->body, "{\"n\":3}");
    EXPECT_EQ(q->front()->seq, 3u);
    ASSERT_TRUE(q->push("d6", "NodeAlive", "{}"));
    q->pop_front();  // d3
    Flush(*q);
  }
  auto q = Open();
  EXPECT_EQ(Drain(*q), (std::vector<std::string>{"d4", "d5", "d6"}));
  Flush(*q);
  auto again = Open();
  EXPECT_EQ(again->size(), 0u);
}

// The common path after a restart: the loaded deliveries go out first, with
// no push in between; each ack must reach the log.
TEST_F(WebhookQueueTest, AnAckRightAfterALoadIsWritten) {
  {
    auto q = Open();
    for (int i = 1; i <= 4; ++i) q->push("d" + std::to_string(i), "Log", "{}");
    q->pop_front();
    Flush(*q);
  }
  {
    auto q = Open();
    ASSERT_EQ(q->front()->id, "d2");
    q->pop_front();
    Flush(*q);
  }
  {
    auto q = Open();
    ASSERT_EQ(q->front()->id, "d3");
    q->pop_front();
    q->pop_front();
    Flush(*q);
  }
  auto q = Open();
  EXPECT_EQ(q->size(), 0u);
  q->push("d5", "Log", "{}");
  EXPECT_EQ(q->front()->seq, 5u);
}

TEST_F(WebhookQueueTest, PushesBeforeTheLoadComeAfterTheLoadedOnes) {
  {
    auto q = Open();
    q->push("old", "Log", "{}");
    Flush(*q);
  }
  WebhookQueue q(worker_, dir(), {});
  bool loaded = false;
  q.load([&](const QueueLoadReport&) { loaded = true; });
  ASSERT_TRUE(q.push("new", "Log", "{}"));
  EXPECT_EQ(q.size(), 1u);        // the loaded ones are not known yet
  EXPECT_EQ(q.front(), nullptr);  // not loaded yet
  RunUntil([&] { return loaded; });
  EXPECT_EQ(q.size(), 2u);
  EXPECT_EQ(Drain(q), (std::vector<std::string>{"old", "new"}));
}

TEST_F(WebhookQueueTest, ATornLastLineAndACorruptEntryAreSkippedAndCounted) {
  {
    auto q = Open();
    q->push("d1", "Log", "{}");
    q->push("d2", "Log", "{}");
    Flush(*q);
  }
  // A corrupt record in the middle, a good one, then half a line (a crash
  // during an append).
  AppendLog("{\"seq\":3,\"id\":\"d3\",\"kind\":\"Log\"}\n");  // no body
  AppendLog("not json at all\n");
  AppendLog("{\"seq\":4,\"id\":\"d4\",\"kind\":\"Log\",\"body\":\"{}\"}\n");
  AppendLog("{\"seq\":5,\"id\":\"d5\",\"ki");
  {
    auto q = Open();
    EXPECT_EQ(report_->skipped, 3u);
    EXPECT_EQ(report_->loaded, 3u);
    EXPECT_TRUE(report_->error.empty());
    // The load compacted the log: the torn line is gone, so appends after it
    // start on a line of their own.
    EXPECT_EQ(ReadLog().back(), '\n');
    q->push("d6", "Log", "{}");
    Flush(*q);
  }
  auto q = Open();
  EXPECT_EQ(report_->skipped, 0u);
  EXPECT_EQ(Drain(*q), (std::vector<std::string>{"d1", "d2", "d4", "d6"}));
}

TEST_F(WebhookQueueTest, IsBoundedAndDropsTheNewDelivery) {
  auto q = Open({.max = 3});
  EXPECT_TRUE(q->push("a", "Log", "{}"));
  EXPECT_TRUE(q->push("b", "Log", "{}"));
  EXPECT_TRUE(q->push("c", "Log", "{}"));
  EXPECT_FALSE(q->push("d", "Log", "{}"));
  EXPECT_EQ(q->size(), 3u);
  q->pop_front();
  EXPECT_TRUE(q->push("e", "Log", "{}"));
  EXPECT_EQ(Drain(*q), (std::vector<std::string>{"b", "c", "e"}));
}

TEST_F(WebhookQueueTest, PushesBeforeTheLoadBeyondTheBoundAreDropped) {
  {
    auto q = Open();
    q->push("old1", "Log", "{}");
    q->push("old2", "Log", "{}");
    Flush(*q);
  }
  WebhookQueue q(worker_, dir(), {.max = 3});
  std::optional<QueueLoadReport> report;
  q.load([&](const QueueLoadReport& r) { report = r; });
  ASSERT_TRUE(q.push("new1", "Log", "{}"));
  ASSERT_TRUE(q.push("new2", "Log", "{}"));
  RunUntil([&] { return report.has_value(); });
  EXPECT_EQ(report->over, 1u);
  EXPECT_EQ(Drain(q), (std::vector<std::string>{"old1", "old2", "new1"}));
}

TEST_F(WebhookQueueTest, ALoadKeepsTheOldestWithinTheBound) {
  {
    auto q = Open();
    for (int i = 1; i <= 5; ++i) q->push("d" + std::to_string(i), "Log", "{}");
    Flush(*q);
  }
  auto q = Open({.max = 2});
  EXPECT_EQ(report_->over, 3u);
  EXPECT_EQ(Drain(*q), (std::vector<std::string>{"d1", "d2"}));
}

TEST_F(WebhookQueueTest, CompactsTheLogOnceTheDeliveredPrefixGrows) {
  auto q = Open({.max = 100, .compact_after = 10});
  for (int i = 0; i < 40; ++i) {
    q->push("d" + std::to_string(i), "Log", std::string(100, 'x'));
    Flush(*q);
  }
  const auto full = std::filesystem::file_size(log());
  for (int i = 0; i < 30; ++i) {
    q->pop_front();
    Flush(*q);
  }
  // 10 entries left; the delivered ones were compacted away at least once.
  EXPECT_LT(std::filesystem::file_size(log()), full);
  q.reset();
  auto reloaded = Open();
  EXPECT_EQ(reloaded->size(), 10u);
  EXPECT_EQ(reloaded->front()->id, "d30");
}

TEST_F(WebhookQueueTest, AnUnreadableLogIsSetAsideNotFatal) {
  std::filesystem::create_directories(log());  // a directory where the log should be
  auto q = Open();
  EXPECT_FALSE(report_->error.empty());
  EXPECT_EQ(q->size(), 0u);
  EXPECT_TRUE(std::filesystem::exists(dir() / "queue.log.bad"));
  q->push("a", "Log", "{}");
  Flush(*q);
  auto again = Open();
  EXPECT_EQ(again->size(), 1u);
}

TEST_F(WebhookQueueTest, RemoveDeletesTheDirectory) {
  auto q = Open();
  q->push("a", "Log", "{}");
  bool removed = false;
  q->remove([&](const std::string& error) {
    EXPECT_EQ(error, "");
    removed = true;
  });
  q.reset();
  RunUntil([&] { return removed; });
  EXPECT_FALSE(std::filesystem::exists(dir()));
}

}  // namespace
}  // namespace vigil::agent
