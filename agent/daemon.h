// The vigil daemon: wires heartbeat paths, the gen protocol, the peer table,
// the event bus, hooks and the API on one io_context thread that owns all
// protocol state (DESIGN.md, Threading).
#ifndef VIGIL_AGENT_DAEMON_H_
#define VIGIL_AGENT_DAEMON_H_

#include <memory>

#include "agent/config/config.h"

namespace vigil::agent {

class Daemon {
 public:
  /// Builds every component from `config`; nothing is bound yet.
  explicit Daemon(Config config);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  /// Opens the API socket and the heartbeat paths, then runs until SIGTERM
  /// or SIGINT. Returns the process exit code: 0 after a clean stop.
  /// Throws std::system_error when the API socket cannot be bound (another
  /// daemon serves it, or the directory is not writable). A heartbeat path
  /// that cannot open does not throw: it is down and retries by itself.
  int run();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vigil::agent

#endif  // VIGIL_AGENT_DAEMON_H_
