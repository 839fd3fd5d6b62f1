#include "agent/events/dotted_path.h"

#include <stdexcept>

#include <nlohmann/json.hpp>

#include "agent/events/text_scan.h"

namespace vigil::agent {

std::vector<std::string> split_dotted_path(std::string_view path) {
  std::vector<std::string> out;
  std::size_t i = 0;
  if (!path.empty() && path[0] == '.') i = 1;
  if (i >= path.size()) return out;
  auto fail = [&](const std::string& why) {
    throw std::invalid_argument("invalid path '" + excerpt(path) + "': " + why);
  };
  while (true) {
    std::string seg;
    if (i < path.size() && path[i] == '"') {
      // A quoted segment is a JSON string: \" and \\ and \u escapes apply.
      const std::size_t len = quoted_length(path.substr(i));
      if (len == std::string_view::npos) fail("unterminated quote");
      auto decoded = nlohmann::json::parse(path.substr(i, len), nullptr, false);
      if (!decoded.is_string()) fail("bad quoted segment");
      seg = decoded.get<std::string>();
      i += len;
      if (i < path.size() && path[i] != '.') fail("text after a closing quote");
    } else {
      while (i < path.size() && path[i] != '.') seg += path[i++];
      if (seg.empty()) fail("empty segment");
    }
    out.push_back(std::move(seg));
    if (i >= path.size()) break;
    ++i;  // the '.'
    if (i >= path.size()) fail("empty segment");
  }
  return out;
}

nlohmann::json_pointer<std::string> dotted_to_pointer(std::string_view path) {
  nlohmann::json::json_pointer ptr;
  for (const auto& seg : split_dotted_path(path)) ptr /= seg;
  return ptr;
}

}  // namespace vigil::agent
