// Runs node-config hooks (seed 002, Hooks): for each event whose kind a hook
// wants, the hook's command runs with the event JSON on stdin and in env
// EVENT, and the kind in env VIGIL_EVENT. No shell: command[0] is executed
// directly (looked up in PATH when it has no '/'). Each run publishes Exec,
// then ExecSuccess (exit code 0) or ExecFailed (non-zero exit, spawn error,
// or timeout: the process is killed with SIGKILL). Exec* events never
// trigger hooks. stdout and stderr lines go to the log.
#ifndef VIGIL_AGENT_HOOKS_HOOK_RUNNER_H_
#define VIGIL_AGENT_HOOKS_HOOK_RUNNER_H_

#include <cstddef>
#include <memory>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "agent/config/config.h"
#include "agent/events/event.h"

namespace vigil::agent {

class EventBus;

class HookRunner {
 public:
  /// `bus` must outlive the runner; runs on `io`'s thread.
  HookRunner(boost::asio::io_context& io, EventBus& bus, std::vector<HookConfig> hooks);
  ~HookRunner();

  /// Starts the hooks wanted by `event` (called for every published event).
  void on_event(const Event& event);

  /// Kills every running hook (SIGKILL); used at daemon stop.
  void kill_all();

  /// Hooks currently running.
  std::size_t running() const;

 private:
  struct Run;
  void start(const HookConfig& hook, const Event& event);
  void finish(const std::shared_ptr<Run>& run);

  boost::asio::io_context& io_;
  EventBus& bus_;
  std::vector<HookConfig> hooks_;
  std::vector<std::shared_ptr<Run>> runs_;
};

}  // namespace vigil::agent

#endif  // VIGIL_AGENT_HOOKS_HOOK_RUNNER_H_
