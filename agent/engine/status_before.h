// What a node document held, before a change, of the fields whose change has
// an event of its own besides NodeDataUpdated (seed 001: NodeStatusLabelsUpdated
// for labels, NodeFrozen for frozen and frozen_at), recorded as cheaply as the
// change allows and compared with the document after it.
#ifndef VIGIL_AGENT_ENGINE_STATUS_BEFORE_H_
#define VIGIL_AGENT_ENGINE_STATUS_BEFORE_H_

#include <optional>
#include <string>
#include <utility>

#include <boost/container/small_vector.hpp>
#include <nlohmann/json.hpp>

namespace vigil::agent {

/// Records, before a change of `doc`, what the change may alter of its
/// status fields, then says what it did alter. Three levels, the cheapest
/// that is exact:
///  - nothing: no delta writes /labels, /frozen or /frozen_at (most
///    heartbeats change /data): nothing is kept;
///  - label values: every delta op that touches the status fields adds,
///    replaces, removes or tests one label (`/labels/<key>`): the previous
///    value of each such key is kept (a string, or absent);
///  - the status fields (status_fields() of node_schema.h): a full, or any
///    other delta op on them (the whole /labels, /frozen, a move or copy).
/// Record every delta of a message before applying any of them: the
/// comparison is with the document before the whole message.
class StatusBefore {
 public:
  /// Nothing recorded: labels_changed() and frozen_changed() are false.
  StatusBefore() = default;

  /// A full replaces `doc`: keeps its status fields.
  void full(const nlohmann::json& doc);
  /// The RFC 6902 `ops` of one delta will apply to `doc`.
  void delta(const nlohmann::json& doc, const nlohmann::json& ops);

  /// True when `after` differs from the document recorded in its labels.
  bool labels_changed(const nlohmann::json& after) const;
  /// True when `after` differs from the document recorded in frozen.
  bool frozen_changed(const nlohmann::json& after) const;

 private:
  enum class Level { kNothing, kLabelValues, kStatusFields };
  void keep_status_fields(const nlohmann::json& doc);

  Level level_ = Level::kNothing;
  // kLabelValues: each label key touched, with its value before (nullopt:
  // absent). Keys and values are short: no allocation for a few of them.
  boost::container::small_vector<std::pair<std::string, std::optional<std::string>>, 2> labels_;
  nlohmann::json fields_;  // kStatusFields
};

}  // namespace vigil::agent

#endif  // VIGIL_AGENT_ENGINE_STATUS_BEFORE_H_
