#include "heartbeat/unicast_path.h"

#include <boost/asio/error.hpp>
#include <boost/asio/socket_base.hpp>

namespace vigil::heartbeat {

UnicastPath::UnicastPath(boost::asio::io_context& io, std::string id, Endpoint listen,
                         std::map<std::string, Endpoint> peers, Handler on_datagram)
    : SocketPath(io, std::move(id), std::move(on_datagram)),
      listen_(std::move(listen)),
      peers_(std::move(peers)) {}

UnicastPath::~UnicastPath() { stop(); }

std::optional<std::string> UnicastPath::open_socket() {
  boost::system::error_code ec;
  socket_.open(listen_.protocol(), ec);
  if (ec) return "open socket for " + to_text(listen_) + ": " + ec.message();
  socket_.set_option(boost::asio::socket_base::reuse_address(false), ec);
  if (ec) return "set SO_REUSEADDR on " + to_text(listen_) + ": " + ec.message();
  socket_.bind(listen_, ec);
  if (ec) return "bind " + to_text(listen_) + ": " + ec.message();
  return std::nullopt;
}

std::optional<std::string> UnicastPath::fatal_send_error(const boost::system::error_code& ec,
                                                         const Endpoint& to) const {
  if (auto reason = SocketPath::fatal_send_error(ec, to)) return reason;
  if (ec != boost::asio::error::network_unreachable || listen_.address().is_unspecified()) {
    return std::nullopt;
  }
  // Is the bound address still ours? A probe socket bound to it (any port)
  // fails with EADDRNOTAVAIL once it is gone.
  boost::asio::ip::udp::socket probe(io_);
  boost::system::error_code probe_ec;
  probe.open(listen_.protocol(), probe_ec);
  if (probe_ec) return std::nullopt;
  probe.bind(Endpoint(listen_.address(), 0), probe_ec);
  if (probe_ec != boost::system::errc::address_not_available) return std::nullopt;
  return "send to " + to_text(to) + ": " + ec.message() + " (local address " +
         listen_.address().to_string() + " is no longer assigned)";
}

UnicastPath::Endpoint UnicastPath::local_endpoint() const { return socket_.local_endpoint(); }

std::string UnicastPath::describe() const {
  boost::system::error_code ec;
  const Endpoint bound = socket_.is_open() ? socket_.local_endpoint(ec) : listen_;
  return "listen " + to_text(ec ? listen_ : bound);
}

void UnicastPath::send_all(const std::vector<std::vector<uint8_t>>& datagrams) {
  // Once the path is down the remaining peers are only counted: the state
  // handler run by a failing send may have replaced the peer set.
  std::size_t left = peers_.size();
  for (auto it = peers_.begin(); it != peers_.end(); ++it) {
    --left;
    if (!send_datagrams(it->second, datagrams)) {
      counters_.send_errors += left * datagrams.size();
      return;
    }
  }
}

void UnicastPath::send_to(const std::string& peer,
                          const std::vector<std::vector<uint8_t>>& datagrams) {
  auto it = peers_.find(peer);
  if (it == peers_.end()) return;
  send_datagrams(it->second, datagrams);
}

void UnicastPath::send_to_peers(const std::vector<std::string>& peers,
                                const std::vector<std::vector<uint8_t>>& datagrams) {
  for (const auto& peer : peers) send_to(peer, datagrams);
}

}  // namespace vigil::heartbeat
