// The event record carried by the event bus, the SSE stream, hooks (stdin and
// $EVENT) and `vigil node events`. Kind names follow OpenSVC (seed 001).
#ifndef VIGIL_AGENT_EVENTS_EVENT_H_
#define VIGIL_AGENT_EVENTS_EVENT_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

namespace vigil::agent {

/// One event. Its JSON form is
///   {"kind": "NodeStale", "id": 42, "at": "2026-11-22T14:26:00.123Z",
///    "labels": {"node": "n2"}, "data": {...}}
struct Event {
  /// Event kind, an identifier starting with an uppercase letter
  /// (seed 001 list: "NodeAlive", "NodeStale", "ClientSubscribed", "Exec"...).
  std::string kind;
  /// Assigned by the bus: 1, 2, 3... increasing over one daemon run.
  uint64_t id = 0;
  /// Wall time, RFC 3339 UTC with milliseconds ("2026-11-22T14:26:00.123Z").
  /// Set by the bus at publication when empty.
  std::string at;
  /// String labels used by `key=value` filter elements. labels["node"] is the
  /// subject node (the publishing node when not set); labels["from"] is
  /// "peer" for data learned over heartbeats.
  std::map<std::string, std::string> labels;
  /// Kind-specific payload, always a JSON object; `.path` filter elements
  /// are evaluated against it.
  nlohmann::json data = nlohmann::json::object();
  /// data["value"] when the publisher shares it instead of copying it into
  /// `data`, which then has no "value" member: an immutable snapshot, such as
  /// the node document of NodeDataUpdated, which the dataset holds too. A
  /// heartbeat that changes a document then costs no copy of it. to_json()
  /// writes it at data.value and event filters read it there, so consumers
  /// see one shape; code reading `data` directly must look here first.
  std::shared_ptr<const nlohmann::json> value;
};

/// The JSON form above; every key is always present (data.value from
/// Event::value when set).
nlohmann::json to_json(const Event& e);

/// Reads the JSON form back. "kind" is required (a non-empty string);
/// "id" (unsigned integer), "at" (string), "labels" (object of strings) and
/// "data" (object, or null for empty) are optional; other keys are ignored.
/// Throws std::invalid_argument("invalid event: <reason>") on another shape.
Event event_from_json(const nlohmann::json& j);

}  // namespace vigil::agent

#endif  // VIGIL_AGENT_EVENTS_EVENT_H_
