// Human renderings of API answers for the CLI: aligned tables and one-line
// events. Programs use --format json instead.
#ifndef VIGIL_AGENT_CLI_STATUS_TABLE_H_
#define VIGIL_AGENT_CLI_STATUS_TABLE_H_

#include <string>

#include <nlohmann/json_fwd.hpp>

namespace vigil::agent {

/// `daemon status`: header line, then NODE STATE FROZEN GEN LABELS and one
/// column per heartbeat path, from the dataset (see dataset.h), then the
/// quorum line. The row of `local` (this node's name; "" for none) reads
/// "<name> (local)", and its heartbeat cells "n/a": a node does not
/// heartbeat itself. A peer's cell is the path state (alive, stale,
/// unknown), or "no path" when that path of this node does not reach it.
std::string render_status_table(const nlohmann::json& dataset, const std::string& local = "");

/// `hb status`: one row per (path, peer) with state, last heard (ms ago) and
/// the path's counters, then the drop counters by reason.
std::string render_hb_table(const nlohmann::json& hb);

/// `cluster members`: NAME | STATE | LTIME | PATHS ("u1=127.0.0.1:10001
/// m1=224.3.29.71:10000"), one line per entry of GET /v1/cluster/members
/// ({name: {paths, state, ltime}}), tombstones included.
std::string render_members_table(const nlohmann::json& members);

/// `node events`: "<at> <kind> key=value... <data as JSON>".
std::string render_event_line(const nlohmann::json& event);

/// `webhook add|mod|del`: NODE | NODE STATUS (UP, DOWN) | SYNC STATUS (OK,
/// NOT OK; a member down syncs when it is back), from {"nodes": [{"node",
/// "state", "in_sync"}]}.
std::string render_webhook_sync_table(const nlohmann::json& answer);
/// `webhook test`: NODE | NODE STATUS | WEBHOOK STATUS (OK, or FAILED and
/// the reason), from {"nodes": [{"node", "state", "ok", "status", "error"}]}.
std::string render_webhook_test_table(const nlohmann::json& answer);
/// `webhook list`: the webhooks (URL, AUTH, FILTERS), each member's
/// delivery counters per webhook (NODE, URL, QUEUED, DELIVERED, FAILED,
/// DROPPED, LAST SUCCESS, LAST ERROR; "(no answer)" for an alive member that
/// did not answer in time), and the set's version with the members not in
/// sync.
std::string render_webhook_list(const nlohmann::json& answer);

/// `export status`: EXPORT | URL | CONNECTED (yes, no) | BUFFERED (n/max) |
/// PUBLISHED | ACKED ("-" without jetstream) | DROPPED, then "last error
/// (<at>): <error>" when there is one; from GET /v1/export/status
/// ({"nats": status | null}). Without an export configured, one line says so.
std::string render_export_status(const nlohmann::json& answer);

}  // namespace vigil::agent

#endif  // VIGIL_AGENT_CLI_STATUS_TABLE_H_
