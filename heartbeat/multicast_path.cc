#include "heartbeat/multicast_path.h"

#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <limits>
#include <stdexcept>

#include <boost/asio/error.hpp>
#include <boost/asio/ip/multicast.hpp>
#include <boost/asio/socket_base.hpp>

namespace vigil::heartbeat {

namespace {

uint64_t hash_of(std::span<const uint8_t> datagram) {
  return std::hash<std::string_view>{}(
      std::string_view(reinterpret_cast<const char*>(datagram.data()), datagram.size()));
}

std::string errno_text(int err) { return std::strerror(err); }

}  // namespace

MulticastPath::MulticastPath(boost::asio::io_context& io, std::string id, MulticastOptions options,
                             std::set<std::string> peers, Handler on_datagram)
    : SocketPath(io, std::move(id), std::move(on_datagram)),
      options_(std::move(options)),
      peers_(std::move(peers)) {
  if (!options_.group.is_multicast()) {
    throw std::invalid_argument("multicast path " + this->id() + ": " + options_.group.to_string() +
                                " is not an IPv4 multicast address (224.0.0.0/4)");
  }
  if (options_.port == 0) {
    throw std::invalid_argument("multicast path " + this->id() + ": port must be 1..65535");
  }
  if (options_.ttl < 0 || options_.ttl > 255) {
    throw std::invalid_argument("multicast path " + this->id() + ": ttl " +
                                std::to_string(options_.ttl) + " is outside 0..255");
  }
  boost::system::error_code ec;
  const auto parsed = boost::asio::ip::make_address(options_.intf, ec);
  if (!ec && !parsed.is_v4()) {
    throw std::invalid_argument("multicast path " + this->id() + ": interface address " +
                                options_.intf + " is not IPv4");
  }
  recent_.fill({std::numeric_limits<std::size_t>::max(), 0});
}

MulticastPath::~MulticastPath() { stop(); }

std::optional<std::string> MulticastPath::open_socket() {
  const std::string on = options_.intf.empty() ? std::string("default interface") : options_.intf;
  const std::string group = options_.group.to_string();

  boost::system::error_code ec;
  socket_.open(boost::asio::ip::udp::v4(), ec);
  if (ec) return "open socket for group " + group + ": " + ec.message();
  const int fd = socket_.native_handle();

  // The interface as ip(7) struct ip_mreqn: by index for a name, by address
  // for an address, neither (the route to the group decides) when empty.
  ip_mreqn mreq{};
  mreq.imr_multiaddr.s_addr = htonl(options_.group.to_uint());
  mreq.imr_address.s_addr = htonl(INADDR_ANY);
  mreq.imr_ifindex = 0;
  if (!options_.intf.empty()) {
    boost::system::error_code parse_ec;
    const auto address = boost::asio::ip::make_address_v4(options_.intf, parse_ec);
    if (!parse_ec) {
      mreq.imr_address.s_addr = htonl(address.to_uint());
    } else {
      const unsigned index = ::if_nametoindex(options_.intf.c_str());
      if (index == 0) return "interface " + options_.intf + ": " + errno_text(errno);
      mreq.imr_ifindex = static_cast<int>(index);
      // A join on a down interface succeeds but nothing can be sent: report
      // that as the reason instead of failing every send.
      ifreq ifr{};
      std::strncpy(ifr.ifr_name, options_.intf.c_str(), IFNAMSIZ - 1);
      if (::ioctl(fd, SIOCGIFFLAGS, &ifr) != 0) {
        return "interface " + options_.intf + ": " + errno_text(errno);
      }
      if ((ifr.ifr_flags & IFF_UP) == 0) return "interface " + options_.intf + " is down";
    }
  }

  socket_.set_option(boost::asio::socket_base::reuse_address(true), ec);
  if (ec) return "set SO_REUSEADDR: " + ec.message();
#ifdef IP_MULTICAST_ALL
  const int all = 0;
  if (::setsockopt(fd, IPPROTO_IP, IP_MULTICAST_ALL, &all, sizeof all) != 0) {
    return "set IP_MULTICAST_ALL: " + errno_text(errno);
  }
#endif
  socket_.bind(group_endpoint(), ec);
  if (ec) return "bind " + to_text(group_endpoint()) + ": " + ec.message();
  if (::setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq, sizeof mreq) != 0) {
    return "join " + group + " on " + on + ": " + errno_text(errno);
  }
  if (::setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &mreq, sizeof mreq) != 0) {
    return "send through " + on + ": " + errno_text(errno);
  }
  socket_.set_option(boost::asio::ip::multicast::hops(options_.ttl), ec);
  if (ec) return "set IP_MULTICAST_TTL " + std::to_string(options_.ttl) + ": " + ec.message();
  socket_.set_option(boost::asio::ip::multicast::enable_loopback(options_.loopback), ec);
  if (ec) return "set IP_MULTICAST_LOOP: " + ec.message();
  return std::nullopt;
}

std::string MulticastPath::describe() const {
  std::string out = "group " + to_text(group_endpoint()) + " on " +
                    (options_.intf.empty() ? std::string("default interface") : options_.intf) +
                    " ttl " + std::to_string(options_.ttl);
  if (!options_.loopback) out += ", no loopback";
  return out;
}

std::map<std::string, MulticastPath::Endpoint> MulticastPath::peers() const {
  std::map<std::string, Endpoint> out;
  for (const auto& name : peers_) out.emplace(name, group_endpoint());
  return out;
}

int MulticastPath::native_handle() { return socket_.is_open() ? socket_.native_handle() : -1; }

void MulticastPath::send_all(const std::vector<std::vector<uint8_t>>& datagrams) {
  for (const auto& d : datagrams) remember_sent(d);
  send_datagrams(group_endpoint(), datagrams);
}

void MulticastPath::send_to_peers(const std::vector<std::string>& peers,
                                  const std::vector<std::vector<uint8_t>>& datagrams) {
  if (!peers.empty()) send_all(datagrams);
}

void MulticastPath::remember_sent(std::span<const uint8_t> datagram) {
  recent_[recent_next_] = {datagram.size(), hash_of(datagram)};
  recent_next_ = (recent_next_ + 1) % kRecentSends;
}

bool MulticastPath::accept_received(std::span<const uint8_t> datagram, const Endpoint&) {
  std::optional<uint64_t> hash;  // computed only when a size matches
  for (auto& [size, h] : recent_) {
    if (size != datagram.size()) continue;
    if (!hash) hash = hash_of(datagram);
    if (h == *hash) {
      // One copy comes back per send: forget it, so a replay of the same
      // bytes by someone else is not hidden as well.
      size = std::numeric_limits<std::size_t>::max();
      ++own_received_;
      return false;
    }
  }
  return true;
}

std::optional<std::string> MulticastPath::fatal_send_error(const boost::system::error_code& ec,
                                                           const Endpoint& to) const {
  if (ec == boost::asio::error::network_unreachable) {
    return "send to " + to_text(to) + " through " +
           (options_.intf.empty() ? std::string("default interface") : options_.intf) + ": " +
           ec.message();
  }
  return SocketPath::fatal_send_error(ec, to);
}

}  // namespace vigil::heartbeat
