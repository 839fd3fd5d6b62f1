#include "agent/quorum/arbitrator_probe.h"

#include <chrono>
#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>

namespace vigil::agent {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using std::chrono::milliseconds;
using ::testing::HasSubstr;

// Generous: only a hang should hit it.
constexpr milliseconds kLongTimeout{5000};

/// A loopback server on the test's io_context. With no `response` it accepts
/// and then stays silent; with one, it reads a request head, answers with
/// `response` and closes.
class TestServer {
 public:
  TestServer(asio::io_context& io, std::optional<std::string> response,
             const asio::ip::address& address = asio::ip::make_address("127.0.0.1"))
      : io_(io),
        acceptor_(io, tcp::endpoint(address, 0)),
        port_(acceptor_.local_endpoint().port()),
        response_(std::move(response)) {
    accept();
  }

  uint16_t port() const { return port_; }
  int accepted() const { return accepted_; }
  /// Stops accepting and closes every connection: the server then leaves
  /// nothing pending on the io_context.
  void stop() {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    for (auto& conn : connections_) conn.socket.close(ignored);
  }
  /// The request heads read so far, in arrival order.
  const std::vector<std::string>& requests() const { return requests_; }

 private:
  struct Connection {
    explicit Connection(asio::io_context& io) : socket(io) {}
    tcp::socket socket;
    asio::streambuf in;
  };

  void accept() {
    auto& conn = connections_.emplace_back(io_);
    acceptor_.async_accept(conn.socket, [this, &conn](boost::system::error_code ec) {
      if (ec) return;
      ++accepted_;
      if (response_) serve(conn);
      accept();
    });
  }

  void serve(Connection& conn) {
    asio::async_read_until(conn.socket, conn.in, "\r\n\r\n",
                           [this, &conn](boost::system::error_code ec, std::size_t n) {
                             if (ec) return;
                             requests_.emplace_back(asio::buffers_begin(conn.in.data()),
                                                    asio::buffers_begin(conn.in.data()) + n);
                             asio::async_write(conn.socket, asio::buffer(*response_),
                                               [&conn](boost::system::error_code, std::size_t) {
                                                 boost::system::error_code ignored;
                                                 conn.socket.shutdown(tcp::socket::shutdown_both,
                                                                      ignored);
                                               });
                           });
  }

  asio::io_context& io_;
  tcp::acceptor acceptor_;
  uint16_t port_;
  std::optional<std::string> response_;
  std::list<Connection> connections_;  // stable addresses for the handlers
  std::vector<std::string> requests_;
  int accepted_ = 0;
};

const std::string kOk = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
const std::string kUnavailable =
    "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 5\r\nConnection: close\r\n\r\nbusy\n";

class ArbitratorProbeTest : public ::testing::Test {
 protected:
  /// Runs the io_context until `pred` holds or `limit` passes.
  void RunUntil(const std::function<bool()>& pred, milliseconds limit = milliseconds(10'000)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!pred() && std::chrono::steady_clock::now() < deadline) {
      io_.restart();
      io_.run_one_for(milliseconds(10));
    }
  }

  /// Runs the io_context until nothing is left to run (every operation and
  /// timer done or cancelled), or `limit` passes; true when it ran dry. From
  /// then on no callback can come.
  bool RunUntilIdle(milliseconds limit = milliseconds(10'000)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    do {
      io_.restart();
      io_.run_for(milliseconds(10));
    } while (!io_.stopped() && std::chrono::steady_clock::now() < deadline);
    return io_.stopped();
  }

  /// One check of `uri` with `timeout`, run to its outcome. `server` (the
  /// one `uri` names, if any) is stopped once it has accepted the probe's
  /// connection, after the outcome, so that the io_context can run dry: a
  /// second call of the callback would come by then.
  ArbitratorCheck CheckOnce(const std::string& uri, TestServer* server,
                            milliseconds timeout = kLongTimeout) {
    ArbitratorProbe probe(io_, parse_arbitrator_uri(uri), timeout);
    std::optional<ArbitratorCheck> outcome;
    int calls = 0;
    probe.check([&](const ArbitratorCheck& c) {
      outcome = c;
      ++calls;
    });
    EXPECT_EQ(calls, 0) << "done ran from inside check()";
    RunUntil([&] { return outcome.has_value(); });
    if (server) {
      // A plain TCP check ends at connect, maybe before the accept completes.
      RunUntil([&] { return server->accepted() >= 1; });
      server->stop();
    }
    EXPECT_TRUE(RunUntilIdle()) << "the check left work pending";
    EXPECT_EQ(calls, 1);
    return outcome.value_or(ArbitratorCheck{.error = "no outcome"});
  }

  asio::io_context io_;
};

std::string Port(const TestServer& server) { return std::to_string(server.port()); }

TEST_F(ArbitratorProbeTest, RejectsANonPositiveTimeout) {
  EXPECT_THROW(ArbitratorProbe(io_, parse_arbitrator_uri("tcp://127.0.0.1:1"), milliseconds(0)),
               std::invalid_argument);
}

TEST_F(ArbitratorProbeTest, TcpIsReachableWhenAConnectionIsAccepted) {
  TestServer server(io_, std::nullopt);
  const ArbitratorCheck c = CheckOnce("tcp://127.0.0.1:" + Port(server), &server);
  EXPECT_TRUE(c.reachable) << c.error;
  EXPECT_EQ(c.error, "");
  EXPECT_LT(c.took, kLongTimeout);
  EXPECT_EQ(server.accepted(), 1);
}

TEST_F(ArbitratorProbeTest, TcpOverIpv6Loopback) {
  std::optional<TestServer> server;
  try {
    server.emplace(io_, std::nullopt, asio::ip::make_address("::1"));
  } catch (const boost::system::system_error& e) {
    GTEST_SKIP() << "no IPv6 loopback here: " << e.what();
  }
  const ArbitratorCheck c = CheckOnce("tcp://[::1]:" + Port(*server), &*server);
  EXPECT_TRUE(c.reachable) << c.error;
}

TEST_F(ArbitratorProbeTest, TcpIsNotReachableWhenRefused) {
  uint16_t port;
  {
    tcp::acceptor closed(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port = closed.local_endpoint().port();
  }
  const ArbitratorCheck c = CheckOnce("tcp://127.0.0.1:" + std::to_string(port), nullptr);
  EXPECT_FALSE(c.reachable);
  EXPECT_THAT(c.error, HasSubstr("connect 127.0.0.1:" + std::to_string(port) + ": "));
  EXPECT_THAT(c.error, HasSubstr("refused"));
}

TEST_F(ArbitratorProbeTest, HttpIsReachableOn200AndSendsAClosingGet) {
  TestServer server(io_, kOk);
  const ArbitratorCheck c = CheckOnce("http://127.0.0.1:" + Port(server) + "/health", &server);
  EXPECT_TRUE(c.reachable) << c.error;
  EXPECT_EQ(c.error, "");
  ASSERT_EQ(server.requests().size(), 1u);
  const std::string& request = server.requests()[0];
  EXPECT_THAT(request, ::testing::StartsWith("GET /health HTTP/1.1\r\n"));
  EXPECT_THAT(request, HasSubstr("Host: 127.0.0.1:" + Port(server) + "\r\n"));
  EXPECT_THAT(request, HasSubstr("Connection: close\r\n"));
}

TEST_F(ArbitratorProbeTest, HttpIsNotReachableOn503) {
  TestServer server(io_, kUnavailable);
  const ArbitratorCheck c = CheckOnce("http://127.0.0.1:" + Port(server) + "/health", &server);
  EXPECT_FALSE(c.reachable);
  EXPECT_EQ(c.error, "GET /health: status 503");
}

TEST_F(ArbitratorProbeTest, HttpIsNotReachableWhenTheServerClosesWithoutAnswer) {
  TestServer server(io_, "");
  const ArbitratorCheck c = CheckOnce("http://127.0.0.1:" + Port(server), &server);
  EXPECT_FALSE(c.reachable);
  EXPECT_THAT(c.error, HasSubstr("GET /: "));
}

TEST_F(ArbitratorProbeTest, TimesOutWhenTheServerNeverAnswers) {
  TestServer server(io_, std::nullopt);
  const ArbitratorCheck c =
      CheckOnce("http://127.0.0.1:" + Port(server) + "/", &server, milliseconds(300));
  EXPECT_FALSE(c.reachable);
  EXPECT_EQ(c.error, "timeout after 300 ms");
  EXPECT_GE(c.took, milliseconds(250));
  EXPECT_LT(c.took, kLongTimeout);
  EXPECT_EQ(server.accepted(), 1);
}

TEST_F(ArbitratorProbeTest, ASecondCheckInProgressJoinsTheFirst) {
  TestServer server(io_, kOk);
  ArbitratorProbe probe(io_, parse_arbitrator_uri("http://127.0.0.1:" + Port(server)),
                        kLongTimeout);
  std::vector<ArbitratorCheck> first, second;
  probe.check([&](const ArbitratorCheck& c) { first.push_back(c); });
  probe.check([&](const ArbitratorCheck& c) { second.push_back(c); });
  EXPECT_TRUE(first.empty());
  EXPECT_TRUE(second.empty());
  RunUntil([&] { return !first.empty() && !second.empty(); });
  server.stop();
  EXPECT_TRUE(RunUntilIdle()) << "the check left work pending";
  ASSERT_EQ(first.size(), 1u);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_TRUE(first[0].reachable) << first[0].error;
  EXPECT_EQ(second[0].reachable, first[0].reachable);
  EXPECT_EQ(second[0].error, first[0].error);
  EXPECT_EQ(second[0].took, first[0].took);
  EXPECT_EQ(server.accepted(), 1);
}

TEST_F(ArbitratorProbeTest, ACheckAfterAnOutcomeStartsANewOne) {
  TestServer server(io_, kOk);
  ArbitratorProbe probe(io_, parse_arbitrator_uri("http://127.0.0.1:" + Port(server)),
                        kLongTimeout);
  int outcomes = 0;
  // The second check starts from the first one's callback.
  probe.check([&](const ArbitratorCheck&) {
    ++outcomes;
    probe.check([&](const ArbitratorCheck&) { ++outcomes; });
  });
  RunUntil([&] { return outcomes == 2; });
  EXPECT_EQ(outcomes, 2);
  EXPECT_EQ(server.accepted(), 2);
}

TEST_F(ArbitratorProbeTest, DestroyingTheProbeMidCheckCallsNoOne) {
  TestServer server(io_, std::nullopt);
  const ArbitratorUri uri = parse_arbitrator_uri("http://127.0.0.1:" + Port(server));
  int calls = 0;
  // Destroyed before the io_context ran: resolve still pending.
  {
    ArbitratorProbe probe(io_, uri, milliseconds(100));
    probe.check([&](const ArbitratorCheck&) { ++calls; });
  }
  // Destroyed while waiting for an answer, before the timeout expires.
  auto probe = std::make_unique<ArbitratorProbe>(io_, uri, milliseconds(300));
  probe->check([&](const ArbitratorCheck&) { ++calls; });
  RunUntil([&] { return server.accepted() == 1; });
  ASSERT_EQ(server.accepted(), 1);
  probe.reset();
  // Once nothing is left to run, the probes' timers (100 and 300 ms) are
  // cancelled or expired, and their completions done: no call can come.
  server.stop();
  EXPECT_TRUE(RunUntilIdle()) << "a destroyed probe left work pending";
  EXPECT_EQ(calls, 0);
}

}  // namespace
}  // namespace vigil::agent
