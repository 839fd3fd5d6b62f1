// MulticastPath on loopback, and path behaviour when interfaces and
// addresses come and go. Multicast on lo needs the MULTICAST flag and a
// 224.0.0.0/4 route, so the process moves itself into a private network
// namespace (unshare(CLONE_NEWNET), root only) and sets both up with
// iproute2; every test here runs in that namespace. Without root the tests
// are skipped.
#include "heartbeat/multicast_path.h"

#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/ip/address_v4.hpp>

#include "heartbeat/codec.h"
#include "heartbeat/unicast_path.h"
#include "tests/heartbeat/test_keys.h"

namespace vigil::heartbeat {
namespace {

using Endpoint = Path::Endpoint;
using Datagrams = std::vector<std::vector<uint8_t>>;
using std::chrono::milliseconds;

constexpr uint16_t kPort = 10000;

// Moves the process into a fresh network namespace with lo up, multicast on
// and a 224.0.0.0/4 route, once. Returns "" when ready, else why not.
const std::string& private_netns() {
  static const std::string why_not = [] {
    if (::geteuid() != 0) return std::string("not root");
    if (::unshare(CLONE_NEWNET) != 0)
      return "unshare(CLONE_NEWNET): " + std::string(std::strerror(errno));
    if (std::system("ip link set lo up multicast on && ip route add 224.0.0.0/4 dev lo") != 0) {
      return std::string("iproute2 could not set up lo for multicast");
    }
    return std::string();
  }();
  return why_not;
}

#define REQUIRE_NETNS()                                                                      \
  do {                                                                                       \
    if (!private_netns().empty()) {                                                          \
      GTEST_SKIP() << "needs root for a private network namespace (multicast on loopback): " \
                   << private_netns();                                                       \
    }                                                                                        \
  } while (0)

// Runs a shell command in the test's network namespace; fails the test on error.
void sh(const std::string& command) { ASSERT_EQ(std::system(command.c_str()), 0) << command; }

template <typename Done>
void run_until(boost::asio::io_context& io, Done done,
               milliseconds deadline = milliseconds(10000)) {
  const auto end = std::chrono::steady_clock::now() + deadline;
  while (!done() && std::chrono::steady_clock::now() < end) {
    io.run_for(milliseconds(10));
    if (io.stopped()) io.restart();
  }
}

struct Received {
  std::string path_id;
  std::vector<uint8_t> bytes;
  Endpoint from;
};

struct StateChange {
  bool up;
  std::string reason;
};

MulticastOptions on_lo(std::string intf = "lo") {
  MulticastOptions o;
  o.port = kPort;
  o.intf = std::move(intf);
  return o;
}

// A path that records what it receives and its state changes.
struct Probe {
  std::vector<Received> got;
  std::vector<StateChange> states;
  std::unique_ptr<MulticastPath> path;

  Probe(boost::asio::io_context& io, std::string id, MulticastOptions options,
        std::set<std::string> peers = {}) {
    path = std::make_unique<MulticastPath>(
        io, std::move(id), std::move(options), std::move(peers),
        [this](const std::string& pid, std::span<const uint8_t> d, const Endpoint& from) {
          got.push_back({pid, {d.begin(), d.end()}, from});
        });
    path->on_state([this](const std::string&, bool up, const std::string& reason) {
      states.push_back({up, reason});
    });
  }
};

int int_option(int fd, int level, int name) {
  int value = -1;
  socklen_t len = sizeof value;
  if (::getsockopt(fd, level, name, &value, &len) != 0) return -1000 - errno;
  // IP_MULTICAST_TTL and IP_MULTICAST_LOOP may be returned as one byte.
  if (len == 1) value = static_cast<unsigned char>(value);
  return value;
}

// The groups joined on `device`, from /proc/net/igmp (RFC 1112 host group
// memberships), as dotted quads.
std::set<std::string> igmp_groups(const std::string& device) {
  std::ifstream in("/proc/net/igmp");
  std::set<std::string> out;
  std::string line, current;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    if (!line.empty() && line[0] != '\t' && line[0] != ' ') {
      std::string index;
      fields >> index >> current;  // "1\tlo        :     2      V3"
      continue;
    }
    std::string hex;
    fields >> hex;
    if (current != device || hex.size() != 8) continue;
    const uint32_t raw = static_cast<uint32_t>(std::stoul(hex, nullptr, 16));
    // Printed as the host-order value of the network-order word.
    in_addr a{};
    a.s_addr = raw;
    out.insert(boost::asio::ip::make_address_v4(ntohl(a.s_addr)).to_string());
  }
  return out;
}

TEST(MulticastPathTest, TwoPathsOnOneGroupExchangeDatagrams) {
  REQUIRE_NETNS();
  boost::asio::io_context io;
  Probe a(io, "hb#2", on_lo(), {"n2", "n3"});
  Probe b(io, "hb#2", on_lo(), {"n1", "n3"});
  a.path->start();
  b.path->start();
  ASSERT_TRUE(a.path->up()) << a.path->down_reason();
  ASSERT_TRUE(b.path->up()) << b.path->down_reason();
  ASSERT_EQ(a.states.size(), 1u);
  EXPECT_TRUE(a.states[0].up);
  EXPECT_EQ(a.states[0].reason, "");

  const Datagrams from_a = {{1, 2, 3}, std::vector<uint8_t>(1400, 0xab)};
  a.path->send_all(from_a);
  run_until(io, [&] { return b.got.size() == 2 && a.path->own_datagrams_received() == 2; });
  ASSERT_EQ(b.got.size(), 2u);
  EXPECT_EQ(b.got[0].path_id, "hb#2");
  EXPECT_EQ(b.got[0].bytes, from_a[0]);
  EXPECT_EQ(b.got[1].bytes, from_a[1]);
  // From the shared port. The source address is 0.0.0.0: lo has no address
  // of link scope to pick for a multicast send through it by index.
  EXPECT_EQ(b.got[0].from.port(), kPort);
  // Our own looped-back copies are recognized and kept from the handler.
  EXPECT_EQ(a.path->own_datagrams_received(), 2u);
  EXPECT_TRUE(a.got.empty());

  const Datagrams from_b = {{9, 8, 7}};
  b.path->send_all(from_b);
  run_until(io, [&] { return a.got.size() == 1 && b.path->own_datagrams_received() == 1; });
  ASSERT_EQ(a.got.size(), 1u);
  EXPECT_EQ(a.got[0].bytes, from_b[0]);
  EXPECT_EQ(b.got.size(), 2u);

  EXPECT_EQ(a.path->counters().sent_datagrams, 2u);
  EXPECT_EQ(a.path->counters().sent_bytes, 1403u);
  EXPECT_EQ(a.path->counters().received_datagrams, 1u);
  EXPECT_EQ(a.path->counters().received_bytes, 3u);
  EXPECT_EQ(b.path->counters().received_datagrams, 2u);
  EXPECT_EQ(b.path->counters().received_bytes, 1403u);
  EXPECT_EQ(a.path->counters().send_errors + b.path->counters().send_errors, 0u);
}

TEST(MulticastPathTest, OneSendReachesEveryReceiver) {
  REQUIRE_NETNS();
  boost::asio::io_context io;
  // Five peers, one datagram on the wire per send.
  Probe tx(io, "hb#2", on_lo(), {"n2", "n3", "n4", "n5", "n6"});
  Probe rx1(io, "hb#2", on_lo());
  Probe rx2(io, "hb#2", on_lo());
  tx.path->start();
  rx1.path->start();
  rx2.path->start();
  tx.path->send_all({{1}, {2, 2}, {3, 3, 3}});
  run_until(io, [&] { return rx1.got.size() == 3 && rx2.got.size() == 3; });
  EXPECT_EQ(tx.path->counters().sent_datagrams, 3u);
  EXPECT_EQ(tx.path->counters().sent_bytes, 6u);
  EXPECT_EQ(rx1.path->counters().received_datagrams, 3u);
  EXPECT_EQ(rx2.path->counters().received_datagrams, 3u);
  EXPECT_EQ(rx1.path->counters().received_bytes, 6u);
  ASSERT_EQ(rx2.got.size(), 3u);
  EXPECT_EQ(rx2.got[2].bytes, (std::vector<uint8_t>{3, 3, 3}));
  const auto peers = tx.path->peers();
  ASSERT_EQ(peers.size(), 5u);
  for (const auto& [name, ep] : peers) EXPECT_EQ(ep, Endpoint(kDefaultMulticastGroup, kPort));
}

TEST(MulticastPathTest, ASealedHeartbeatIsOpenedByThePeerNotByItsSender) {
  REQUIRE_NETNS();
  const crypto::Keyring ring = testing::keyring_of(5);
  const uint64_t cluster = crypto::cluster_id(testing::kCluster);
  Sealer sealer(cluster, "n2", 1, ring);
  Opener at_n1(cluster, "n1", {"n1", "n2"}, ring);
  Opener at_n2(cluster, "n2", {"n1", "n2"}, ring);
  boost::asio::io_context io;
  std::vector<std::vector<uint8_t>> payloads;
  int at_sender = 0;
  MulticastPath n1(io, "hb#2", on_lo(), {"n2"},
                   [&](const std::string&, std::span<const uint8_t> d, const Endpoint&) {
                     auto r = at_n1.open(d, Opener::Clock::now(), testing::wall_ms());
                     if (r && r->payload)
                       payloads.emplace_back(r->payload->begin(), r->payload->end());
                   });
  MulticastPath n2(io, "hb#2", on_lo(), {"n1"},
                   [&](const std::string&, std::span<const uint8_t> d, const Endpoint&) {
                     ++at_sender;
                     at_n2.open(d, Opener::Clock::now(), testing::wall_ms());
                   });
  n1.start();
  n2.start();
  std::vector<uint8_t> payload(5000);
  for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<uint8_t>(i % 251);
  const auto datagrams = sealer.seal(payload, testing::wall_ms());
  ASSERT_GT(datagrams.size(), 1u) << "fragmented";
  n2.send_all(datagrams);
  run_until(io,
            [&] { return !payloads.empty() && n2.own_datagrams_received() == datagrams.size(); });
  ASSERT_EQ(payloads.size(), 1u);
  EXPECT_EQ(payloads[0], payload);
  EXPECT_EQ(at_n1.drops().total(), 0u);
  EXPECT_EQ(n2.counters().sent_datagrams, datagrams.size());
  EXPECT_EQ(at_sender, 0);
  EXPECT_EQ(at_n2.drops().total(), 0u);
}

TEST(MulticastPathTest, OptionsAreAppliedToTheSocket) {
  REQUIRE_NETNS();
  boost::asio::io_context io;
  MulticastOptions by_address = on_lo("127.0.0.1");
  by_address.ttl = 7;
  Probe a(io, "hb#2", by_address);
  a.path->start();
  ASSERT_TRUE(a.path->up()) << a.path->down_reason();
  const int fd = a.path->native_handle();
  ASSERT_GE(fd, 0);
  EXPECT_EQ(int_option(fd, IPPROTO_IP, IP_MULTICAST_TTL), 7);
  EXPECT_EQ(int_option(fd, IPPROTO_IP, IP_MULTICAST_LOOP), 1);
  EXPECT_EQ(int_option(fd, IPPROTO_IP, IP_MULTICAST_ALL), 0);
  EXPECT_EQ(int_option(fd, SOL_SOCKET, SO_REUSEADDR), 1);
  in_addr out_if{};
  socklen_t len = sizeof out_if;
  ASSERT_EQ(::getsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &out_if, &len), 0);
  EXPECT_EQ(boost::asio::ip::make_address_v4(ntohl(out_if.s_addr)).to_string(), "127.0.0.1");
  sockaddr_in bound{};
  socklen_t bound_len = sizeof bound;
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &bound_len), 0);
  EXPECT_EQ(boost::asio::ip::make_address_v4(ntohl(bound.sin_addr.s_addr)), kDefaultMulticastGroup);
  EXPECT_EQ(ntohs(bound.sin_port), kPort);
  EXPECT_EQ(a.path->type(), "multicast");
  EXPECT_EQ(a.path->describe(), "group 224.3.29.71:10000 on 127.0.0.1 ttl 7");

  // By name: joined on that interface (RFC 1112 membership in /proc/net/igmp).
  MulticastOptions by_name = on_lo("lo");
  by_name.group = boost::asio::ip::make_address_v4("239.1.2.3");
  by_name.ttl = 0;
  by_name.loopback = false;
  Probe b(io, "hb#3", by_name);
  b.path->start();
  ASSERT_TRUE(b.path->up()) << b.path->down_reason();
  EXPECT_EQ(int_option(b.path->native_handle(), IPPROTO_IP, IP_MULTICAST_TTL), 0);
  EXPECT_EQ(int_option(b.path->native_handle(), IPPROTO_IP, IP_MULTICAST_LOOP), 0);
  EXPECT_TRUE(igmp_groups("lo").count("239.1.2.3")) << "joined on lo";
  EXPECT_EQ(b.path->describe(), "group 239.1.2.3:10000 on lo ttl 0, no loopback");
  b.path->stop();
  EXPECT_EQ(b.path->native_handle(), -1);
  EXPECT_FALSE(igmp_groups("lo").count("239.1.2.3")) << "left with the socket";

  MulticastOptions by_default;
  by_default.port = kPort;
  MulticastPath c(io, "hb#4", by_default, {}, nullptr);
  EXPECT_EQ(c.describe(), "group 224.3.29.71:10000 on default interface ttl 1");
  c.start();
  EXPECT_TRUE(c.up()) << c.down_reason() << " (the 224.0.0.0/4 route picks lo)";
}

TEST(MulticastPathTest, WithLoopbackOffOtherAgentsOfTheHostHearNothing) {
  REQUIRE_NETNS();
  // On lo every send is delivered locally whatever IP_MULTICAST_LOOP says:
  // use a veth pair, whose far end (vgl3) is not joined.
  sh("ip link add vgl2 type veth peer name vgl3 && ip link set vgl3 up && "
     "ip link set vgl2 up multicast on");
  boost::asio::io_context io;
  MulticastOptions quiet = on_lo("vgl2");
  quiet.loopback = false;
  Probe tx(io, "hb#2", quiet);
  Probe loud(io, "hb#2", on_lo("vgl2"));
  Probe rx(io, "hb#2", on_lo("vgl2"));
  tx.path->start();
  loud.path->start();
  rx.path->start();
  ASSERT_TRUE(tx.path->up()) << tx.path->down_reason();
  tx.path->send_all({{1, 2, 3}});
  EXPECT_EQ(tx.path->counters().sent_datagrams, 1u);
  // A send with loopback on, after it, is the marker: looped back the same
  // way, it arrives after the quiet one would have.
  loud.path->send_all({{4, 5, 6}});
  run_until(io, [&] {
    return !rx.got.empty() && !tx.got.empty() && loud.path->own_datagrams_received() == 1;
  });
  ASSERT_EQ(rx.got.size(), 1u) << "the quiet send reached another agent of the host";
  EXPECT_EQ(rx.got[0].bytes, (std::vector<uint8_t>{4, 5, 6}));
  ASSERT_EQ(tx.got.size(), 1u) << "loopback off only concerns our own sends";
  EXPECT_EQ(tx.got[0].bytes, (std::vector<uint8_t>{4, 5, 6}));
  EXPECT_EQ(tx.path->own_datagrams_received(), 0u);
  EXPECT_EQ(loud.path->own_datagrams_received(), 1u);
  sh("ip link del vgl2");
}

TEST(MulticastPathTest, OnlyTheJoinedGroupIsDelivered) {
  REQUIRE_NETNS();
  boost::asio::io_context io;
  MulticastOptions other = on_lo();
  other.group = boost::asio::ip::make_address_v4("239.9.9.9");
  Probe tx(io, "hb#2", other);
  Probe rx(io, "hb#2", on_lo());
  tx.path->start();
  rx.path->start();
  tx.path->send_all({{1}});
  // Unicast to the shared port does not reach the group-bound socket either.
  UnicastPath stray(io, "u", Endpoint(boost::asio::ip::address_v4::loopback(), 0),
                    {{"x", Endpoint(boost::asio::ip::address_v4::loopback(), kPort)}}, nullptr);
  stray.start();
  stray.send_all({{2}});
  // A send to rx's group, after those, is the marker: it arrives after them.
  Probe marker(io, "hb#2", on_lo());
  marker.path->start();
  marker.path->send_all({{3}});
  run_until(io, [&] {
    return !rx.got.empty() && tx.path->own_datagrams_received() == 1 &&
           marker.path->own_datagrams_received() == 1;
  });
  EXPECT_EQ(tx.path->own_datagrams_received(), 1u);
  ASSERT_EQ(rx.got.size(), 1u) << "another group's datagram or a unicast one was delivered";
  EXPECT_EQ(rx.got[0].bytes, (std::vector<uint8_t>{3}));
}

TEST(MulticastPathTest, ABadInterfaceNameIsDownAndRetriedUntilStop) {
  REQUIRE_NETNS();
  boost::asio::io_context io;
  Probe p(io, "hb#2", on_lo("nosuch0"));
  p.path->set_retry_policy({milliseconds(20), milliseconds(40)});
  EXPECT_NO_THROW(p.path->start());
  EXPECT_FALSE(p.path->up());
  EXPECT_EQ(p.path->native_handle(), -1);
  ASSERT_EQ(p.states.size(), 1u);
  EXPECT_FALSE(p.states[0].up);
  EXPECT_EQ(p.states[0].reason, "interface nosuch0: No such device");
  EXPECT_THROW(p.path->start(), std::logic_error);

  p.path->send_all({{1}, {2}});
  EXPECT_EQ(p.path->counters().send_errors, 2u);
  EXPECT_EQ(p.path->counters().sent_datagrams, 0u);

  const auto began = std::chrono::steady_clock::now();
  run_until(io, [&] { return p.path->counters().restarts >= 5; });
  const auto took = std::chrono::steady_clock::now() - began;
  const uint64_t restarts = p.path->counters().restarts;
  EXPECT_GE(restarts, 5u);
  // 20 ms, then every 40 ms: the fifth attempt comes 180 ms after start()
  // at the earliest (timers never fire early).
  EXPECT_GE(took, milliseconds(170));
  EXPECT_EQ(p.states.size(), 1u) << "failed retries are not reported again";

  p.path->stop();
  io.restart();
  io.run_for(std::chrono::seconds(5));
  EXPECT_TRUE(io.stopped()) << "no retry timer left";
  EXPECT_EQ(p.path->counters().restarts, restarts);
  EXPECT_EQ(p.states.size(), 1u);
}

TEST(MulticastPathTest, TheDefaultBackoffRetriesAfterOneThenTwoSeconds) {
  REQUIRE_NETNS();
  boost::asio::io_context io;
  Probe p(io, "hb#2", on_lo("nosuch1"));
  EXPECT_EQ(p.path->retry_policy().initial, kDefaultRetryInitial);
  EXPECT_EQ(p.path->retry_policy().max, kDefaultRetryMax);
  // The path's timer runs on the real clock (SocketPath takes no clock), so
  // this waits for the two retries themselves: about 3 s.
  const auto began = std::chrono::steady_clock::now();
  p.path->start();
  run_until(io, [&] { return p.path->counters().restarts >= 1; });
  const auto first = std::chrono::steady_clock::now();
  ASSERT_EQ(p.path->counters().restarts, 1u);
  EXPECT_GE(first - began, milliseconds(1000)) << "the first retry comes after 1 s";
  run_until(io, [&] { return p.path->counters().restarts >= 2; });
  const auto second = std::chrono::steady_clock::now();
  ASSERT_EQ(p.path->counters().restarts, 2u);
  // 2 s after the first retry, which was seen up to one run slice (10 ms, more
  // on a loaded machine) after it happened: 1.9 s still tells 2 s from 1 s.
  EXPECT_GE(second - first, milliseconds(1900)) << "the second retry comes 2 s later";
  EXPECT_FALSE(p.path->up());
}

TEST(MulticastPathTest, ANonLocalInterfaceAddressIsNamedInTheReason) {
  REQUIRE_NETNS();
  boost::asio::io_context io;
  Probe p(io, "hb#2", on_lo("10.9.9.9"));
  p.path->start();
  EXPECT_FALSE(p.path->up());
  ASSERT_EQ(p.states.size(), 1u);
  EXPECT_EQ(p.states[0].reason, "join 224.3.29.71 on 10.9.9.9: No such device");
}

TEST(MulticastPathTest, AnInterfaceThatComesGoesAndComesBack) {
  REQUIRE_NETNS();
  boost::asio::io_context io;
  Probe p(io, "hb#2", on_lo("vgl0"));
  p.path->set_retry_policy({milliseconds(20), milliseconds(20)});
  p.path->start();
  ASSERT_FALSE(p.path->up());
  EXPECT_EQ(p.states.back().reason, "interface vgl0: No such device");

  // Created but down.
  sh("ip link add vgl0 type veth peer name vgl1");
  run_until(io, [&] { return p.path->down_reason() == "interface vgl0 is down"; });
  EXPECT_EQ(p.path->down_reason(), "interface vgl0 is down");
  EXPECT_FALSE(p.path->up());

  // Up: the retry joins and reports it.
  sh("ip link set vgl1 up && ip link set vgl0 up multicast on");
  run_until(io, [&] { return p.path->up(); });
  ASSERT_TRUE(p.path->up());
  ASSERT_EQ(p.states.size(), 2u);
  EXPECT_TRUE(p.states[1].up);
  EXPECT_TRUE(igmp_groups("vgl0").count("224.3.29.71"));
  p.path->send_all({{1, 2, 3}});
  EXPECT_EQ(p.path->counters().sent_datagrams, 1u);

  // Deleted: the next send fails with ENODEV and takes the path down.
  sh("ip link del vgl0");
  p.path->send_all({{4}, {5}});
  EXPECT_FALSE(p.path->up());
  ASSERT_EQ(p.states.size(), 3u);
  EXPECT_FALSE(p.states[2].up);
  EXPECT_EQ(p.states[2].reason, "send to 224.3.29.71:10000: No such device");
  EXPECT_EQ(p.path->counters().send_errors, 2u);

  // Back again: up again on a retry, and it works.
  const uint64_t restarts = p.path->counters().restarts;
  sh("ip link add vgl0 type veth peer name vgl1 && ip link set vgl1 up && "
     "ip link set vgl0 up multicast on");
  run_until(io, [&] { return p.path->up(); });
  ASSERT_TRUE(p.path->up());
  EXPECT_GT(p.path->counters().restarts, restarts);
  ASSERT_EQ(p.states.size(), 4u);
  EXPECT_TRUE(p.states[3].up);
  p.path->send_all({{6}});
  EXPECT_EQ(p.path->counters().sent_datagrams, 2u);
  run_until(io, [&] { return p.path->own_datagrams_received() == 1; });
  EXPECT_EQ(p.path->own_datagrams_received(), 1u) << "looped back on vgl0";
  sh("ip link del vgl0");
}

TEST(MulticastPathTest, NoRouteToTheGroupIsRetriedUntilOneAppears) {
  REQUIRE_NETNS();
  boost::asio::io_context io;
  sh("ip route del 224.0.0.0/4 dev lo");
  MulticastOptions by_default;
  by_default.port = kPort;
  Probe p(io, "hb#2", by_default);
  p.path->set_retry_policy({milliseconds(20), milliseconds(20)});
  p.path->start();
  EXPECT_FALSE(p.path->up());
  ASSERT_EQ(p.states.size(), 1u);
  EXPECT_EQ(p.states[0].reason, "join 224.3.29.71 on default interface: No such device");
  sh("ip route add 224.0.0.0/4 dev lo");
  run_until(io, [&] { return p.path->up(); });
  EXPECT_TRUE(p.path->up());
}

TEST(MulticastPathTest, AUnicastPathWhoseAddressVanishesGoesDownAndComesBack) {
  REQUIRE_NETNS();
  boost::asio::io_context io;
  sh("ip addr add 10.77.0.1/32 dev lo");
  const Endpoint local(boost::asio::ip::make_address_v4("10.77.0.1"), 10001);
  UnicastPath path(io, "hb#1", local, {{"n2", Endpoint(local.address(), 10002)}}, nullptr);
  std::vector<StateChange> states;
  path.on_state([&](const std::string&, bool up, const std::string& reason) {
    states.push_back({up, reason});
  });
  path.set_retry_policy({milliseconds(20), milliseconds(20)});
  path.start();
  ASSERT_TRUE(path.up()) << path.down_reason();
  path.send_all({{1}});
  EXPECT_EQ(path.counters().sent_datagrams, 1u);

  sh("ip addr del 10.77.0.1/32 dev lo");
  path.send_all({{2}});
  EXPECT_FALSE(path.up());
  ASSERT_EQ(states.size(), 2u);
  EXPECT_EQ(states[1].reason,
            "send to 10.77.0.1:10002: Network is unreachable (local address 10.77.0.1 is no "
            "longer assigned)");
  run_until(io, [&] { return path.counters().restarts >= 2; });  // two failed reopens
  ASSERT_GE(path.counters().restarts, 2u);
  EXPECT_EQ(path.down_reason(), "bind 10.77.0.1:10001: Cannot assign requested address");
  EXPECT_EQ(states.size(), 2u);

  sh("ip addr add 10.77.0.1/32 dev lo");
  run_until(io, [&] { return path.up(); });
  ASSERT_TRUE(path.up());
  EXPECT_EQ(states.size(), 3u);
  sh("ip addr del 10.77.0.1/32 dev lo");
}

TEST(MulticastPathTest, AnUnreachablePeerDoesNotTakeAUnicastPathDown) {
  REQUIRE_NETNS();
  boost::asio::io_context io;
  // No route to 192.0.2.0/24 in the namespace: ENETUNREACH, only counted.
  UnicastPath path(io, "hb#1", Endpoint(boost::asio::ip::address_v4::any(), 0),
                   {{"far", Endpoint(boost::asio::ip::make_address_v4("192.0.2.1"), 10001)}},
                   nullptr);
  path.start();
  ASSERT_TRUE(path.up());
  path.send_all({{1}});
  EXPECT_TRUE(path.up());
  EXPECT_EQ(path.counters().send_errors, 1u);
}

TEST(MulticastPathTest, InvalidOptionsAreRefusedAtConstruction) {
  boost::asio::io_context io;
  MulticastOptions o;
  o.group = boost::asio::ip::make_address_v4("10.0.0.1");
  EXPECT_THROW(MulticastPath(io, "hb", o, {}, nullptr), std::invalid_argument);
  o = MulticastOptions{};
  o.port = 0;
  EXPECT_THROW(MulticastPath(io, "hb", o, {}, nullptr), std::invalid_argument);
  o = MulticastOptions{};
  o.ttl = 256;
  EXPECT_THROW(MulticastPath(io, "hb", o, {}, nullptr), std::invalid_argument);
  o.ttl = -1;
  EXPECT_THROW(MulticastPath(io, "hb", o, {}, nullptr), std::invalid_argument);
  o = MulticastOptions{};
  o.intf = "::1";
  EXPECT_THROW(MulticastPath(io, "hb", o, {}, nullptr), std::invalid_argument);
  o = MulticastOptions{};
  EXPECT_EQ(o.group.to_string(), "224.3.29.71");
  EXPECT_EQ(o.port, 10000);
  EXPECT_EQ(o.ttl, 1);
  EXPECT_TRUE(o.loopback);
  EXPECT_NO_THROW(MulticastPath(io, "hb", o, {}, nullptr));
}

}  // namespace
}  // namespace vigil::heartbeat
