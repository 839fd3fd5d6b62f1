// IPv4 multicast UDP heartbeat path: every agent of the cluster joins one
// group and sends each datagram once to it, whatever the cluster size.
// Host behaviour follows RFC 1112 (level 2: sending and receiving); socket
// options are those of ip(7). Runs on the caller's io_context thread; not
// thread-safe.
#ifndef VIGIL_HEARTBEAT_MULTICAST_PATH_H_
#define VIGIL_HEARTBEAT_MULTICAST_PATH_H_

#include <array>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address_v4.hpp>

#include "heartbeat/path.h"

namespace vigil::heartbeat {

/// Default group: 224.3.29.71, the OpenSVC heartbeat group (an
/// ad-hoc block address, RFC 5771 §6).
inline const boost::asio::ip::address_v4 kDefaultMulticastGroup =
    boost::asio::ip::make_address_v4("224.3.29.71");
/// Default UDP port of the group.
inline constexpr uint16_t kDefaultMulticastPort = 10000;

struct MulticastOptions {
  /// An IPv4 multicast address (224.0.0.0/4).
  boost::asio::ip::address_v4 group = kDefaultMulticastGroup;
  /// UDP port, 1..65535, the same on every agent.
  uint16_t port = kDefaultMulticastPort;
  /// The interface to join the group on and send through: an interface name
  /// ("lo", "eth1") or one of its local IPv4 addresses ("10.0.0.5"). Empty:
  /// the kernel picks it from the route to the group.
  std::string intf;
  /// IP_MULTICAST_TTL, 0..255 router hops; 1 keeps datagrams on the link.
  int ttl = 1;
  /// IP_MULTICAST_LOOP: deliver our sends to sockets of this host too.
  /// Needed when several agents share a host or network namespace. No
  /// effect on lo, where every send is delivered locally anyway.
  bool loopback = true;
};

class MulticastPath : public SocketPath {
 public:
  /// `peers`: the names of the cluster peers this path reaches (all of them
  /// on a shared LAN), reported by peers() with the group as their address.
  /// Does not open the socket yet. Throws std::invalid_argument when
  /// `options.group` is not a multicast address, `options.port` is 0,
  /// `options.ttl` is outside 0..255, or `options.intf` is an IPv6 address.
  MulticastPath(boost::asio::io_context& io, std::string id, MulticastOptions options,
                std::set<std::string> peers, Handler on_datagram);
  ~MulticastPath() override;

  // start() (SocketPath) opens an IPv4 UDP socket and, in order:
  //  - for an interface name, checks that the interface exists and is up
  //    (SIOCGIFFLAGS): a join on a down interface succeeds, its sends fail;
  //  - sets SO_REUSEADDR, so every agent of a host binds the same port and
  //    each receives every datagram sent to the group;
  //  - sets IP_MULTICAST_ALL to 0 (Linux), so only datagrams of groups this
  //    socket joined, on the interface it joined them on, are delivered;
  //  - binds group:port, which also keeps out unicast datagrams to the port;
  //  - joins the group (IP_ADD_MEMBERSHIP) and sets the sending interface
  //    (IP_MULTICAST_IF), both with a struct ip_mreqn: an interface name is
  //    resolved with if_nametoindex() at every open (so an interface that
  //    appears later is picked up by the retry) and passed as imr_ifindex,
  //    which names the interface even when it shares or lacks an IPv4
  //    address; an address is passed as imr_address and the kernel finds
  //    its interface;
  //  - sets IP_MULTICAST_TTL and IP_MULTICAST_LOOP.
  // A failure names the step and the interface, e.g. "interface eth9: No
  // such device", "interface eth1 is down", "join 224.3.29.71 on 10.9.9.9:
  // No such device" (not a local address), "join 224.3.29.71 on default
  // interface: No such device" (no route to the group), and leaves the path
  // down and retried.

  /// Sends every datagram once to group:port through the non-blocking
  /// socket. Never throws; errors are counted. EADDRNOTAVAIL, ENODEV,
  /// ENETDOWN and ENETUNREACH (interface gone or down, no route to the
  /// group) take the path down.
  ///
  /// Our own datagrams come back to this socket with loopback on (and
  /// always on lo, where sending is delivering). They are recognized (size
  /// and 64-bit hash of each of the last 64 datagrams sent) and dropped
  /// before the handler and the received counters; they are counted by
  /// own_datagrams_received(). A copy that comes back after 64 newer sends
  /// reaches the handler, which drops it as coming from itself. Datagrams of
  /// other agents of the same host reach the handler as usual: their source
  /// (the interface address, or 0.0.0.0 on lo when `intf` is not an
  /// address, and the shared port) is the same as ours, so the source
  /// cannot tell them apart.
  void send_all(const std::vector<std::vector<uint8_t>>& datagrams) override;
  /// The group reaches every peer: sends once, as send_all().
  void send_to_peers(const std::vector<std::string>& peers,
                     const std::vector<std::vector<uint8_t>>& datagrams) override;

  /// Replaces the peer set (join, leave, config reload).
  void set_peers(std::set<std::string> peers) { peers_ = std::move(peers); }

  std::string_view type() const override { return "multicast"; }
  /// "group 224.3.29.71:10000 on lo ttl 1" ("on default interface" when
  /// `intf` is empty, ", no loopback" appended when loopback is off).
  std::string describe() const override;
  /// Every peer -> group:port.
  std::map<std::string, Endpoint> peers() const override;

  const MulticastOptions& options() const { return options_; }
  /// group:port, where datagrams are sent.
  Endpoint group_endpoint() const { return Endpoint(options_.group, options_.port); }
  /// The socket descriptor while the path is up, -1 otherwise; for
  /// inspection (getsockopt) only.
  int native_handle();
  /// Our own datagrams received back through IP_MULTICAST_LOOP and dropped.
  uint64_t own_datagrams_received() const { return own_received_; }

 protected:
  std::optional<std::string> open_socket() override;
  bool accept_received(std::span<const uint8_t> datagram, const Endpoint& from) override;
  /// The SocketPath set plus ENETUNREACH (interface down, no route to the
  /// group): the one destination is unreachable.
  std::optional<std::string> fatal_send_error(const boost::system::error_code& ec,
                                              const Endpoint& to) const override;

 private:
  static constexpr std::size_t kRecentSends = 64;
  void remember_sent(std::span<const uint8_t> datagram);

  MulticastOptions options_;
  std::set<std::string> peers_;
  // (size, hash) of the last kRecentSends datagrams sent, oldest overwritten.
  std::array<std::pair<std::size_t, uint64_t>, kRecentSends> recent_{};
  std::size_t recent_next_ = 0;
  uint64_t own_received_ = 0;
};

}  // namespace vigil::heartbeat

#endif  // VIGIL_HEARTBEAT_MULTICAST_PATH_H_
