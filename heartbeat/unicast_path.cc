#include "heartbeat/unicast_path.h"

#include <stdexcept>

#include <spdlog/spdlog.h>
#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/socket_base.hpp>

namespace vigil::heartbeat {

namespace {

constexpr std::size_t kReceiveBufferBytes = 65536;
constexpr std::chrono::seconds kWarningInterval{1};

std::string to_text(const UnicastPath::Endpoint& ep) {
  return ep.address().to_string() + ":" + std::to_string(ep.port());
}

}  // namespace

UnicastPath::UnicastPath(boost::asio::io_context& io, std::string id, Endpoint listen,
                         std::map<std::string, Endpoint> peers, Handler on_datagram)
    : io_(io),
      id_(std::move(id)),
      listen_(std::move(listen)),
      peers_(std::move(peers)),
      on_datagram_(std::move(on_datagram)),
      socket_(io_),
      buffer_(kReceiveBufferBytes) {}

UnicastPath::~UnicastPath() { stop(); }

void UnicastPath::start() {
  if (socket_.is_open()) {
    throw std::logic_error("heartbeat path " + id_ + " is already started");
  }
  socket_.open(listen_.protocol());
  try {
    socket_.set_option(boost::asio::socket_base::reuse_address(false));
    socket_.bind(listen_);
    socket_.non_blocking(true);
  } catch (...) {
    boost::system::error_code ignored;
    socket_.close(ignored);
    throw;
  }
  spdlog::info("heartbeat path {}: listening on {}", id_, to_text(socket_.local_endpoint()));
  receive();
}

void UnicastPath::stop() {
  if (!socket_.is_open()) return;
  boost::system::error_code ec;
  socket_.close(ec);
  if (ec) warn("close", nullptr, ec);
}

UnicastPath::Endpoint UnicastPath::local_endpoint() const { return socket_.local_endpoint(); }

void UnicastPath::receive() {
  socket_.async_receive_from(boost::asio::buffer(buffer_), from_,
                             [this, alive = std::weak_ptr<char>(alive_)](
                                 const boost::system::error_code& ec, std::size_t n) {
                               if (alive.expired() || ec == boost::asio::error::operation_aborted)
                                 return;
                               if (!socket_.is_open())
                                 return;  // stopped after this completion was queued
                               if (ec) {
                                 ++counters_.receive_errors;
                                 warn("receive", nullptr, ec);
                                 if (ec == boost::asio::error::bad_descriptor) return;
                               } else {
                                 ++counters_.received_datagrams;
                                 counters_.received_bytes += n;
                                 on_datagram_(id_, std::span<const uint8_t>(buffer_.data(), n),
                                              from_);
                               }
                               if (socket_.is_open()) receive();
                             });
}

void UnicastPath::send(const Endpoint& to, const std::vector<std::vector<uint8_t>>& datagrams) {
  for (const auto& d : datagrams) {
    boost::system::error_code ec;
    const std::size_t n = socket_.send_to(boost::asio::buffer(d), to, 0, ec);
    if (ec) {
      ++counters_.send_errors;
      warn("send", &to, ec);
      continue;
    }
    ++counters_.sent_datagrams;
    counters_.sent_bytes += n;
  }
}

void UnicastPath::send_all(const std::vector<std::vector<uint8_t>>& datagrams) {
  for (const auto& [name, ep] : peers_) send(ep, datagrams);
}

void UnicastPath::send_to(const std::string& peer,
                          const std::vector<std::vector<uint8_t>>& datagrams) {
  auto it = peers_.find(peer);
  if (it == peers_.end()) return;
  send(it->second, datagrams);
}

void UnicastPath::warn(const char* what, const Endpoint* to, const boost::system::error_code& ec) {
  const auto now = std::chrono::steady_clock::now();
  if (last_warning_ != std::chrono::steady_clock::time_point{} &&
      now - last_warning_ < kWarningInterval) {
    ++suppressed_warnings_;
    return;
  }
  last_warning_ = now;
  const std::string target = to != nullptr ? " to " + to_text(*to) : std::string();
  spdlog::warn("heartbeat path {}: {}{} failed: {} ({} similar warnings suppressed)", id_, what,
               target, ec.message(), suppressed_warnings_);
  suppressed_warnings_ = 0;
}

}  // namespace vigil::heartbeat
