#include "agent/api/waits.h"

#include <utility>

#include <boost/asio/post.hpp>
#include <nlohmann/json.hpp>

namespace vigil::agent {

namespace asio = boost::asio;

Waits::Waits(asio::io_context& io, std::size_t max_waits, std::function<nlohmann::json()> dataset)
    : io_(io), max_(max_waits), dataset_(std::move(dataset)) {}

Waits::~Waits() { *alive_ = false; }

std::optional<std::string> Waits::why_not(const std::vector<JsonCondition>& conditions,
                                          const nlohmann::json& dataset) {
  for (const auto& c : conditions)
    if (auto why = c.why_not(dataset)) return why;
  return std::nullopt;
}

namespace {
bool all_hold(const std::vector<JsonCondition>& conditions, const nlohmann::json& dataset) {
  for (const auto& c : conditions)
    if (!c.evaluate(dataset)) return false;
  return true;
}
}  // namespace

void Waits::start(const std::shared_ptr<ApiExchange>& ex, std::vector<JsonCondition> conditions,
                  std::chrono::milliseconds duration) {
  if (all_hold(conditions, dataset_())) return ex->reply(200, {{"ok", true}});
  if (waits_.size() >= max_)
    return ex->reply(503, {{"error", "too many waits (" + std::to_string(max_) + ")"}});
  const uint64_t id = ++seq_;
  auto& wait =
      waits_.emplace(id, Wait{std::move(conditions), ex, std::make_unique<asio::steady_timer>(io_)})
          .first->second;
  wait.timer->expires_after(duration);
  wait.timer->async_wait([this, id](boost::system::error_code ec) {
    auto it = waits_.find(id);
    if (ec || it == waits_.end()) return;
    auto ex = it->second.exchange;
    nlohmann::json answer = {{"error", "timeout"}};
    if (auto why = why_not(it->second.conditions, dataset_())) answer["failed"] = *why;
    waits_.erase(it);
    ex->reply(408, answer);
  });
  ex->on_close([this, id, alive = std::weak_ptr<bool>(alive_)] {
    if (alive.expired()) return;
    auto it = waits_.find(id);
    if (it == waits_.end()) return;
    it->second.timer->cancel();
    waits_.erase(it);
  });
}

void Waits::dataset_changed() {
  if (waits_.empty() || pending_) return;
  pending_ = true;
  asio::post(io_, [this, alive = std::weak_ptr<bool>(alive_)] {
    if (alive.expired()) return;
    pending_ = false;
    evaluate();
  });
}

void Waits::evaluate() {
  if (waits_.empty()) return;
  const nlohmann::json ds = dataset_();
  for (auto it = waits_.begin(); it != waits_.end();) {
    if (all_hold(it->second.conditions, ds)) {
      auto ex = it->second.exchange;
      it->second.timer->cancel();
      it = waits_.erase(it);
      ex->reply(200, {{"ok", true}});
    } else {
      ++it;
    }
  }
}

}  // namespace vigil::agent
