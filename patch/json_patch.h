// RFC 6902 JSON Patch application, atomic: a patch either applies whole or
// leaves the document untouched.
#ifndef VIGIL_PATCH_JSON_PATCH_H_
#define VIGIL_PATCH_JSON_PATCH_H_

#include <stdexcept>

#include <nlohmann/json_fwd.hpp>

namespace vigil::patch {

/// Thrown when a patch is malformed (RFC 6902 section 4: missing or bad
/// members, bad JSON pointer per RFC 6901) or cannot apply (section 5: a
/// path that does not exist, a failed "test"). what() names the op index and
/// the reason, e.g. "op 2 (replace /a/b): path not found".
class PatchError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Validates `ops` (an array of operation objects: add, remove, replace,
/// move, copy, test) and applies them in order to `doc`. On any error throws
/// PatchError and `doc` is unchanged.
void apply_patch(nlohmann::json& doc, const nlohmann::json& ops);

/// RFC 6902 ops that turn `from` into `to` (nlohmann::json::diff).
nlohmann::json diff(const nlohmann::json& from, const nlohmann::json& to);

}  // namespace vigil::patch

#endif  // VIGIL_PATCH_JSON_PATCH_H_
