#include "agent/events/dataset_condition.h"

#include <string>
#include <vector>

#include "agent/events/event_kinds.h"
#include "agent/events/text_scan.h"

namespace vigil::agent {

JsonCondition parse_dataset_condition(std::string_view text) {
  const std::string_view s = trim(text);
  const std::string_view head = s.substr(0, s.find_first_of(",.=!<>~ \t"));
  if (!head.empty() && is_known_kind(head))
    throw FilterError(text, "'" + std::string(head) +
                                "' is an event kind: node wait takes a condition on the dataset, "
                                "PATH OP VALUE such as .peers.n2.state=alive (event filters go to "
                                "node events --filter)");
  JsonCondition condition = JsonCondition::parse(text);
  const std::vector<std::string> segments = condition.segments();
  if (segments.empty() ||
      (segments[0] != "cluster" && segments[0] != "node" && segments[0] != "peers"))
    throw FilterError(text, "the dataset has .cluster, .node and .peers; this path is in none");
  return condition;
}

}  // namespace vigil::agent
