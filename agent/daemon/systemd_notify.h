// systemd's service notification protocol, for a daemon started by a unit of
// Type=notify with WatchdogSec= (etc/systemd/vigil.service). Follows
// sd_notify(3), sd_watchdog_enabled(3) and systemd.service(5) ("Type=notify",
// "WatchdogSec="), through libsystemd:
//   READY=1      once ready() is called: the daemon's heartbeat paths are
//                bound and its API socket listens;
//   STATUS=TEXT  with READY=1, then whenever the text changes (the quorum
//                line of `vigil daemon status`);
//   WATCHDOG=1   every half of WATCHDOG_USEC, from a steady_timer on the
//                io_context: a loop that does not run sends none, and systemd
//                restarts the service;
//   STOPPING=1   at a clean stop.
// Without NOTIFY_SOCKET in the environment every call does nothing.
#ifndef VIGIL_AGENT_DAEMON_SYSTEMD_NOTIFY_H_
#define VIGIL_AGENT_DAEMON_SYSTEMD_NOTIFY_H_

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>

namespace vigil::agent {

class SystemdNotify {
 public:
  /// The STATUS= text, one line; called on the io_context thread.
  using StatusText = std::function<std::string()>;

  /// Reads the environment once: NOTIFY_SOCKET (the notifications), and the
  /// watchdog through sd_watchdog_enabled(): WATCHDOG_USEC, a period in
  /// microseconds, honoured only when WATCHDOG_PID is unset or names this
  /// process. The environment is left as it is. Never throws but
  /// std::bad_alloc; an unreadable WATCHDOG_USEC turns the watchdog off and
  /// is logged.
  SystemdNotify(boost::asio::io_context& io, StatusText status);
  ~SystemdNotify();
  SystemdNotify(const SystemdNotify&) = delete;
  SystemdNotify& operator=(const SystemdNotify&) = delete;

  /// True when NOTIFY_SOCKET is set: something listens for notifications.
  bool enabled() const;
  /// The ping period: half of WATCHDOG_USEC; zero when the watchdog is off.
  std::chrono::microseconds ping_period() const;

  /// Sends READY=1 with STATUS=<status()>, then WATCHDOG=1 every
  /// ping_period() on the io_context. Call once, when the daemon serves.
  void ready();
  /// The STATUS= text may have changed: one update is posted to the
  /// io_context (calls coalesce), and STATUS= is sent when the text differs
  /// from the last one sent. Safe to call before ready() (nothing is sent
  /// before READY=1) and after stopping() (nothing is sent either).
  void status_changed();
  /// Sends STOPPING=1 and ends the pings. Idempotent.
  void stopping();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vigil::agent

#endif  // VIGIL_AGENT_DAEMON_SYSTEMD_NOTIFY_H_
