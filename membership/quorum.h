// Split analysis (DESIGN "Membership"): does this node's side of a partition
// hold a majority of the cluster's votes?
//
// Every cluster node has one vote, and every arbitrator its configured weight.
// The votes present on this side are the alive nodes (this node included)
// plus the weights of the arbitrators this node reaches. The side has quorum
// when the votes present are more than half of all votes: 2 × present >
// total. A tie is not a majority: two halves that each counted half would both
// carry on, which is the split brain quorum exists to prevent. This is the
// rule of OpenSVC's split analysis and of Corosync's votequorum (without its
// two_node and wait_for_all options).
#ifndef VIGIL_MEMBERSHIP_QUORUM_H_
#define VIGIL_MEMBERSHIP_QUORUM_H_

#include <cstdint>
#include <span>
#include <string>

namespace vigil::membership {

/// One arbitrator's say in a count: its weight (>= 1), and whether this node
/// reached it at the last check.
struct ArbitratorVote {
  std::string name;
  uint32_t weight = 1;
  bool reachable = false;
};

/// The outcome of a count.
struct QuorumCount {
  uint64_t total = 0;    // cluster nodes + every arbitrator's weight
  uint64_t present = 0;  // alive nodes + reachable arbitrators' weights
  uint64_t needed = 0;   // the smallest majority: total / 2 + 1
  bool has_quorum() const { return present >= needed; }
};

/// Counts the votes. `cluster_nodes` >= 1 and 1 <= `alive_nodes` <=
/// `cluster_nodes` (this node is always alive to itself); every weight >= 1.
/// Throws std::invalid_argument otherwise.
QuorumCount count_votes(std::size_t cluster_nodes, std::size_t alive_nodes,
                        std::span<const ArbitratorVote> arbitrators);

}  // namespace vigil::membership

#endif  // VIGIL_MEMBERSHIP_QUORUM_H_
