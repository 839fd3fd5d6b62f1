// The daemon's log lines (README, "Logs"), on stderr:
//   2026-11-30T13:33:40.123Z n1 info heartbeat path u1: up: listen 127.0.0.1:10001
// The time is UTC, RFC 3339 with milliseconds and a `Z`, as events' `at`;
// then the node name, then the level, spelled as the config's
// node.log_level values (trace, debug, info, warn, error), plus critical for
// what stops the daemon or a split action.
#ifndef VIGIL_AGENT_CLI_DAEMON_LOG_H_
#define VIGIL_AGENT_CLI_DAEMON_LOG_H_

#include <memory>
#include <string>
#include <string_view>

#include <spdlog/common.h>
#include <spdlog/formatter.h>

namespace vigil::agent {

/// The level's name in log lines: "trace", "debug", "info", "warn",
/// "error", "critical" ("off" for off).
std::string_view log_level_name(spdlog::level::level_enum level);

/// A formatter for the lines above, for node `node_name`; colours the level
/// when its sink colours.
std::unique_ptr<spdlog::formatter> make_log_formatter(const std::string& node_name);

}  // namespace vigil::agent

#endif  // VIGIL_AGENT_CLI_DAEMON_LOG_H_
