#include "agent/daemon/quorum_line.h"

#include <nlohmann/json.hpp>

namespace vigil::agent {

using json = nlohmann::json;

namespace {

std::string text(const json& v) {
  if (v.is_null()) return "-";
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

// A member of `o`, or null when `o` lacks it.
json member(const json& o, const char* key) {
  return o.is_object() && o.contains(key) ? o[key] : json();
}

}  // namespace

std::string quorum_line(const json& q) {
  if (!q.is_object()) return "";
  const json votes = member(q, "votes");
  std::string line = "quorum: ";
  if (member(q, "enabled") != json(true))
    line += "not enforced";
  else
    line += member(q, "has_quorum") == json(true) ? "held" : "LOST";
  const json action = member(q, "split_action");
  line += ", " + text(member(votes, "present")) + " of " + text(member(votes, "total")) +
          " votes (needed " + text(member(votes, "needed")) + "); split action " +
          (action.is_string() ? action.get<std::string>() : "?");
  const json arbitrators = member(q, "arbitrators");
  if (arbitrators.is_object()) {
    for (const auto& [name, a] : arbitrators.items()) {
      const json reachable = member(a, "reachable");
      line += "; arbitrator " + name + " ";
      if (reachable.is_null())
        line += "not checked yet";
      else if (reachable == json(true))
        line += "reachable";
      else
        line += "unreachable (" + text(member(a, "error")) + ")";
    }
  }
  return line;
}

}  // namespace vigil::agent
