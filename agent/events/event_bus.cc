#include "agent/events/event_bus.h"

#include "agent/base/clock.h"

#include <exception>
#include <stdexcept>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>

namespace vigil::agent {
namespace {

// Runs a consumer callback; a throwing consumer must not break delivery to
// the others, so its exception is logged and swallowed.
template <typename Fn>
void call_guarded(std::string_view what, const Event* e, Fn&& fn) {
  try {
    fn();
  } catch (const std::exception& ex) {
    if (e != nullptr) {
      spdlog::error("event bus: {} failed on {} #{}: {}", what, e->kind, e->id, ex.what());
    } else {
      spdlog::error("event bus: {} failed: {}", what, ex.what());
    }
  } catch (...) {
    spdlog::error("event bus: {} failed with a non-standard exception", what);
  }
}

}  // namespace

EventBus::EventBus(Options opts) : opts_(std::move(opts)) {
  if (opts_.queue_max == 0) throw std::invalid_argument("event bus: queue_max must be positive");
  if (opts_.queue_threshold > opts_.queue_max) {
    throw std::invalid_argument("event bus: queue_threshold must not exceed queue_max");
  }
}

uint64_t EventBus::publish(Event e) { return enqueue(std::move(e), 0); }

bool EventBus::wanted(std::string_view kind) const {
  for (const auto& [id, l] : listeners_)
    if (l->takes(kind)) return true;
  for (const auto& [id, sub] : subscribers_)
    if (sub.filters.may_match(kind)) return true;
  return false;
}

void EventBus::count_kind(std::string_view kind, const Event* e) {
  for (const auto& counter : counters_) call_guarded("counter", e, [&] { counter(kind); });
}

bool EventBus::skip_unwanted(std::string_view kind) {
  if (wanted(kind)) return false;
  count_kind(kind, nullptr);
  return true;
}

uint64_t EventBus::enqueue(Event e, SubscriberId skip) {
  e.id = next_id_++;
  count_kind(e.kind, &e);
  if (e.at.empty()) e.at = now_rfc3339();
  if (!opts_.node.empty() && !e.labels.contains("node")) e.labels.emplace("node", opts_.node);
  if (e.data.is_null()) e.data = nlohmann::json::object();
  const uint64_t id = e.id;
  pending_.push_back(Pending{std::move(e), skip});
  if (delivering_) return id;  // re-entrant call: the outer loop delivers it

  delivering_ = true;
  struct Reset {
    bool& flag;
    ~Reset() { flag = false; }
  } reset{delivering_};
  while (!pending_.empty()) {
    const Pending p = std::move(pending_.front());
    pending_.pop_front();
    deliver(p);
  }
  return id;
}

void EventBus::deliver(const Pending& p) {
  // Snapshots: callbacks may add or remove listeners and subscribers. Only
  // the outermost publish delivers, so the scratch vectors are never in use
  // twice.
  std::vector<ListenerId>& lids = listener_ids_;
  lids.clear();
  for (const auto& [id, l] : listeners_) lids.push_back(id);
  for (const ListenerId lid : lids) {
    auto it = listeners_.find(lid);
    if (it == listeners_.end() || !it->second->takes(p.event.kind)) continue;
    // Hold a reference so a listener that unlistens itself stays alive while it runs.
    const auto l = it->second;
    call_guarded("listener", &p.event, [&] { l->fn(p.event); });
  }

  std::vector<SubscriberId>& sids = subscriber_ids_;
  sids.clear();
  for (const auto& [id, sub] : subscribers_) sids.push_back(id);
  QueuedPtr shared;  // made for the first subscriber that takes the event
  for (const SubscriberId sid : sids) {
    if (sid != p.skip) offer(sid, p.event, shared);
  }
}

void EventBus::offer(SubscriberId id, const Event& e, QueuedPtr& shared) {
  auto it = subscribers_.find(id);
  if (it == subscribers_.end()) return;
  Subscriber& sub = it->second;
  if (!sub.filters.matches(e)) return;

  if (!shared) shared = std::make_shared<const Queued>(Queued{e.kind, to_json(e).dump()});
  const bool over_bytes =
      !sub.queue.empty() && sub.queued_bytes + shared->json.size() > opts_.queue_max_bytes;
  if (sub.queue.size() >= opts_.queue_max || over_bytes) {
    const std::string name = sub.name;
    const std::size_t queued = sub.queue.size();
    const std::size_t bytes = sub.queued_bytes;
    const auto on_dropped = std::move(sub.on_dropped);
    subscribers_.erase(it);
    spdlog::warn("event bus: dropping subscriber {} ({} events, {} bytes queued; max {}, {})", name,
                 queued, bytes, opts_.queue_max, opts_.queue_max_bytes);
    if (on_dropped) call_guarded("on_dropped callback", &e, on_dropped);
    enqueue(subscription_event(
                "SubscriptionError", name,
                {{"name", name}, {"error", "queue full"}, {"queued", queued}, {"bytes", bytes}}),
            0);
    return;
  }

  const bool was_empty = sub.queue.empty();
  sub.queued_bytes += shared->json.size();
  sub.queue.push_back(shared);
  const std::size_t queued = sub.queue.size();
  if (opts_.queue_threshold != 0 && queued >= opts_.queue_threshold && !sub.threshold_published) {
    sub.threshold_published = true;
    enqueue(subscription_event("SubscriptionQueueThreshold", sub.name,
                               {{"name", sub.name}, {"queued", queued}, {"max", opts_.queue_max}}),
            id);
  }
  if (was_empty && sub.notify) {
    // A copy: the callback may unsubscribe, destroying `sub`.
    const auto notify = sub.notify;
    call_guarded("notify callback", &e, notify);
  }
}

EventBus::ListenerId EventBus::listen(std::function<void(const Event&)> fn, KindInterest kinds) {
  const ListenerId id = next_listener_++;
  listeners_.emplace(id,
                     std::make_shared<const Listener>(Listener{std::move(fn), std::move(kinds)}));
  return id;
}

void EventBus::count(std::function<void(std::string_view kind)> fn) {
  counters_.push_back(std::move(fn));
}

void EventBus::unlisten(ListenerId id) { listeners_.erase(id); }

EventBus::SubscriberId EventBus::subscribe(std::string name, EventFilterSet filters,
                                           std::function<void()> notify,
                                           std::function<void()> on_dropped) {
  const SubscriberId id = next_subscriber_++;
  nlohmann::json data = {{"name", name}, {"filters", filters.texts()}};
  Subscriber sub;
  sub.name = name;
  sub.filters = std::move(filters);
  sub.notify = std::move(notify);
  sub.on_dropped = std::move(on_dropped);
  subscribers_.emplace(id, std::move(sub));
  enqueue(subscription_event("ClientSubscribed", name, std::move(data)), id);
  return id;
}

std::deque<EventBus::QueuedPtr> EventBus::drain(SubscriberId id) {
  auto it = subscribers_.find(id);
  if (it == subscribers_.end()) return {};
  it->second.threshold_published = false;
  it->second.queued_bytes = 0;
  return std::exchange(it->second.queue, {});
}

void EventBus::unsubscribe(SubscriberId id) {
  auto it = subscribers_.find(id);
  if (it == subscribers_.end()) return;
  const std::string name = it->second.name;
  subscribers_.erase(it);
  enqueue(subscription_event("ClientUnsubscribed", name, {{"name", name}}), 0);
}

Event EventBus::subscription_event(std::string kind, const std::string& name, nlohmann::json data) {
  Event e;
  e.kind = std::move(kind);
  e.labels.emplace("subscriber", name);
  e.data = std::move(data);
  return e;
}

}  // namespace vigil::agent
