#include "agent/nats/nats_export.h"

#include <chrono>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace vigil::agent::nats {
namespace {

// A loopback port nothing listens on: bound, then closed.
uint16_t closed_port(boost::asio::io_context& io) {
  boost::asio::ip::tcp::acceptor a(
      io, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  const uint16_t port = a.local_endpoint().port();
  a.close();
  return port;
}

NatsExportConfig config_for(uint16_t port, std::size_t buffer) {
  NatsExportConfig c;
  c.url = "nats://127.0.0.1:" + std::to_string(port);
  c.host = "127.0.0.1";
  c.port = port;
  c.buffer = buffer;
  return c;
}

// Runs `io` until `done` holds or `limit` passed (the worker's completions
// arrive from another thread: io may run out of work meanwhile).
template <typename Pred>
bool run_until(boost::asio::io_context& io, Pred done, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    io.restart();
    io.run_for(std::chrono::milliseconds(10));
  }
  return done();
}

Event event(std::string kind, uint64_t id, std::map<std::string, std::string> labels = {}) {
  Event e;
  e.kind = std::move(kind);
  e.id = id;
  e.at = "2026-12-01T00:00:00.000Z";
  e.labels = std::move(labels);
  return e;
}

TEST(NatsExport, SubjectsAreMadeOfTokens) {
  EXPECT_EQ(export_subject("vigil.events", "c1", "n1", "NodeStale"),
            "vigil.events.c1.n1.NodeStale");
  EXPECT_EQ(export_subject("p", "my.cluster", "n 1*>", "K"), "p.my_cluster.n_1__.K");
  EXPECT_EQ(export_subject("p", "", "n1", "K"), "p._.n1.K");
}

TEST(NatsExport, TheBufferIsBoundedAndItsOverflowCountedAndPublishedOnce) {
  boost::asio::io_context io;
  std::vector<Event> published;
  Exporter x(
      io, config_for(closed_port(io), 3), "n1", "c1",
      [&](Event e) { published.push_back(std::move(e)); },
      Exporter::Options{.backoff_min = std::chrono::milliseconds(50)});
  x.offer(event("NodeDataUpdated", 1, {{"from", "peer"}}));  // a peer's: its publisher exports it
  EXPECT_EQ(x.buffered(), 0u);
  for (uint64_t id = 1; id <= 5; ++id) x.offer(event("NodeDataUpdated", id));
  EXPECT_EQ(x.buffered(), 3u);
  EXPECT_EQ(x.dropped(), 2u);
  ASSERT_EQ(published.size(), 1u);  // once per overflow episode
  EXPECT_EQ(published[0].kind, "SubscriptionQueueThreshold");
  EXPECT_EQ(published[0].labels.at("subscriber"), "nats");
  EXPECT_EQ(published[0].data, (nlohmann::json{{"name", "nats"}, {"dropped", 1}, {"max", 3}}));
  // The overflow event about the export itself is not exported meanwhile.
  x.offer(published[0]);
  EXPECT_EQ(x.dropped(), 2u);

  // Connection attempts fail, and are retried.
  ASSERT_TRUE(run_until(
      io, [&] { return x.status()["reconnects"] >= 2; }, std::chrono::milliseconds(10000)));
  const auto st = x.status();
  EXPECT_EQ(st["connected"], false);
  EXPECT_EQ(st["buffered"], 3);
  EXPECT_EQ(st["buffer"], 3);
  EXPECT_EQ(st["dropped"], 2);
  EXPECT_EQ(st["published"], 0);
  EXPECT_GE(st["reconnects"].get<int>(), 1);
  ASSERT_TRUE(st["last_error"].is_string());
  EXPECT_NE(st["last_error"].get<std::string>().find("Connection refused"), std::string::npos)
      << st.dump();
  EXPECT_TRUE(st["last_error_at"].is_string());

  bool stopped = false;
  x.stop([&] { stopped = true; });
  EXPECT_FALSE(stopped);  // never from inside stop()
  EXPECT_TRUE(run_until(
      io, [&] { return stopped; }, std::chrono::milliseconds(5000)));
}

TEST(NatsExport, FiltersChooseTheEventsExported) {
  boost::asio::io_context io;
  NatsExportConfig c = config_for(closed_port(io), 100);
  c.filters = {"NodeStale", "NodeAlive,node=n2"};
  Exporter x(io, c, "n1", "c1", nullptr);
  // The bus asks this before it builds an event (EventBus::KindInterest).
  EXPECT_TRUE(x.wants("NodeStale"));
  EXPECT_TRUE(x.wants("NodeAlive"));
  EXPECT_FALSE(x.wants("Log"));
  x.offer(event("NodeStale", 1, {{"node", "n3"}}));
  x.offer(event("NodeAlive", 2, {{"node", "n3"}}));
  x.offer(event("NodeAlive", 3, {{"node", "n2"}}));
  x.offer(event("Log", 4));
  EXPECT_EQ(x.buffered(), 2u);
}

}  // namespace
}  // namespace vigil::agent::nats
