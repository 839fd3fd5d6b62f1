#include "agent/api/service.h"

#include <functional>
#include <map>
#include <memory>
#include <optional>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "agent/api/api_server.h"
#include "agent/api/event_stream.h"
#include "agent/api/join_token.h"
#include "agent/api/operations.h"
#include "agent/api/query_string.h"
#include "agent/api/router.h"
#include "agent/api/status_page.h"
#include "agent/api/waits.h"
#include "agent/base/clock.h"
#include "agent/config/endpoint.h"
#include "agent/config/node_name.h"
#include "agent/events/dataset_condition.h"
#include "agent/events/event_filter.h"

namespace vigil::agent {

namespace asio = boost::asio;
using json = nlohmann::json;
using Exchange = std::shared_ptr<ApiExchange>;
using Type = FieldSpec::Type;
using Root = BodySchema::Root;

namespace {

// Conditions one wait may hold.
constexpr std::size_t kMaxWaitConditions = 64;

// `text` for a log line: a text with a control character (a newline could
// forge a line) is written as a JSON string.
std::string printable(const std::string& text) {
  for (unsigned char c : text)
    if (c < 0x20 || c == 0x7f)
      return json(text).dump(-1, ' ', false, json::error_handler_t::replace);
  return text;
}

// A change as the log tells it: "node set .labels.rack", "node patch
// (replace /labels/rack, add /data/x)", "node freeze". Cut at 200 bytes: the
// request is the client's.
std::string describe(const NodeChange& change) {
  std::string text;
  switch (change.kind) {
    case NodeChange::Kind::kSet:
      text = "node set " + printable(change.path);
      break;
    case NodeChange::Kind::kFreeze:
      return "node freeze";
    case NodeChange::Kind::kUnfreeze:
      return "node unfreeze";
    case NodeChange::Kind::kPatch: {
      std::string ops;
      if (change.ops.is_array())
        for (const auto& op : change.ops) {
          if (!ops.empty()) ops += ", ";
          ops += op.is_object() && op.contains("op") && op["op"].is_string()
                     ? op["op"].get<std::string>()
                     : std::string("?");
          if (op.is_object() && op.contains("path") && op["path"].is_string())
            ops += " " + printable(op["path"].get<std::string>());
          if (ops.size() > 200) break;
        }
      text = "node patch (" + ops + ")";
      break;
    }
  }
  if (text.size() > 200) text = text.substr(0, 200) + "...";
  return text;
}

// The heartbeat paths of a join request: {hb id: "host:port"}, 1 to 16 of
// them. Returns why they are refused, or nothing.
std::optional<std::string> parse_join_paths(const json& j,
                                            std::map<std::string, std::string>& out) {
  if (!j.is_object() || j.empty() || j.size() > 16)
    return "expected an object of 1 to 16 {hb id: \"host:port\"}";
  for (const auto& [id, addr] : j.items()) {
    if (id.empty() || id.size() > 64) return "a path id of 1 to 64 bytes";
    if (!addr.is_string()) return id + ": expected \"host:port\"";
    try {
      out[id] = parse_endpoint(addr.get<std::string>()).text();
    } catch (const std::invalid_argument& e) {
      return id + ": " + e.what();
    }
  }
  return std::nullopt;
}

Router::Options router_options(const ApiConfig& api, const std::optional<HttpConfig>& http) {
  return {.keys = JwtKeys{api.admin_key, api.user_key},
          .http_user_key = http ? http->user_key : std::nullopt,
          .max_depth = api.limits.max_depth,
          .max_token_lifetime = api.limits.max_token_lifetime.count() / 1000};
}

}  // namespace

struct ApiService::Impl {
  Impl(asio::io_context& io, const Config& config, ApiBackend& backend)
      : config(config),
        backend(backend),
        router(router_options(config.api, config.http)),
        waits(io, config.api.limits.max_waits, [&backend] { return backend.dataset(); }),
        streams(io, backend.bus(), config.api.limits.max_subscribers),
        server(
            io, config.api_socket(), config.api.limits,
            [this](const ApiRequest& head, std::string& issuer) {
              auto refusal = router.admit(head, &issuer);
              if (refusal) this->backend.api_request(router.route_label(head), refusal->status);
              return refusal;
            },
            [this](Exchange ex) {
              ex->on_reply([this, route = router.route_label(ex->request())](int status) {
                this->backend.api_request(route, status);
              });
              router.dispatch(ex);
            }) {
    add_routes();
  }

  void add_routes();
  void node_change(const Exchange& ex, NodeChange change);
  void start_operation(const Exchange& ex, std::string op, std::string progress,
                       const std::function<void(ApiBackend::Done)>& run);

  const Config& config;
  ApiBackend& backend;
  Router router;
  Waits waits;
  EventStreams streams;
  ApiServer server;
  // Shared with the backend's callbacks, which may outlive the service.
  std::shared_ptr<Operations> operations = std::make_shared<Operations>();
};

void ApiService::Impl::add_routes() {
  const BodySchema none{};
  router.add({"GET", "/v1/status", ApiRole::kUser, none,
              [this](const Exchange& ex, const json&) { ex->reply(200, backend.dataset()); }});
  // The web status page (status_page.html), one self-contained document.
  router.add({"GET", "/", ApiRole::kUser, none, [](const Exchange& ex, const json&) {
                ex->reply_text(200, "text/html; charset=utf-8", std::string(status_page_html()),
                               {{"Cache-Control", "no-store"},
                                {"Content-Security-Policy", std::string(kStatusPageCsp)},
                                {"X-Content-Type-Options", "nosniff"},
                                {"Referrer-Policy", "no-referrer"}});
              }});
  router.add({"GET", "/v1/hb", ApiRole::kUser, none,
              [this](const Exchange& ex, const json&) { ex->reply(200, backend.hb_status()); }});

  const BodySchema events{Root::kObject, {{.name = "filters", .type = Type::kStringArray}}, true};
  auto open_stream = [this](const Exchange& ex, const json& body) {
    EventFilterSet filters;
    try {
      if (body.is_object() && body.contains("filters"))
        for (const auto& f : body.at("filters"))
          filters.add(EventFilter::parse(f.get_ref<const std::string&>()));
    } catch (const std::exception& e) {
      return ex->reply(400, {{"error", e.what()}, {"field", "filters"}});
    }
    // Filters in the query string too ("?filter=NodeStale&filter=node%3Dn2",
    // OR'ed with those of the body): what a browser can send on a GET.
    try {
      for (const auto& [name, value] : parse_query(ex->request().target)) {
        if (name != "filter")
          return ex->reply(400, {{"error", "query: unknown parameter '" + printable(name) +
                                               "' (expected filter)"},
                                 {"field", "query"}});
        filters.add(EventFilter::parse(value));
      }
    } catch (const std::exception& e) {
      return ex->reply(400, {{"error", e.what()}, {"field", "filter"}});
    }
    streams.open(ex, std::move(filters));
  };
  router.add({"GET", "/v1/events", ApiRole::kUser, events, open_stream});
  router.add({"POST", "/v1/events", ApiRole::kUser, events, open_stream});

  // One condition ("filter") or several ("filters"), all of which must hold.
  router.add(
      {"POST", "/v1/wait", ApiRole::kUser,
       BodySchema{Root::kObject,
                  {{.name = "filter", .type = Type::kString},
                   {.name = "filters", .type = Type::kStringArray},
                   {.name = "duration_ms",
                    .type = Type::kInteger,
                    .required = true,
                    .min = 1,
                    .max = Waits::kMaxDurationMs}}},
       [this](const Exchange& ex, const json& body) {
         std::vector<std::string> texts;
         if (body.contains("filter")) texts.push_back(body.at("filter").get<std::string>());
         if (body.contains("filters"))
           for (const auto& f : body.at("filters")) texts.push_back(f.get<std::string>());
         const char* field = body.contains("filters") ? "filters" : "filter";
         if (texts.empty() || (body.contains("filter") && body.contains("filters")))
           return ex->reply(
               400, {{"error", "give one of filter or filters (not empty)"}, {"field", field}});
         if (texts.size() > kMaxWaitConditions)
           return ex->reply(
               400, {{"error", "more than " + std::to_string(kMaxWaitConditions) + " conditions"},
                     {"field", field}});
         std::vector<JsonCondition> conditions;
         try {
           for (const auto& t : texts) conditions.push_back(parse_dataset_condition(t));
         } catch (const std::exception& e) {
           return ex->reply(400, {{"error", e.what()}, {"field", field}});
         }
         waits.start(ex, std::move(conditions),
                     std::chrono::milliseconds(body.at("duration_ms").get<int64_t>()));
       }});

  router.add({"POST", "/v1/hb/rotate", ApiRole::kAdmin,
              BodySchema{Root::kObject, {{.name = "secret", .type = Type::kString}}, true},
              [this](const Exchange& ex, const json& body) {
                std::optional<crypto::Secret> secret;
                if (body.is_object() && body.contains("secret")) {
                  try {
                    secret = crypto::parse_secret_hex(body["secret"].get_ref<const std::string&>());
                  } catch (const std::exception& e) {
                    return ex->reply(
                        400, {{"error", std::string("secret: ") + e.what()}, {"field", "secret"}});
                  }
                }
                spdlog::info("hb rotate ({}) by {}", secret ? "secret given" : "random secret",
                             ex->request().caller());
                start_operation(ex, "hb rotate",
                                "staging the new secret on every alive node, then switching",
                                [this, secret](ApiBackend::Done done) {
                                  backend.rotate(secret, std::move(done));
                                });
              }});

  // A join token for `vigil cluster join` (join_token.h): it pins this
  // node's TLS certificate, so only a node with a TLS listener makes one.
  router.add(
      {"POST", "/v1/cluster/token", ApiRole::kAdmin,
       BodySchema{Root::kObject,
                  {{.name = "duration_ms",
                    .type = Type::kInteger,
                    .min = 1000,
                    .max = kMaxJoinTokenLifetime * 1000}},
                  true},
       [this](const Exchange& ex, const json& body) {
         if (config.cluster_name.empty())
           return ex->reply(409, {{"error",
                                   "this node is standalone: it is no member of a "
                                   "cluster, and cannot admit one"}});
         if (server.tls_certificate_sha256().empty())
           return ex->reply(409, {{"error",
                                   "this node has no [api] TLS listener: a joiner reaches its seed "
                                   "through it (set [api] listen, tls_cert and tls_key)"}});
         const int64_t lifetime_s = body.is_object() && body.contains("duration_ms")
                                        ? body.at("duration_ms").get<int64_t>() / 1000
                                        : kDefaultJoinTokenLifetime;
         const int64_t now = wall_ms() / 1000;
         const JoinToken t{.issuer = config.node_name,
                           .cluster = config.cluster_name,
                           .iat = now,
                           .exp = now + lifetime_s,
                           .cert_sha256 = server.tls_certificate_sha256()};
         const auto keys = backend.join_keys();
         spdlog::info("cluster token valid {} s made by {}", lifetime_s, ex->request().caller());
         ex->reply(200, {{"token", make_join_token(t, keys.front())},
                         {"expires_at", format_rfc3339(std::chrono::system_clock::time_point(
                                            std::chrono::seconds(t.exp)))}});
       }});

  // Membership (ApiBackend::admit, join, leave, forget, members).
  auto reply = [](const Exchange& ex) {
    return [ex](int status, const json& answer) { ex->reply(status, answer); };
  };
  router.add({"GET", "/v1/cluster/members", ApiRole::kUser, none,
              [this](const Exchange& ex, const json&) { ex->reply(200, backend.members()); }});
  // A seed admits a joiner: the bearer is a join token, not an API JWT.
  Route admit{"POST", "/v1/cluster/join", ApiRole::kAdmin,
              BodySchema{Root::kObject,
                         {{.name = "name", .type = Type::kString, .required = true},
                          {.name = "paths", .type = Type::kAny, .required = true}}},
              [this, reply](const Exchange& ex, const json& body) {
                const auto& name = body.at("name").get_ref<const std::string&>();
                if (!is_node_name(name))
                  return ex->reply(400, {{"error", "name: invalid node name '" + name + "'"},
                                         {"field", "name"}});
                std::map<std::string, std::string> paths;
                if (auto why = parse_join_paths(body.at("paths"), paths))
                  return ex->reply(400, {{"error", "paths: " + *why}, {"field", "paths"}});
                std::string token = ex->request().authorization;
                if (token.rfind("Bearer ", 0) != 0)
                  return ex->reply(401, {{"error", "a join token is required as the bearer"}});
                spdlog::info("cluster join of {} asked by {}", name, ex->request().caller());
                backend.admit(token.substr(7), name, paths, reply(ex));
              }};
  admit.join_token = true;
  router.add(std::move(admit));
  router.add(
      {"POST", "/v1/node/join", ApiRole::kAdmin,
       BodySchema{Root::kObject,
                  {{.name = "token", .type = Type::kString, .required = true},
                   {.name = "seed", .type = Type::kString, .required = true},
                   {.name = "timeout_ms", .type = Type::kInteger, .min = 100, .max = 3'600'000}}},
       [this](const Exchange& ex, const json& body) {
         const auto timeout = std::chrono::milliseconds(body.value("timeout_ms", int64_t{30000}));
         const auto seed = body.at("seed").get<std::string>();
         spdlog::info("cluster join through {} asked by {}", seed, ex->request().caller());
         start_operation(
             ex, "cluster join",
             "asking the seed " + printable(seed.substr(0, 200)) +
                 ", then waiting to hear it alive (at most " + std::to_string(timeout.count()) +
                 " ms)",
             [this, token = body.at("token").get<std::string>(), seed, timeout](
                 ApiBackend::Done done) { backend.join(token, seed, timeout, std::move(done)); });
       }});
  router.add(
      {"POST", "/v1/cluster/leave", ApiRole::kAdmin,
       BodySchema{Root::kObject,
                  {{.name = "timeout_ms", .type = Type::kInteger, .min = 100, .max = 3'600'000}},
                  true},
       [this](const Exchange& ex, const json& body) {
         const auto timeout = std::chrono::milliseconds(
             body.is_object() ? body.value("timeout_ms", int64_t{10000}) : 10000);
         spdlog::info("cluster leave asked by {}", ex->request().caller());
         start_operation(
             ex, "cluster leave",
             "announcing the leave, waiting for every alive peer to acknowledge it "
             "(at most " +
                 std::to_string(timeout.count()) + " ms)",
             [this, timeout](ApiBackend::Done done) { backend.leave(timeout, std::move(done)); });
       }});
  router.add(
      {"POST", "/v1/cluster/forget", ApiRole::kAdmin,
       BodySchema{Root::kObject, {{.name = "node", .type = Type::kString, .required = true}}},
       [this](const Exchange& ex, const json& body) {
         const auto& node = body.at("node").get_ref<const std::string&>();
         spdlog::info("cluster forget {} asked by {}", printable(node), ex->request().caller());
         start_operation(
             ex, "cluster forget", "removing the member from the member list",
             [this, node](ApiBackend::Done done) { backend.forget(node, std::move(done)); });
       }});

  // The cluster's webhooks (ApiBackend::webhooks, put_webhook, ...): the
  // router checks the shape, the daemon the URL, auth and filters.
  router.add({"GET", "/v1/webhooks", ApiRole::kUser, none,
              [this, reply](const Exchange& ex, const json&) { backend.webhooks(reply(ex)); }});
  const BodySchema webhook_body{Root::kObject,
                                {{.name = "url", .type = Type::kString, .required = true},
                                 {.name = "mode", .type = Type::kString, .required = true},
                                 {.name = "auth", .type = Type::kString},
                                 {.name = "credential", .type = Type::kString},
                                 {.name = "filters", .type = Type::kStringArray}}};
  router.add({"POST", "/v1/webhooks", ApiRole::kAdmin, webhook_body,
              [this, reply](const Exchange& ex, const json& body) {
                const auto& mode = body.at("mode").get_ref<const std::string&>();
                if (mode != "add" && mode != "mod")
                  return ex->reply(
                      400, {{"error", "mode: expected \"add\" or \"mod\""}, {"field", "mode"}});
                spdlog::info("webhook {} {} asked by {}", mode, body.at("url").get<std::string>(),
                             ex->request().caller());
                backend.put_webhook(body, reply(ex));
              }});
  router.add({"POST", "/v1/webhooks/delete", ApiRole::kAdmin,
              BodySchema{Root::kObject, {{.name = "url", .type = Type::kString, .required = true}}},
              [this, reply](const Exchange& ex, const json& body) {
                const auto& url = body.at("url").get_ref<const std::string&>();
                spdlog::info("webhook del {} asked by {}", url, ex->request().caller());
                backend.delete_webhook(url, reply(ex));
              }});
  router.add({"POST", "/v1/webhooks/test", ApiRole::kAdmin,
              BodySchema{Root::kObject,
                         {{.name = "url", .type = Type::kString, .required = true},
                          {.name = "auth", .type = Type::kString},
                          {.name = "credential", .type = Type::kString}}},
              [this](const Exchange& ex, const json& body) {
                // The body may hold a credential: it stays out of the operation.
                start_operation(ex, "webhook test", "posting a test event from every alive node",
                                [this, body](ApiBackend::Done done) {
                                  backend.test_webhook(body, std::move(done));
                                });
              }});

  // Asynchronous operations (api/operations.h, seed 003): GET
  // /v1/queue/<id> and /v1/queue/<id>/result. A user token may read them:
  // the id is an unguessable capability, and no result holds a secret.
  Route queue{"GET", std::string(Operations::kQueuePrefix), ApiRole::kUser, none,
              [this](const Exchange& ex, const json&) {
                auto answer = operations->get(ex->request().path());
                ex->reply(answer.status, answer.body, answer.headers);
              }};
  queue.prefix = true;
  router.add(std::move(queue));

  // Prometheus metrics (metrics/metrics.h), in the text format 0.0.4.
  router.add({"GET", "/metrics", ApiRole::kUser, none, [this](const Exchange& ex, const json&) {
                std::string text = backend.metrics();
                if (text.empty()) return ex->reply(404, {{"error", "no metrics here"}});
                ex->reply_text(200, "text/plain; version=0.0.4; charset=utf-8", std::move(text));
              }});

  // This node's event export (ApiBackend::export_status).
  router.add(
      {"GET", "/v1/export/status", ApiRole::kUser, none,
       [this](const Exchange& ex, const json&) { ex->reply(200, backend.export_status()); }});

  // A config reload (ApiBackend::reload): 200 {"changed": [...]}, or 400
  // {"error": "<file>: key '...': ..."} and the running config kept.
  router.add(
      {"POST", "/v1/daemon/reload", ApiRole::kAdmin, none, [this](const Exchange& ex, const json&) {
         backend.reload(ex->request().caller(),
                        [ex](int status, const json& answer) { ex->reply(status, answer); });
       }});

  router.add({"POST", "/v1/node/patch", ApiRole::kAdmin, BodySchema{Root::kArray},
              [this](const Exchange& ex, const json& body) {
                node_change(ex, {.kind = NodeChange::Kind::kPatch, .ops = body});
              }});
  router.add({"POST", "/v1/node/set", ApiRole::kAdmin,
              BodySchema{Root::kObject,
                         {{.name = "path", .type = Type::kString, .required = true},
                          {.name = "value", .type = Type::kAny, .required = true}}},
              [this](const Exchange& ex, const json& body) {
                node_change(ex, {.kind = NodeChange::Kind::kSet,
                                 .path = body.at("path").get<std::string>(),
                                 .value = body.at("value")});
              }});
  router.add(
      {"POST", "/v1/node/freeze", ApiRole::kAdmin, none, [this](const Exchange& ex, const json&) {
         node_change(ex, {.kind = NodeChange::Kind::kFreeze});
       }});
  router.add(
      {"POST", "/v1/node/unfreeze", ApiRole::kAdmin, none, [this](const Exchange& ex, const json&) {
         node_change(ex, {.kind = NodeChange::Kind::kUnfreeze});
       }});
}

// An operation that takes time (api/operations.h): 202 with its Location at
// once, then `run` starts the work, and the `done` it is given ends the
// operation (it may run at once: a quick refusal is an operation that
// failed). 503 when max_operations run already.
void ApiService::Impl::start_operation(const Exchange& ex, std::string op, std::string progress,
                                       const std::function<void(ApiBackend::Done)>& run) {
  const std::string name = op;
  auto id = operations->start(std::move(op), std::move(progress));
  if (!id)
    return ex->reply(503, {{"error", "too many operations running (at most " +
                                         std::to_string(Operations::kMaxOperations) + ")"}});
  const std::string location = Operations::location(*id);
  spdlog::info("operation {} ({}) started", *id, name);
  ex->reply(202, {{"id", *id}, {"op", name}, {"location", location}}, {{"Location", location}});
  std::weak_ptr<Operations> weak = operations;
  try {
    run([weak, id = *id, name](int status, const json& answer) {
      spdlog::info("operation {} ({}) {}: status {}", id, name,
                   status / 100 == 2 ? "succeeded" : "failed", status);
      if (auto ops = weak.lock()) ops->finish(id, status, answer);
    });
  } catch (const std::exception& e) {  // the 202 is sent: the operation fails instead
    spdlog::error("operation {} ({}): {}", *id, name, e.what());
    operations->finish(*id, 500, {{"error", std::string("internal error: ") + e.what()}});
  }
}

// Logs each change with who asked, once: accepted, or refused and why.
void ApiService::Impl::node_change(const Exchange& ex, NodeChange change) {
  try {
    backend.change(change, [ex](uint64_t gen) { ex->reply(200, {{"ok", true}, {"gen", gen}}); });
  } catch (const std::exception& e) {
    spdlog::info("{} by {} refused: {}", describe(change), ex->request().caller(),
                 printable(e.what()));
    return ex->reply(400, {{"error", e.what()}});
  }
  spdlog::info("{} by {}", describe(change), ex->request().caller());
}

ApiService::ApiService(asio::io_context& io, const Config& config, ApiBackend& backend)
    : impl_(std::make_unique<Impl>(io, config, backend)) {}

ApiService::~ApiService() = default;

void ApiService::start() {
  impl_->server.start();
  if (const auto& l = impl_->config.api.listen) {
    impl_->server.start_tls({{asio::ip::make_address(l->host), l->port},
                             impl_->config.api.tls_cert,
                             impl_->config.api.tls_key});
    spdlog::info("API also on TCP {} (TLS, JWT)", l->text());
  }
  if (const auto& h = impl_->config.http) {
    impl_->server.start_http(
        {{asio::ip::make_address(h->listen.host), h->listen.port}, h->tls_cert, h->tls_key});
    spdlog::info("status page and metrics on {}://{}/ (read-only{})", h->tls() ? "https" : "http",
                 h->listen.text(), h->tls() ? ", user JWT" : "");
  }
}

void ApiService::stop() { impl_->server.stop(); }

void ApiService::dataset_changed() { impl_->waits.dataset_changed(); }

void ApiService::reconfigure(const ApiConfig& api) {
  // [http] needs a restart: its key is the running one.
  impl_->router.set_options(router_options(api, impl_->config.http));
  impl_->waits.set_max(api.limits.max_waits);
  impl_->streams.set_max(api.limits.max_subscribers);
  impl_->server.set_limits(api.limits);
}

void ApiService::handle(const std::shared_ptr<ApiExchange>& ex) { impl_->router.dispatch(ex); }

}  // namespace vigil::agent
