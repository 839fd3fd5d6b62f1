#include "heartbeat/unicast_path.h"

#include <arpa/inet.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
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

// Bytes waiting in the receive queue of the UDP socket bound to `local` (an
// IPv4 address), from /proc/net/udp; -1 when there is no such socket.
long udp_rx_queue_bytes(const Endpoint& local) {
  // The address is printed as the hex of its network-order word read in host
  // order, the port as a plain hex number.
  const uint32_t raw = htonl(local.address().to_v4().to_uint());
  char want[16];
  std::snprintf(want, sizeof want, "%08X:%04X", raw, static_cast<unsigned>(local.port()));
  std::ifstream in("/proc/net/udp");
  std::string line;
  std::getline(in, line);  // the header
  while (std::getline(in, line)) {
    char addr[64], queues[64];
    int slot = 0;
    // "  12: 0100007F:A1B2 00000000:0000 07 00000000:00000000 ..."
    if (std::sscanf(line.c_str(), " %d: %63s %*s %*s %63s", &slot, addr, queues) != 3) continue;
    if (std::strcmp(addr, want) != 0) continue;
    const char* colon = std::strchr(queues, ':');
    return colon ? std::strtol(colon + 1, nullptr, 16) : -1;
  }
  return -1;
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
                   if (r && r->payload)
                     payloads.emplace_back(r->payload->begin(), r->payload->end());
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

struct StateChange {
  std::string path_id;
  bool up;
  std::string reason;
};

TEST(UnicastPathTest, StartReportsUpAndDescribesThePath) {
  boost::asio::io_context io;
  auto ignore = [](const std::string&, std::span<const uint8_t>, const Endpoint&) {};
  const Endpoint peer(boost::asio::ip::make_address_v4("127.0.0.2"), 10002);
  UnicastPath path(io, "hb#1", loopback_any_port(), {{"n2", peer}}, ignore);
  std::vector<StateChange> changes;
  path.on_state([&](const std::string& id, bool up, const std::string& reason) {
    changes.push_back({id, up, reason});
  });
  EXPECT_FALSE(path.up());
  EXPECT_EQ(path.type(), "unicast");
  EXPECT_EQ(path.describe(), "listen 127.0.0.1:0");
  path.start();
  EXPECT_TRUE(path.up());
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].path_id, "hb#1");
  EXPECT_TRUE(changes[0].up);
  EXPECT_EQ(changes[0].reason, "");
  EXPECT_EQ(path.describe(), "listen 127.0.0.1:" + std::to_string(path.local_endpoint().port()));
  const auto peers = path.peers();
  ASSERT_EQ(peers.size(), 1u);
  EXPECT_EQ(peers.at("n2"), peer);
  EXPECT_EQ(path.counters().restarts, 0u);
  EXPECT_EQ(path.down_reason(), "");
}

TEST(UnicastPathTest, BindConflictLeavesThePathDownUntilTheAddressIsFree) {
  boost::asio::io_context io;
  auto ignore = [](const std::string&, std::span<const uint8_t>, const Endpoint&) {};
  auto first = std::make_unique<UnicastPath>(io, "hb#1", loopback_any_port(),
                                             std::map<std::string, Endpoint>{}, ignore);
  first->start();
  const Endpoint taken = first->local_endpoint();
  UnicastPath second(io, "hb#2", taken, {}, ignore);
  std::vector<StateChange> changes;
  second.on_state([&](const std::string& id, bool up, const std::string& reason) {
    changes.push_back({id, up, reason});
  });
  EXPECT_NO_THROW(second.start());
  EXPECT_FALSE(second.up());
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].path_id, "hb#2");
  EXPECT_FALSE(changes[0].up);
  EXPECT_EQ(changes[0].reason, "bind " + to_text(taken) + ": Address already in use");
  EXPECT_EQ(second.down_reason(), changes[0].reason);
  EXPECT_THROW(second.start(), std::logic_error) << "started, even though down";
  EXPECT_THROW(first->start(), std::logic_error);

  // Still taken at the first retry (default policy: 1 s): no new report.
  run_until(io, [&] { return second.counters().restarts >= 1; });
  EXPECT_EQ(second.counters().restarts, 1u);
  EXPECT_FALSE(second.up());
  EXPECT_EQ(changes.size(), 1u);

  // Free the address: the next retry (2 s later) binds it.
  first.reset();
  run_until(
      io, [&] { return second.up(); }, std::chrono::seconds(15));
  ASSERT_TRUE(second.up());
  EXPECT_EQ(second.counters().restarts, 2u);
  EXPECT_EQ(second.local_endpoint(), taken);
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_TRUE(changes[1].up);
  EXPECT_EQ(changes[1].reason, "");
  EXPECT_EQ(second.down_reason(), "");

  // And it receives.
  int handled = 0;
  UnicastPath rx(io, "rx", loopback_any_port(), {},
                 [&](const std::string&, std::span<const uint8_t>, const Endpoint&) { ++handled; });
  rx.start();
  second.set_peers({{"rx", rx.local_endpoint()}});
  second.send_all({{1, 2}});
  run_until(io, [&] { return handled == 1; });
  EXPECT_EQ(handled, 1);
}

TEST(UnicastPathTest, ANonLocalAddressIsReportedWithTheAddress) {
  boost::asio::io_context io;
  auto ignore = [](const std::string&, std::span<const uint8_t>, const Endpoint&) {};
  // 192.0.2.1 (TEST-NET-1, RFC 5737) is not assigned to this host.
  const Endpoint elsewhere(boost::asio::ip::make_address_v4("192.0.2.1"), 10001);
  UnicastPath path(io, "hb#1", elsewhere, {{"n2", loopback_any_port()}}, ignore);
  std::string reason;
  path.on_state([&](const std::string&, bool up, const std::string& r) {
    if (!up) reason = r;
  });
  path.start();
  EXPECT_FALSE(path.up());
  EXPECT_EQ(reason, "bind 192.0.2.1:10001: Cannot assign requested address");
  path.send_all({{1}, {2}});
  EXPECT_EQ(path.counters().send_errors, 2u);
  EXPECT_EQ(path.counters().sent_datagrams, 0u);
}

TEST(UnicastPathTest, RetriesBackOffExponentiallyUpToTheMaximum) {
  using std::chrono::milliseconds;
  const RetryPolicy defaults;
  EXPECT_EQ(defaults.initial, std::chrono::seconds(1));
  EXPECT_EQ(defaults.max, std::chrono::seconds(30));
  std::vector<milliseconds> delays = {defaults.initial};
  while (delays.size() < 8) delays.push_back(next_retry_delay(delays.back(), defaults));
  EXPECT_EQ(delays,
            (std::vector<milliseconds>{milliseconds(1000), milliseconds(2000), milliseconds(4000),
                                       milliseconds(8000), milliseconds(16000), milliseconds(30000),
                                       milliseconds(30000), milliseconds(30000)}));

  // On a real path: 20, 40, 80, 80, ... ms while the address stays taken.
  boost::asio::io_context io;
  auto ignore = [](const std::string&, std::span<const uint8_t>, const Endpoint&) {};
  UnicastPath first(io, "hb#1", loopback_any_port(), {}, ignore);
  first.start();
  UnicastPath second(io, "hb#2", first.local_endpoint(), {}, ignore);
  second.set_retry_policy({milliseconds(20), milliseconds(80)});
  EXPECT_THROW(second.set_retry_policy({milliseconds(0), milliseconds(80)}), std::invalid_argument);
  int reports = 0;
  second.on_state([&](const std::string&, bool, const std::string&) { ++reports; });
  second.start();
  const auto began = std::chrono::steady_clock::now();
  run_until(io, [&] { return second.counters().restarts >= 6; });
  const auto took = std::chrono::steady_clock::now() - began;
  EXPECT_GE(second.counters().restarts, 6u);
  // 20 + 40 + 80 * 4 = 380 ms at least before the sixth attempt.
  EXPECT_GE(took, milliseconds(370));
  EXPECT_EQ(reports, 1) << "failed reopen attempts are not reported again";
  EXPECT_FALSE(second.up());
}

TEST(UnicastPathTest, StopCancelsTheRetryAndStartMayFollow) {
  boost::asio::io_context io;
  auto ignore = [](const std::string&, std::span<const uint8_t>, const Endpoint&) {};
  auto first = std::make_unique<UnicastPath>(io, "hb#1", loopback_any_port(),
                                             std::map<std::string, Endpoint>{}, ignore);
  first->start();
  UnicastPath second(io, "hb#2", first->local_endpoint(), {}, ignore);
  second.set_retry_policy({std::chrono::milliseconds(10), std::chrono::milliseconds(10)});
  int reports = 0;
  second.on_state([&](const std::string&, bool, const std::string&) { ++reports; });
  second.start();
  EXPECT_FALSE(second.up());
  second.stop();
  EXPECT_EQ(second.down_reason(), "");
  first->stop();
  // Nothing is pending any more: the loop runs dry at once, no retry happens.
  io.run_for(std::chrono::seconds(5));
  EXPECT_TRUE(io.stopped());
  EXPECT_EQ(second.counters().restarts, 0u);
  EXPECT_FALSE(second.up());
  EXPECT_EQ(reports, 1);

  // Started again, it binds the now free address at once.
  first.reset();
  second.start();
  EXPECT_TRUE(second.up());
  EXPECT_EQ(reports, 2);
}

TEST(UnicastPathTest, AStateHandlerMayStopThePath) {
  boost::asio::io_context io;
  auto ignore = [](const std::string&, std::span<const uint8_t>, const Endpoint&) {};
  UnicastPath first(io, "hb#1", loopback_any_port(), {}, ignore);
  first.start();
  UnicastPath second(io, "hb#2", first.local_endpoint(), {}, ignore);
  second.set_retry_policy({std::chrono::milliseconds(10), std::chrono::milliseconds(10)});
  second.on_state([&](const std::string&, bool, const std::string&) { second.stop(); });
  second.start();
  first.stop();
  io.run_for(std::chrono::seconds(5));
  EXPECT_TRUE(io.stopped());
  EXPECT_EQ(second.counters().restarts, 0u);
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
  EXPECT_FALSE(rx.up());
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
  // With both sockets closed nothing is left pending: the loop runs dry, and
  // no datagram can be handed over any more.
  io.restart();
  io.run_for(std::chrono::seconds(5));
  EXPECT_TRUE(io.stopped());
  EXPECT_EQ(handled, 1);
  EXPECT_FALSE(rx.up());
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

// Sends `count` datagrams of `size` bytes to `to` from a plain socket; the
// first 4 bytes of each are its number, little-endian.
void send_numbered(const Endpoint& to, uint32_t first, uint32_t count, std::size_t size) {
  boost::asio::io_context io;
  boost::asio::ip::udp::socket s(io, Endpoint(boost::asio::ip::address_v4::loopback(), 0));
  std::vector<uint8_t> d(size, 0x5a);
  for (uint32_t i = first; i < first + count; ++i) {
    std::memcpy(d.data(), &i, sizeof i);
    s.send_to(boost::asio::buffer(d), to);
  }
}

uint32_t number_of(const std::vector<uint8_t>& d) {
  uint32_t n = 0;
  std::memcpy(&n, d.data(), sizeof n);
  return n;
}

TEST(UnicastPathTest, AStreamOfDatagramsIsReadInOrderWithEveryLossCounted) {
  // 20,000 datagrams sent as fast as one thread can: the path reads them
  // with readiness waits, then polls; each one is either handed over once,
  // in order, or counted as a kernel drop.
  boost::asio::io_context io;
  std::vector<uint32_t> got;
  UnicastPath rx(io, "rx", loopback_any_port(), {},
                 [&](const std::string&, std::span<const uint8_t> d, const Endpoint&) {
                   ASSERT_EQ(d.size(), 200u);
                   got.push_back(number_of({d.begin(), d.end()}));
                 });
  rx.start();
  constexpr uint32_t kCount = 20000;
  std::thread sender(send_numbered, rx.local_endpoint(), 0, kCount, 200);
  run_until(io, [&] { return got.size() + rx.counters().kernel_drops >= kCount; });
  sender.join();
  // Drops are reported with the next datagram read: send one more.
  send_numbered(rx.local_endpoint(), kCount, 1, 200);
  run_until(io, [&] { return !got.empty() && got.back() == kCount; });
  ASSERT_FALSE(got.empty());
  EXPECT_EQ(got.back(), kCount);
  EXPECT_EQ(got.size() + rx.counters().kernel_drops, kCount + 1);
  EXPECT_EQ(rx.counters().received_datagrams, got.size());
  for (std::size_t i = 1; i < got.size(); ++i) ASSERT_LT(got[i - 1], got[i]) << "at " << i;
}

TEST(UnicastPathTest, DatagramsDroppedAtAFullReceiveBufferAreCounted) {
  // Nothing reads while 40,000 datagrams of 1,400 bytes (56 MB) arrive: more
  // than any receive buffer the path can get (at most 2 x 4 MiB).
  boost::asio::io_context io;
  uint64_t got = 0;
  UnicastPath rx(io, "rx", loopback_any_port(), {},
                 [&](const std::string&, std::span<const uint8_t>, const Endpoint&) { ++got; });
  rx.start();
  constexpr uint32_t kCount = 40000;
  send_numbered(rx.local_endpoint(), 0, kCount, 1400);
  // Read until the socket's queue is empty: the next datagram then finds
  // room, and brings the count of those the kernel dropped.
  run_until(io, [&] { return got > 0 && udp_rx_queue_bytes(rx.local_endpoint()) == 0; });
  ASSERT_EQ(udp_rx_queue_bytes(rx.local_endpoint()), 0);
  send_numbered(rx.local_endpoint(), kCount, 1, 1400);
  run_until(io, [&] { return got + rx.counters().kernel_drops == kCount + 1; });
  EXPECT_GT(rx.counters().kernel_drops, 0u);
  EXPECT_LT(got, uint64_t{kCount});
  EXPECT_EQ(got + rx.counters().kernel_drops, kCount + 1);
}

TEST(UnicastPathTest, StopWhilePollingLeavesNothingPending) {
  boost::asio::io_context io;
  uint64_t got = 0;
  UnicastPath rx(io, "rx", loopback_any_port(), {},
                 [&](const std::string&, std::span<const uint8_t>, const Endpoint&) { ++got; });
  rx.start();
  std::thread sender(send_numbered, rx.local_endpoint(), 0, 20000, 100);
  run_until(io, [&] { return got >= 1000; });
  rx.stop();
  sender.join();
  const uint64_t at_stop = got;
  io.restart();
  io.run_for(std::chrono::seconds(5));
  EXPECT_TRUE(io.stopped()) << "a poll timer or readiness wait was left pending";
  EXPECT_EQ(got, at_stop) << "datagrams were handed over after stop()";
}

}  // namespace
}  // namespace vigil::heartbeat
