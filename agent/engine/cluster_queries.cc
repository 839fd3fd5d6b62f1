// The engine's side of cluster queries (membership/cluster_query.h): asked
// here, run here for a peer (Callbacks::query), answered, spread. Part of
// Engine::Impl (engine_impl.h).
#include <spdlog/spdlog.h>

#include "agent/engine/engine_impl.h"

namespace vigil::agent {

using json = nlohmann::json;

std::string Engine::Impl::ask(const std::string& kind, json args) {
  membership::Query q{.id = config_.node_name + "-" + std::to_string(boot_) + "-" +
                            std::to_string(++queries_asked_),
                      .from = config_.node_name,
                      .kind = kind,
                      .args = std::move(args)};
  const std::string id = q.id;
  if (!queries_.ask(std::move(q), Clock::now())) return "";
  send_soon();
  return id;
}

void Engine::Impl::answer_query(const std::string& id, json answer) {
  if (!queries_.answer({.id = id, .node = config_.node_name, .answer = std::move(answer)},
                       Clock::now()))
    spdlog::warn("answer to query {} not spread: over the size bound", id);
  send_soon();
}

void Engine::Impl::queries_received(const std::string& sender, const heartbeat::Message& msg,
                                    Clock::time_point now) {
  if (msg.queries.is_null() && msg.query_answers.is_null()) return;
  const std::size_t refused = queries_.refused();
  for (auto& q : queries_.on_message(msg, now)) {
    spdlog::debug("query {} ({}) from {}, heard from {}", q.id, q.kind, q.from, sender);
    if (cb_.query) cb_.query(q);
  }
  if (queries_.refused() != refused)
    spdlog::warn("{} query entries from {} refused (malformed or over a bound)",
                 queries_.refused() - refused, sender);
}

}  // namespace vigil::agent
