// A config reload (README "Reload"; `vigil daemon reload`, SIGHUP): the file
// is read again off the io_context thread, compared with the running config
// (config/config_diff.h), and what changed is applied to the parts that own
// it, all or nothing, on the io_context thread. A success publishes
// NodeConfigUpdated {changed: [keys]} when something changed.
#ifndef VIGIL_AGENT_DAEMON_CONFIG_RELOAD_H_
#define VIGIL_AGENT_DAEMON_CONFIG_RELOAD_H_

#include <functional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <nlohmann/json_fwd.hpp>

#include "agent/api/service.h"
#include "agent/base/blocking_worker.h"
#include "agent/config/config.h"
#include "agent/events/event_bus.h"
#include "agent/hooks/hook_runner.h"
#include "agent/quorum/split_analysis.h"

namespace vigil::agent {

class ConfigReload {
 public:
  /// The answer: 200 {"changed": [keys]}, or 400 {"error": "<file>: key
  /// '<k>': <reason>"} when the file does not load or a change needs a
  /// restart (the running config is kept).
  using Done = std::function<void(int status, const nlohmann::json& body)>;
  /// What a reload changes. `config` is the daemon's running config: only
  /// its changed fields are assigned, because the engine, the API and split
  /// analysis keep references into it.
  struct Parts {
    Config& config;
    HookRunner& hooks;
    ApiService& api;
    SplitAnalysis& split;
    EventBus& bus;
    /// Makes a config read from the file comparable with the running one:
    /// the member list of cluster.json rules over cluster.nodes and the
    /// peers (agent/engine/cluster_file.h). Runs on the io_context thread.
    std::function<void(Config&)> overlay;
    /// Path intervals, timeouts or peers of the running config changed
    /// (Engine::reconfigure_paths()).
    std::function<void()> paths_changed;
  };

  ConfigReload(boost::asio::io_context& io, Parts parts);

  /// Reads config.source again and applies it; `caller` (a request's
  /// caller(), or "SIGHUP") is logged with the outcome. Reloads complete in
  /// the order asked; `done` runs once, on the io_context thread.
  void reload(const std::string& caller, Done done);

 private:
  void apply(const Config& next, const std::vector<std::string>& changed);

  Parts parts_;
  BlockingWorker worker_;  // reads the file and checks hook programs
};

}  // namespace vigil::agent

#endif  // VIGIL_AGENT_DAEMON_CONFIG_RELOAD_H_
