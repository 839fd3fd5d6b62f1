// RFC 6902 JSON Patch: a strict check of each operation against the current
// document, then a direct change of it.
//
// nlohmann's patch_inplace accepts some patches RFC 6902 rejects (it turns a
// null parent into an object, silently ignores a remove below a scalar, and
// asserts on an add below a scalar), so operations are checked and applied
// here. A patch of several operations works on a copy that replaces the
// caller's document only once every operation succeeded; a single operation
// (the usual heartbeat delta) is fully checked first and applied in place.
#include "patch/json_patch.h"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/container/small_vector.hpp>
#include <nlohmann/json.hpp>

namespace vigil::patch {
namespace {

using nlohmann::json;
// Inline up to 4 tokens: a node document path ("/labels/x") allocates no vector.
using Tokens = boost::container::small_vector<std::string, 4>;

enum class OpKind { kAdd, kRemove, kReplace, kMove, kCopy, kTest };

std::optional<OpKind> parse_kind(std::string_view name) {
  if (name == "add") return OpKind::kAdd;
  if (name == "remove") return OpKind::kRemove;
  if (name == "replace") return OpKind::kReplace;
  if (name == "move") return OpKind::kMove;
  if (name == "copy") return OpKind::kCopy;
  if (name == "test") return OpKind::kTest;
  return std::nullopt;
}

// One operation after the structural checks of RFC 6902 section 4.
struct Op {
  OpKind kind;
  const json* source;  // the operation object
  Tokens path;
  Tokens from;  // move and copy only
};

// Reason an operation failed; the caller adds the "op N (OP PATH)" prefix.
struct Failure {
  std::string reason;
};

// The string member `name` of `op`, or "?" when there is none.
std::string label_part(const json& op, const char* name) {
  if (!op.is_object()) return "?";
  auto it = op.find(name);
  return it != op.end() && it->is_string() ? it->get<std::string>() : std::string("?");
}

// "op N (OP PATH)", the prefix of every PatchError message.
std::string describe(std::size_t index, const json& op) {
  return "op " + std::to_string(index) + " (" + label_part(op, "op") + " " +
         label_part(op, "path") + ")";
}

// RFC 6901 section 3 and 4: splits a JSON pointer into unescaped tokens.
Tokens parse_pointer(const std::string& text, std::string_view member) {
  Tokens tokens;
  if (text.empty()) return tokens;
  if (text.front() != '/') {
    throw Failure{"'" + std::string(member) +
                  "' is not a JSON pointer: it must be empty or start "
                  "with '/' (RFC 6901 section 3)"};
  }
  std::string token;
  for (std::size_t i = 1; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == '/') {
      tokens.push_back(std::move(token));
      token.clear();
      continue;
    }
    if (text[i] != '~') {
      token += text[i];
      continue;
    }
    if (i + 1 < text.size() && (text[i + 1] == '0' || text[i + 1] == '1')) {
      token += text[i + 1] == '0' ? '~' : '/';
      ++i;
      continue;
    }
    throw Failure{"'" + std::string(member) +
                  "' has a '~' not followed by '0' or '1' (RFC 6901 section 3)"};
  }
  return tokens;
}

std::string render_pointer(const Tokens& tokens, std::size_t count) {
  std::string out;
  for (std::size_t i = 0; i < count; ++i) {
    out += '/';
    for (char c : tokens[i]) {
      if (c == '~') {
        out += "~0";
      } else if (c == '/') {
        out += "~1";
      } else {
        out += c;
      }
    }
  }
  return out.empty() ? std::string("the document root") : out;
}

const char* type_name(const json& v) { return v.type_name(); }

// RFC 6901 section 4: an array index is "0" or digits without a leading zero.
// Returns nullopt for "-" and for anything else that is not such an index.
std::optional<std::size_t> parse_index(const std::string& token, const Tokens& tokens,
                                       std::size_t depth) {
  if (token == "-") return std::nullopt;
  const bool digits = !token.empty() && token.find_first_not_of("0123456789") == std::string::npos;
  if (!digits || (token.size() > 1 && token.front() == '0')) {
    throw Failure{"'" + token + "' is not a valid array index at " + render_pointer(tokens, depth) +
                  " (RFC 6901 section 4: digits without leading zeros, or '-')"};
  }
  std::size_t value = 0;
  for (char c : token) {
    const auto digit = static_cast<std::size_t>(c - '0');
    if (value > (static_cast<std::size_t>(-1) - digit) / 10) {
      throw Failure{"array index '" + token + "' is out of range at " +
                    render_pointer(tokens, depth)};
    }
    value = value * 10 + digit;
  }
  return value;
}

// Resolves the first `count` tokens to an existing value (RFC 6901 section 4).
const json& resolve(const json& doc, const Tokens& tokens, std::size_t count) {
  const json* cur = &doc;
  for (std::size_t i = 0; i < count; ++i) {
    const std::string& token = tokens[i];
    if (cur->is_object()) {
      auto it = cur->find(token);
      if (it == cur->end()) {
        throw Failure{"path not found: no member '" + token + "' in " + render_pointer(tokens, i)};
      }
      cur = &*it;
    } else if (cur->is_array()) {
      const auto index = parse_index(token, tokens, i);
      if (!index) {
        throw Failure{"path not found: '-' names no existing element of " +
                      render_pointer(tokens, i)};
      }
      if (*index >= cur->size()) {
        throw Failure{"path not found: index " + token + " is out of range for " +
                      render_pointer(tokens, i) + " (size " + std::to_string(cur->size()) + ")"};
      }
      cur = &(*cur)[*index];
    } else {
      throw Failure{"path not found: " + render_pointer(tokens, i) + " is a " + type_name(*cur) +
                    ", not an object or array"};
    }
  }
  return *cur;
}

// RFC 6902 section 4.1: the target's parent must exist and be a container;
// in an array the last token is an index no greater than its size, or "-".
void check_add_target(const json& doc, const Tokens& path) {
  if (path.empty()) return;  // replaces the whole document
  const json& parent = resolve(doc, path, path.size() - 1);
  if (parent.is_object()) return;
  if (parent.is_array()) {
    const auto index = parse_index(path.back(), path, path.size() - 1);
    if (index && *index > parent.size()) {
      throw Failure{"index " + path.back() + " is out of range for " +
                    render_pointer(path, path.size() - 1) + " (size " +
                    std::to_string(parent.size()) + ")"};
    }
    return;
  }
  throw Failure{"parent " + render_pointer(path, path.size() - 1) + " is a " + type_name(parent) +
                ", not an object or array"};
}

bool is_proper_prefix(const Tokens& prefix, const Tokens& of) {
  if (prefix.size() >= of.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (prefix[i] != of[i]) return false;
  }
  return true;
}

const json& member(const json& op, const char* name) {
  auto it = op.find(name);
  if (it == op.end()) throw Failure{std::string("missing '") + name + "' member"};
  return *it;
}

const std::string& string_member(const json& op, const char* name) {
  const json& value = member(op, name);
  if (!value.is_string()) {
    throw Failure{std::string("'") + name + "' must be a string, got " + type_name(value)};
  }
  return value.get_ref<const std::string&>();
}

// RFC 6902 section 4: members and their types, pointer syntax. Independent of
// the document.
Op parse_op(const json& op) {
  if (!op.is_object()) {
    throw Failure{std::string("operation must be an object, got ") + type_name(op)};
  }
  const std::string& name = string_member(op, "op");
  const auto kind = parse_kind(name);
  if (!kind) throw Failure{"unknown op '" + name + "'"};
  Op parsed{*kind, &op, parse_pointer(string_member(op, "path"), "path"), {}};
  switch (*kind) {
    case OpKind::kAdd:
    case OpKind::kReplace:
    case OpKind::kTest:
      member(op, "value");
      break;
    case OpKind::kMove:
    case OpKind::kCopy:
      parsed.from = parse_pointer(string_member(op, "from"), "from");
      break;
    case OpKind::kRemove:
      break;
  }
  return parsed;
}

// The mutable container holding the last token of `path` (validated).
json& parent_of(json& doc, const Tokens& path) {
  return const_cast<json&>(resolve(doc, path, path.size() - 1));
}

// Section 4.1, after check_add_target(): inserts or replaces `value`.
void do_add(json& doc, const Tokens& path, json value) {
  if (path.empty()) {
    doc = std::move(value);
    return;
  }
  json& parent = parent_of(doc, path);
  if (parent.is_object()) {
    parent[path.back()] = std::move(value);
  } else if (path.back() == "-") {
    parent.push_back(std::move(value));
  } else {
    const auto index = parse_index(path.back(), path, path.size() - 1);
    parent.insert(parent.begin() + static_cast<std::ptrdiff_t>(*index), std::move(value));
  }
}

// Section 4.2, after resolve() found the target.
void do_remove(json& doc, const Tokens& path) {
  json& parent = parent_of(doc, path);
  if (parent.is_object())
    parent.erase(path.back());
  else
    parent.erase(*parse_index(path.back(), path, path.size() - 1));
}

// RFC 6902 section 5: applies one operation to `doc`. Every check happens
// before `doc` changes, except for move, whose add is checked after its
// remove (section 4.4).
void apply_op(json& doc, const Op& op) {
  const json& source = *op.source;
  switch (op.kind) {
    case OpKind::kAdd:
      check_add_target(doc, op.path);
      do_add(doc, op.path, source.at("value"));
      return;
    case OpKind::kRemove:
      if (op.path.empty()) throw Failure{"cannot remove the document root"};
      resolve(doc, op.path, op.path.size());
      do_remove(doc, op.path);
      return;
    case OpKind::kReplace: {
      json& target = const_cast<json&>(resolve(doc, op.path, op.path.size()));
      const json& value = source.at("value");
      // A string over a string reuses the old one's storage.
      if (target.is_string() && value.is_string())
        target.get_ref<std::string&>() = value.get_ref<const std::string&>();
      else
        target = value;
      return;
    }
    case OpKind::kTest:
      if (resolve(doc, op.path, op.path.size()) != source.at("value")) {
        throw Failure{"test failed: the value at the path differs"};
      }
      return;
    case OpKind::kCopy: {
      json value = resolve(doc, op.from, op.from.size());
      check_add_target(doc, op.path);
      do_add(doc, op.path, std::move(value));
      return;
    }
    case OpKind::kMove: {
      json value = resolve(doc, op.from, op.from.size());
      if (is_proper_prefix(op.from, op.path)) {
        throw Failure{
            "'from' is a proper prefix of 'path': a value cannot move into itself "
            "(RFC 6902 section 4.4)"};
      }
      if (op.from == op.path) return;
      // Section 4.4: a remove at "from" followed by an add at "path"; the add
      // is checked against the document after the removal.
      do_remove(doc, op.from);
      check_add_target(doc, op.path);
      do_add(doc, op.path, std::move(value));
      return;
    }
  }
}

}  // namespace

void apply_patch(json& doc, const json& ops) {
  if (!ops.is_array()) {
    throw PatchError(
        std::string("patch must be an array of operations (RFC 6902 section 3), got ") +
        ops.type_name());
  }
  boost::container::small_vector<Op, 2> parsed;  // a heartbeat delta is one op, or two
  for (std::size_t i = 0; i < ops.size(); ++i) {
    try {
      parsed.push_back(parse_op(ops[i]));
    } catch (const Failure& f) {
      throw PatchError(describe(i, ops[i]) + ": " + f.reason);
    }
  }
  // A single operation other than move is checked whole before it changes
  // anything, so it applies in place; otherwise work on a copy so a failure
  // half-way leaves `doc` untouched.
  const bool in_place = parsed.size() == 1 && parsed[0].kind != OpKind::kMove;
  json copy;
  if (!in_place) copy = doc;
  json& work = in_place ? doc : copy;
  for (std::size_t i = 0; i < parsed.size(); ++i) {
    try {
      apply_op(work, parsed[i]);
    } catch (const Failure& f) {
      throw PatchError(describe(i, ops[i]) + ": " + f.reason);
    } catch (const json::exception& e) {
      throw PatchError(describe(i, ops[i]) + ": " + e.what());
    }
  }
  if (!in_place) doc.swap(copy);
}

json diff(const json& from, const json& to) { return json::diff(from, to); }

}  // namespace vigil::patch
