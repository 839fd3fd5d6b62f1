// JSON text from outside the daemon (API bodies, filter values, condition
// values) parsed with a bound on nesting, enforced by the parser itself
// before any recursive code (comparison, dump, diff) can see the value.
#ifndef VIGIL_AGENT_BASE_BOUNDED_JSON_H_
#define VIGIL_AGENT_BASE_BOUNDED_JSON_H_

#include <stdexcept>
#include <string_view>

#include <nlohmann/json.hpp>

namespace vigil::agent {

/// Nesting beyond the bound; what() is "JSON nests deeper than <n> levels".
class JsonTooDeep : public std::invalid_argument {
 public:
  explicit JsonTooDeep(int max_depth);
};

/// Parses `text` as one JSON value (RFC 8259) in which arrays and objects
/// nest at most `max_depth` levels (a scalar is depth 0, `[1]` depth 1).
/// The bound is checked through nlohmann's parser callback as each array or
/// object opens, so a deeper value is never built. Returns a discarded value
/// (is_discarded()) on a syntax error; throws JsonTooDeep on deeper input.
nlohmann::json parse_json_bounded(std::string_view text, int max_depth);

/// Levels of nesting of `value`, counted without recursion (so any value
/// built in memory can be measured safely).
int json_depth(const nlohmann::json& value);

}  // namespace vigil::agent

#endif  // VIGIL_AGENT_BASE_BOUNDED_JSON_H_
