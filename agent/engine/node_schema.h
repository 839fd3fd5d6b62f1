// The node document schema, as a receiver checks it (README "Node
// documents"): an object with exactly these fields
//
//   labels     object of strings     written by `node set` / `node patch`
//   data       object                written by `node set` / `node patch`
//   version    string                the daemon's
//   boot_at    string (RFC 3339)     the daemon's
//   frozen     bool                  the daemon's (`node freeze`)
//   frozen_at  string or null        the daemon's
//
// A peer's document that breaks it is refused on receipt and counted
// (membership/replicator.h); it never reaches the dataset, events or hooks.
// The local node's changes are checked by local_document.h, with messages
// for the client.
#ifndef VIGIL_AGENT_ENGINE_NODE_SCHEMA_H_
#define VIGIL_AGENT_ENGINE_NODE_SCHEMA_H_

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "membership/replicator.h"

namespace vigil::agent {

/// "<JSON pointer>: <reason>" for the first field that breaks the schema,
/// or std::nullopt when `doc` follows it.
std::optional<std::string> node_document_error(const nlohmann::json& doc);

/// True when applying `ops` (an RFC 6902 array) to a document that follows
/// the schema surely leaves it following it: every op writes below /data,
/// adds, replaces or removes one label with a string value, or replaces a
/// daemon field with a value of its type. Cheap: no copy is needed then.
bool delta_keeps_schema(const nlohmann::json& ops);

/// The fields of `doc` whose change has an event of its own besides
/// NodeDataUpdated (seed 001: NodeStatusLabelsUpdated for labels, NodeFrozen
/// for frozen and frozen_at), copied into an object; null when `doc` is not
/// an object. What StatusBefore keeps of a document before a change that
/// may touch them beyond single labels.
nlohmann::json status_fields(const nlohmann::json& doc);

/// The member `key` of `doc`, or null when `doc` is not an object or has no
/// such member: a field of a node document, present or not, as the status
/// events compare and report it.
const nlohmann::json& member_of(const nlohmann::json& doc, std::string_view key);

/// The schema as the replicator's check of received documents.
class NodeSchemaCheck final : public membership::DocumentCheck {
 public:
  std::optional<std::string> refuse(const nlohmann::json& doc) const override {
    return node_document_error(doc);
  }
  bool keeps_valid(const nlohmann::json& ops) const override { return delta_keeps_schema(ops); }
};

}  // namespace vigil::agent

#endif  // VIGIL_AGENT_ENGINE_NODE_SCHEMA_H_
