// Asynchronous operations, the client side (seed 003; the daemon's side is
// agent/api/operations.h). `hb rotate`, `cluster join`, `cluster leave`,
// `cluster forget` and `webhook test` POST to a route that answers
// 202 Accepted with `Location: /v1/queue/<id>`; run_operation() then
// follows that location until the operation ends:
//   200 + X-Pending: true  still running: its "progress" is printed on
//                          stderr when it changes, if stderr is a terminal;
//   303 See Other          succeeded: the result is read at its Location;
//   500                    failed: the operation's own status and JSON
//                          ("status", "result") are handed back;
//   404                    gone (expired, or the daemon restarted): exit 1.
// so every command ends with the output and the exit code it always had.
// Polls every 200 ms at first, then half as long again each time, up to 1 s.
// With --async the command prints the operation instead ("ID LOCATION", or
// {"id", "location"} with --format json) and exits 0 at once; `vigil queue
// show ID` reads it later (for 10 minutes after it ended).
#ifndef VIGIL_AGENT_CLI_QUEUE_COMMAND_H_
#define VIGIL_AGENT_CLI_QUEUE_COMMAND_H_

#include <chrono>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "agent/cli/api_client.h"
#include "agent/cli/command.h"

namespace vigil::agent {

/// POSTs `body` to `target`. A 202 is followed for at most `bound` in all
/// (then ExitError(1) naming the operation, which may still end well), and
/// the operation's own answer is returned; any other answer is returned as
/// is. With o.async a 202 is printed and nullopt returned. ExitError(3)
/// when the daemon cannot be reached.
std::optional<ApiClient::Response> run_operation(const CliOptions& o, const std::string& target,
                                                 const nlohmann::json& body,
                                                 std::chrono::milliseconds bound);

/// `vigil queue show ID [--format json]`: the operation o.operation as the
/// daemon holds it: ID, OP, STATE (running, succeeded, failed), STARTED,
/// ENDED, PROGRESS, STATUS (its own HTTP status) and RESULT or ERROR; JSON:
/// {"id", "op", "state", "started_at", "progress", "elapsed_ms" | "ended_at",
/// "status", "result", "error"?}. Exit 0 running or succeeded, 1 failed, 2 a
/// malformed or unknown id (or one expired), 3 the daemon cannot be reached.
int cmd_queue_show(const CliOptions& o);

}  // namespace vigil::agent

#endif  // VIGIL_AGENT_CLI_QUEUE_COMMAND_H_
