// A request to change this node's own document (DESIGN.md, "Node document"):
// what `vigil node patch|set|freeze|unfreeze` asks through the API, and what
// the engine applies at its next commit tick.
#ifndef VIGIL_AGENT_BASE_NODE_CHANGE_H_
#define VIGIL_AGENT_BASE_NODE_CHANGE_H_

#include <string>

#include <nlohmann/json.hpp>

namespace vigil::agent {

struct NodeChange {
  enum class Kind {
    kPatch,     // `ops`: an RFC 6902 patch array, applied atomically
    kSet,       // `path` (dotted, ".a.b"), set to `value`
    kFreeze,    // frozen = true, frozen_at = now
    kUnfreeze,  // frozen = false, frozen_at = null
  };
  Kind kind = Kind::kPatch;
  nlohmann::json ops;    // kPatch
  std::string path;      // kSet
  nlohmann::json value;  // kSet
};

}  // namespace vigil::agent

#endif  // VIGIL_AGENT_BASE_NODE_CHANGE_H_
