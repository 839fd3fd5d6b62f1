#include "heartbeat/unicast_path.h"

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

}  // namespace vigil::heartbeat
