#include "agent/event.h"

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
  return nlohmann::json{{"kind", e.kind},
                        {"id", e.id},
                        {"at", e.at},
                        {"labels", std::move(labels)},
                        {"data", e.data.is_null() ? nlohmann::json::object() : e.data}};
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

std::string format_rfc3339(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  const auto ms_since_epoch = floor<milliseconds>(t.time_since_epoch()).count();
  // floor division so times before 1970 keep a non-negative millisecond part.
  int64_t secs = ms_since_epoch / 1000;
  int64_t millis = ms_since_epoch % 1000;
  if (millis < 0) {
    millis += 1000;
    secs -= 1;
  }
  const std::time_t tt = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(millis));
  return buf;
}

std::string now_rfc3339() { return format_rfc3339(std::chrono::system_clock::now()); }

}  // namespace vigil::agent
