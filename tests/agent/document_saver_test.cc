#include "agent/engine/document_saver.h"

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "agent/base/blocking_worker.h"

namespace vigil::agent {
namespace {

using json = nlohmann::json;
using std::chrono::milliseconds;

// A write that records each document, and that the test can hold back.
struct FakeWrite {
  std::mutex m;
  std::condition_variable cv;
  bool held = false;
  bool fail = false;
  std::vector<json> written;  // in the order written

  void operator()(const json& doc) {
    std::unique_lock lock(m);
    cv.wait(lock, [this] { return !held; });
    if (fail) throw std::runtime_error("disk full");
    written.push_back(doc);
  }
  void set_fail(bool on) {
    std::lock_guard lock(m);
    fail = on;
  }
  void hold(bool on) {
    {
      std::lock_guard lock(m);
      held = on;
    }
    cv.notify_all();
  }
  std::vector<json> docs() {
    std::lock_guard lock(m);
    return written;
  }
};

template <typename Done>
void run_until(boost::asio::io_context& io, Done done) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!done() && std::chrono::steady_clock::now() < end) {
    io.restart();
    io.run_for(milliseconds(5));
  }
}

TEST(DocumentSaver, OneWriteInFlightAndTheLatestWins) {
  boost::asio::io_context io;
  BlockingWorker worker(io);
  FakeWrite fake;
  DocumentSaver saver(
      worker, [&fake](const json& d) { fake(d); }, "node.json");
  fake.hold(true);
  EXPECT_EQ(saver.save({{"gen", 1}}), 1u);  // in flight, held
  EXPECT_EQ(saver.save({{"gen", 2}}), 2u);  // waits...
  EXPECT_EQ(saver.save({{"gen", 3}}), 3u);  // ...and is replaced
  EXPECT_EQ(saver.last(), 3u);
  // Who waits for save 2 is told once save 3, which covers it, is written
  // (the count of writes over, as the io_context thread sees it).
  std::vector<std::string> order;
  saver.when_saved(2, [&] { order.push_back("2 saved, " + std::to_string(saver.written())); });
  saver.when_saved(1, [&] { order.push_back("1 saved, " + std::to_string(saver.written())); });
  bool flushed = false;
  saver.flush([&] { flushed = true; });
  EXPECT_FALSE(flushed);
  EXPECT_TRUE(order.empty());
  fake.hold(false);
  run_until(io, [&] { return flushed; });
  ASSERT_TRUE(flushed);
  EXPECT_EQ(fake.docs(), (std::vector<json>{{{"gen", 1}}, {{"gen", 3}}}));
  EXPECT_EQ(order, (std::vector<std::string>{"1 saved, 1", "2 saved, 2"}));
  bool late = false;
  saver.when_saved(3, [&] { late = true; });
  EXPECT_TRUE(late) << "over already: at once";
  EXPECT_EQ(saver.written(), 2u);
  EXPECT_EQ(saver.failed(), 0u);
  // Nothing in flight: a flush is done at once.
  bool again = false;
  saver.flush([&] { again = true; });
  EXPECT_TRUE(again);
}

TEST(DocumentSaver, AFailedWriteIsCountedAndTheNextSaveTriesAgain) {
  boost::asio::io_context io;
  BlockingWorker worker(io);
  FakeWrite fake;
  DocumentSaver saver(
      worker, [&fake](const json& d) { fake(d); }, "node.json");
  fake.set_fail(true);
  saver.save({{"gen", 1}});
  run_until(io, [&] { return saver.failed() == 1; });
  EXPECT_EQ(saver.failed(), 1u);
  fake.set_fail(false);
  saver.save({{"gen", 2}});
  run_until(io, [&] { return saver.written() == 1; });
  EXPECT_EQ(fake.docs(), (std::vector<json>{{{"gen", 2}}}));
}

}  // namespace
}  // namespace vigil::agent
