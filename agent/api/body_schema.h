// The shape a route accepts as its JSON body, checked before the handler
// runs: the root type, and for an object each field's type and bounds. A
// wrong type, a missing required field or an unknown field is refused with
// the field's name, for the 400 answer {"error": "...", "field": "..."}.
#ifndef VIGIL_AGENT_API_BODY_SCHEMA_H_
#define VIGIL_AGENT_API_BODY_SCHEMA_H_

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace vigil::agent {

struct FieldSpec {
  enum class Type {
    kString,
    kInteger,      // a JSON integer (not a float), within [min, max]
    kStringArray,  // an array of strings
    kAny,          // any JSON value, null included
  };
  std::string name;
  Type type = Type::kString;
  bool required = false;
  int64_t min = std::numeric_limits<int64_t>::min();
  int64_t max = std::numeric_limits<int64_t>::max();
};

struct BodySchema {
  enum class Root {
    kNone,    // no body (an empty body, or `{}`)
    kObject,  // an object with `fields`, and no other key
    kArray,   // an array (its items are the handler's to check)
  };
  Root root = Root::kNone;
  std::vector<FieldSpec> fields;  // kObject
  bool optional = false;          // kObject: an empty body is also accepted
};

struct SchemaError {
  std::string error;  // e.g. "duration_ms: expected an integer"
  std::string field;  // "duration_ms"; empty for the body as a whole
};

/// Checks `body` (null when the request had none) against `schema`.
/// Returns the first violation, or nothing when the body fits.
std::optional<SchemaError> check_body(const nlohmann::json& body, const BodySchema& schema);

}  // namespace vigil::agent

#endif  // VIGIL_AGENT_API_BODY_SCHEMA_H_
