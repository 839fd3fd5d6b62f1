#include "membership/quorum.h"

#include <stdexcept>

namespace vigil::membership {

QuorumCount count_votes(std::size_t cluster_nodes, std::size_t alive_nodes,
                        std::span<const ArbitratorVote> arbitrators) {
  if (cluster_nodes == 0) throw std::invalid_argument("quorum: a cluster has at least one node");
  if (alive_nodes == 0 || alive_nodes > cluster_nodes)
    throw std::invalid_argument("quorum: alive nodes must be 1.." + std::to_string(cluster_nodes) +
                                ", got " + std::to_string(alive_nodes));
  QuorumCount c{.total = cluster_nodes, .present = alive_nodes};
  for (const auto& a : arbitrators) {
    if (a.weight == 0)
      throw std::invalid_argument("quorum: arbitrator " + a.name + " has weight 0");
    c.total += a.weight;
    if (a.reachable) c.present += a.weight;
  }
  c.needed = c.total / 2 + 1;
  return c;
}

}  // namespace vigil::membership
