// The cluster dataset: one JSON document, the same shape on every node, read
// by `daemon status --format json` and `node wait` (DESIGN.md, Cluster dataset).
//
//   .cluster.name               cluster name
//   .cluster.nodes              member node names
//   .cluster.quorum             this daemon's split analysis view
//                               (SplitAnalysis::status(): enabled, split_action,
//                               has_quorum, votes, arbitrators)
//   .node.<name>                the document that node publishes (labels, frozen,
//                               frozen_at, boot_at, version, data); absent until known
//   .peers.<name>.state         this daemon's view: alive | stale | unknown |
//                               stopped (its daemon announced a clean stop)
//   .peers.<name>.gen           gen of that node's document held here
//   .peers.<name>.hb.<hb id>    per heartbeat path: alive | stale | unknown | stopped
// The local node appears under .peers too, always alive, and with every path
// of its own config alive (it does not heartbeat itself), so that conditions
// over every peer, such as .peers.*.hb.u1=alive, can hold.
#ifndef VIGIL_AGENT_ENGINE_DATASET_H_
#define VIGIL_AGENT_ENGINE_DATASET_H_

#include <nlohmann/json_fwd.hpp>

namespace vigil {
namespace patch {
class NodeDocument;
}
namespace membership {
class PeerTable;
class Replicator;
}  // namespace membership
namespace agent {

struct Config;

/// The dataset above; `quorum` goes to .cluster.quorum as is.
nlohmann::json build_dataset(const Config& config, const patch::NodeDocument& local,
                             const membership::PeerTable& peers,
                             const membership::Replicator& replicator,
                             const nlohmann::json& quorum);

}  // namespace agent
}  // namespace vigil

#endif  // VIGIL_AGENT_ENGINE_DATASET_H_
