// In-process event bus of the daemon (DESIGN "Events, hooks, wait"; event
// kinds of seed 001 "Event Subscription"). Single-threaded: it belongs to the
// io_context thread, takes no locks and never blocks.
#ifndef VIGIL_AGENT_EVENTS_EVENT_BUS_H_
#define VIGIL_AGENT_EVENTS_EVENT_BUS_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "agent/events/event.h"
#include "agent/events/event_filter.h"

namespace vigil::agent {

/// Routes events to listeners (internal consumers, called synchronously) and
/// to subscribers (external consumers with bounded queues that their owner
/// drains).
///
/// Subscriber queue limits: when a queue reaches queue_threshold, the bus
/// publishes SubscriptionQueueThreshold {labels: subscriber=<name>; data:
/// name, queued, max} once until the next drain(); it goes to listeners and
/// other subscribers, not to that one. When an event would take a queue past
/// queue_max, the subscriber is removed with its queue, its on_dropped is
/// called, and SubscriptionError {labels: subscriber=<name>; data: name,
/// error: "queue full", queued, bytes} is published. The same happens when
/// the JSON text of its queued events would pass queue_max_bytes. No queue
/// grows without bound.
///
/// A queued event is one immutable copy shared by every queue that holds it,
/// with its JSON text made once: ten slow subscribers cost one copy of each
/// event, not ten.
class EventBus {
 public:
  struct Options {
    /// This daemon's node name, set as labels["node"] when a publisher did not.
    std::string node;
    /// Events a subscriber may have queued; one more drops the subscriber.
    std::size_t queue_max = 4096;
    /// Queue length that publishes SubscriptionQueueThreshold; 0 disables it.
    std::size_t queue_threshold = 3072;
    /// Bytes of JSON text a subscriber may have queued; an event that would
    /// pass it drops the subscriber (a lone event of any size is queued).
    std::size_t queue_max_bytes = 8 << 20;
  };

  /// An event as queued for subscribers: shared and immutable, its kind and
  /// its JSON text alone (no parsed copy of its data is kept).
  struct Queued {
    std::string kind;
    std::string json;  // to_json(event).dump()
  };
  using QueuedPtr = std::shared_ptr<const Queued>;

  using ListenerId = uint64_t;
  using SubscriberId = uint64_t;

  /// Throws std::invalid_argument when queue_max is 0 or
  /// queue_threshold > queue_max.
  explicit EventBus(Options opts);

  EventBus(const EventBus&) = delete;
  EventBus& operator=(const EventBus&) = delete;

  /// Publishes `e`: assigns its id (1, 2, 3... per bus), sets `at` to the
  /// current wall time when empty and labels["node"] to Options::node when
  /// absent, then calls every listener synchronously and appends it to the
  /// queue of every subscriber whose filters match.
  ///
  /// Re-entrant: an event published from a listener, notify or on_dropped
  /// callback gets its id at once but is delivered after the current event
  /// is done with (FIFO), never recursively. An exception thrown by a
  /// listener is logged and does not stop delivery. Returns the id.
  uint64_t publish(Event e);

  /// Which events a listener is called with, decided from the kind alone,
  /// before the event is built (see skip_unwanted()): true to be called. It
  /// must be cheap and have no side effect. Empty: every kind.
  using KindInterest = std::function<bool(std::string_view kind)>;

  /// Registers an internal consumer (hooks, webhooks, NATS) called with
  /// every event whose kind `kinds` takes. Listeners may listen/unlisten
  /// (themselves included) from the callback.
  ListenerId listen(std::function<void(const Event&)> fn, KindInterest kinds = {});

  /// Registers a counter, called with the kind of every event: each one
  /// published, and each one skipped for want of a consumer
  /// (skip_unwanted()). vigil_events_total counts here, so that it does not
  /// depend on who listens. Counters are never removed.
  void count(std::function<void(std::string_view kind)> fn);

  /// True when an event of `kind` would reach someone: a listener whose
  /// interest takes the kind, or a subscriber whose filters may match it
  /// (EventFilterSet::may_match).
  bool wanted(std::string_view kind) const;

  /// For a publisher of frequent events (a peer's NodeDataUpdated, one per
  /// heartbeat that changes its document): when no one wants an event of
  /// `kind` (wanted()), counts it as published and returns true, and the
  /// caller does not build it; such an event takes no id. Otherwise returns
  /// false, and the caller publishes it. An event nobody receives then costs
  /// a few comparisons instead of its JSON.
  bool skip_unwanted(std::string_view kind);
  /// Removes a listener; unknown ids are ignored.
  void unlisten(ListenerId id);

  /// Registers an external consumer (an SSE client) named `name` (e.g. the
  /// client's pid/uid) that receives events matching `filters` (empty set: all).
  /// `notify` is called when its queue goes from empty to non-empty, so that
  /// the owner schedules drain(). `on_dropped` is called when the bus drops the
  /// subscriber for overflow (after which drain() returns nothing).
  /// Publishes ClientSubscribed {labels: node, subscriber=<name>;
  /// data: {"name", "filters": [<texts>]}}, which is not queued to the new
  /// subscriber itself.
  SubscriberId subscribe(std::string name, EventFilterSet filters, std::function<void()> notify,
                         std::function<void()> on_dropped);

  /// Takes every event queued for `id`, oldest first; empty for an unknown id.
  /// Re-arms the SubscriptionQueueThreshold event of that subscriber.
  std::deque<QueuedPtr> drain(SubscriberId id);

  /// Removes a subscriber and publishes ClientUnsubscribed {labels: node,
  /// subscriber=<name>; data: {"name"}}. Unknown (or dropped) ids are ignored.
  void unsubscribe(SubscriberId id);

  /// Number of current subscribers.
  std::size_t subscribers() const { return subscribers_.size(); }
  /// Number of current listeners.
  std::size_t listeners() const { return listeners_.size(); }
  /// Id of the last published event (0 before the first).
  uint64_t last_id() const { return next_id_ - 1; }

 private:
  struct Subscriber {
    std::string name;
    EventFilterSet filters;
    std::function<void()> notify;
    std::function<void()> on_dropped;
    std::deque<QueuedPtr> queue;
    std::size_t queued_bytes = 0;
    bool threshold_published = false;
  };
  struct Pending {
    Event event;
    SubscriberId skip = 0;  // subscriber that must not get this event
  };

  uint64_t enqueue(Event e, SubscriberId skip);
  /// Calls every counter with `kind` (`e`: the event, when it was built).
  void count_kind(std::string_view kind, const Event* e);
  void deliver(const Pending& p);
  void offer(SubscriberId id, const Event& e, QueuedPtr& shared);
  static Event subscription_event(std::string kind, const std::string& name, nlohmann::json data);

  Options opts_;
  uint64_t next_id_ = 1;
  ListenerId next_listener_ = 1;
  SubscriberId next_subscriber_ = 1;
  struct Listener {
    std::function<void(const Event&)> fn;
    KindInterest kinds;
    bool takes(std::string_view kind) const { return !kinds || kinds(kind); }
  };

  std::map<ListenerId, std::shared_ptr<const Listener>> listeners_;
  std::vector<std::function<void(std::string_view kind)>> counters_;
  std::map<SubscriberId, Subscriber> subscribers_;
  std::deque<Pending> pending_;
  bool delivering_ = false;
  std::vector<ListenerId> listener_ids_;  // deliver()'s snapshots, reused
  std::vector<SubscriberId> subscriber_ids_;
};

}  // namespace vigil::agent

#endif  // VIGIL_AGENT_EVENTS_EVENT_BUS_H_
