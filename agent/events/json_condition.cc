#include "agent/events/json_condition.h"

#include <algorithm>
#include <utility>

#include "agent/base/bounded_json.h"
#include "agent/events/dotted_path.h"
#include "agent/events/text_scan.h"

namespace vigil::agent {
namespace {

using Op = JsonCondition::Op;

// Each operator's spelling: what parse() reads, and why_not() writes.
constexpr std::pair<std::string_view, Op> kOps[] = {
    {"!=", Op::kNe}, {">=", Op::kGe}, {"<=", Op::kLe},
    {"=", Op::kEq},  {">", Op::kGt},  {"<", Op::kLt},
};

bool is_op_char(char c) { return c == '=' || c == '!' || c == '<' || c == '>'; }

bool is_truthy(const nlohmann::json& v) {
  switch (v.type()) {
    case nlohmann::json::value_t::null:
      return false;
    case nlohmann::json::value_t::boolean:
      return v.get<bool>();
    case nlohmann::json::value_t::number_integer:
      return v.get<int64_t>() != 0;
    case nlohmann::json::value_t::number_unsigned:
      return v.get<uint64_t>() != 0;
    case nlohmann::json::value_t::number_float:
      return v.get<double>() != 0.0;
    case nlohmann::json::value_t::string:
      return !v.get_ref<const std::string&>().empty();
    case nlohmann::json::value_t::array:
    case nlohmann::json::value_t::object:
      return !v.empty();
    default:
      return false;
  }
}

// Three-way comparison of two numbers or two strings; nullopt for other or
// mixed types.
std::optional<int> compare(const nlohmann::json& a, const nlohmann::json& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is_number_integer() && b.is_number_integer()) {
      auto wide = [](const nlohmann::json& v) -> __int128 {
        return v.is_number_unsigned() ? static_cast<__int128>(v.get<uint64_t>())
                                      : static_cast<__int128>(v.get<int64_t>());
      };
      const __int128 x = wide(a), y = wide(b);
      return x < y ? -1 : (x > y ? 1 : 0);
    }
    const double x = a.get<double>(), y = b.get<double>();
    if (x < y) return -1;
    if (x > y) return 1;
    if (x == y) return 0;
    return std::nullopt;  // NaN
  }
  if (a.is_string() && b.is_string()) {
    const int c = a.get_ref<const std::string&>().compare(b.get_ref<const std::string&>());
    return c < 0 ? -1 : (c > 0 ? 1 : 0);
  }
  return std::nullopt;
}

// A path segment as written in a condition: bare when it needs no quotes.
std::string segment_text(const std::string& name) {
  const bool bare =
      !name.empty() && name != "*" && name.find_first_of(".\"=!<>~ \t,#") == std::string::npos;
  return bare ? name
              : nlohmann::json(name).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// A value as why_not() prints it: JSON text cut at 200 bytes; an object or
// array nested deeper than 16 levels is named, not printed (printing
// recurses, and a document may nest deeper than the stack allows).
std::string value_text(const nlohmann::json& v) {
  constexpr std::size_t kMaxPrintedDepth = 16;
  if (v.is_structured() && json_depth(v) > static_cast<int>(kMaxPrintedDepth))
    return std::string(v.is_object() ? "an object" : "an array") + " of " +
           std::to_string(v.size()) + " nested deeper than " + std::to_string(kMaxPrintedDepth) +
           " levels";
  return excerpt(v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace

FilterError::FilterError(std::string_view text, std::string_view reason)
    : std::invalid_argument("invalid filter '" + excerpt(text) + "': " + std::string(reason)),
      reason_(reason) {}

JsonCondition JsonCondition::parse(std::string_view text) {
  JsonCondition c;
  c.text = std::string(text);
  const std::string_view s = trim(text);
  auto fail = [&](std::string_view reason) { throw FilterError(text, reason); };
  if (s.empty()) fail("empty condition");

  if (is_op_char(s[0])) fail("missing path before the operator");

  // The path runs to the first blank or operator character outside quotes.
  std::size_t pos = 0;
  while (pos < s.size() && !is_blank(s[pos]) && !is_op_char(s[pos])) {
    if (s[pos] == '"') {
      const std::size_t len = quoted_length(s.substr(pos));
      if (len == std::string_view::npos) fail("unterminated quoted path segment");
      pos += len;
    } else {
      ++pos;
    }
  }
  try {
    for (auto& name : split_dotted_path(s.substr(0, pos))) {
      Segment seg;
      seg.wildcard = name == "*";
      if (!name.empty() && name.find_first_not_of("0123456789") == std::string::npos &&
          name.size() < 19)
        seg.index = std::stoull(name);
      seg.name = std::move(name);
      c.path_.push_back(std::move(seg));
    }
  } catch (const std::invalid_argument& e) {
    fail(e.what());
  }

  while (pos < s.size() && is_blank(s[pos])) ++pos;
  if (pos == s.size()) return c;  // bare path: exists and is truthy

  // Operator.
  const std::string_view rest = s.substr(pos);
  if (rest.starts_with("==")) fail("unknown operator '==' (use '=')");
  // The operator is the whole run of operator characters ('~' included, for
  // the =~ of other tools): `.a<>1` or `.a=~1` is refused, not read as `<`
  // or `=` with a value of ">1" or "~1". A value that starts with one of
  // these characters is quoted: `.a="~1"`.
  std::size_t run = 0;
  while (run < rest.size() && (is_op_char(rest[run]) || rest[run] == '~')) ++run;
  std::size_t op_len = 0;
  for (const auto& [token, op] : kOps) {
    if (rest.substr(0, run) == token) {
      c.op_ = op;
      op_len = token.size();
      break;
    }
  }
  if (op_len == 0 && run > 0) fail("unknown operator '" + std::string(rest.substr(0, run)) + "'");
  if (op_len == 0) {
    fail("expected an operator (= != > < >= <=) after the path, got '" + std::string(rest) + "'");
  }

  // Value.
  const std::string_view value = trim(rest.substr(op_len));
  if (value.empty()) {
    fail("missing value after '" + std::string(rest.substr(0, op_len)) + "'");
  }
  c.value_text_ = std::string(value);
  try {
    c.value_ = parse_json_bounded(value, kMaxValueDepth);
  } catch (const JsonTooDeep& e) {
    fail(std::string("value: ") + e.what());
  }
  if (c.value_.is_discarded()) c.value_ = c.value_text_;
  return c;
}

bool JsonCondition::has_wildcard() const noexcept {
  for (const auto& seg : path_) {
    if (seg.wildcard) return true;
  }
  return false;
}

void JsonCondition::collect(const nlohmann::json* node, std::size_t i,
                            std::vector<const nlohmann::json*>& out) const {
  if (i == path_.size()) {
    out.push_back(node);  // nullptr: the path is missing
    return;
  }
  const Segment& seg = path_[i];
  if (seg.wildcard) {
    if (node != nullptr && (node->is_object() || node->is_array())) {
      for (const auto& child : *node) collect(&child, i + 1, out);
    }
    return;  // a missing node or a scalar has zero matches
  }
  const nlohmann::json* next = nullptr;
  if (node != nullptr) {
    if (node->is_object()) {
      if (auto it = node->find(seg.name); it != node->end()) next = &*it;
    } else if (node->is_array() && seg.index && *seg.index < node->size()) {
      next = &(*node)[*seg.index];
    }
  }
  collect(next, i + 1, out);
}

bool JsonCondition::equals(const nlohmann::json& v) const {
  if (v.is_string() && !value_.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    return s == value_text_ || s == value_.dump();
  }
  return v == value_;
}

bool JsonCondition::holds(const nlohmann::json* leaf) const {
  if (op_ == Op::kNe) return leaf == nullptr || !equals(*leaf);
  if (leaf == nullptr) return false;
  switch (op_) {
    case Op::kTruthy:
      return is_truthy(*leaf);
    case Op::kEq:
      return equals(*leaf);
    default:
      break;
  }
  const auto c = compare(*leaf, value_);
  if (!c) return false;
  switch (op_) {
    case Op::kGt:
      return *c > 0;
    case Op::kLt:
      return *c < 0;
    case Op::kGe:
      return *c >= 0;
    case Op::kLe:
      return *c <= 0;
    default:
      return false;
  }
}

bool JsonCondition::evaluate(const nlohmann::json& root) const {
  std::vector<const nlohmann::json*> leaves;
  collect(&root, 0, leaves);
  if (leaves.empty()) return false;
  for (const auto* leaf : leaves) {
    if (!holds(leaf)) return false;
  }
  return true;
}

bool JsonCondition::evaluate(const nlohmann::json& root, std::string_view key,
                             const nlohmann::json& member) const {
  if (!path_.empty() && !path_.front().wildcard) {
    if (path_.front().name != key) return evaluate(root);
    std::vector<const nlohmann::json*> leaves;
    collect(&member, 1, leaves);
    return !leaves.empty() &&
           std::all_of(leaves.begin(), leaves.end(), [&](const auto* l) { return holds(l); });
  }
  // The root itself or each of its members: rare enough to build it.
  nlohmann::json whole = root;
  whole[std::string(key)] = member;
  return evaluate(whole);
}

std::vector<std::string> JsonCondition::segments() const {
  std::vector<std::string> out;
  for (const auto& seg : path_) out.push_back(seg.wildcard ? std::string("*") : seg.name);
  return out;
}

bool JsonCondition::first_failure(const nlohmann::json* node, std::size_t i, std::string& where,
                                  const nlohmann::json*& leaf, bool& matched) const {
  // Plain segments in a loop, a wildcard by recursion (as collect()).
  for (; i < path_.size(); ++i) {
    const Segment& seg = path_[i];
    if (seg.wildcard) {
      if (node == nullptr || !(node->is_object() || node->is_array())) return false;
      const std::size_t mark = where.size();
      if (node->is_object()) {
        for (const auto& [key, child] : node->items()) {
          where += "." + segment_text(key);
          if (first_failure(&child, i + 1, where, leaf, matched)) return true;
          where.resize(mark);
        }
      } else {
        for (std::size_t k = 0; k < node->size(); ++k) {
          where += "." + std::to_string(k);
          if (first_failure(&(*node)[k], i + 1, where, leaf, matched)) return true;
          where.resize(mark);
        }
      }
      return false;
    }
    where += "." + segment_text(seg.name);
    const nlohmann::json* next = nullptr;
    if (node != nullptr) {
      if (node->is_object()) {
        if (auto it = node->find(seg.name); it != node->end()) next = &*it;
      } else if (node->is_array() && seg.index && *seg.index < node->size()) {
        next = &(*node)[*seg.index];
      }
    }
    node = next;
  }
  matched = true;
  if (holds(node)) return false;
  leaf = node;
  return true;
}

std::optional<std::string> JsonCondition::why_not(const nlohmann::json& root) const {
  std::string where;
  const nlohmann::json* leaf = nullptr;
  bool matched = false;
  if (!first_failure(&root, 0, where, leaf, matched)) {
    if (matched) return std::nullopt;
    std::string path;
    for (const auto& seg : path_) path += "." + (seg.wildcard ? "*" : segment_text(seg.name));
    return excerpt(path) + " matches nothing";
  }
  if (where.empty()) where = ".";
  std::string wanted = "a true value";
  if (op_ == Op::kEq)
    wanted = value_text(value_);
  else if (op_ != Op::kTruthy)
    for (const auto& [text, op] : kOps)
      if (op == op_) wanted = std::string(text) + " " + value_text(value_);
  return excerpt(where) + " is " + (leaf ? value_text(*leaf) : std::string("missing")) +
         ", wanted " + wanted;
}

}  // namespace vigil::agent
