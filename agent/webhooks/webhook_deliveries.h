// Every webhook of this node, from the replicated webhook set to the
// receivers (issue "events leave the node", seed 000): the daemon hands it
// the set (apply) and each event it publishes (offer); it keeps one
// WebhookDelivery (webhook_delivery.h) per webhook, each with its own
// persisted queue under `<var_dir>/webhooks/<webhook_id>/`, and reports
// their status.
//
// Guarantees and bounds (docs/ARCHITECTURE.md, "Webhook delivery"):
//  - each node delivers the events it publishes itself: an event with
//    labels["from"] == "peer" is not delivered (its publisher does);
//  - at least once, in order per webhook: a delivery leaves its queue only
//    when the receiver answered 2xx; a restart delivers what was queued;
//  - a queue holds at most queue_max deliveries; beyond, the new one is
//    dropped, counted, logged (at most every drop_log_interval per
//    webhook), and SubscriptionQueueThreshold is published once per
//    overflow episode (it ends when the queue is back to half its bound),
//    {labels: subscriber="webhook <url>"; data: {"name": "webhook <url>",
//    "dropped": <dropped so far>, "max": <queue_max>}}; that event is never
//    queued to the webhook it is about;
//  - a slow or dead receiver holds only its own queue: requests are
//    asynchronous and time out, disk writes run on the worker.
//
// Wiring:
//   BlockingWorker webhook_worker(io);   // a worker of its own is best: its
//                                        // fdatasyncs then never delay node.json saves
//   WebhookDeliveries webhooks(io, webhook_worker, cfg.var_dir, cfg.node.name,
//                              cfg.cluster.name, {}, [&](Event e) { bus.publish(std::move(e)); });
//   bus.listen([&](const Event& e) { webhooks.offer(e); });
//   webhooks.apply(set);                 // at start and at each new version of the set
//   webhooks.prune_queues();             // once, after the first apply of the cluster's set
//   ... webhooks.status() for `webhook list`; webhooks.test(w, cb) for `webhook test`
//   webhooks.stop([&] { /* then destroy it, then the worker */ });
#ifndef VIGIL_AGENT_WEBHOOKS_WEBHOOK_DELIVERIES_H_
#define VIGIL_AGENT_WEBHOOKS_WEBHOOK_DELIVERIES_H_

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "agent/base/blocking_worker.h"
#include "agent/events/event.h"
#include "agent/webhooks/webhook.h"
#include "agent/webhooks/webhook_delivery.h"
#include "agent/webhooks/webhook_sender.h"

namespace vigil::agent {

class WebhookDeliveries {
 public:
  struct Options {
    /// Deliveries each webhook's queue holds at most.
    std::size_t queue_max = 10000;
    /// Request timeout and retry backoff (webhook_delivery.h).
    WebhookDeliveryOptions delivery;
    /// PEM file of the CAs https receivers are verified against; "": the
    /// system store.
    std::string ca_file;
    /// Delivered entries in a queue's log that allow a compaction.
    std::size_t compact_after = 1024;
    /// The least time between two "dropping" log lines of one webhook.
    std::chrono::milliseconds drop_log_interval{30'000};
  };

  /// Publishes one event on the daemon's bus (its own overflow events).
  using Publish = std::function<void(Event)>;

  /// What `webhook test` reports for this node.
  struct TestResult {
    bool ok = false;    // the receiver answered 2xx
    int status = 0;     // the HTTP status, 0 when there was no answer
    std::string error;  // "" when ok; else as WebhookResult::error
  };

  /// Starts loading the TLS context (the CA file) on `worker`. `io` and
  /// `worker` must outlive this object; `publish` may be empty.
  WebhookDeliveries(boost::asio::io_context& io, BlockingWorker& worker,
                    std::filesystem::path var_dir, std::string node, std::string cluster,
                    Options options, Publish publish);
  /// Abandons requests in flight and unwritten queue changes (call stop()
  /// first for a clean stop).
  ~WebhookDeliveries();
  WebhookDeliveries(const WebhookDeliveries&) = delete;
  WebhookDeliveries& operator=(const WebhookDeliveries&) = delete;

  /// Makes the running webhooks match `set` (keyed by URL text): a new one
  /// loads its queue then delivers; one still there takes the new auth and
  /// filters and keeps its queue and counters; one no longer there stops,
  /// and its queue directory is deleted on the worker. Two entries with
  /// one URL: the last wins.
  void apply(std::vector<Webhook> set);

  /// Queues `e` for every webhook whose filters match, unless it came from
  /// a peer (labels["from"] == "peer"). The body is webhook_body(); the
  /// delivery id "<node>-<boot>-<n>", with boot this object's start time
  /// (ms since the epoch) and n counting from 1, is unique per node.
  void offer(const Event& e);
  /// False when no webhook's filters may match an event of `kind`
  /// (EventFilterSet::may_match): the listener's interest
  /// (EventBus::KindInterest).
  bool wants(std::string_view kind) const;

  /// One object per webhook, in URL order:
  ///   {"url": "...", "id": "<webhook_id>", "queued": 3, "delivered": 10,
  ///    "failed": 2, "dropped": 0, "last_error": "HTTP 500 ..." | null,
  ///    "last_error_at": "<RFC 3339>" | null, "last_success_at": "..." | null,
  ///    "queue_error": "..." | null}
  nlohmann::json status() const;

  /// One POST of a test event to `w`, now, outside its queue: kind "Log"
  /// (seed 001's kind for a message; no state changed), labels
  /// {node: <this node>}, data {"test": true}, with the webhook's auth and
  /// a delivery id "<node>-<boot>-test-<n>". `done` runs once on the
  /// io_context; at stop() a test in flight ends with "daemon stopping".
  void test(const Webhook& w, std::function<void(TestResult)> done);

  /// Clean stop: no new attempt (requests in flight are abandoned, and sent
  /// again after the restart); `done` runs once every queue's log holds
  /// every change. Events offered after it are queued and written if the
  /// worker still runs.
  void stop(std::function<void()> done);

  /// Deletes, on the worker, the queue directories under
  /// `<var_dir>/webhooks/` of webhooks not running now: those removed from
  /// the set while this node was down. Call it once the set from the
  /// cluster's state was applied (an empty set applied too early would
  /// delete every queue). `done` (may be empty) gets the number deleted,
  /// or the error, on the io_context.
  void prune_queues(std::function<void(std::size_t deleted, const std::string& error)> done = {});

  /// The cluster name that bodies carry from now on (a node that joined a
  /// cluster, or left one); deliveries queued before keep theirs.
  void set_cluster(std::string cluster) { cluster_ = std::move(cluster); }

  /// The number of webhooks running.
  std::size_t size() const { return deliveries_.size(); }

 private:
  struct Running {
    std::unique_ptr<WebhookDelivery> delivery;
    bool overflowing = false;  // an overflow episode is under way
    bool drop_logged = false;  // last_drop_log is set
    std::chrono::steady_clock::time_point last_drop_log{};
    uint64_t drops_unlogged = 0;
  };
  struct Test;

  void dropped(Running& r, const std::string& url);
  void tls_loaded();
  void start_test(uint64_t n);

  boost::asio::io_context& io_;
  BlockingWorker& worker_;
  const std::filesystem::path var_dir_;
  const std::string node_;
  std::string cluster_;
  const Options options_;
  Publish publish_;
  const std::string boot_;
  uint64_t next_delivery_ = 1;
  uint64_t next_test_ = 1;
  std::shared_ptr<WebhookTls> tls_;
  std::map<std::string, Running> deliveries_;  // by URL text
  std::map<uint64_t, std::shared_ptr<Test>> tests_;
  std::vector<uint64_t> tests_waiting_tls_;
  bool stopped_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace vigil::agent

#endif  // VIGIL_AGENT_WEBHOOKS_WEBHOOK_DELIVERIES_H_
