// The syntax of a node name, wherever one enters: cluster.nodes, node.name,
// a join request, a member list entry of cluster.json.
#ifndef VIGIL_AGENT_CONFIG_NODE_NAME_H_
#define VIGIL_AGENT_CONFIG_NODE_NAME_H_

#include <string_view>

namespace vigil::agent {

/// True for 1-64 letters, digits, '.', '_' or '-', starting with a letter or
/// a digit.
bool is_node_name(std::string_view name);

}  // namespace vigil::agent

#endif  // VIGIL_AGENT_CONFIG_NODE_NAME_H_
