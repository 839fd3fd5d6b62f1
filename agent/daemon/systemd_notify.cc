#include "agent/daemon/systemd_notify.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <exception>

#include <systemd/sd-daemon.h>

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

namespace vigil::agent {

namespace asio = boost::asio;

struct SystemdNotify::Impl {
  Impl(asio::io_context& io, StatusText status) : io(io), status(std::move(status)), timer(io) {}

  // One notification (sd_notify(3): newline-separated VAR=VALUE
  // assignments). A failure is logged the first time only: systemd going
  // away must not flood the log, and is never fatal.
  void send(const std::string& state) {
    const int r = sd_notify(0, state.c_str());
    if (r >= 0 || failure_logged) return;
    failure_logged = true;
    spdlog::warn("systemd notification failed: {} (further failures are not logged)",
                 std::strerror(-r));
  }

  // STATUS= takes one line: control characters become blanks.
  static std::string one_line(std::string text) {
    for (auto& c : text)
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
    return text;
  }

  // The status text; a failure to make it is logged, and leaves "".
  std::string status_text() {
    try {
      return one_line(status());
    } catch (const std::exception& e) {
      spdlog::warn("systemd status: {}", e.what());
      return "";
    }
  }

  void update_status() {
    if (!is_ready || is_stopping) return;
    std::string text = status_text();
    if (text == last_status) return;
    last_status = text;
    send("STATUS=" + text);
  }

  void ping() {
    timer.expires_after(period);
    timer.async_wait([this](boost::system::error_code ec) {
      if (ec || is_stopping) return;
      send("WATCHDOG=1");
      ping();
    });
  }

  asio::io_context& io;
  StatusText status;
  asio::steady_timer timer;
  bool enabled = false;
  std::chrono::microseconds period{0};  // half of WATCHDOG_USEC; 0: no watchdog
  bool is_ready = false;
  bool is_stopping = false;
  bool update_posted = false;
  bool failure_logged = false;
  std::string last_status;
};

SystemdNotify::SystemdNotify(asio::io_context& io, StatusText status)
    : impl_(std::make_unique<Impl>(io, std::move(status))) {
  const char* socket = std::getenv("NOTIFY_SOCKET");
  impl_->enabled = socket != nullptr && *socket != '\0';
  if (!impl_->enabled) return;
  uint64_t usec = 0;
  const int r = sd_watchdog_enabled(0, &usec);
  if (r < 0)
    spdlog::warn("systemd watchdog off: WATCHDOG_USEC or WATCHDOG_PID unreadable: {}",
                 std::strerror(-r));
  else if (r > 0 && usec > 0)
    impl_->period = std::chrono::microseconds(std::max<uint64_t>(usec / 2, 1));
}

SystemdNotify::~SystemdNotify() = default;

bool SystemdNotify::enabled() const { return impl_->enabled; }

std::chrono::microseconds SystemdNotify::ping_period() const { return impl_->period; }

void SystemdNotify::ready() {
  if (!impl_->enabled || impl_->is_ready || impl_->is_stopping) return;
  impl_->is_ready = true;
  impl_->last_status = impl_->status_text();
  impl_->send("READY=1\nSTATUS=" + impl_->last_status);
  if (impl_->period.count() > 0) {
    spdlog::info("systemd watchdog: WATCHDOG=1 every {} ms",
                 std::chrono::duration_cast<std::chrono::milliseconds>(impl_->period).count());
    impl_->ping();
  }
}

void SystemdNotify::status_changed() {
  if (!impl_->enabled || !impl_->is_ready || impl_->is_stopping || impl_->update_posted) return;
  impl_->update_posted = true;
  asio::post(impl_->io, [impl = impl_.get()] {
    impl->update_posted = false;
    impl->update_status();
  });
}

void SystemdNotify::stopping() {
  if (!impl_->enabled || impl_->is_stopping) return;
  impl_->is_stopping = true;
  impl_->timer.cancel();
  impl_->send("STOPPING=1");
}

}  // namespace vigil::agent
