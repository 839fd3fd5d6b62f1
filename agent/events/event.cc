#include "agent/events/event.h"

#include <cstdio>
#include <ctime>
#include <stdexcept>

namespace vigil::agent {
namespace {

[[noreturn]] void bad_shape(const std::string& reason) {
  throw std::invalid_argument("invalid event: " + reason);
}

}  // namespace

nlohmann::json to_json(const Event& e) {
  nlohmann::json labels = nlohmann::json::object();
  for (const auto& [k, v] : e.labels) labels[k] = v;
  nlohmann::json data = e.data.is_null() ? nlohmann::json::object() : e.data;
  if (e.value && data.is_object()) data["value"] = *e.value;
  return nlohmann::json{{"kind", e.kind},
                        {"id", e.id},
                        {"at", e.at},
                        {"labels", std::move(labels)},
                        {"data", std::move(data)}};
}

Event event_from_json(const nlohmann::json& j) {
  if (!j.is_object()) bad_shape("expected a JSON object");
  Event e;

  auto kind = j.find("kind");
  if (kind == j.end()) bad_shape("missing \"kind\"");
  if (!kind->is_string() || kind->get_ref<const std::string&>().empty()) {
    bad_shape("\"kind\" must be a non-empty string");
  }
  e.kind = kind->get<std::string>();

  if (auto id = j.find("id"); id != j.end()) {
    // nlohmann keeps integers built from signed C++ values as signed.
    if (!id->is_number_integer() || (!id->is_number_unsigned() && id->get<int64_t>() < 0)) {
      bad_shape("\"id\" must be a non-negative integer");
    }
    e.id = id->get<uint64_t>();
  }
  if (auto at = j.find("at"); at != j.end()) {
    if (!at->is_string()) bad_shape("\"at\" must be a string");
    e.at = at->get<std::string>();
  }
  if (auto labels = j.find("labels"); labels != j.end() && !labels->is_null()) {
    if (!labels->is_object()) bad_shape("\"labels\" must be an object of strings");
    for (const auto& [k, v] : labels->items()) {
      if (!v.is_string()) bad_shape("label \"" + k + "\" must be a string");
      e.labels.emplace(k, v.get<std::string>());
    }
  }
  if (auto data = j.find("data"); data != j.end() && !data->is_null()) {
    if (!data->is_object()) bad_shape("\"data\" must be an object");
    e.data = *data;
  }
  return e;
}

}  // namespace vigil::agent
