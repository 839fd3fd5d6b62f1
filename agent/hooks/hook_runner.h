// Runs node-config hooks (seed 002, Hooks): for each event whose kind a hook
// wants, the hook's command runs with the event JSON on stdin, and in env
// EVENT when it is at most kMaxEventEnv bytes (a larger one would make exec
// fail with E2BIG), and the kind in env VIGIL_EVENT. No shell: command[0] is
// executed directly (looked up in PATH when it has no '/').
//
// Each run publishes Exec, then ExecSuccess (exit code 0) or ExecFailed
// (non-zero exit, exec error such as ENOENT or EACCES, timeout, or a full
// queue). Exec* events never trigger hooks. stdout and stderr are logged
// line by line, tagged with the hook's name and pid; a line is cut at
// kMaxLine bytes.
//
// At most Options::max_concurrent hooks run at once; the runs waiting for a
// slot are queued, at most Options::max_queued, in order. A hook runs in a
// process group of its own (hooks/child_setup.h): at its timeout and at the
// daemon's stop the whole group is killed with SIGKILL.
#ifndef VIGIL_AGENT_HOOKS_HOOK_RUNNER_H_
#define VIGIL_AGENT_HOOKS_HOOK_RUNNER_H_

#include <cstddef>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "agent/config/config.h"
#include "agent/events/event.h"

namespace vigil::agent {

class EventBus;

class HookRunner {
 public:
  static constexpr std::size_t kMaxEventEnv = 64 * 1024;  // bytes of EVENT
  static constexpr std::size_t kMaxLine = 64 * 1024;      // bytes of one logged line

  struct Options {
    std::size_t max_concurrent = 8;  // hooks running at once
    std::size_t max_queued = 1024;   // runs waiting for a slot
  };

  /// `bus` must outlive the runner; runs on `io`'s thread.
  HookRunner(boost::asio::io_context& io, EventBus& bus, std::vector<HookConfig> hooks,
             Options options);
  HookRunner(boost::asio::io_context& io, EventBus& bus, std::vector<HookConfig> hooks)
      : HookRunner(io, bus, std::move(hooks), Options()) {}
  ~HookRunner();

  /// Starts, or queues, the hooks wanted by `event` (called for every
  /// published event of a kind wants() takes).
  void on_event(const Event& event);
  /// True when an event of `kind` runs a hook (HookConfig::wants): the
  /// listener's interest (EventBus::KindInterest).
  bool wants(std::string_view kind) const;

  /// Replaces the hooks (a config reload): the next events run `hooks`.
  /// Runs already started, and runs queued before the call, finish with the
  /// hook config they were started or queued with, whether that hook is
  /// kept, changed or removed. Never throws but std::bad_alloc.
  void reconfigure(std::vector<HookConfig> hooks);

  /// Kills every running hook's process group (SIGKILL) and drops the
  /// queue; used at daemon stop.
  void kill_all();

  /// Hooks running now.
  std::size_t running() const { return runs_.size(); }

 private:
  struct Run;
  struct Pending {
    std::shared_ptr<const HookConfig> hook;  // kept alive across a reconfigure()
    std::string kind;
    uint64_t id = 0;
    std::string payload;  // the event's JSON
  };
  void pump();
  void start(const Pending& p);
  void failed_to_start(const Pending& p, const std::string& why);
  /// The child of `run` exited (posted from Boost.Process's exit handler).
  void exited(const std::weak_ptr<Run>& run, int code, const std::error_code& ec);
  void finish(const std::shared_ptr<Run>& run);

  boost::asio::io_context& io_;
  EventBus& bus_;
  std::vector<std::shared_ptr<const HookConfig>> hooks_;
  Options options_;
  std::vector<std::shared_ptr<Run>> runs_;
  std::deque<Pending> queue_;
};

}  // namespace vigil::agent

#endif  // VIGIL_AGENT_HOOKS_HOOK_RUNNER_H_
