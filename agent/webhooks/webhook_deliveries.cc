#include "agent/webhooks/webhook_deliveries.h"

#include <algorithm>
#include <exception>
#include <set>
#include <stdexcept>
#include <system_error>
#include <utility>

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>

#include "agent/base/clock.h"
#include "agent/base/tls_client.h"

namespace vigil::agent {

namespace {

constexpr const char* kOverflowKind = "SubscriptionQueueThreshold";

nlohmann::json text_or_null(const std::string& s) {
  return s.empty() ? nlohmann::json(nullptr) : nlohmann::json(s);
}

}  // namespace

struct WebhookDeliveries::Test {
  Webhook webhook;
  std::function<void(TestResult)> done;
  std::shared_ptr<WebhookPost> post;
};

WebhookDeliveries::WebhookDeliveries(boost::asio::io_context& io, BlockingWorker& worker,
                                     std::filesystem::path var_dir, std::string node,
                                     std::string cluster, Options options, Publish publish)
    : io_(io),
      worker_(worker),
      var_dir_(std::move(var_dir)),
      node_(std::move(node)),
      cluster_(std::move(cluster)),
      options_(std::move(options)),
      publish_(std::move(publish)),
      boot_(std::to_string(wall_ms())),
      tls_(std::make_shared<WebhookTls>()) {
  if (options_.queue_max == 0) throw std::invalid_argument("webhooks: queue_max must be positive");
  if (options_.delivery.request_timeout.count() <= 0) {
    throw std::invalid_argument("webhooks: request timeout must be positive");
  }
  // Read before any queue: the worker runs jobs in order, so every queue
  // loads after the CA store is ready.
  auto made = std::make_shared<std::shared_ptr<boost::asio::ssl::context>>();
  worker_.submit([made, ca_file = options_.ca_file] { *made = make_tls_client_context(ca_file); },
                 [this, alive = std::weak_ptr<bool>(alive_), made](const std::string& error) {
                   if (alive.expired()) return;
                   tls_->ready = true;
                   tls_->context = *made;
                   tls_->error = error;
                   if (!error.empty()) {
                     spdlog::warn("webhooks: {}; https receivers cannot be reached", error);
                   }
                   tls_loaded();
                 });
}

WebhookDeliveries::~WebhookDeliveries() {
  alive_.reset();
  for (auto& [id, t] : tests_) {
    if (t->post) t->post->cancel();
  }
}

void WebhookDeliveries::apply(std::vector<Webhook> set) {
  std::map<std::string, Webhook> wanted;
  for (auto& w : set) {
    const std::string url = w.url.text;
    wanted.insert_or_assign(url, std::move(w));
  }
  for (auto it = deliveries_.begin(); it != deliveries_.end();) {
    if (wanted.contains(it->first)) {
      ++it;
      continue;
    }
    spdlog::info("webhook {}: removed; {} queued deliveries deleted", it->first,
                 it->second.delivery->queued());
    it->second.delivery->remove({});
    it = deliveries_.erase(it);
  }
  for (auto& [url, w] : wanted) {
    auto it = deliveries_.find(url);
    if (it != deliveries_.end()) {
      it->second.delivery->update(std::move(w));
      continue;
    }
    const auto dir = var_dir_ / "webhooks" / webhook_id(url);
    Running r;
    r.delivery = std::make_unique<WebhookDelivery>(
        io_, worker_, std::move(w), dir,
        WebhookQueue::Options{.max = options_.queue_max, .compact_after = options_.compact_after},
        options_.delivery, tls_);
    auto& running = deliveries_.emplace(url, std::move(r)).first->second;
    spdlog::info("webhook {}: delivering (queue {})", url, dir.string());
    if (!stopped_) running.delivery->start();
  }
}

bool WebhookDeliveries::wants(std::string_view kind) const {
  return std::any_of(deliveries_.begin(), deliveries_.end(), [&](const auto& entry) {
    return entry.second.delivery->webhook().filters.may_match(kind);
  });
}

void WebhookDeliveries::offer(const Event& e) {
  if (auto from = e.labels.find("from"); from != e.labels.end() && from->second == "peer") return;
  // Our own overflow event is never queued to the webhook it is about.
  const std::string* about = nullptr;
  if (e.kind == kOverflowKind) {
    if (auto s = e.labels.find("subscriber"); s != e.labels.end()) about = &s->second;
  }
  std::string body;
  bool made = false;
  for (auto& [url, r] : deliveries_) {
    WebhookDelivery& d = *r.delivery;
    if (about != nullptr && *about == "webhook " + url) continue;
    if (!d.webhook().filters.matches(e)) continue;
    if (!made) {
      // Invalid UTF-8 in a string is replaced, never thrown.
      body = webhook_body(e, node_, cluster_)
                 .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      made = true;
    }
    if (r.overflowing && d.queued() <= d.max() / 2) r.overflowing = false;
    std::string id = node_ + "-" + boot_ + "-" + std::to_string(next_delivery_++);
    if (!d.enqueue(std::move(id), e.kind, body)) dropped(r, url);
  }
}

void WebhookDeliveries::dropped(Running& r, const std::string& url) {
  const auto now = std::chrono::steady_clock::now();
  ++r.drops_unlogged;
  if (!r.drop_logged || now - r.last_drop_log >= options_.drop_log_interval) {
    spdlog::warn(
        "webhook {}: queue full ({} deliveries): dropped {} events since the last "
        "report, {} in all",
        url, r.delivery->max(), r.drops_unlogged, r.delivery->counters().dropped);
    r.drop_logged = true;
    r.last_drop_log = now;
    r.drops_unlogged = 0;
  }
  if (r.overflowing) return;
  r.overflowing = true;
  if (!publish_) return;
  const std::string name = "webhook " + url;
  Event e;
  e.kind = kOverflowKind;
  e.labels.emplace("subscriber", name);
  e.data = {
      {"name", name}, {"dropped", r.delivery->counters().dropped}, {"max", r.delivery->max()}};
  try {
    publish_(std::move(e));
  } catch (const std::exception& ex) {
    spdlog::error("webhook {}: publishing the overflow event failed: {}", url, ex.what());
  }
}

nlohmann::json WebhookDeliveries::status() const {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [url, r] : deliveries_) {
    const WebhookCounters c = r.delivery->counters();
    out.push_back({{"url", url},
                   {"id", webhook_id(url)},
                   {"queued", c.queued},
                   {"delivered", c.delivered},
                   {"failed", c.failed},
                   {"dropped", c.dropped},
                   {"last_error", text_or_null(c.last_error)},
                   {"last_error_at", text_or_null(c.last_error_at)},
                   {"last_success_at", text_or_null(c.last_success_at)},
                   {"queue_error", text_or_null(c.queue_error)}});
  }
  return out;
}

void WebhookDeliveries::test(const Webhook& w, std::function<void(TestResult)> done) {
  if (!done) throw std::invalid_argument("webhook test needs a done callback");
  if (stopped_) {
    boost::asio::post(io_, [done = std::move(done)] {
      done({.ok = false, .status = 0, .error = "daemon stopping"});
    });
    return;
  }
  const uint64_t n = next_test_++;
  auto t = std::make_shared<Test>();
  t->webhook = w;
  t->done = std::move(done);
  tests_.emplace(n, t);
  if (w.url.tls && !tls_->ready) {
    tests_waiting_tls_.push_back(n);
    return;
  }
  start_test(n);
}

void WebhookDeliveries::start_test(uint64_t n) {
  auto it = tests_.find(n);
  if (it == tests_.end()) return;
  const std::shared_ptr<Test> t = it->second;
  auto finish = [this, alive = std::weak_ptr<bool>(alive_), n](const WebhookResult& r) {
    if (alive.expired()) return;
    auto found = tests_.find(n);
    if (found == tests_.end()) return;
    const auto test = found->second;
    tests_.erase(found);
    try {
      test->done({.ok = r.ok, .status = r.status, .error = r.error});
    } catch (const std::exception& e) {
      spdlog::error("webhook test callback failed: {}", e.what());
    }
  };
  Event e;
  e.kind = "Log";
  e.at = now_rfc3339();
  e.labels.emplace("node", node_);
  e.data = {{"test", true}};
  const std::string id = node_ + "-" + boot_ + "-test-" + std::to_string(n);
  const int64_t now_s = wall_ms() / 1000;
  std::vector<std::pair<std::string, std::string>> headers;
  try {
    headers = webhook_headers(t->webhook, e.kind, id, now_s);
  } catch (const std::exception& ex) {
    const std::string error = std::string("JWT: ") + ex.what();
    boost::asio::post(io_, [finish, error] { finish({.ok = false, .status = 0, .error = error}); });
    return;
  }
  if (t->webhook.url.tls && !tls_->context) {
    const std::string error = tls_->error;
    boost::asio::post(io_, [finish, error] { finish({.ok = false, .status = 0, .error = error}); });
    return;
  }
  t->post = post_webhook(io_, tls_->context, t->webhook.url, headers,
                         webhook_body(e, node_, cluster_).dump(), options_.delivery.request_timeout,
                         finish);
}

void WebhookDeliveries::tls_loaded() {
  for (auto& [url, r] : deliveries_) r.delivery->pump();
  const auto waiting = std::move(tests_waiting_tls_);
  tests_waiting_tls_.clear();
  for (const uint64_t n : waiting) start_test(n);
}

void WebhookDeliveries::prune_queues(
    std::function<void(std::size_t deleted, const std::string& error)> done) {
  std::set<std::string> keep;
  for (const auto& [url, r] : deliveries_) keep.insert(webhook_id(url));
  auto deleted = std::make_shared<std::size_t>(0);
  worker_.submit(
      [root = var_dir_ / "webhooks", keep = std::move(keep), deleted] {
        std::error_code ec;
        if (!std::filesystem::is_directory(root, ec)) return;
        for (const auto& entry : std::filesystem::directory_iterator(root)) {
          const std::string name = entry.path().filename().string();
          // Only what webhook_id() names: 16 lowercase hex digits.
          if (name.size() != 16 ||
              name.find_first_not_of("0123456789abcdef") != std::string::npos ||
              keep.contains(name) || !entry.is_directory()) {
            continue;
          }
          std::filesystem::remove_all(entry.path());
          ++*deleted;
        }
      },
      [alive = std::weak_ptr<bool>(alive_), deleted,
       done = std::move(done)](const std::string& error) {
        if (alive.expired()) return;
        if (!error.empty()) spdlog::warn("webhooks: pruning old queues: {}", error);
        if (*deleted != 0)
          spdlog::info("webhooks: deleted {} queues of removed webhooks", *deleted);
        if (done) done(*deleted, error);
      });
}

void WebhookDeliveries::stop(std::function<void()> done) {
  stopped_ = true;
  auto tests = std::move(tests_);
  tests_.clear();
  tests_waiting_tls_.clear();
  for (auto& [n, t] : tests) {
    if (t->post) t->post->cancel();
    boost::asio::post(io_,
                      [t] { t->done({.ok = false, .status = 0, .error = "daemon stopping"}); });
  }
  struct Pending {
    std::size_t left;
    std::function<void()> done;
  };
  auto pending = std::make_shared<Pending>(Pending{deliveries_.size() + 1, std::move(done)});
  auto one_done = [pending] {
    if (--pending->left == 0 && pending->done) pending->done();
  };
  for (auto& [url, r] : deliveries_) r.delivery->stop(one_done);
  // The extra count keeps `done` asynchronous when there is no webhook.
  boost::asio::post(io_, one_done);
}

}  // namespace vigil::agent
