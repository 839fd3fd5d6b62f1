#include "agent/base/bounded_json.h"

#include <string>
#include <utility>
#include <vector>

namespace vigil::agent {

using json = nlohmann::json;

JsonTooDeep::JsonTooDeep(int max_depth)
    : std::invalid_argument("JSON nests deeper than " + std::to_string(max_depth) + " levels") {}

json parse_json_bounded(std::string_view text, int max_depth) {
  bool too_deep = false;
  // `depth` counts the containers already open around the event; refusing to
  // keep a container makes the parser skip it without building it.
  json::parser_callback_t bound = [&](int depth, json::parse_event_t event, json&) {
    if ((event == json::parse_event_t::object_start || event == json::parse_event_t::array_start) &&
        depth + 1 > max_depth) {
      too_deep = true;
      return false;
    }
    return true;
  };
  json value = json::parse(text.begin(), text.end(), bound, /*allow_exceptions=*/false);
  if (too_deep) throw JsonTooDeep(max_depth);
  return value;
}

int json_depth(const json& value) {
  int deepest = 0;
  std::vector<std::pair<const json*, int>> stack{{&value, 0}};
  while (!stack.empty()) {
    auto [node, depth] = stack.back();
    stack.pop_back();
    if (!node->is_structured()) continue;
    deepest = std::max(deepest, depth + 1);
    for (const auto& child : *node) stack.emplace_back(&child, depth + 1);
  }
  return deepest;
}

}  // namespace vigil::agent
