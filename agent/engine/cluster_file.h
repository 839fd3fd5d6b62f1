// <var_dir>/cluster.json: the member list (membership/member_list.h) across
// restarts, and the cluster a joined node belongs to.
//
//   {"cluster": "demo",
//    "ltime": 7, "members": [{"name", "paths": {hb id: "host:port"}, "state", "ltime"}, ...],
//    "settings": {"quorum": false, "max_skew_ms": 30000, "rejoin_grace_ms": 90000,
//                 "dissemination": "auto" (optional, "auto" when absent),
//                 "arbitrators": [{"name", "uri", "weight", "timeout_ms"}]},
//    "webhooks": {"ltime": 3, "webhooks": [entry, ...]}}   (optional)
//
// Precedence (README "Membership"): the file, once it exists, rules over the
// config's cluster.nodes and [hb.<id>] peers, which seed it at the first
// start only. `settings` is written for a node that joined with `vigil
// cluster join` (its config has no [cluster] table): the seed's quorum,
// max_skew, rejoin_grace, dissemination and arbitrators, which such a node uses. A node
// that is not a member of the list (it left, or was forgotten) runs
// standalone. `webhooks` is the cluster's webhook set
// (membership/webhook_set.h), credentials included: the file is mode 0600.
//
// The same shape, plus the keyring, is the seed's answer to a join (POST
// /v1/cluster/join), so both are parsed by one checked reader.
#ifndef VIGIL_AGENT_ENGINE_CLUSTER_FILE_H_
#define VIGIL_AGENT_ENGINE_CLUSTER_FILE_H_

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "agent/config/config.h"
#include "membership/member_list.h"
#include "membership/webhook_set.h"

namespace vigil::agent {

/// The largest cluster.json read, bytes (1 MiB).
inline constexpr std::size_t kMaxClusterFileBytes = 1 << 20;
/// The most members a list may hold (tombstones included).
inline constexpr std::size_t kMaxMembers = 4096;

/// What a joined node takes from its seed.
struct ClusterSettings {
  bool quorum = false;
  std::chrono::milliseconds max_skew{30000}, rejoin_grace{90000};
  Dissemination dissemination = Dissemination::kAuto;
  std::vector<ArbitratorConfig> arbitrators;
};

struct ClusterFile {
  std::string cluster;  // the cluster name
  membership::MemberList members;
  std::optional<ClusterSettings> settings;  // for a node whose config has no [cluster]
  membership::WebhookSet webhooks;
};

std::filesystem::path cluster_file_path(const std::filesystem::path& var_dir);

/// The shape above. cluster_file_from_json() throws std::invalid_argument
/// naming the field: an empty or over-255-byte cluster name, a bad entry
/// (MemberList::from_json), more than kMaxMembers entries, bad settings, a
/// bad webhook entry (WebhookSet::from_json).
nlohmann::json to_json(const ClusterFile& file);
ClusterFile cluster_file_from_json(const nlohmann::json& j);
ClusterSettings settings_of(const Config& config);

/// Reads `path`: std::nullopt when it does not exist. Throws
/// std::runtime_error("<path>: <reason>") for a file that cannot be read
/// (agent/base/file.h) or used.
std::optional<ClusterFile> load_cluster_file(const std::filesystem::path& path);
/// Writes `file` atomically with mode 0600. Blocking: off the io_context.
/// Throws std::runtime_error("<path>: <operation>: <reason>").
void save_cluster_file(const std::filesystem::path& path, const ClusterFile& file);

/// This node's address on each of its heartbeat paths: the unicast listen
/// address, or the multicast group ("224.3.29.71:10000"), by path id.
std::map<std::string, std::string> own_paths(const Config& config);
/// The file a config with a [cluster] table starts from when there is no
/// cluster.json yet: every cluster.nodes entry, at ltime 1, with its
/// address on each path (its [hb.<id>] peers entry, or this node's own).
ClusterFile seed_cluster_file(const Config& config);

/// Makes `config` the running config of `file`: the cluster name, `nodes`
/// (the members), each unicast path's peers (every other member with an
/// address for that path id, but those of its `not_reached`; an address
/// that does not parse is skipped), each
/// multicast path's peers (every other member), and the settings when
/// given. When this node is not a member, make_standalone() instead.
void apply_cluster_file(Config& config, const ClusterFile& file);
/// A one-node cluster of this node: no cluster name, no peers.
void make_standalone(Config& config);
/// True when `config` is a one-node cluster that is no member of any
/// cluster (config.cluster_name is empty).
bool standalone(const Config& config);

}  // namespace vigil::agent

#endif  // VIGIL_AGENT_ENGINE_CLUSTER_FILE_H_
