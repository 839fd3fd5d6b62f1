#include "agent/events/event_filter.h"

#include <algorithm>

#include "agent/events/event_kinds.h"
#include "agent/events/text_scan.h"

namespace vigil::agent {
namespace {

bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }
bool is_alnum(char c) { return (c >= 'a' && c <= 'z') || is_upper(c) || (c >= '0' && c <= '9'); }
bool is_label_key_char(char c) {
  return is_alnum(c) || c == '_' || c == '-' || c == '.' || c == '/';
}

bool is_kind(std::string_view s) {
  if (s.empty() || !is_upper(s[0])) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return is_alnum(c) || c == '_'; });
}

// Splits on commas outside double quotes (a backslash escapes the next
// character inside quotes). Always yields at least one, possibly empty, element.
std::vector<std::string_view> split_elements(std::string_view expr) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  for (std::size_t i = 0; i < expr.size(); ++i) {
    if (expr[i] == '"') {
      const std::size_t len = quoted_length(expr.substr(i));
      if (len == std::string_view::npos) break;  // quoted to the end
      i += len - 1;
    } else if (expr[i] == ',') {
      out.push_back(expr.substr(start, i - start));
      start = i + 1;
    }
  }
  out.push_back(expr.substr(start));
  return out;
}

}  // namespace

EventFilter EventFilter::parse(std::string_view expr) {
  EventFilter f;
  f.text_ = std::string(expr);
  if (trim(expr).empty()) throw FilterError(expr, "empty expression");

  for (const std::string_view raw : split_elements(expr)) {
    const std::string_view el = trim(raw);
    auto fail = [&](std::string_view reason) {
      throw FilterError(expr, "element '" + excerpt(el) + "': " + std::string(reason));
    };
    if (el.empty()) throw FilterError(expr, "empty element");

    if (el[0] == '.') {
      try {
        f.conditions_.push_back(JsonCondition::parse(el));
      } catch (const FilterError& e) {
        fail(e.reason());
      }
      continue;
    }

    std::size_t key_len = 0;
    while (key_len < el.size() && is_label_key_char(el[key_len])) ++key_len;

    if (key_len == el.size()) {
      if (!is_kind(el)) {
        fail(
            "expected an event kind (starting with an uppercase letter), key=value or "
            ".path OP value");
      }
      if (!is_known_kind(el)) fail("unknown event kind (seed 001 lists the kinds)");
      if (std::find(f.kinds_.begin(), f.kinds_.end(), el) == f.kinds_.end()) {
        f.kinds_.emplace_back(el);
      }
      continue;
    }

    const char next = el[key_len];
    if (key_len == 0) fail("missing label key");
    if (next == '!' || next == '<' || next == '>') {
      fail("a label match only takes '=' (data assertions start with '.')");
    }
    if (next != '=') fail("unexpected character '" + std::string(1, next) + "'");

    const std::string_view value = trim(el.substr(key_len + 1));
    if (value.empty()) fail("missing label value");
    std::string label_value;
    if (value[0] == '"') {
      const auto decoded = nlohmann::json::parse(value, nullptr, /*allow_exceptions=*/false);
      if (!decoded.is_string()) fail("bad quoted label value");
      label_value = decoded.get<std::string>();
    } else {
      label_value = std::string(value);
    }
    f.labels_.emplace_back(std::string(el.substr(0, key_len)), std::move(label_value));
  }
  return f;
}

bool EventFilter::may_match(std::string_view kind) const {
  return kinds_.empty() || std::find(kinds_.begin(), kinds_.end(), kind) != kinds_.end();
}

bool EventFilter::matches(const Event& e) const {
  if (!may_match(e.kind)) return false;
  for (const auto& [key, value] : labels_) {
    auto it = e.labels.find(key);
    if (it == e.labels.end() || it->second != value) return false;
  }
  for (const auto& c : conditions_) {
    if (!(e.value && e.data.is_object() ? c.evaluate(e.data, "value", *e.value)
                                        : c.evaluate(e.data)))
      return false;
  }
  return true;
}

EventFilterSet EventFilterSet::parse(const std::vector<std::string>& exprs) {
  EventFilterSet set;
  for (const auto& expr : exprs) set.add(EventFilter::parse(expr));
  return set;
}

void EventFilterSet::add(EventFilter f) { filters_.push_back(std::move(f)); }

bool EventFilterSet::matches(const Event& e) const {
  if (filters_.empty()) return true;
  return std::any_of(filters_.begin(), filters_.end(),
                     [&](const EventFilter& f) { return f.matches(e); });
}

bool EventFilterSet::may_match(std::string_view kind) const {
  if (filters_.empty()) return true;
  return std::any_of(filters_.begin(), filters_.end(),
                     [&](const EventFilter& f) { return f.may_match(kind); });
}

std::vector<std::string> EventFilterSet::texts() const {
  std::vector<std::string> out;
  out.reserve(filters_.size());
  for (const auto& f : filters_) out.push_back(f.text());
  return out;
}

}  // namespace vigil::agent
