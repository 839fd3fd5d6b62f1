// What every CLI command shares: the parsed options, the exit codes
// (README, "Exit codes"), the config load, and one API call with its
// error mapping.
#ifndef VIGIL_AGENT_CLI_COMMAND_H_
#define VIGIL_AGENT_CLI_COMMAND_H_

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent/cli/api_client.h"
#include "agent/config/config.h"

namespace vigil::agent {

/// Exit codes:
///   0  success
///   1  the operation failed: `node wait` timed out, the daemon refused a change
///   2  usage error: bad arguments, bad config, bad filter
///   3  the daemon could not be reached, or closed an event stream
inline constexpr int kExitOk = 0, kExitFailed = 1, kExitUsage = 2, kExitUnreachable = 3;

/// The command line as parsed (CLI11 writes into it).
struct CliOptions {
  std::string config;            // --config, else $VIGIL_CONFIG (see default_config())
  std::string format = "table";  // "table" or "json"
  std::vector<std::string> filters;
  std::string duration;
  std::string limit;                          // node events --limit, checked by the command
  std::optional<std::string> event_template;  // node events --template
  std::string assignment;
  std::string patch;
  std::string secret_file;
  std::string secret_out;                                   // secret generate FILE
  std::string token, seed, timeout;                         // cluster join, leave
  std::string node;                                         // cluster forget NODE
  std::string url;                                          // webhook URL
  std::optional<std::string> bearer_token, webhook_secret;  // webhook --bearer-token, --secret
  bool no_auth = false;                                     // webhook mod --no-auth
  bool watch = false;                                       // daemon status --watch

  // Asynchronous operations (queue_command.h).
  bool async = false;     // --async: print the operation's id and location, do not follow it
  std::string operation;  // queue show ID

  bool json() const { return format == "json"; }
};

/// $VIGIL_CONFIG, or "" when unset.
std::string default_config();

/// Ends the command with `code`; main() prints "vigil: <what>" on stderr.
class ExitError : public std::runtime_error {
 public:
  ExitError(int code, const std::string& what) : std::runtime_error(what), code(code) {}
  int code;
};

/// The config named by --config or $VIGIL_CONFIG. ExitError(2) when there is
/// none, or it does not load.
Config load(const CliOptions& o);

/// --duration parsed (e.g. "10s"), nullopt when not given; ExitError(2) when
/// it does not parse.
std::optional<std::chrono::milliseconds> duration_option(const CliOptions& o);

/// Throws the ExitError for a daemon's error answer: 400 (bad input) and 409
/// (refused in the current state) are usage errors, anything else a
/// failure; the message is its "error" member.
[[noreturn]] void refused(const ApiClient::Response& res);

/// Sends a request (10 s bound) and returns the parsed JSON answer; non-2xx:
/// refused(); the socket cannot be reached: ExitError(3).
nlohmann::json call(const CliOptions& o, const std::string& method, const std::string& target,
                    const nlohmann::json& body = nullptr);

/// The same request, bounded by `timeout` instead, answered as is (any
/// status); ExitError(3) when the socket cannot be reached.
ApiClient::Response call_raw(const CliOptions& o, const std::string& method,
                             const std::string& target, const nlohmann::json& body,
                             std::chrono::milliseconds timeout);
/// --timeout parsed, or `fallback` when not given; ExitError(2) when it
/// does not parse or is out of 100ms-1h.
std::chrono::milliseconds timeout_option(const CliOptions& o, std::chrono::milliseconds fallback);
/// Prints `doc` on stdout as one line of JSON (the --format json output of
/// every command).
void print_json(const nlohmann::json& doc);

}  // namespace vigil::agent

#endif  // VIGIL_AGENT_CLI_COMMAND_H_
