#include "agent/config/node_name.h"

#include <algorithm>

namespace vigil::agent {

namespace {

bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

}  // namespace

bool is_node_name(std::string_view n) {
  if (n.empty() || n.size() > 64 || !is_alnum(n[0])) return false;
  return std::all_of(n.begin(), n.end(),
                     [](char c) { return is_alnum(c) || c == '.' || c == '_' || c == '-'; });
}

}  // namespace vigil::agent
