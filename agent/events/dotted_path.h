// Dotted JSON paths as operators write them: ".labels.rack", ."fs#1".avail,
// a leading dot optional. Shared by `node set`, `node wait` and event filters.
#ifndef VIGIL_AGENT_EVENTS_DOTTED_PATH_H_
#define VIGIL_AGENT_EVENTS_DOTTED_PATH_H_

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace vigil::agent {

/// Splits a dotted path into its segments. A segment may be double-quoted, as
/// a JSON string, to hold dots or other punctuation (seed 001: ."fs#1").
/// "" and "." give no segments. Throws std::invalid_argument on an empty
/// segment ("a..b"), an unterminated quote, or text after a closing quote.
std::vector<std::string> split_dotted_path(std::string_view path);

/// The RFC 6901 JSON pointer of a dotted path, e.g. ".labels.rack" ->
/// "/labels/rack" ('~' and '/' escaped per RFC 6901 section 3). Throws as
/// split_dotted_path.
nlohmann::json_pointer<std::string> dotted_to_pointer(std::string_view path);

}  // namespace vigil::agent

#endif  // VIGIL_AGENT_EVENTS_DOTTED_PATH_H_
