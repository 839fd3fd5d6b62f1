#include "agent/engine/dataset.h"

#include <nlohmann/json.hpp>

#include "agent/config/config.h"
#include "membership/peer_table.h"
#include "membership/replicator.h"
#include "patch/node_document.h"

namespace vigil::agent {

nlohmann::json build_dataset(const Config& config, const patch::NodeDocument& local,
                             const membership::PeerTable& peers,
                             const membership::Replicator& replicator,
                             const nlohmann::json& quorum) {
  nlohmann::json ds = {
      {"cluster", {{"name", config.cluster_name}, {"nodes", config.nodes}, {"quorum", quorum}}},
      {"node", nlohmann::json::object()},
      {"peers", nlohmann::json::object()}};
  ds["node"][config.node_name] = local.committed();
  // The local node reaches itself on every path it has: each is "alive", so
  // that a condition over every peer (.peers.*.hb.u1=alive) can hold.
  nlohmann::json own_hb = nlohmann::json::object();
  for (const auto& path : config.hb) own_hb[path.id] = "alive";
  ds["peers"][config.node_name] = {
      {"state", "alive"}, {"gen", local.gen()}, {"hb", std::move(own_hb)}};
  for (const auto& name : config.nodes) {
    if (name == config.node_name) continue;
    const auto& doc = replicator.document(name);
    if (!doc.is_null()) ds["node"][name] = doc;
    nlohmann::json hb = nlohmann::json::object();
    for (const auto& path : peers.paths_of(name))
      hb[path] = std::string(to_string(*peers.path_state(name, path)));
    ds["peers"][name] = {{"state", std::string(to_string(peers.state(name)))},
                         {"gen", replicator.applied_gen(name)},
                         {"hb", std::move(hb)}};
  }
  return ds;
}

}  // namespace vigil::agent
