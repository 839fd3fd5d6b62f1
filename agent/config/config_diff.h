// What a config reload (`vigil daemon reload`, SIGHUP) would change, as a
// pure comparison of the running config and the file read again.
//
// Keys are dotted as in the file: "node.log_level", "cluster.quorum",
// "hook.<name>" and "arbitrator.<name>" (a whole table: added, removed or
// changed), "api.admin_key", "api.max_waits", "hb.<id>.interval"...
//
// Applied live (ConfigDiff::changed): the [hook.*] and [arbitrator.*]
// tables, cluster.quorum, node.split_action, node.log_level, the [api]
// keys admin_key, user_key and the limits (ApiLimits), and hb.<id>.interval,
// hb.<id>.timeout and hb.<id>.peers (the peers as the member list makes
// them: agent/engine/cluster_file.h; a unicast path's left-out members).
//
// Refused (ConfigDiff::refused) with "cannot change without a restart":
// everything else: cluster.name,
//     cluster.nodes, cluster.secret, cluster.max_skew, node.name,
//     node.var_dir, node.commit_interval, an added or removed hb.<id>, the
//     other hb.<id> keys, api.listen, api.tls_cert, api.tls_key, and the
//     [http] table (added, removed, or any of its keys).
#ifndef VIGIL_AGENT_CONFIG_CONFIG_DIFF_H_
#define VIGIL_AGENT_CONFIG_CONFIG_DIFF_H_

#include <string>
#include <vector>

#include "agent/config/config.h"

namespace vigil::agent {

/// The reason of a key that needs a restart.
inline constexpr const char* kNeedsRestart = "cannot change without a restart";

struct RefusedKey {
  std::string key;     // dotted, e.g. "node.name"
  std::string reason;  // kNeedsRestart
  bool operator==(const RefusedKey&) const = default;
};

struct ConfigDiff {
  std::vector<std::string> changed;  // keys applied live, sorted, unique
  std::vector<RefusedKey> refused;   // sorted by key
  bool empty() const { return changed.empty() && refused.empty(); }
};

/// Compares `running` with `next` (the file loaded again). `source` is not
/// compared. Never throws but std::bad_alloc.
ConfigDiff diff_configs(const Config& running, const Config& next);

/// Throws, when `diff` refused any key, the ConfigError of the first one
/// (file `file`): "<file>: key 'node.name': cannot change without a
/// restart", with "; key '<k>': <reason>" appended for each other one.
void throw_if_refused(const ConfigDiff& diff, const std::filesystem::path& file);

}  // namespace vigil::agent

#endif  // VIGIL_AGENT_CONFIG_CONFIG_DIFF_H_
