#include "agent/webhooks/webhook_delivery.h"

#include <algorithm>
#include <stdexcept>
#include <utility>

#include <spdlog/spdlog.h>

#include "agent/api/jws.h"
#include "agent/base/clock.h"

namespace vigil::agent {

namespace {

/// Lifetime of a webhook JWT, seconds.
constexpr int64_t kJwtLifetimeS = 60;

}  // namespace

nlohmann::json webhook_body(const Event& e, const std::string& node, const std::string& cluster) {
  nlohmann::json body = to_json(e);
  body["node"] = node;
  body["cluster"] = cluster;
  return body;
}

std::string webhook_jwt(const std::string& secret, const std::string& kind, int64_t now_s) {
  const nlohmann::json claims = {
      {"iss", "vigil"}, {"sub", kind}, {"iat", now_s}, {"exp", now_s + kJwtLifetimeS}};
  return jws::sign(claims, secret);
}

std::vector<std::pair<std::string, std::string>> webhook_headers(const Webhook& w,
                                                                 const std::string& kind,
                                                                 const std::string& delivery_id,
                                                                 int64_t now_s) {
  std::vector<std::pair<std::string, std::string>> headers = {{"X-Vigil-Event", kind},
                                                              {"X-Vigil-Delivery", delivery_id}};
  switch (w.auth) {
    case WebhookAuth::kNone:
      break;
    case WebhookAuth::kBearer:
      headers.emplace_back("Authorization", "Bearer " + w.credential);
      break;
    case WebhookAuth::kSecret:
      headers.emplace_back("Authorization", "Bearer " + webhook_jwt(w.credential, kind, now_s));
      break;
  }
  return headers;
}

std::chrono::milliseconds webhook_backoff(int failures, std::chrono::milliseconds min,
                                          std::chrono::milliseconds max, std::mt19937_64& rng) {
  const int64_t floor = std::max<int64_t>(min.count(), 0);
  const int64_t cap = std::max(max.count(), floor);
  int64_t ceiling = floor;
  for (int i = 0; i < failures && ceiling < cap; ++i) ceiling = std::max<int64_t>(ceiling * 2, 1);
  ceiling = std::min(ceiling, cap);
  std::uniform_int_distribution<int64_t> pick(floor, ceiling);
  return std::chrono::milliseconds(pick(rng));
}

WebhookDelivery::WebhookDelivery(boost::asio::io_context& io, BlockingWorker& worker,
                                 Webhook webhook, std::filesystem::path queue_dir,
                                 WebhookQueue::Options queue_options,
                                 WebhookDeliveryOptions options,
                                 std::shared_ptr<const WebhookTls> tls)
    : io_(io),
      webhook_(std::move(webhook)),
      queue_(worker, std::move(queue_dir), queue_options),
      options_(options),
      tls_(std::move(tls)),
      retry_timer_(io),
      rng_(std::random_device{}()) {
  if (!tls_) throw std::invalid_argument("webhook delivery needs a TLS holder");
}

WebhookDelivery::~WebhookDelivery() {
  if (in_flight_) in_flight_->cancel();
  retry_timer_.cancel();
}

void WebhookDelivery::start(std::function<void(const QueueLoadReport&)> loaded) {
  queue_.load([this, alive = std::weak_ptr<bool>(alive_),
               loaded = std::move(loaded)](const QueueLoadReport& report) {
    if (alive.expired()) return;
    counters_.dropped += report.over;
    if (!report.error.empty() || report.skipped != 0 || report.over != 0) {
      spdlog::warn(
          "webhook {}: queue loaded with {} deliveries; skipped {} corrupt lines, "
          "{} over the bound{}{}",
          webhook_.url.text, report.loaded, report.skipped, report.over,
          report.error.empty() ? "" : ": ", report.error);
    } else if (report.loaded != 0) {
      spdlog::info("webhook {}: {} queued deliveries from the last run", webhook_.url.text,
                   report.loaded);
    }
    if (loaded) loaded(report);
    pump();
  });
}

void WebhookDelivery::update(Webhook webhook) {
  if (webhook.url.text != webhook_.url.text) {
    throw std::invalid_argument("webhook update for another URL");
  }
  webhook_ = std::move(webhook);
}

bool WebhookDelivery::enqueue(std::string delivery_id, std::string kind, std::string body) {
  if (!queue_.push(std::move(delivery_id), std::move(kind), std::move(body))) {
    ++counters_.dropped;
    return false;
  }
  pump();
  return true;
}

void WebhookDelivery::pump() {
  if (stopped_ || in_flight_ || waiting_) return;
  if (queue_.front() == nullptr) return;
  if (webhook_.url.tls && !tls_->ready) return;
  attempt();
}

void WebhookDelivery::attempt() {
  const QueuedDelivery& d = *queue_.front();
  const int64_t now_s = wall_ms() / 1000;
  std::vector<std::pair<std::string, std::string>> headers;
  try {
    headers = webhook_headers(webhook_, d.kind, d.id, now_s);
  } catch (const std::exception& e) {  // signing failed: treat as a failed attempt
    answered(d.seq, d.id, {.ok = false, .status = 0, .error = std::string("JWT: ") + e.what()});
    return;
  }
  if (webhook_.url.tls && !tls_->context) {
    answered(d.seq, d.id, {.ok = false, .status = 0, .error = tls_->error});
    return;
  }
  in_flight_ = post_webhook(
      io_, tls_->context, webhook_.url, headers, d.body, options_.request_timeout,
      [this, alive = std::weak_ptr<bool>(alive_), seq = d.seq, id = d.id](WebhookResult r) {
        if (alive.expired()) return;
        in_flight_.reset();
        answered(seq, id, r);
      });
}

void WebhookDelivery::answered(uint64_t seq, const std::string& id, const WebhookResult& r) {
  if (stopped_) return;
  if (r.ok) {
    ++counters_.delivered;
    counters_.last_success_at = now_rfc3339();
    failures_ = 0;
    const QueuedDelivery* front = queue_.front();
    if (front != nullptr && front->seq == seq) queue_.pop_front();
    pump();
    return;
  }
  ++counters_.failed;
  ++failures_;
  counters_.last_error = r.error;
  counters_.last_error_at = now_rfc3339();
  const auto delay = webhook_backoff(failures_, options_.backoff_min, options_.backoff_max, rng_);
  spdlog::warn("webhook {}: delivery {} failed ({} in a row): {}; retry in {}", webhook_.url.text,
               id, failures_, r.error, duration_text(delay));
  waiting_ = true;
  retry_timer_.expires_after(delay);
  retry_timer_.async_wait(
      [this, alive = std::weak_ptr<bool>(alive_)](boost::system::error_code ec) {
        if (ec || alive.expired()) return;
        waiting_ = false;
        pump();
      });
}

WebhookCounters WebhookDelivery::counters() const {
  WebhookCounters c = counters_;
  c.queued = queue_.size();
  c.queue_error = queue_.last_write_error();
  return c;
}

void WebhookDelivery::stop(std::function<void()> done) {
  stopped_ = true;
  if (in_flight_) {
    in_flight_->cancel();
    in_flight_.reset();
  }
  retry_timer_.cancel();
  waiting_ = false;
  queue_.flush(std::move(done));
}

void WebhookDelivery::remove(std::function<void()> done) {
  stopped_ = true;
  if (in_flight_) {
    in_flight_->cancel();
    in_flight_.reset();
  }
  retry_timer_.cancel();
  waiting_ = false;
  queue_.remove([url = webhook_.url.text, done = std::move(done)](const std::string& error) {
    if (!error.empty()) spdlog::warn("webhook {}: cannot delete its queue: {}", url, error);
    if (done) done();
  });
}

}  // namespace vigil::agent
