// The delivery of one webhook: its persisted queue (webhook_queue.h) and one
// request in flight at a time (webhook_sender.h), so the receiver sees the
// events in the order they were queued. A failed attempt (no connection,
// TLS, timeout, non-2xx) is retried after a backoff, the same delivery with
// the same id, until the receiver takes it; then the next one goes.
//
// Each attempt carries (seed 000, adapted):
//   Content-Type: application/json
//   X-Vigil-Event: <kind>
//   X-Vigil-Delivery: <delivery id>     unique per delivery, the same on
//                                       every retry and after a restart
//   Authorization: Bearer <token>       with a bearer token, or
//   Authorization: Bearer <JWT>         with a secret: HS256 (RFC 7519,
//       RFC 7518 section 3.2), claims {"iss": "vigil", "sub": <kind>,
//       "iat": <now, s>, "exp": <iat + 60>}, signed with the secret's
//       bytes, made afresh for each attempt (a retry an hour later is not
//       refused as expired)
// and the body webhook_body() made when the event was queued.
//
// Backoff: after the n-th failure in a row, a delay drawn uniformly from
// [backoff_min, min(backoff_max, backoff_min * 2^n)] ("full jitter" above a
// floor): 1-2 s, then 1-4 s, ... up to 1 s-5 min by default, so nodes that
// failed together do not retry together. A success resets n.
//
// Runs on the io_context thread; every callback it takes runs there.
#ifndef VIGIL_AGENT_WEBHOOKS_WEBHOOK_DELIVERY_H_
#define VIGIL_AGENT_WEBHOOKS_WEBHOOK_DELIVERY_H_

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>

#include "agent/base/blocking_worker.h"
#include "agent/events/event.h"
#include "agent/webhooks/webhook.h"
#include "agent/webhooks/webhook_queue.h"
#include "agent/webhooks/webhook_sender.h"

namespace vigil::agent {

/// Timings of deliveries; the defaults are the product's, tests shorten them.
struct WebhookDeliveryOptions {
  /// Bound of one request, connect to answer.
  std::chrono::milliseconds request_timeout{5000};
  /// The backoff floor and ceiling (see above).
  std::chrono::milliseconds backoff_min{1000};
  std::chrono::milliseconds backoff_max{300'000};
};

/// The TLS context every https delivery uses, made once on the worker
/// (make_tls_client_context); until `ready`, https deliveries wait.
struct WebhookTls {
  bool ready = false;
  std::shared_ptr<boost::asio::ssl::context> context;  // null when loading failed
  std::string error;                                   // why it failed, else ""
};

/// A webhook's counters, since the daemon started (not persisted).
struct WebhookCounters {
  std::size_t queued = 0;       // deliveries waiting, the one in flight included
  uint64_t delivered = 0;       // deliveries the receiver took (2xx)
  uint64_t failed = 0;          // attempts that failed (a retried delivery counts each time)
  uint64_t dropped = 0;         // deliveries refused because the queue was full
  std::string last_error;       // the last failed attempt's error, "" when none
  std::string last_error_at;    // RFC 3339 UTC ms, "" when none
  std::string last_success_at;  // RFC 3339 UTC ms, "" when none
  std::string queue_error;      // the last failed write of the queue's log, "" when none
};

/// The request body: to_json(e) (event.h) plus "node" (this node, the
/// sender) and "cluster" (the cluster name):
///   {"kind": "NodeStale", "id": 42, "at": "...", "labels": {...},
///    "data": {...}, "node": "n1", "cluster": "prod"}
nlohmann::json webhook_body(const Event& e, const std::string& node, const std::string& cluster);

/// The JWT of one attempt (see above); `now_s` in seconds since the epoch.
std::string webhook_jwt(const std::string& secret, const std::string& kind, int64_t now_s);

/// X-Vigil-Event, X-Vigil-Delivery and Authorization (when the webhook has
/// auth) for one attempt at `now_s`.
std::vector<std::pair<std::string, std::string>> webhook_headers(const Webhook& w,
                                                                 const std::string& kind,
                                                                 const std::string& delivery_id,
                                                                 int64_t now_s);

/// The delay before the retry that follows `failures` (>= 1) failures in a
/// row (see above).
std::chrono::milliseconds webhook_backoff(int failures, std::chrono::milliseconds min,
                                          std::chrono::milliseconds max, std::mt19937_64& rng);

class WebhookDelivery {
 public:
  /// `worker` and `io` must outlive it; `tls` is shared with the other
  /// deliveries. Nothing happens before start().
  WebhookDelivery(boost::asio::io_context& io, BlockingWorker& worker, Webhook webhook,
                  std::filesystem::path queue_dir, WebhookQueue::Options queue_options,
                  WebhookDeliveryOptions options, std::shared_ptr<const WebhookTls> tls);
  /// Abandons the request in flight (it is sent again at the next start).
  ~WebhookDelivery();
  WebhookDelivery(const WebhookDelivery&) = delete;
  WebhookDelivery& operator=(const WebhookDelivery&) = delete;

  /// Loads the queue (on the worker), then delivers what it holds.
  /// `loaded` (may be empty) gets the load report.
  void start(std::function<void(const QueueLoadReport&)> loaded = {});

  /// New auth or filters for the same URL (std::invalid_argument for
  /// another URL). Queued deliveries keep their body; the next attempt uses
  /// the new auth.
  void update(Webhook webhook);

  /// Queues one delivery; false when the queue is full (counted as
  /// dropped). Sends at once when idle.
  bool enqueue(std::string delivery_id, std::string kind, std::string body);

  /// Sends the front delivery if nothing is in flight or waiting for a
  /// retry (the TLS context became ready, say).
  void pump();

  const Webhook& webhook() const { return webhook_; }
  WebhookCounters counters() const;
  /// The queue's bound, and the deliveries it holds.
  std::size_t max() const { return queue_.max(); }
  std::size_t queued() const { return queue_.size(); }

  /// Clean stop: no new attempt; the one in flight is abandoned (it stays
  /// queued: a receiver that got it sees it again after the restart);
  /// `done` runs once the queue's log holds every change.
  void stop(std::function<void()> done);

  /// The webhook was deleted: stop, and delete the queue directory on the
  /// worker; `done` (may be empty) runs after it.
  void remove(std::function<void()> done);

 private:
  void attempt();
  void answered(uint64_t seq, const std::string& id, const WebhookResult& r);

  boost::asio::io_context& io_;
  Webhook webhook_;
  WebhookQueue queue_;
  WebhookDeliveryOptions options_;
  std::shared_ptr<const WebhookTls> tls_;
  boost::asio::steady_timer retry_timer_;
  std::mt19937_64 rng_;
  std::shared_ptr<WebhookPost> in_flight_;
  bool waiting_ = false;  // a retry is scheduled
  bool stopped_ = false;
  int failures_ = 0;  // in a row
  WebhookCounters counters_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace vigil::agent

#endif  // VIGIL_AGENT_WEBHOOKS_WEBHOOK_DELIVERY_H_
