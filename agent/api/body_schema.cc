#include "agent/api/body_schema.h"

#include <nlohmann/json.hpp>

namespace vigil::agent {

namespace {

std::optional<SchemaError> check_field(const nlohmann::json& v, const FieldSpec& f) {
  auto fail = [&](const std::string& why) {
    return std::optional<SchemaError>(SchemaError{f.name + ": " + why, f.name});
  };
  switch (f.type) {
    case FieldSpec::Type::kString:
      if (!v.is_string()) return fail("expected a string");
      break;
    case FieldSpec::Type::kInteger: {
      if (!v.is_number_integer()) return fail("expected an integer");
      const std::string range =
          "expected an integer from " + std::to_string(f.min) + " to " + std::to_string(f.max);
      if (v.is_number_unsigned() &&
          v.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        return fail(range);
      const int64_t n = v.get<int64_t>();
      if (n < f.min || n > f.max) return fail(range);
      break;
    }
    case FieldSpec::Type::kStringArray:
      if (!v.is_array()) return fail("expected an array of strings");
      for (const auto& item : v)
        if (!item.is_string()) return fail("expected an array of strings");
      break;
    case FieldSpec::Type::kAny:
      break;
  }
  return std::nullopt;
}

}  // namespace

std::optional<SchemaError> check_body(const nlohmann::json& body, const BodySchema& schema) {
  const bool empty = body.is_null() || (body.is_object() && body.empty());
  switch (schema.root) {
    case BodySchema::Root::kNone:
      if (!empty) return SchemaError{"this route takes no body", ""};
      return std::nullopt;
    case BodySchema::Root::kArray:
      if (!body.is_array()) return SchemaError{"expected a JSON array", ""};
      return std::nullopt;
    case BodySchema::Root::kObject:
      break;
  }
  if (body.is_null() && schema.optional) return std::nullopt;
  if (!body.is_object()) return SchemaError{"expected a JSON object", ""};
  for (const auto& [key, value] : body.items()) {
    const FieldSpec* spec = nullptr;
    for (const auto& f : schema.fields)
      if (f.name == key) spec = &f;
    if (!spec) return SchemaError{key + ": unknown field", key};
    if (auto e = check_field(value, *spec)) return e;
  }
  for (const auto& f : schema.fields)
    if (f.required && !body.contains(f.name))
      return SchemaError{f.name + ": required field missing", f.name};
  return std::nullopt;
}

}  // namespace vigil::agent
