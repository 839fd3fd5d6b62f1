// `vigil webhook add|mod|del|list|test` (README "Webhooks"; seed 000's
// gluster-eventsapi webhook-add, webhook-mod, webhook-del, webhook-test and
// status). Each asks the local daemon, which changes the cluster's webhook
// set and waits for the alive members to hold it (add, mod, del), or runs
// the test at every alive member (test).
//
// Output: a table NODE | NODE STATUS | SYNC STATUS (add, mod, del) or NODE |
// NODE STATUS | WEBHOOK STATUS (test), as gluster-eventsapi prints; list
// shows the webhooks and this node's delivery counters; --format json
// prints the daemon's answer. Exit codes (command.h): 0 done everywhere
// alive; 1 an alive member did not sync in time, or a test failed at a
// member; 2 a bad argument or a refused change (unknown URL for mod and del,
// a URL already there for add); 3 the daemon cannot be reached.
#ifndef VIGIL_AGENT_CLI_WEBHOOK_COMMAND_H_
#define VIGIL_AGENT_CLI_WEBHOOK_COMMAND_H_

#include <string>

#include "agent/cli/command.h"

namespace vigil::agent {

/// `action` is "add", "mod", "del", "list" or "test"; the URL, the
/// credential options and the filters come from `o`.
int cmd_webhook(const CliOptions& o, const std::string& action);

}  // namespace vigil::agent

#endif  // VIGIL_AGENT_CLI_WEBHOOK_COMMAND_H_
