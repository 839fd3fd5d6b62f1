// Scanning helpers shared by the filter grammar (seed 001): blanks, trimming,
// and double-quoted tokens with backslash escapes, as event filters,
// conditions and dotted paths write them. Internal to agent/events and its
// users; no allocation.
#ifndef VIGIL_AGENT_EVENTS_TEXT_SCAN_H_
#define VIGIL_AGENT_EVENTS_TEXT_SCAN_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace vigil::agent {

/// A blank: space, tab, CR or LF.
constexpr bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/// `s` without leading and trailing blanks.
constexpr std::string_view trim(std::string_view s) {
  while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
  return s;
}

/// The length of the double-quoted token that starts `s` (s[0] == '"'),
/// both quotes included; a backslash escapes the next character. npos when
/// the closing quote is missing.
constexpr std::size_t quoted_length(std::string_view s) {
  for (std::size_t i = 1; i < s.size(); ++i) {
    if (s[i] == '\\')
      ++i;
    else if (s[i] == '"')
      return i + 1;
  }
  return std::string_view::npos;
}

/// `text` as quoted in an error message: cut at 200 bytes, with its length,
/// so that an error never echoes a whole request body back.
inline std::string excerpt(std::string_view text) {
  constexpr std::size_t kMaxQuoted = 200;
  if (text.size() <= kMaxQuoted) return std::string(text);
  return std::string(text.substr(0, kMaxQuoted)) + "... (" + std::to_string(text.size()) +
         " bytes)";
}

}  // namespace vigil::agent

#endif  // VIGIL_AGENT_EVENTS_TEXT_SCAN_H_
