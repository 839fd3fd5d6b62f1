// "PATH OP VALUE" assertions on a JSON document. Event filters evaluate them
// against an event's .data (seed 001 "<jsonpath><op><value>" elements);
// `vigil node wait --filter` evaluates one against the cluster dataset root
// (seed 002 "Waiting for data change events").
#ifndef VIGIL_AGENT_EVENTS_JSON_CONDITION_H_
#define VIGIL_AGENT_EVENTS_JSON_CONDITION_H_

#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace vigil::agent {

/// A filter or condition that does not parse.
/// what() is "invalid filter '<text>': <reason>".
class FilterError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
  /// Builds the "invalid filter '<text>': <reason>" message; a text above
  /// 200 bytes is cut there.
  FilterError(std::string_view text, std::string_view reason);
  /// The reason part alone; empty when built from a plain message.
  const std::string& reason() const noexcept { return reason_; }

 private:
  std::string reason_;
};

/// One assertion `PATH [OP VALUE]`, spaces allowed around OP.
///
/// PATH: an optional leading '.', then segments separated by '.'. A segment
/// may be double-quoted (JSON string syntax) to hold '.', '#', '=' or spaces:
/// `.resources."fs#1".avail`. An unquoted `*` matches every member of an
/// object or element of an array; a segment made of digits also indexes an
/// array. A lone "." is the root itself.
///
/// OP: one of `=` `!=` `>` `<` `>=` `<=`. VALUE (the rest, trimmed, required)
/// is read as JSON when it parses (`1`, `true`, `"x"`, `null`, `{"a":1}`),
/// otherwise as a string (`r7` is "r7").
///
/// Without OP the condition holds when the path exists and is truthy: not
/// null, false, 0, "" or an empty array/object (seed 002:
/// `node wait --filter "monitor.nuc-cva.frozen"`).
///
/// Semantics per matched value:
///  - `=`/`!=`: JSON equality (1 = 1.0), except that a JSON string compared
///    with a non-string VALUE compares text forms ("1" = 1 holds);
///  - `>` `<` `>=` `<=`: numbers numerically, strings lexicographically
///    (byte order); other or mixed types do not hold;
///  - a missing path: `=`, ordering and the bare form do not hold, `!=` holds.
/// With `*`, every match must hold and zero matches never hold.
/// A default-constructed condition (empty text) tests that the root is truthy.
struct JsonCondition {
  enum class Op { kTruthy, kEq, kNe, kGt, kLt, kGe, kLe };

  /// Parses `text`. Throws FilterError ("invalid filter '<text>': <reason>")
  /// on an empty text, empty or unterminated path segment, unknown operator,
  /// a missing value, or a JSON value nesting deeper than kMaxValueDepth.
  static JsonCondition parse(std::string_view text);
  /// Nesting a JSON value may have (kept below what comparison can recurse).
  static constexpr int kMaxValueDepth = 64;

  /// Evaluates against `root` (an event's .data, or the dataset root).
  bool evaluate(const nlohmann::json& root) const;
  /// Evaluates against `root` with its member `key` set to `member` (added
  /// or replaced), without building that object: how an event's data is
  /// seen when its value is shared (Event::value). `root` must be an object.
  bool evaluate(const nlohmann::json& root, std::string_view key,
                const nlohmann::json& member) const;

  /// Why the condition does not hold on `root`, or nullopt when it holds.
  /// Names the first match that fails, with `*` replaced by the member or
  /// index it matched, its value (JSON text, or "missing") and what was
  /// wanted, e.g. `.peers.n3.state is "stale", wanted "alive"`,
  /// `.node.n1.labels.rack is missing, wanted "r7"`, `.a is 3, wanted > 5`,
  /// `.a is 0, wanted a true value`, or `.peers.* matches nothing`. A value
  /// printed is cut at 200 bytes.
  std::optional<std::string> why_not(const nlohmann::json& root) const;

  /// The path's segments as written, unquoted (`*` for a wildcard).
  std::vector<std::string> segments() const;

  /// The condition as given to parse().
  std::string text;

  Op op() const noexcept { return op_; }
  /// The comparison value (null for Op::kTruthy).
  const nlohmann::json& value() const noexcept { return value_; }
  /// True when the path has a `*` segment.
  bool has_wildcard() const noexcept;

 private:
  struct Segment {
    std::string name;
    bool wildcard = false;
    std::optional<std::size_t> index;  // set when `name` is all digits
  };

  void collect(const nlohmann::json* node, std::size_t i,
               std::vector<const nlohmann::json*>& out) const;
  // Walks the matches as collect() does, in order, and stops at the first
  // that does not hold: true, with its concrete dotted path appended to
  // `where` and its value in `leaf` (nullptr: missing). `matched` is set
  // when some match was seen.
  bool first_failure(const nlohmann::json* node, std::size_t i, std::string& where,
                     const nlohmann::json*& leaf, bool& matched) const;
  bool holds(const nlohmann::json* leaf) const;
  bool equals(const nlohmann::json& v) const;

  std::vector<Segment> path_;
  Op op_ = Op::kTruthy;
  nlohmann::json value_;
  std::string value_text_;
};

}  // namespace vigil::agent

#endif  // VIGIL_AGENT_EVENTS_JSON_CONDITION_H_
