// The engine's side of the cluster's webhook set (membership/webhook_sync.h):
// local changes, entries merged from heartbeats, cluster.json saves, and who
// holds this node's version. Part of Engine::Impl (engine_impl.h).
#include <cstdio>

#include <spdlog/fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "agent/engine/engine_impl.h"

namespace vigil::agent {

using json = nlohmann::json;

void Engine::Impl::webhooks_received(const std::string& sender, const heartbeat::Message& msg,
                                     Clock::time_point now) {
  auto merged = webhooks_.on_message(sender, msg, now);
  if (merged.refused)
    spdlog::warn("{} webhook entries from {} refused (malformed)", merged.refused, sender);
  if (merged.changed.empty()) return;
  spdlog::info("webhooks changed by {}: {}", sender, fmt::join(merged.changed, ", "));
  webhooks_updated();
}

membership::WebhookEntry Engine::Impl::put_webhook(membership::WebhookEntry e) {
  auto out = webhooks_.put(std::move(e), config_.node_name, Clock::now());
  spdlog::info("webhook {} set here", out.url);
  webhooks_updated();
  send_soon();
  return out;
}

membership::WebhookEntry Engine::Impl::remove_webhook(const std::string& url) {
  auto out = webhooks_.remove(url, config_.node_name, Clock::now());
  spdlog::info("webhook {} deleted here", url);
  webhooks_updated();
  send_soon();
  return out;
}

void Engine::Impl::webhooks_updated() {
  save_cluster();
  if (cb_.webhooks_changed) cb_.webhooks_changed(webhooks_.set());
}

json Engine::Impl::webhook_sync() const {
  json nodes = json::array();
  for (const auto& name : config_.nodes) {
    const bool self = name == config_.node_name;
    nodes.push_back(
        {{"node", name},
         {"state", self ? std::string("alive") : std::string(to_string(peers_.state(name)))},
         {"in_sync", self || webhooks_.agreed(name)}});
  }
  char version[17];
  std::snprintf(version, sizeof version, "%016llx",
                static_cast<unsigned long long>(webhooks_.digest()));
  return {{"version", version}, {"nodes", std::move(nodes)}};
}

}  // namespace vigil::agent
