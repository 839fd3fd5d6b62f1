#include "agent/api/query_string.h"

#include <algorithm>
#include <string>

namespace vigil::agent {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '+') {
      out += ' ';
    } else if (c == '%') {
      const int hi = i + 1 < text.size() ? hex_value(text[i + 1]) : -1;
      const int lo = i + 2 < text.size() ? hex_value(text[i + 2]) : -1;
      if (hi < 0 || lo < 0)
        throw QueryError("query: bad percent escape '" +
                         std::string(text.substr(i, std::min<std::size_t>(3, text.size() - i))) +
                         "'");
      const char decoded = static_cast<char>(hi * 16 + lo);
      if (decoded == '\0') throw QueryError("query: a NUL byte (%00)");
      out += decoded;
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> parse_query(std::string_view target,
                                                             std::size_t max_pairs) {
  std::vector<std::pair<std::string, std::string>> pairs;
  const std::size_t q = target.find('?');
  if (q == std::string_view::npos) return pairs;
  std::string_view rest = target.substr(q + 1);
  // A fragment never reaches a server; if one does, it is not query.
  rest = rest.substr(0, rest.find('#'));
  while (!rest.empty()) {
    const std::size_t amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    if (pair.empty()) continue;
    if (pairs.size() == max_pairs)
      throw QueryError("query: more than " + std::to_string(max_pairs) + " parameters");
    const std::size_t eq = pair.find('=');
    pairs.emplace_back(decode(pair.substr(0, eq)),
                       eq == std::string_view::npos ? std::string() : decode(pair.substr(eq + 1)));
  }
  return pairs;
}

}  // namespace vigil::agent
