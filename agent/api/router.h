// One router table for the daemon API: {method, path, role, body schema,
// handler}. Before a handler runs, the router has
//   - authenticated a remote request by its JWT (api/jwt.h): 401;
//   - found the route: 404 for an unknown path, 405 with Allow for a known
//     path and another method;
//   - checked the role: a `user` token reaches only read-only routes: 403;
//   - parsed the body as JSON with bounded nesting (base/bounded_json.h):
//     400 for bad JSON or deeper nesting;
//   - checked the body against the route's schema (api/body_schema.h): 400
//     {"error", "field"}.
// A request of the read-only HTTP listener (ApiRequest::read_only_listener)
// reaches only kReadOnlyListenerRoutes, whatever the table holds: over TLS
// it needs a user JWT signed with Options::http_user_key ([http] user_key,
// never an admin one), but for GET / (the page, static, which holds no
// data): 401; then a path off the list is 404, another method than GET 405.
// No exception leaves a handler: the router answers 500 with the message,
// logs it, and the daemon goes on. Runs on the daemon's io_context thread.
#ifndef VIGIL_AGENT_API_ROUTER_H_
#define VIGIL_AGENT_API_ROUTER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "agent/api/api_server.h"
#include "agent/api/body_schema.h"
#include "agent/api/jwt.h"

namespace vigil::agent {

/// The paths the read-only HTTP listener serves, GET only: the status page,
/// the Prometheus metrics, the dataset, the heartbeat status (the page's
/// "last heard") and the SSE event stream. Nothing that changes state.
inline constexpr const char* kReadOnlyListenerRoutes[] = {"/", "/metrics", "/v1/status", "/v1/hb",
                                                          "/v1/events"};

struct Route {
  using Handler =
      std::function<void(const std::shared_ptr<ApiExchange>& ex, const nlohmann::json& body)>;
  std::string method;  // "GET", "POST"
  std::string path;    // matched exactly, without the query string (see prefix)
  ApiRole role;        // the least role that may call it; kUser: read-only
  BodySchema schema;
  Handler handler;  // `body` fits `schema` (null when there was none)
  /// The route authenticates its caller itself, with a join token
  /// (join_token.h) as the bearer: a remote request skips the JWT check.
  bool join_token = false;
  /// `path` is a prefix ("/v1/queue/"): the route takes every path that
  /// starts with it, and its handler checks the rest (404 when unknown).
  bool prefix = false;
};

class Router {
 public:
  struct Options {
    JwtKeys keys;  // for remote requests
    /// The key of user tokens on the read-only HTTP listener over TLS
    /// ([http] user_key); admin tokens are never accepted there.
    std::optional<std::string> http_user_key;
    int max_depth = 64;                // JSON nesting of a body
    int64_t max_token_lifetime = 600;  // exp - iat of a token, s
  };

  explicit Router(Options options);

  /// A config reload: the JWT keys, the nesting bound and the token
  /// lifetime that the next checks use.
  void set_options(Options options) { options_ = std::move(options); }

  /// Adds a route. Routes are matched in the order added.
  void add(Route route);

  /// For ApiServer::Admit, from the headers alone: 401, 404, 405 or 403 as
  /// above, or nothing when the request may go on. A remote request's JWT
  /// issuer ("admin", "user") goes to `*issuer` when given.
  std::optional<ApiRefusal> admit(const ApiRequest& head, std::string* issuer = nullptr) const;

  /// For ApiServer::Handler: admits the request unless its listener did
  /// (ApiRequest::admitted), checks its body and runs the route's handler.
  /// Always answers or hands the exchange on; never throws.
  void dispatch(const std::shared_ptr<ApiExchange>& ex) const;

  /// The label of `head`'s route for metrics: the matched route's path
  /// ("/v1/status"; a prefix route's with "<id>": "/v1/queue/<id>"), or
  /// "unmatched". Bounded by the route table.
  std::string route_label(const ApiRequest& head) const;

  /// "GET /v1/status, GET /v1/hb, ..." — the routes the user role reaches.
  std::string read_only_routes() const;

 private:
  const Route* find(const std::string& method, const std::string& path, std::string* allow) const;
  std::optional<ApiRefusal> admit_read_only(const ApiRequest& head, std::string* issuer) const;
  void run(const Route& route, const std::shared_ptr<ApiExchange>& ex) const;

  Options options_;
  std::vector<Route> routes_;
};

}  // namespace vigil::agent

#endif  // VIGIL_AGENT_API_ROUTER_H_
