#include "agent/hooks/hook_runner.h"

#include <signal.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "agent/events/event_bus.h"

namespace vigil::agent {
namespace {

// Publishes `runs` events for a hook running `command` with at most
// `concurrent` at once, on a fresh io_context, until every run ended.
// Returns the count of each Exec* kind.
std::map<std::string, int> run_hooks(std::vector<std::string> command, int runs,
                                     std::size_t concurrent) {
  boost::asio::io_context io;
  EventBus bus(EventBus::Options{});
  HookConfig hook{.name = "quick",
                  .events = {"NodeAlive"},
                  .all_events = false,
                  .command = std::move(command),
                  .timeout = std::chrono::seconds(10)};
  HookRunner runner(io, bus, {hook},
                    HookRunner::Options{.max_concurrent = concurrent, .max_queued = 1024});
  std::map<std::string, int> counts;
  bus.listen([&](const Event& e) {
    ++counts[e.kind];
    runner.on_event(e);
  });
  for (int i = 0; i < runs; ++i)
    bus.publish(Event{.kind = "NodeAlive", .labels = {{"node", "n2"}}, .data = {{"i", i}}});
  boost::asio::steady_timer guard(io);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  std::function<void()> check = [&] {
    if (counts["ExecSuccess"] + counts["ExecFailed"] >= runs ||
        std::chrono::steady_clock::now() > deadline) {
      io.stop();
      return;
    }
    guard.expires_after(std::chrono::milliseconds(10));
    guard.async_wait([&](boost::system::error_code) { check(); });
  };
  check();
  io.run();
  EXPECT_EQ(runner.running(), 0u);
  return counts;
}

// Hooks that close their output before they exit, more of them than run at
// once: each exit, reported by Boost.Process from inside the loop of its
// SIGCHLD service, starts a queued run. A run started right there grew the
// vector that loop iterates (heap corruption, a crash of the daemon). Each
// round has a fresh io_context, so a fresh service whose vector grows.
TEST(HookRunner, HooksStartedAsOthersExitAllSucceed) {
  ::signal(SIGPIPE, SIG_IGN);  // as the daemon does: a hook may exit before reading stdin
  for (int round = 0; round < 15; ++round) {
    SCOPED_TRACE(round);
    auto counts = run_hooks({"/bin/sh", "-c", "exec >&- 2>&-; sleep 0.02"}, 24, 8);
    EXPECT_EQ(counts["Exec"], 24);
    EXPECT_EQ(counts["ExecSuccess"], 24);
    EXPECT_EQ(counts["ExecFailed"], 0);
  }
}

TEST(HookRunner, ManyQuickHooksQueuedBehindTheConcurrencyLimitAllSucceed) {
  ::signal(SIGPIPE, SIG_IGN);
  auto counts = run_hooks({"/bin/true"}, 300, 4);
  EXPECT_EQ(counts["Exec"], 300);
  EXPECT_EQ(counts["ExecSuccess"], 300);
}

// The bus asks wants() before it builds an event (EventBus::KindInterest):
// an event no hook runs for need not be built at all.
TEST(HookRunner, WantsTheKindsItsHooksListAndNeverTheExecKinds) {
  boost::asio::io_context io;
  EventBus bus(EventBus::Options{});
  HookRunner none(io, bus, {});
  EXPECT_FALSE(none.wants("NodeAlive"));
  HookRunner some(io, bus,
                  {HookConfig{.name = "alive", .events = {"NodeAlive"}, .command = {"/bin/true"}}});
  EXPECT_TRUE(some.wants("NodeAlive"));
  EXPECT_FALSE(some.wants("NodeDataUpdated"));
  HookRunner all(io, bus,
                 {HookConfig{.name = "all", .all_events = true, .command = {"/bin/true"}}});
  EXPECT_TRUE(all.wants("NodeDataUpdated"));
  EXPECT_FALSE(all.wants("ExecSuccess"));  // a hook run publishes them
}

}  // namespace
}  // namespace vigil::agent
