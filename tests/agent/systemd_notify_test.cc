// SystemdNotify against a Unix datagram socket of the test's own, standing in
// for systemd's NOTIFY_SOCKET (sd_notify(3)).
#include "agent/daemon/systemd_notify.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>

namespace vigil::agent {
namespace {

using namespace std::chrono_literals;

// A bound Unix datagram socket; NOTIFY_SOCKET names it while it lives, and
// WATCHDOG_USEC / WATCHDOG_PID are as the test sets them.
class NotifySocket {
 public:
  NotifySocket() {
    path_ = (std::filesystem::temp_directory_path() /
             ("vigil-notify-" + std::to_string(::getpid()) + ".sock"))
                .string();
    std::filesystem::remove(path_);
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    path_.copy(addr.sun_path, sizeof addr.sun_path - 1);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) std::abort();
    ::setenv("NOTIFY_SOCKET", path_.c_str(), 1);
  }
  ~NotifySocket() {
    ::unsetenv("NOTIFY_SOCKET");
    ::unsetenv("WATCHDOG_USEC");
    ::unsetenv("WATCHDOG_PID");
    ::close(fd_);
    std::filesystem::remove(path_);
  }

  // Every message queued now.
  std::vector<std::string> take() {
    std::vector<std::string> out;
    char buf[4096];
    for (;;) {
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n < 0) return out;
      out.emplace_back(buf, static_cast<std::size_t>(n));
    }
  }

 private:
  std::string path_;
  int fd_ = -1;
};

// Runs the handlers that are ready; a poll that found no work leaves the
// io_context stopped, hence the restart.
std::size_t poll(boost::asio::io_context& io) {
  io.restart();
  return io.poll();
}

// Runs `io` until `n` messages came (kept in `got`), or `limit` passed.
void run_until(boost::asio::io_context& io, NotifySocket& s, std::vector<std::string>& got,
               std::size_t n, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (got.size() < n && std::chrono::steady_clock::now() < deadline) {
    io.restart();
    io.run_one_for(10ms);
    for (auto& m : s.take()) got.push_back(std::move(m));
  }
}

TEST(SystemdNotify, WithoutNotifySocketNothingHappens) {
  ::unsetenv("NOTIFY_SOCKET");
  ::setenv("WATCHDOG_USEC", "200000", 1);
  boost::asio::io_context io;
  SystemdNotify notify(io, [] { return std::string("status"); });
  EXPECT_FALSE(notify.enabled());
  EXPECT_EQ(notify.ping_period().count(), 0);
  notify.ready();
  notify.status_changed();
  notify.stopping();
  EXPECT_EQ(poll(io), 0u);  // no timer, nothing posted
  ::unsetenv("WATCHDOG_USEC");
}

TEST(SystemdNotify, ReadyStatusWatchdogStopping) {
  NotifySocket s;
  ::setenv("WATCHDOG_USEC", "200000", 1);
  boost::asio::io_context io;
  std::string status = "quorum: LOST, 1 of 2 votes (needed 2); split action disabled";
  SystemdNotify notify(io, [&] { return status; });
  ASSERT_TRUE(notify.enabled());
  EXPECT_EQ(notify.ping_period(), 100000us);

  notify.status_changed();  // before READY: nothing
  poll(io);
  EXPECT_TRUE(s.take().empty());

  notify.ready();
  std::vector<std::string> got = s.take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], "READY=1\nSTATUS=" + status);

  // Two changes before the loop runs: one STATUS= with the latest text.
  status = "quorum: held,\n2 of 2 votes";
  notify.status_changed();
  notify.status_changed();
  poll(io);
  got = s.take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], "STATUS=quorum: held, 2 of 2 votes");  // one line
  notify.status_changed();                                 // unchanged text: nothing
  poll(io);
  EXPECT_TRUE(s.take().empty());

  got.clear();
  run_until(io, s, got, 2, 5000ms);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], "WATCHDOG=1");
  EXPECT_EQ(got[1], "WATCHDOG=1");

  notify.stopping();
  got = s.take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], "STOPPING=1");
  notify.stopping();  // idempotent
  status = "changed";
  notify.status_changed();
  // Three periods: no ping and no status after STOPPING=1.
  got.clear();
  run_until(io, s, got, 1, 300ms);
  EXPECT_TRUE(got.empty()) << got[0];
}

TEST(SystemdNotify, WatchdogPidOfAnotherProcessTurnsThePingsOff) {
  NotifySocket s;
  ::setenv("WATCHDOG_USEC", "200000", 1);
  ::setenv("WATCHDOG_PID", "1", 1);
  boost::asio::io_context io;
  SystemdNotify notify(io, [] { return std::string("s"); });
  EXPECT_TRUE(notify.enabled());
  EXPECT_EQ(notify.ping_period().count(), 0);
  notify.ready();
  EXPECT_EQ(s.take().size(), 1u);  // READY=1
  EXPECT_EQ(poll(io), 0u);         // no timer
}

TEST(SystemdNotify, AnUnreachableSocketIsNeverFatal) {
  ::setenv("NOTIFY_SOCKET", "/nonexistent/vigil-notify.sock", 1);
  ::setenv("WATCHDOG_USEC", "20000", 1);
  boost::asio::io_context io;
  SystemdNotify notify(io, [] { return std::string("s"); });
  EXPECT_TRUE(notify.enabled());
  EXPECT_NO_THROW(notify.ready());
  EXPECT_NO_THROW(io.run_for(50ms));  // pings fail, logged once
  EXPECT_NO_THROW(notify.stopping());
  ::unsetenv("NOTIFY_SOCKET");
  ::unsetenv("WATCHDOG_USEC");
}

}  // namespace
}  // namespace vigil::agent
