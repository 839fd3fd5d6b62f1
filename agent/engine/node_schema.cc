#include "agent/engine/node_schema.h"

#include <string_view>

namespace vigil::agent {

using json = nlohmann::json;

namespace {

constexpr std::size_t kFieldCount = 6;

// Whether `value` has the type of daemon field `field`; false for any other field.
bool daemon_field_ok(std::string_view field, const json& value) {
  if (field == "version" || field == "boot_at") return value.is_string();
  if (field == "frozen") return value.is_boolean();
  if (field == "frozen_at") return value.is_string() || value.is_null();
  return false;
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

}  // namespace

std::optional<std::string> node_document_error(const json& doc) {
  if (!doc.is_object()) return "/: the document must be an object";
  for (const auto& [key, value] : doc.items()) {
    if (key == "labels") {
      if (!value.is_object()) return "/labels: must be an object of strings";
      for (const auto& [label, v] : value.items())
        if (!v.is_string()) return "/labels/" + label + ": label values are strings";
    } else if (key == "data") {
      if (!value.is_object()) return "/data: must be an object";
    } else if (!daemon_field_ok(key, value)) {
      return "/" + key +
             (key == "version" || key == "boot_at" || key == "frozen" || key == "frozen_at"
                  ? ": wrong type"
                  : ": not a field of the node document");
    }
  }
  if (doc.size() != kFieldCount) return "/: a field of the node document is missing";
  return std::nullopt;
}

bool delta_keeps_schema(const json& ops) {
  if (!ops.is_array()) return false;
  for (const auto& op : ops) {
    if (!op.is_object()) return false;
    auto path_it = op.find("path");
    auto op_it = op.find("op");
    if (path_it == op.end() || op_it == op.end() || !path_it->is_string() || !op_it->is_string())
      return false;
    const std::string& path = path_it->get_ref<const std::string&>();
    const std::string& name = op_it->get_ref<const std::string&>();
    if (name == "test") continue;
    if (name == "move" || name == "copy") {
      // Only within /data: the source is removed from, or read in, /data.
      auto from = op.find("from");
      if (from == op.end() || !from->is_string() ||
          !starts_with(from->get_ref<const std::string&>(), "/data/") ||
          !starts_with(path, "/data/"))
        return false;
      continue;
    }
    if (starts_with(path, "/data/")) continue;
    const auto value = op.find("value");
    if (starts_with(path, "/labels/")) {
      // One label, not below one.
      if (path.find('/', 8) != std::string::npos) return false;
      if (name == "remove") continue;
      if ((name == "add" || name == "replace") && value != op.end() && value->is_string()) continue;
      return false;
    }
    if (name == "replace" && path.size() > 1 && value != op.end() &&
        daemon_field_ok(std::string_view(path).substr(1), *value))
      continue;
    return false;
  }
  return true;
}

const json& member_of(const json& doc, std::string_view key) {
  static const json kAbsent;
  if (!doc.is_object()) return kAbsent;
  auto it = doc.find(key);
  return it == doc.end() ? kAbsent : *it;
}

json status_fields(const json& doc) {
  if (!doc.is_object()) return nullptr;
  json out = json::object();
  for (const char* key : {"labels", "frozen", "frozen_at"})
    if (auto it = doc.find(key); it != doc.end()) out[key] = *it;
  return out;
}

}  // namespace vigil::agent
