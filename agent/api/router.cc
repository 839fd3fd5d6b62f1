#include "agent/api/router.h"

#include <algorithm>
#include <exception>
#include <iterator>
#include <utility>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "agent/base/bounded_json.h"
#include "agent/base/clock.h"

namespace vigil::agent {

using json = nlohmann::json;

Router::Router(Options options) : options_(std::move(options)) {}

void Router::add(Route route) { routes_.push_back(std::move(route)); }

const Route* Router::find(const std::string& method, const std::string& path,
                          std::string* allow) const {
  const Route* found = nullptr;
  for (const auto& r : routes_) {
    if (r.prefix ? path.rfind(r.path, 0) != 0 : r.path != path) continue;
    if (r.method == method && !found) found = &r;
    if (allow) *allow += (allow->empty() ? "" : ", ") + r.method;
  }
  return found;
}

std::optional<ApiRefusal> Router::admit_read_only(const ApiRequest& head,
                                                  std::string* issuer) const {
  const std::string path = head.path();
  // The page itself is static and public, the same file in every build: a
  // browser loads it without a token, then the page sends one with each of
  // its requests.
  const bool page = head.method == "GET" && path == "/";
  if (head.remote && !page) {
    try {
      check_jwt(head.authorization, head.method, path,
                JwtKeys{std::nullopt, options_.http_user_key}, wall_ms() / 1000,
                options_.max_token_lifetime);
    } catch (const JwtError& e) {
      spdlog::info("HTTP {} {} refused: {}", head.method, path, e.what());
      return ApiRefusal{401, {{"error", e.what()}}, {{"WWW-Authenticate", "Bearer"}}};
    }
    if (issuer) *issuer = "user";
  }
  const bool listed =
      std::find(std::begin(kReadOnlyListenerRoutes), std::end(kReadOnlyListenerRoutes), path) !=
      std::end(kReadOnlyListenerRoutes);
  std::string allow;
  const Route* route = listed && head.method == "GET" ? find("GET", path, &allow) : nullptr;
  if (!listed || (!route && head.method == "GET"))
    return ApiRefusal{
        404,
        {{"error", "no route " + head.method + " " + path + " on the read-only listener"}},
        {}};
  if (!route)
    return ApiRefusal{405,
                      {{"error", "method " + head.method + " not allowed on " + path +
                                     " (the read-only listener serves GET only)"}},
                      {{"Allow", "GET"}}};
  if (route->role != ApiRole::kUser)
    return ApiRefusal{403, {{"error", "the read-only listener serves no admin route"}}, {}};
  return std::nullopt;
}

std::optional<ApiRefusal> Router::admit(const ApiRequest& head, std::string* issuer) const {
  if (head.read_only_listener) return admit_read_only(head, issuer);
  const std::string path = head.path();
  ApiRole role = ApiRole::kAdmin;  // the Unix socket is trusted (mode 0600)
  std::string ignore;
  const Route* own_auth = find(head.method, path, &ignore);
  if (head.remote && own_auth && own_auth->join_token && issuer) *issuer = "join";
  if (head.remote && !(own_auth && own_auth->join_token)) {
    try {
      role = check_jwt(head.authorization, head.method, path, options_.keys, wall_ms() / 1000,
                       options_.max_token_lifetime);
    } catch (const JwtError& e) {
      spdlog::info("API {} {} refused: {}", head.method, path, e.what());
      return ApiRefusal{401, {{"error", e.what()}}, {}};
    }
    if (issuer) *issuer = role == ApiRole::kAdmin ? "admin" : "user";
  }
  std::string allow;
  const Route* route = find(head.method, path, &allow);
  if (!route && allow.empty())
    return ApiRefusal{404, {{"error", "no route " + head.method + " " + path}}, {}};
  if (!route)
    return ApiRefusal{
        405, {{"error", "method " + head.method + " not allowed on " + path}}, {{"Allow", allow}}};
  if (route->role == ApiRole::kAdmin && role != ApiRole::kAdmin)
    return ApiRefusal{403, {{"error", "the user role may only read: " + read_only_routes()}}, {}};
  return std::nullopt;
}

void Router::dispatch(const std::shared_ptr<ApiExchange>& ex) const {
  try {
    const ApiRequest& req = ex->request();
    // A listener admits from the headers (the token checked once); a request
    // handed in any other way is admitted here.
    const Route* route = req.admitted ? find(req.method, req.path(), nullptr) : nullptr;
    if (!route) {
      std::string issuer;
      if (auto refusal = admit(req, &issuer))
        return ex->reply(refusal->status, refusal->body, refusal->headers);
      if (req.remote) ex->set_issuer(issuer);
      route = find(req.method, req.path(), nullptr);
    }
    run(*route, ex);
  } catch (const std::exception& e) {
    spdlog::error("API {} {}: {}", ex->request().method, ex->request().path(), e.what());
    ex->reply(500, {{"error", std::string("internal error: ") + e.what()}});
  } catch (...) {
    spdlog::error("API {} {}: unknown exception", ex->request().method, ex->request().path());
    ex->reply(500, {{"error", "internal error"}});
  }
}

void Router::run(const Route& route, const std::shared_ptr<ApiExchange>& ex) const {
  json body;
  if (!ex->request().body.empty()) {
    try {
      body = parse_json_bounded(ex->request().body, options_.max_depth);
    } catch (const JsonTooDeep& e) {
      return ex->reply(400, {{"error", std::string("request body: ") + e.what()}});
    }
    if (body.is_discarded()) return ex->reply(400, {{"error", "request body is not JSON"}});
  }
  if (auto e = check_body(body, route.schema))
    return ex->reply(400, {{"error", e->error}, {"field", e->field}});
  route.handler(ex, body);
}

std::string Router::route_label(const ApiRequest& head) const {
  std::string allow;
  const Route* r = find(head.method, head.path(), &allow);
  if (!r) return "unmatched";
  return r->prefix ? r->path + "<id>" : r->path;
}

std::string Router::read_only_routes() const {
  std::string out;
  for (const auto& r : routes_)
    if (r.role == ApiRole::kUser)
      out += (out.empty() ? "" : ", ") + r.method + " " + r.path + (r.prefix ? "<id>" : "");
  return out;
}

}  // namespace vigil::agent
