// Event filter expressions of `vigil node events --filter`, SSE subscriptions
// and waits. Grammar from seed 001 ("Filtering"):
//   <element>[,<element>...]
// where an element is
//   Kind               keep events of this kind (kinds are OR'ed; none = all)
//   key=value          the event's label `key` must equal `value` (AND)
//   .json.path OP val  assertion on the event's .data (AND), see JsonCondition
// Commas inside double quotes do not split elements, so
//   InstanceStatusUpdated,path=svc1,.instance_status.resources."fs#1".avail="up"
// is three elements.
#ifndef VIGIL_AGENT_EVENTS_EVENT_FILTER_H_
#define VIGIL_AGENT_EVENTS_EVENT_FILTER_H_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "agent/events/event.h"
#include "agent/events/json_condition.h"

namespace vigil::agent {

/// One parsed --filter expression.
class EventFilter {
 public:
  /// Parses `expr`. Elements are trimmed of surrounding spaces.
  /// - A Kind is an identifier: an uppercase ASCII letter then letters,
  ///   digits or '_'.
  /// - A label key (no leading '.') is made of letters, digits, '_', '-',
  ///   '.', '/'; its value is the rest of the element, taken literally, or a
  ///   JSON string when double-quoted; it must not be empty.
  /// - An element starting with '.' is a JsonCondition on .data.
  /// Throws FilterError ("invalid filter '<expr>': <reason>") for an empty
  /// expression, an empty element, a label with an operator other than '=',
  /// a malformed data assertion, or anything else.
  static EventFilter parse(std::string_view expr);

  /// True when the event's kind is listed (or no kind is listed), every
  /// label matches and every data assertion holds on e.data.
  bool matches(const Event& e) const;
  /// False when no event of `kind` can match (kinds are listed and `kind` is
  /// not one of them): asked before such an event is built.
  bool may_match(std::string_view kind) const;

  /// The expression as given.
  const std::string& text() const { return text_; }
  /// Kinds listed, in order; empty means every kind.
  const std::vector<std::string>& kinds() const { return kinds_; }
  /// (key, value) label matches, in order.
  const std::vector<std::pair<std::string, std::string>>& labels() const { return labels_; }
  /// Data assertions, in order.
  const std::vector<JsonCondition>& conditions() const { return conditions_; }

 private:
  std::string text_;
  std::vector<std::string> kinds_;
  std::vector<std::pair<std::string, std::string>> labels_;
  std::vector<JsonCondition> conditions_;
};

/// Several --filter flags: an event passes when any filter matches it.
/// An empty set matches every event.
class EventFilterSet {
 public:
  /// Parses each expression (throws FilterError on the first bad one).
  static EventFilterSet parse(const std::vector<std::string>& exprs);

  void add(EventFilter f);
  bool matches(const Event& e) const;
  /// False when no filter can match an event of `kind` (EventFilter::may_match);
  /// true for an empty set.
  bool may_match(std::string_view kind) const;
  bool empty() const { return filters_.empty(); }
  /// The filters' texts, in the order added (the "filters" of ClientSubscribed).
  std::vector<std::string> texts() const;
  const std::vector<EventFilter>& filters() const { return filters_; }

 private:
  std::vector<EventFilter> filters_;
};

}  // namespace vigil::agent

#endif  // VIGIL_AGENT_EVENTS_EVENT_FILTER_H_
