#include "heartbeat/unicast_path.h"

#include <chrono>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/ip/address_v4.hpp>
#include <boost/asio/ip/address_v6.hpp>
#include <boost/system/system_error.hpp>

#include "heartbeat/codec.h"
#include "heartbeat/datagram.h"
#include "tests/heartbeat/test_keys.h"

namespace vigil::heartbeat {
namespace {

using Endpoint = UnicastPath::Endpoint;
using Datagrams = std::vector<std::vector<uint8_t>>;

Endpoint loopback_any_port() { return Endpoint(boost::asio::ip::address_v4::loopback(), 0); }

struct Received {
  std::string path_id;
  std::vector<uint8_t> bytes;
  Endpoint from;
};

// Runs `io` until `done` holds or the generous deadline passes.
template <typename Done>
void run_until(boost::asio::io_context& io, Done done,
               std::chrono::milliseconds deadline = std::chrono::seconds(10)) {
  const auto end = std::chrono::steady_clock::now() + deadline;
  while (!done() && std::chrono::steady_clock::now() < end) {
    io.run_for(std::chrono::milliseconds(20));
    if (io.stopped()) io.restart();
  }
}

TEST(UnicastPathTest, TwoPathsOnLoopbackExchangeDatagrams) {
  boost::asio::io_context io;
  std::vector<Received> at_a, at_b;
  UnicastPath a(io, "hb#1", loopback_any_port(), {},
                [&](const std::string& id, std::span<const uint8_t> d, const Endpoint& from) {
                  at_a.push_back({id, {d.begin(), d.end()}, from});
                });
  UnicastPath b(io, "hb#2", loopback_any_port(), {},
                [&](const std::string& id, std::span<const uint8_t> d, const Endpoint& from) {
                  at_b.push_back({id, {d.begin(), d.end()}, from});
                });
  a.start();
  b.start();
  EXPECT_NE(a.local_endpoint().port(), 0);
  EXPECT_NE(b.local_endpoint().port(), 0);
  a.set_peers({{"b", b.local_endpoint()}});
  b.set_peers({{"a", a.local_endpoint()}});

  const Datagrams to_b = {{1, 2, 3}, std::vector<uint8_t>(1500, 0xab)};
  a.send_all(to_b);
  run_until(io, [&] { return at_b.size() == 2; });
  ASSERT_EQ(at_b.size(), 2u);
  EXPECT_EQ(at_b[0].path_id, "hb#2");
  EXPECT_EQ(at_b[0].bytes, to_b[0]);
  EXPECT_EQ(at_b[1].bytes, to_b[1]);
  EXPECT_EQ(at_b[0].from, a.local_endpoint());

  const Datagrams to_a = {{9, 8, 7, 6}};
  b.send_to("a", to_a);
  run_until(io, [&] { return at_a.size() == 1; });
  ASSERT_EQ(at_a.size(), 1u);
  EXPECT_EQ(at_a[0].path_id, "hb#1");
  EXPECT_EQ(at_a[0].bytes, to_a[0]);
  EXPECT_EQ(at_a[0].from, b.local_endpoint());

  EXPECT_EQ(a.counters().sent_datagrams, 2u);
  EXPECT_EQ(a.counters().sent_bytes, 1503u);
  EXPECT_EQ(b.counters().received_datagrams, 2u);
  EXPECT_EQ(b.counters().received_bytes, 1503u);
  EXPECT_EQ(b.counters().sent_datagrams, 1u);
  EXPECT_EQ(a.counters().received_datagrams, 1u);
  EXPECT_EQ(a.counters().send_errors + b.counters().send_errors, 0u);
}

TEST(UnicastPathTest, LargestDatagramArrivesIntact) {
  boost::asio::io_context io;
  std::vector<std::vector<uint8_t>> got;
  UnicastPath rx(io, "rx", loopback_any_port(), {},
                 [&](const std::string&, std::span<const uint8_t> d, const Endpoint&) {
                   got.emplace_back(d.begin(), d.end());
                 });
  rx.start();
  UnicastPath tx(io, "tx", loopback_any_port(), {{"rx", rx.local_endpoint()}},
                 [](const std::string&, std::span<const uint8_t>, const Endpoint&) {});
  tx.start();
  std::vector<uint8_t> big(kMaxDatagramBytes);
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<uint8_t>(i);
  tx.send_to("rx", {big});
  run_until(io, [&] { return !got.empty(); });
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], big);
}

TEST(UnicastPathTest, SealedHeartbeatTravelsFromSealerToOpener) {
  const crypto::Keyring ring = testing::keyring_of(5);
  const uint64_t cluster = crypto::cluster_id(testing::kCluster);
  Sealer sealer(cluster, "n2", 1, ring);
  Opener opener(cluster, "n1", {"n1", "n2"}, ring);
  boost::asio::io_context io;
  std::vector<std::vector<uint8_t>> payloads;
  UnicastPath rx(io, "hb#1", loopback_any_port(), {},
                 [&](const std::string&, std::span<const uint8_t> d, const Endpoint&) {
                   auto r = opener.open(d, Opener::Clock::now(), testing::wall_ms());
                   if (r && r->payload) payloads.push_back(std::move(*r->payload));
                 });
  rx.start();
  UnicastPath tx(io, "hb#1", loopback_any_port(), {{"n1", rx.local_endpoint()}},
                 [](const std::string&, std::span<const uint8_t>, const Endpoint&) {});
  tx.start();
  std::vector<uint8_t> payload(5000);
  for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<uint8_t>(i % 251);
  tx.send_all(sealer.seal(payload, testing::wall_ms()));
  run_until(io, [&] { return !payloads.empty(); });
  ASSERT_EQ(payloads.size(), 1u);
  EXPECT_EQ(payloads[0], payload);
  EXPECT_EQ(opener.drops().total(), 0u);
}

TEST(UnicastPathTest, BindingAnAddressInUseThrows) {
  boost::asio::io_context io;
  auto ignore = [](const std::string&, std::span<const uint8_t>, const Endpoint&) {};
  UnicastPath first(io, "hb#1", loopback_any_port(), {}, ignore);
  first.start();
  UnicastPath second(io, "hb#2", first.local_endpoint(), {}, ignore);
  EXPECT_THROW(second.start(), boost::system::system_error);
  EXPECT_FALSE(second.running());
  EXPECT_THROW(first.start(), std::logic_error);
}

TEST(UnicastPathTest, SendErrorsAreCountedNotThrown) {
  boost::asio::io_context io;
  auto ignore = [](const std::string&, std::span<const uint8_t>, const Endpoint&) {};
  // An IPv6 peer cannot be reached from an IPv4 socket.
  UnicastPath path(io, "hb#1", loopback_any_port(),
                   {{"v6", Endpoint(boost::asio::ip::address_v6::loopback(), 9)}}, ignore);
  EXPECT_NO_THROW(path.send_all({{1}, {2}}));  // not started: no socket
  EXPECT_EQ(path.counters().send_errors, 2u);
  path.start();
  EXPECT_NO_THROW(path.send_all({{1}}));
  EXPECT_EQ(path.counters().send_errors, 3u);
  EXPECT_EQ(path.counters().sent_datagrams, 0u);
}

TEST(UnicastPathTest, SendToUnknownPeerIsIgnored) {
  boost::asio::io_context io;
  auto ignore = [](const std::string&, std::span<const uint8_t>, const Endpoint&) {};
  UnicastPath path(io, "hb#1", loopback_any_port(), {}, ignore);
  path.start();
  path.send_to("nobody", {{1, 2, 3}});
  EXPECT_EQ(path.counters().sent_datagrams, 0u);
  EXPECT_EQ(path.counters().send_errors, 0u);
}

TEST(UnicastPathTest, StopEndsReceivingAndLetsTheLoopFinish) {
  boost::asio::io_context io;
  int handled = 0;
  UnicastPath rx(io, "rx", loopback_any_port(), {},
                 [&](const std::string&, std::span<const uint8_t>, const Endpoint&) { ++handled; });
  rx.start();
  const Endpoint at = rx.local_endpoint();
  UnicastPath tx(io, "tx", loopback_any_port(), {{"rx", at}},
                 [](const std::string&, std::span<const uint8_t>, const Endpoint&) {});
  tx.start();
  tx.send_all({{1}});
  run_until(io, [&] { return handled == 1; });
  ASSERT_EQ(handled, 1);

  rx.stop();
  rx.stop();  // idempotent
  EXPECT_FALSE(rx.running());
  tx.send_all({{2}});
  tx.stop();
  // With both sockets closed nothing is left pending: the loop runs dry.
  io.restart();
  io.run_for(std::chrono::seconds(5));
  EXPECT_TRUE(io.stopped());
  EXPECT_EQ(handled, 1);
}

TEST(UnicastPathTest, HandlerMayStopThePath) {
  boost::asio::io_context io;
  int handled = 0;
  UnicastPath* self = nullptr;
  UnicastPath rx(io, "rx", loopback_any_port(), {},
                 [&](const std::string&, std::span<const uint8_t>, const Endpoint&) {
                   ++handled;
                   self->stop();
                 });
  self = &rx;
  rx.start();
  UnicastPath tx(io, "tx", loopback_any_port(), {{"rx", rx.local_endpoint()}},
                 [](const std::string&, std::span<const uint8_t>, const Endpoint&) {});
  tx.start();
  tx.send_all({{1}, {2}, {3}});
  run_until(io, [&] { return handled >= 1; });
  tx.stop();
  io.restart();
  io.run_for(std::chrono::milliseconds(200));
  EXPECT_EQ(handled, 1);
  EXPECT_FALSE(rx.running());
}

TEST(UnicastPathTest, DestroyingAPathWithAPendingReceiveIsSafe) {
  boost::asio::io_context io;
  {
    UnicastPath rx(io, "rx", loopback_any_port(), {},
                   [](const std::string&, std::span<const uint8_t>, const Endpoint&) {});
    rx.start();
  }
  io.run_for(std::chrono::seconds(5));
  EXPECT_TRUE(io.stopped()) << "the aborted receive completed and nothing re-armed it";
}

}  // namespace
}  // namespace vigil::heartbeat
