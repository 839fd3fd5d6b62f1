// The local node's own document: staging copy, commit to journaled deltas.
#include "patch/node_document.h"

#include <string>
#include <utility>
#include <vector>

#include "patch/json_patch.h"

namespace vigil::patch {

NodeDocument::NodeDocument(nlohmann::json initial, std::size_t journal_entries)
    : committed_(initial), staging_(std::move(initial)), journal_(journal_entries) {}

void NodeDocument::apply(const nlohmann::json& ops) { apply_patch(staging_, ops); }

void NodeDocument::set(const nlohmann::json::json_pointer& ptr, nlohmann::json value) {
  if (ptr.empty()) {
    staging_ = std::move(value);
    return;
  }
  std::vector<std::string> tokens;
  for (auto rest = ptr; !rest.empty(); rest.pop_back()) tokens.push_back(rest.back());
  // Once a missing parent is created every deeper one is created too, so no
  // error can follow a change: a failed set leaves the staging copy unchanged.
  nlohmann::json* cur = &staging_;
  nlohmann::json::json_pointer at;
  for (auto it = tokens.rbegin(); it != tokens.rend(); ++it) {
    if (!cur->is_object()) {
      throw PatchError("set " + ptr.to_string() + ": parent " +
                       (at.empty() ? std::string("(document root)") : at.to_string()) + " is a " +
                       cur->type_name() + ", not an object");
    }
    if (it + 1 == tokens.rend()) {
      (*cur)[*it] = std::move(value);
      return;
    }
    auto child = cur->find(*it);
    if (child == cur->end()) child = cur->emplace(*it, nlohmann::json::object()).first;
    cur = &*child;
    at.push_back(*it);
  }
}

std::optional<nlohmann::json> NodeDocument::commit() {
  nlohmann::json ops = diff(committed_, staging_);
  if (ops.empty()) return std::nullopt;
  journal_.append(ops);
  committed_ = staging_;
  return ops;
}

}  // namespace vigil::patch
