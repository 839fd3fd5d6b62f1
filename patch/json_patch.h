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
///
/// Stricter than nlohmann::json::patch, as RFC 6902 requires: every member an
/// op needs ("op", "path", "value", "from") must be present with the right
/// type; array indices are "0" or digits without a leading zero (RFC 6901
/// section 4); "-" only names the append position of an "add" target; an
/// add's parent must exist and be an object or array (never null or a
/// scalar, never created); "from" may not be a proper prefix of a move's
/// "path" (section 4.4); the document root cannot be removed. Members not
/// defined for an op are ignored (section 4).
void apply_patch(nlohmann::json& doc, const nlohmann::json& ops);

/// RFC 6902 ops that turn `from` into `to` (nlohmann::json::diff).
nlohmann::json diff(const nlohmann::json& from, const nlohmann::json& to);

}  // namespace vigil::patch

#endif  // VIGIL_PATCH_JSON_PATCH_H_
