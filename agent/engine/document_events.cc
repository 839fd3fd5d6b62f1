// The engine's side of node documents: a local commit, and a peer's change
// received as a full or deltas (mesh or gossip), published as NodeDataUpdated
// (seed 001) with the document shared, not copied (Event::value), then
// NodeStatusLabelsUpdated and NodeFrozen when StatusBefore says those
// fields changed. An event no one wants is counted, not built
// (EventBus::skip_unwanted).
#include "agent/engine/engine_impl.h"

#include <functional>
#include <memory>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "agent/engine/node_schema.h"
#include "agent/engine/status_before.h"

namespace vigil::agent {

using json = nlohmann::json;

void Engine::Impl::on_commit(const json& before, const json& ops) {
  const auto& doc = local_.document();
  saver_.save(doc.committed());
  StatusBefore status;
  status.full(before);
  publish_document_change(
      config_.node_name, status, std::make_shared<const json>(doc.committed()), doc.gen(),
      [&] { return ops; }, false);
  cb_.dataset_changed();
  if (gossip_)
    gossip_->committed(doc.gen(), ops);
  else
    send_now();
}

void Engine::Impl::publish_received(const std::string& node, const StatusBefore& before,
                                    const membership::Replicator::Received& r) {
  if (!r.changed()) return;
  publish_document_change(
      node, before, r.document, r.gen,
      [&r] {
        json ops;  // null: a full
        if (r.full) return ops;
        if (r.applied.size() == 1) return *r.applied.front().ops;  // one delta, the common case
        ops = json::array();
        for (const auto& d : r.applied)
          for (const auto& op : *d.ops) ops.push_back(op);
        return ops;
      },
      true);
}

void Engine::Impl::publish_document_change(const std::string& node, const StatusBefore& before,
                                           const std::shared_ptr<const json>& after, uint64_t gen,
                                           const std::function<json()>& patch, bool from_peer) {
  auto event = [&](std::string kind, json data, std::shared_ptr<const json> value = nullptr) {
    Event e{.kind = std::move(kind),
            .labels = {{"node", node}},
            .data = std::move(data),
            .value = std::move(value)};
    if (from_peer) e.labels.emplace("from", "peer");
    cb_.publish(std::move(e));
  };
  if (want_event("NodeDataUpdated")) {
    json data = {{"node", node}, {"gen", gen}};
    if (json ops = patch(); !ops.is_null())
      data["patch"] = std::move(ops);
    else
      data["full"] = true;
    // The document is shared with the dataset, not copied (Event::value).
    event("NodeDataUpdated", std::move(data), after);
  }
  const json& doc = *after;
  if (before.labels_changed(doc) && want_event("NodeStatusLabelsUpdated"))
    event("NodeStatusLabelsUpdated", {{"node", node}, {"labels", member_of(doc, "labels")}});
  if (before.frozen_changed(doc) && want_event("NodeFrozen"))
    event("NodeFrozen", {{"node", node},
                         {"frozen", member_of(doc, "frozen")},
                         {"frozen_at", member_of(doc, "frozen_at")}});
}

}  // namespace vigil::agent
