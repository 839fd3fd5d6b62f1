#include "agent/engine/status_before.h"

#include <algorithm>
#include <string_view>

#include "agent/engine/node_schema.h"

namespace vigil::agent {

using json = nlohmann::json;

namespace {

// The root member a JSON pointer (RFC 6901) starts in: "labels" for
// "/labels/x". Empty for the root itself or a pointer that is not one. An
// escaped token (~0, ~1) names no status field, and is returned as written.
std::string_view root_member(std::string_view pointer) {
  if (pointer.size() < 2 || pointer[0] != '/') return {};
  pointer.remove_prefix(1);
  return pointer.substr(0, pointer.find('/'));
}

bool is_status_field(std::string_view name) {
  return name == "labels" || name == "frozen" || name == "frozen_at";
}

// What one op does to the status fields.
enum class OpEffect { kNone, kOneLabel, kOther };

OpEffect effect(const json& op, std::string_view& label) {
  if (!op.is_object()) return OpEffect::kOther;
  auto name = op.find("op");
  auto path = op.find("path");
  if (name == op.end() || path == op.end() || !name->is_string() || !path->is_string())
    return OpEffect::kOther;
  const std::string& p = path->get_ref<const std::string&>();
  const std::string& n = name->get_ref<const std::string&>();
  auto from = op.find("from");
  if (from != op.end()) {
    if (!from->is_string()) return OpEffect::kOther;
    const std::string& f = from->get_ref<const std::string&>();
    if (f.empty() || is_status_field(root_member(f))) return OpEffect::kOther;
  }
  if (p.empty()) return OpEffect::kOther;  // the whole document
  if (!is_status_field(root_member(p))) return OpEffect::kNone;
  if (n == "test") return OpEffect::kNone;
  // "/labels/<key>", one level, no escape, and no source: one label value.
  constexpr std::string_view kPrefix = "/labels/";
  const std::string_view key = std::string_view(p).substr(std::min(p.size(), kPrefix.size()));
  if (from == op.end() && (n == "add" || n == "replace" || n == "remove") &&
      std::string_view(p).starts_with(kPrefix) &&
      key.find_first_of("/~") == std::string_view::npos) {
    label = key;
    return OpEffect::kOneLabel;
  }
  return OpEffect::kOther;
}

}  // namespace

void StatusBefore::keep_status_fields(const json& doc) {
  level_ = Level::kStatusFields;
  labels_.clear();
  fields_ = status_fields(doc);
}

void StatusBefore::full(const json& doc) { keep_status_fields(doc); }

void StatusBefore::delta(const json& doc, const json& ops) {
  if (level_ == Level::kStatusFields) return;
  if (!ops.is_array()) return keep_status_fields(doc);
  const json& labels = member_of(doc, "labels");
  for (const auto& op : ops) {
    std::string_view key;
    switch (effect(op, key)) {
      case OpEffect::kNone:
        continue;
      case OpEffect::kOther:
        return keep_status_fields(doc);
      case OpEffect::kOneLabel:
        break;
    }
    bool known = false;
    for (const auto& [k, v] : labels_) known = known || k == key;
    if (known) continue;  // the value before the whole message is kept
    const json& value = member_of(labels, key);
    if (!value.is_null() && !value.is_string()) return keep_status_fields(doc);
    labels_.emplace_back(std::string(key), value.is_string()
                                               ? std::optional(value.get<std::string>())
                                               : std::nullopt);
    level_ = Level::kLabelValues;
  }
}

bool StatusBefore::labels_changed(const json& after) const {
  switch (level_) {
    case Level::kNothing:
      return false;
    case Level::kStatusFields:
      return member_of(fields_, "labels") != member_of(after, "labels");
    case Level::kLabelValues:
      break;
  }
  const json& labels = member_of(after, "labels");
  for (const auto& [key, before] : labels_) {
    const json& now = member_of(labels, key);
    if (now.is_null() ? before.has_value()
                      : !now.is_string() || !before || now.get_ref<const std::string&>() != *before)
      return true;
  }
  return false;
}

bool StatusBefore::frozen_changed(const json& after) const {
  return level_ == Level::kStatusFields &&
         member_of(fields_, "frozen") != member_of(after, "frozen");
}

}  // namespace vigil::agent
