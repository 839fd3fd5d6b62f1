// `vigil node wait`: block until the cluster dataset meets every --filter
// condition (README, "Wait conditions").
#ifndef VIGIL_AGENT_CLI_WAIT_COMMAND_H_
#define VIGIL_AGENT_CLI_WAIT_COMMAND_H_

#include "agent/cli/command.h"

namespace vigil::agent {

/// Runs `node wait`. Every --filter is a dataset condition
/// (parse_dataset_condition: an event filter or a path outside the dataset
/// is refused, ExitError 2); all of them must hold (AND). --duration bounds
/// the wait (none: no limit, "0s": check once; negative: ExitError 2).
/// Returns 0 once they hold. At the deadline prints
/// "timeout: <first failing match>" on stderr (e.g. `timeout: .peers.n3.state
/// is "stale", wanted "alive"`) and returns 1. With --format json also prints
/// one line on stdout: {"ok": true} or {"ok": false, "error": "timeout",
/// "failed": "..."}. The daemon unreachable: ExitError 3.
int cmd_node_wait(const CliOptions& o);

}  // namespace vigil::agent

#endif  // VIGIL_AGENT_CLI_WAIT_COMMAND_H_
