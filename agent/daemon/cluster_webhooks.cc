#include "agent/daemon/cluster_webhooks.h"

#include <stdexcept>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>
#include <boost/asio/steady_timer.hpp>

namespace vigil::agent {

namespace asio = boost::asio;
using json = nlohmann::json;
using membership::WebhookEntry;
using std::chrono::milliseconds;

namespace {

WebhookAuth delivery_auth(WebhookEntry::Auth a) {
  switch (a) {
    case WebhookEntry::Auth::kBearer:
      return WebhookAuth::kBearer;
    case WebhookEntry::Auth::kJwt:
      return WebhookAuth::kSecret;
    default:
      return WebhookAuth::kNone;
  }
}

const std::string& credential_of(const WebhookEntry& e) {
  return e.auth == WebhookEntry::Auth::kJwt ? e.secret : e.token;
}

// The entry a request body describes, on top of `base` (mod) or a new one
// (add). Throws std::invalid_argument("<field>: <reason>").
WebhookEntry entry_of(const json& body, WebhookEntry base) {
  base.url = body.at("url").get<std::string>();
  if (body.contains("auth")) {
    const auto& auth = body.at("auth").get_ref<const std::string&>();
    const std::string credential = body.value("credential", "");
    base.token.clear();
    base.secret.clear();
    if (auth == "none") {
      base.auth = WebhookEntry::Auth::kNone;
    } else if (auth == "bearer") {
      base.auth = WebhookEntry::Auth::kBearer;
      base.token = credential;
    } else if (auth == "jwt") {
      base.auth = WebhookEntry::Auth::kJwt;
      base.secret = credential;
    } else {
      throw std::invalid_argument("auth: expected \"none\", \"bearer\" or \"jwt\"");
    }
  }
  if (body.contains("filters")) base.filters = body.at("filters").get<std::vector<std::string>>();
  // The delivery side's checks (URL, credential, filter grammar) and the
  // set's bounds, before the entry enters the cluster's set.
  make_webhook(base.url, delivery_auth(base.auth), credential_of(base), base.filters);
  WebhookEntry check = base;
  check.writer = "-";  // stamped by WebhookSet::put
  membership::webhook_from_json(membership::to_json(check));
  return base;
}

json public_entry(const WebhookEntry& e) {
  return {{"url", e.url},
          {"auth", to_string(e.auth)},
          {"filters", e.filters},
          {"writer", e.writer},
          {"ltime", e.ltime}};
}

}  // namespace

ClusterWebhooks::ClusterWebhooks(asio::io_context& io, const Config& config,
                                 std::function<Engine&()> engine,
                                 WebhookDeliveries::Publish publish)
    : io_(io),
      config_(config),
      engine_(std::move(engine)),
      worker_(io),
      deliveries_(
          io, worker_, config.var_dir, config.node_name, config.cluster_name,
          WebhookDeliveries::Options{.queue_max = config.webhooks.queue_max,
                                     .delivery = {.request_timeout = config.webhooks.timeout,
                                                  .backoff_min = config.webhooks.retry_min,
                                                  .backoff_max = config.webhooks.retry_max},
                                     .ca_file = config.webhooks.ca_file.string()},
          std::move(publish)) {}

ClusterWebhooks::~ClusterWebhooks() { *alive_ = false; }

void ClusterWebhooks::set_changed(const membership::WebhookSet& set) {
  std::vector<Webhook> hooks;
  for (const auto& e : set.active()) {
    try {
      hooks.push_back(make_webhook(e.url, delivery_auth(e.auth), credential_of(e), e.filters));
    } catch (const std::exception& err) {
      spdlog::warn("webhook {} is not delivered from this node: {}", e.url, err.what());
    }
  }
  deliveries_.set_cluster(config_.cluster_name);
  deliveries_.apply(std::move(hooks));
  if (!pruned_) {
    // The first set is the cluster's state as this node left it: queues of
    // webhooks deleted before are left over.
    pruned_ = true;
    deliveries_.prune_queues([](std::size_t deleted, const std::string& error) {
      if (!error.empty())
        spdlog::warn("webhook queues of deleted webhooks not removed: {}", error);
      else if (deleted > 0)
        spdlog::info("{} queue(s) of deleted webhooks removed", deleted);
    });
  }
}

void ClusterWebhooks::list(Done done) {
  ask("webhook_status", json::object(), kListWait,
      [this, done = std::move(done)](std::map<std::string, json> answers) {
        const Engine& engine = engine_();
        json hooks = json::array();
        for (const auto& e : engine.webhooks().active()) hooks.push_back(public_entry(e));
        json out = engine.webhook_sync();
        for (auto& n : out.at("nodes")) {
          auto it = answers.find(n.at("node").get<std::string>());
          n["delivery"] = it == answers.end() ? json(nullptr) : it->second;
        }
        out["webhooks"] = std::move(hooks);
        done(200, out);
      });
}

void ClusterWebhooks::put(const json& body, Done done) {
  Engine& engine = engine_();
  const auto& url = body.at("url").get_ref<const std::string&>();
  const bool add = body.at("mode") == "add";
  const WebhookEntry* held = engine.webhooks().find(url);
  const bool active = held && held->state == WebhookEntry::State::kActive;
  if (add && active) return done(409, {{"error", "webhook " + url + " exists: use webhook mod"}});
  if (!add && !active) return done(404, {{"error", "no webhook " + url}});
  WebhookEntry entry;
  try {
    entry = entry_of(body, add ? WebhookEntry{} : *held);
  } catch (const std::exception& e) {
    return done(400, {{"error", e.what()}});
  }
  try {
    engine.put_webhook(std::move(entry));
  } catch (const std::length_error& e) {
    return done(507, {{"error", e.what()}});
  }
  wait_sync(std::chrono::steady_clock::now() + kSyncWait, std::move(done));
}

void ClusterWebhooks::remove(const std::string& url, Done done) {
  Engine& engine = engine_();
  const WebhookEntry* held = engine.webhooks().find(url);
  if (!held || held->state != WebhookEntry::State::kActive)
    return done(404, {{"error", "no webhook " + url}});
  engine.remove_webhook(url);
  wait_sync(std::chrono::steady_clock::now() + kSyncWait, std::move(done));
}

void ClusterWebhooks::wait_sync(std::chrono::steady_clock::time_point deadline, Done done) {
  json sync = engine_().webhook_sync();
  bool all = true;
  for (const auto& n : sync.at("nodes"))
    if (n.at("state") == "alive" && !n.at("in_sync").get<bool>()) all = false;
  if (all || std::chrono::steady_clock::now() >= deadline) return done(200, sync);
  auto timer = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(100));
  timer->async_wait([this, timer, deadline, done = std::move(done),
                     alive = alive_](boost::system::error_code ec) {
    if (ec || !*alive) return;
    wait_sync(deadline, done);
  });
}

void ClusterWebhooks::test(const json& body, Done done) {
  WebhookEntry e;
  try {
    e = entry_of(body, WebhookEntry{});
  } catch (const std::exception& err) {
    return done(400, {{"error", err.what()}});
  }
  e.writer = config_.node_name;
  // Each member's request may take the whole request timeout.
  const auto wait = config_.webhooks.timeout + std::chrono::seconds(5);
  ask("webhook_test", membership::to_json(e), std::chrono::duration_cast<milliseconds>(wait),
      [this, done = std::move(done)](std::map<std::string, json> answers) {
        json nodes = json::array();
        const json sync = engine_().webhook_sync();
        for (const auto& n : sync.at("nodes")) {
          const std::string name = n.at("node").get<std::string>();
          json row = {{"node", name}, {"state", n.at("state")}};
          auto it = answers.find(name);
          if (it != answers.end() && it->second.is_object()) {
            row["ok"] = it->second.value("ok", false);
            row["status"] = it->second.value("status", 0);
            row["error"] = it->second.value("error", json(nullptr));
          } else {
            row["ok"] = false;
            row["status"] = 0;
            row["error"] = n.at("state") == "alive" ? "no answer in time" : "node not alive";
          }
          nodes.push_back(std::move(row));
        }
        done(200, {{"nodes", std::move(nodes)}});
      });
}

void ClusterWebhooks::run_query(const membership::Query& q) {
  auto reply = [this, id = q.id, alive = alive_](json answer) {
    if (*alive) engine_().answer_query(id, std::move(answer));
  };
  if (q.kind == "webhook_status") return reply(deliveries_.status());
  if (q.kind != "webhook_test") return reply({{"error", "unknown query kind " + q.kind}});
  Webhook hook;
  try {
    WebhookEntry e = membership::webhook_from_json(q.args);
    hook = make_webhook(e.url, delivery_auth(e.auth), credential_of(e), {});
  } catch (const std::exception& err) {
    return reply({{"ok", false}, {"status", 0}, {"error", err.what()}});
  }
  spdlog::info("webhook test of {} asked by {}", hook.url.text, q.from);
  deliveries_.test(hook, [reply](WebhookDeliveries::TestResult r) {
    reply({{"ok", r.ok},
           {"status", r.status},
           {"error", r.error.empty() ? json(nullptr) : json(r.error)}});
  });
}

void ClusterWebhooks::ask(const std::string& kind, const json& args, milliseconds wait,
                          std::function<void(std::map<std::string, json>)> done) {
  Engine& engine = engine_();
  std::string id = engine.ask(kind, args);
  if (id.empty()) {  // too many queries in flight: this node's answer alone
    spdlog::warn("query {} not spread to the other members: too many in flight", kind);
    id = config_.node_name + "-local-" + std::to_string(++local_queries_);
    wait = milliseconds(0);
  }
  run_query({.id = id, .from = config_.node_name, .kind = kind, .args = args});
  wait_answers(id, std::chrono::steady_clock::now() + wait, std::move(done));
}

void ClusterWebhooks::wait_answers(const std::string& id,
                                   std::chrono::steady_clock::time_point deadline,
                                   std::function<void(std::map<std::string, json>)> done) {
  auto answers = engine_().answers(id);
  bool all = true;
  const json sync = engine_().webhook_sync();
  for (const auto& n : sync.at("nodes"))
    if (n.at("state") == "alive" && !answers.contains(n.at("node").get<std::string>())) all = false;
  if (all || std::chrono::steady_clock::now() >= deadline) return done(std::move(answers));
  auto timer = std::make_shared<asio::steady_timer>(io_, milliseconds(50));
  timer->async_wait([this, timer, id, deadline, done = std::move(done),
                     alive = alive_](boost::system::error_code ec) {
    if (ec || !*alive) return;
    wait_answers(id, deadline, done);
  });
}

}  // namespace vigil::agent
