#include "heartbeat/path.h"
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <spdlog/spdlog.h>
#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <boost/system/system_error.hpp>

#include "heartbeat/endpoint_text.h"

namespace vigil::heartbeat {

namespace {

constexpr std::size_t kReceiveBufferBytes = 65536;
// Distance between two datagram slots of a batch: a slot plus 256 bytes, so
// the slots' first bytes do not all fall into the same cache set.
constexpr std::size_t kSlotStride = kReceiveBufferBytes + 256;
constexpr std::chrono::seconds kWarningInterval{1};

bool is_errno(const boost::system::error_code& ec, int value) {
  return ec.category() == boost::system::system_category() && ec.value() == value;
}

}  // namespace

std::string to_text(const Path::Endpoint& ep) {
  return host_port(ep.address().to_string(), ep.port());
}

std::chrono::milliseconds next_retry_delay(std::chrono::milliseconds previous,
                                           const RetryPolicy& policy) {
  if (previous >= policy.max / 2) return policy.max;
  return std::max(previous * 2, policy.initial);
}

SocketPath::SocketPath(boost::asio::io_context& io, std::string id, Handler on_datagram)
    : io_(io),
      socket_(socket_io_),
      ready_(io),
      poll_timer_(io),
      id_(std::move(id)),
      on_datagram_(std::move(on_datagram)),
      retry_timer_(io) {}

SocketPath::~SocketPath() { stop(); }

void SocketPath::set_retry_policy(RetryPolicy policy) {
  if (policy.initial <= std::chrono::milliseconds::zero() || policy.max < policy.initial) {
    throw std::invalid_argument("retry policy of heartbeat path " + id_ +
                                ": need 0 < initial <= max");
  }
  retry_ = policy;
  if (!reported_down_) next_delay_ = retry_.initial;
}

void SocketPath::start() {
  if (started_) throw std::logic_error("heartbeat path " + id_ + " is already started");
  started_ = true;
  next_delay_ = retry_.initial;
  attempt_open();
}

void SocketPath::stop() {
  started_ = false;
  up_ = false;
  reported_down_ = false;
  down_reason_.clear();
  ++retry_generation_;
  retry_timer_.cancel();
  close_socket();
}

void SocketPath::close_socket() {
  ++socket_generation_;
  poll_timer_.cancel();
  moderation_.reset();
  socket_drops_ = 0;
  if (ready_.is_open()) {
    boost::system::error_code ignored;
    ready_.close(ignored);  // closes ready_fd_
  } else if (ready_fd_ >= 0) {
    ::close(ready_fd_);
  }
  ready_fd_ = -1;
  if (!socket_.is_open()) return;
  boost::system::error_code ec;
  socket_.close(ec);
  if (ec) warn("close", nullptr, ec);
}

void SocketPath::attempt_open() {
  std::optional<std::string> failure;
  try {
    failure = open_socket();
  } catch (const boost::system::system_error& e) {
    failure = e.what();
  }
  if (!failure) {
    boost::system::error_code ec;
    socket_.non_blocking(true, ec);
    if (ec) failure = "set non-blocking: " + ec.message();
    // A larger receive buffer absorbs bursts (a flood, a stalled loop, one
    // poll interval). Best effort: SO_RCVBUFFORCE needs CAP_NET_ADMIN, and
    // SO_RCVBUF is capped at net.core.rmem_max.
    const int fd = socket_.native_handle();
    if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &kSocketBufferBytes,
                     sizeof kSocketBufferBytes) != 0) {
      ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &kSocketBufferBytes, sizeof kSocketBufferBytes);
    }
    // The kernel's count of datagrams dropped at the full buffer comes with
    // every datagram read (see note_kernel_drops).
    const int on = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &on, sizeof on);
    ready_fd_ = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (ready_fd_ < 0) failure = std::string("dup: ") + std::strerror(errno);
  }
  if (failure) {
    close_socket();
    if (!reported_down_) {
      go_down(*failure);
      return;
    }
    const auto delay = next_delay_;
    if (*failure != down_reason_) {
      spdlog::warn("heartbeat path {}: still down: {}; next attempt in {} ms", id_, *failure,
                   delay.count());
      down_reason_ = *failure;
    } else {
      spdlog::debug("heartbeat path {}: still down: {}; next attempt in {} ms", id_, *failure,
                    delay.count());
    }
    schedule_retry();
    return;
  }
  const bool was_down = reported_down_;
  up_ = true;
  proven_ = false;
  reported_down_ = false;
  down_reason_.clear();
  if (was_down) {
    spdlog::info("heartbeat path {}: up again after {} reopen attempt(s): {}", id_,
                 counters_.restarts, describe());
  } else {
    spdlog::info("heartbeat path {}: up: {}", id_, describe());
  }
  wait_readable();
  if (!up_) return;  // the socket could not be watched: down, and reported
  if (on_state_) on_state_(id_, true, std::string());
}

void SocketPath::go_down(const std::string& reason) {
  close_socket();
  up_ = false;
  reported_down_ = true;
  down_reason_ = reason;
  const auto delay = next_delay_;
  schedule_retry();
  spdlog::error("heartbeat path {} ({}) down: {}; retrying in {} ms, backing off to {} ms", id_,
                type(), reason, delay.count(), retry_.max.count());
  if (on_state_) on_state_(id_, false, reason);
}

void SocketPath::schedule_retry() {
  const auto delay = next_delay_;
  next_delay_ = next_retry_delay(next_delay_, retry_);
  const uint64_t generation = ++retry_generation_;
  retry_timer_.expires_after(delay);
  retry_timer_.async_wait(
      [this, alive = std::weak_ptr<char>(alive_), generation](const boost::system::error_code& ec) {
        if (alive.expired() || ec) return;
        if (generation != retry_generation_ || !started_ || up_) return;
        ++counters_.restarts;
        attempt_open();
      });
}

struct SocketPath::Batch {
  // Left uninitialized: the kernel writes only the bytes it delivers, so
  // untouched pages cost no memory.
  std::unique_ptr<uint8_t[]> data{new uint8_t[kBatch * kSlotStride]};
  std::array<mmsghdr, kBatch> headers{};
  std::array<iovec, kBatch> iov{};
  std::array<sockaddr_storage, kBatch> names{};
  // Room for one SO_RXQ_OVFL control message per datagram.
  struct alignas(cmsghdr) Control {
    uint8_t bytes[CMSG_SPACE(sizeof(uint32_t))];
  };
  std::array<Control, kBatch> control{};
};

void SocketPath::wait_readable() {
  const uint64_t generation = socket_generation_;
  if (!ready_.is_open()) {
    boost::system::error_code ec;
    ready_.assign(ready_fd_, ec);
    if (ec) {
      go_down("watch the socket: " + ec.message());
      return;
    }
  }
  ready_.async_wait(
      boost::asio::posix::stream_descriptor::wait_read,
      [this, alive = std::weak_ptr<char>(alive_), generation](const boost::system::error_code& ec) {
        if (alive.expired() || ec == boost::asio::error::operation_aborted) return;
        // Closed (and maybe reopened) after this completion was queued.
        if (generation != socket_generation_ || !up_) return;
        if (ec && !handle_received(ec, {}, Endpoint(), generation)) return;
        read_pass(generation);
      });
}

void SocketPath::read_pass(uint64_t generation) {
  const auto now = ReceiveModeration::Clock::now();
  std::size_t read = 0;
  bool capped = false;
  if (!drain(generation, read, capped)) return;
  auto again = [this, alive = std::weak_ptr<char>(alive_), generation] {
    if (alive.expired() || generation != socket_generation_ || !up_) return;
    read_pass(generation);
  };
  switch (moderation_.after_read(now, read, capped)) {
    case ReceiveModeration::Next::kWaitReadable:
      wait_readable();
      break;
    case ReceiveModeration::Next::kPollNow:
      unwatch_readable();
      boost::asio::post(io_, std::move(again));
      break;
    case ReceiveModeration::Next::kPollLater:
      unwatch_readable();
      poll_timer_.expires_after(moderation_.poll_interval());
      poll_timer_.async_wait([again = std::move(again)](const boost::system::error_code& ec) {
        if (!ec) again();
      });
      break;
  }
}

void SocketPath::unwatch_readable() {
  if (ready_.is_open()) ready_fd_ = ready_.release();
}

bool SocketPath::drain(uint64_t generation, std::size_t& read, bool& capped) {
  if (!batch_) batch_ = std::make_unique<Batch>();
  Batch& b = *batch_;
  for (std::size_t call = 0; call < kBatchCalls; ++call) {
    for (std::size_t i = 0; i < kBatch; ++i) {
      b.iov[i] = {b.data.get() + i * kSlotStride, kReceiveBufferBytes};
      auto& hdr = b.headers[i].msg_hdr;
      hdr = {};
      hdr.msg_iov = &b.iov[i];
      hdr.msg_iovlen = 1;
      hdr.msg_name = &b.names[i];
      hdr.msg_namelen = sizeof(sockaddr_storage);
      hdr.msg_control = b.control[i].bytes;
      hdr.msg_controllen = sizeof b.control[i].bytes;
    }
    const int got =
        ::recvmmsg(socket_.native_handle(), b.headers.data(), kBatch, MSG_DONTWAIT, nullptr);
    if (got < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return true;
      return handle_received(boost::system::error_code(errno, boost::system::system_category()), {},
                             Endpoint(), generation);
    }
    read += static_cast<std::size_t>(got);
    for (int i = 0; i < got; ++i) {
      auto& hdr = b.headers[i].msg_hdr;
      // The kernel includes the count only once it is not zero.
      for (cmsghdr* c = CMSG_FIRSTHDR(&hdr); c != nullptr; c = CMSG_NXTHDR(&hdr, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) {
          uint32_t drops;
          std::memcpy(&drops, CMSG_DATA(c), sizeof drops);
          note_kernel_drops(drops);
        }
      }
      Endpoint from;
      if (hdr.msg_namelen <= from.capacity()) {
        std::memcpy(from.data(), hdr.msg_name, hdr.msg_namelen);
        from.resize(hdr.msg_namelen);
      }
      std::span<const uint8_t> datagram(b.data.get() + i * kSlotStride, b.headers[i].msg_len);
      if (!handle_received({}, datagram, from, generation)) return false;
    }
    if (static_cast<std::size_t>(got) < kBatch) return true;  // the socket is empty
  }
  capped = true;
  return true;
}

void SocketPath::note_kernel_drops(uint32_t socket_drops) {
  const uint32_t grown = socket_drops - socket_drops_;  // wraps like the kernel's count
  if (grown == 0 || grown > (1u << 31)) return;         // not newer than what we saw
  socket_drops_ = socket_drops;
  counters_.kernel_drops += grown;
  const auto now = std::chrono::steady_clock::now();
  if (last_drop_warning_ != std::chrono::steady_clock::time_point{} &&
      now - last_drop_warning_ < kWarningInterval)
    return;
  last_drop_warning_ = now;
  spdlog::warn(
      "heartbeat path {}: the kernel dropped datagrams at the full receive buffer ({} in all "
      "on this path): a flood, or the daemon short of CPU",
      id_, counters_.kernel_drops);
}

bool SocketPath::handle_received(const boost::system::error_code& ec,
                                 std::span<const uint8_t> datagram, const Endpoint& from,
                                 uint64_t generation) {
  if (ec) {
    ++counters_.receive_errors;
    if (ec == boost::asio::error::bad_descriptor) {
      go_down("receive: " + ec.message());
      return false;
    }
    warn("receive", nullptr, ec);
  } else if (accept_received(datagram, from)) {
    if (!proven_) mark_proven();
    ++counters_.received_datagrams;
    counters_.received_bytes += datagram.size();
    if (on_datagram_) on_datagram_(id_, datagram, from);
  }
  return generation == socket_generation_ && up_;
}

bool SocketPath::accept_received(std::span<const uint8_t>, const Endpoint&) { return true; }

std::optional<std::string> SocketPath::fatal_send_error(const boost::system::error_code& ec,
                                                        const Endpoint& to) const {
  if (is_errno(ec, EADDRNOTAVAIL) || is_errno(ec, ENODEV) || is_errno(ec, ENETDOWN)) {
    return "send to " + to_text(to) + ": " + ec.message();
  }
  return std::nullopt;
}

void SocketPath::mark_proven() {
  proven_ = true;
  next_delay_ = retry_.initial;
}

bool SocketPath::send_datagrams(const Endpoint& to,
                                const std::vector<std::vector<uint8_t>>& datagrams) {
  for (const auto& d : datagrams) {
    if (!up_) {
      // Down or not started: the down state was already reported.
      ++counters_.send_errors;
      continue;
    }
    boost::system::error_code ec;
    const std::size_t n = socket_.send_to(boost::asio::buffer(d), to, 0, ec);
    if (ec) {
      ++counters_.send_errors;
      if (auto reason = fatal_send_error(ec, to)) {
        go_down(*reason);
      } else {
        warn("send", &to, ec);
      }
      continue;
    }
    ++counters_.sent_datagrams;
    counters_.sent_bytes += n;
    if (!proven_) mark_proven();
  }
  return up_;
}

void SocketPath::warn(const char* what, const Endpoint* to, const boost::system::error_code& ec) {
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
