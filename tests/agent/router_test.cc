#include "agent/api/router.h"

#include <stdexcept>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "agent/base/clock.h"
#include "tests/support/fake_exchange.h"

namespace vigil::agent {
namespace {

using json = nlohmann::json;
using testing::FakeExchange;

const std::string kAdminKey(32, 'a');
const std::string kUserKey(32, 'u');

class RouterTest : public ::testing::Test {
 protected:
  RouterTest() : router_({.keys = {kAdminKey, kUserKey}, .max_depth = 8}) {
    router_.add({"GET", "/v1/status", ApiRole::kUser, {}, [](auto& ex, const json&) {
                   ex->reply(200, {{"ok", true}});
                 }});
    router_.add({"POST", "/v1/wait", ApiRole::kUser,
                 BodySchema{BodySchema::Root::kObject,
                            {{.name = "duration_ms",
                              .type = FieldSpec::Type::kInteger,
                              .required = true,
                              .min = 1}}},
                 [this](auto& ex, const json& body) {
                   seen_ = body;
                   ex->reply(200, {{"ok", true}});
                 }});
    router_.add({"POST", "/v1/node/set", ApiRole::kAdmin, {}, [](auto& ex, const json&) {
                   ex->reply(200, {{"ok", true}});
                 }});
    router_.add({"POST", "/v1/boom", ApiRole::kAdmin, {}, [](auto&, const json&) {
                   throw std::logic_error("handler bug");
                 }});
  }

  std::shared_ptr<FakeExchange> send(ApiRequest req) {
    auto ex = std::make_shared<FakeExchange>(std::move(req));
    router_.dispatch(ex);
    return ex;
  }

  Router router_;
  json seen_;
};

TEST_F(RouterTest, RunsTheRouteWithItsParsedBody) {
  auto ex = send({.method = "POST", .target = "/v1/wait", .body = R"({"duration_ms": 5})"});
  EXPECT_EQ(ex->status(), 200);
  EXPECT_EQ(seen_["duration_ms"], 5);
}

TEST_F(RouterTest, UnknownPathIs404AndWrongMethodIs405WithAllow) {
  EXPECT_EQ(send({.method = "GET", .target = "/v1/nope"})->status(), 404);
  auto ex = send({.method = "DELETE", .target = "/v1/status"});
  EXPECT_EQ(ex->status(), 405);
  EXPECT_NE(ex->written().find("Allow: GET"), std::string::npos);
}

TEST_F(RouterTest, AWrongTypeIs400NamingTheField) {
  auto ex = send({.method = "POST", .target = "/v1/wait", .body = R"({"duration_ms": "1"})"});
  EXPECT_EQ(ex->status(), 400);
  EXPECT_EQ(json::parse(ex->body())["field"], "duration_ms");
}

TEST_F(RouterTest, BadJsonAndDeepNestingAre400) {
  EXPECT_EQ(send({.method = "POST", .target = "/v1/wait", .body = "{"})->status(), 400);
  std::string deep(150000, '[');
  auto ex = send({.method = "POST", .target = "/v1/wait", .body = deep});
  EXPECT_EQ(ex->status(), 400);
  EXPECT_NE(ex->body().find("deeper"), std::string::npos);
}

TEST_F(RouterTest, AThrowingHandlerIs500AndTheRouterGoesOn) {
  EXPECT_EQ(send({.method = "POST", .target = "/v1/boom"})->status(), 500);
  EXPECT_EQ(send({.method = "GET", .target = "/v1/status"})->status(), 200);
}

TEST_F(RouterTest, RemoteRequestsNeedAToken) {
  auto ex = send({.method = "GET", .target = "/v1/status", .remote = true});
  EXPECT_EQ(ex->status(), 401);
}

TEST_F(RouterTest, TheUserRoleOnlyReads) {
  const int64_t now = wall_ms() / 1000;
  auto token = [&](const std::string& key, ApiRole role, const char* method, const char* path) {
    return "Bearer " + make_jwt(role, key, method, path, now);
  };
  EXPECT_EQ(send({.method = "GET",
                  .target = "/v1/status",
                  .authorization = token(kUserKey, ApiRole::kUser, "GET", "/v1/status"),
                  .remote = true})
                ->status(),
            200);
  auto ex = send({.method = "POST",
                  .target = "/v1/node/set",
                  .authorization = token(kUserKey, ApiRole::kUser, "POST", "/v1/node/set"),
                  .remote = true});
  EXPECT_EQ(ex->status(), 403);
  EXPECT_NE(ex->body().find("GET /v1/status, POST /v1/wait"), std::string::npos);
  EXPECT_EQ(send({.method = "POST",
                  .target = "/v1/node/set",
                  .authorization = token(kAdminKey, ApiRole::kAdmin, "POST", "/v1/node/set"),
                  .remote = true})
                ->status(),
            200);
}

TEST_F(RouterTest, AdmitRefusesFromTheHeadersAlone) {
  EXPECT_TRUE(router_.admit({.method = "GET", .target = "/v1/status", .remote = true}));
  EXPECT_FALSE(router_.admit({.method = "GET", .target = "/v1/status?x=1"}));
}

TEST_F(RouterTest, TheHandlerKnowsWhoAsks) {
  auto token = [](const std::string& key, ApiRole role, const char* method, const char* path) {
    return "Bearer " + make_jwt(role, key, method, path, wall_ms() / 1000);
  };
  std::string caller;
  router_.add({"POST", "/v1/who", ApiRole::kUser, {}, [&caller](auto& ex, const json&) {
                 caller = ex->request().caller();
                 ex->reply(200, {{"ok", true}});
               }});
  send({.method = "POST", .target = "/v1/who", .peer = "uid 1000"});
  EXPECT_EQ(caller, "uid 1000");
  send({.method = "POST",
        .target = "/v1/who",
        .authorization = token(kUserKey, ApiRole::kUser, "POST", "/v1/who"),
        .remote = true,
        .peer = "192.0.2.7:41234"});
  EXPECT_EQ(caller, "iss user from 192.0.2.7:41234");
  std::string issuer;
  EXPECT_FALSE(router_.admit({.method = "POST",
                              .target = "/v1/who",
                              .authorization = token(kAdminKey, ApiRole::kAdmin, "POST", "/v1/who"),
                              .remote = true},
                             &issuer));
  EXPECT_EQ(issuer, "admin");
}

// The read-only HTTP listener's requests reach its allowlist only
// (kReadOnlyListenerRoutes), over TLS with a user token of [http] user_key.
class ReadOnlyListenerTest : public ::testing::Test {
 protected:
  ReadOnlyListenerTest()
      : router_({.keys = {kAdminKey, kUserKey}, .http_user_key = kHttpKey, .max_depth = 8}) {
    auto ok = [](auto& ex, const json&) { ex->reply(200, {{"ok", true}}); };
    router_.add({"GET", "/", ApiRole::kUser, {}, ok});
    router_.add({"GET", "/v1/status", ApiRole::kUser, {}, ok});
    router_.add({"GET", "/v1/events", ApiRole::kUser, {}, ok});
    router_.add({"POST", "/v1/events", ApiRole::kUser, {}, ok});
    router_.add({"POST", "/v1/wait", ApiRole::kUser, {}, ok});
    router_.add({"GET", "/v1/cluster/members", ApiRole::kUser, {}, ok});
    router_.add({"POST", "/v1/node/freeze", ApiRole::kAdmin, {}, ok});
    // An admin route on a listed path: a mistake the listener still refuses.
    router_.add({"GET", "/metrics", ApiRole::kAdmin, {}, ok});
  }

  int send(const std::string& method, const std::string& target, bool tls = false,
           const std::string& authorization = "") {
    auto ex = std::make_shared<FakeExchange>(ApiRequest{.method = method,
                                                        .target = target,
                                                        .authorization = authorization,
                                                        .remote = tls,
                                                        .read_only_listener = true});
    router_.dispatch(ex);
    last_ = ex;
    return ex->status();
  }
  static std::string token(const std::string& key, ApiRole role, const std::string& method,
                           const std::string& path) {
    return "Bearer " + make_jwt(role, key, method, path, wall_ms() / 1000);
  }

  const std::string kHttpKey = std::string(32, 'h');
  Router router_;
  std::shared_ptr<FakeExchange> last_;
};

TEST_F(ReadOnlyListenerTest, ServesTheListedReads) {
  EXPECT_EQ(send("GET", "/"), 200);
  EXPECT_EQ(send("GET", "/v1/status"), 200);
  EXPECT_EQ(send("GET", "/v1/events?filter=NodeStale"), 200);
}

TEST_F(ReadOnlyListenerTest, AnyOtherPathIs404EvenAUserRoute) {
  EXPECT_EQ(send("GET", "/v1/cluster/members"), 404);
  EXPECT_EQ(send("POST", "/v1/wait"), 404);
  EXPECT_EQ(send("POST", "/v1/node/freeze"), 404);
  EXPECT_EQ(send("GET", "/nope"), 404);
  // Listed, but not registered (the hb route is not in this table).
  EXPECT_EQ(send("GET", "/v1/hb"), 404);
}

TEST_F(ReadOnlyListenerTest, AnotherMethodOnAListedPathIs405) {
  EXPECT_EQ(send("POST", "/v1/events"), 405);  // a user route of the API
  EXPECT_NE(last_->written().find("Allow: GET"), std::string::npos);
  EXPECT_EQ(send("POST", "/v1/status"), 405);
  EXPECT_EQ(send("DELETE", "/"), 405);
}

TEST_F(ReadOnlyListenerTest, AnAdminRouteOnAListedPathIs403) {
  EXPECT_EQ(send("GET", "/metrics"), 403);
}

TEST_F(ReadOnlyListenerTest, OverTlsOnlyAUserTokenOfTheHttpKeyPasses) {
  EXPECT_EQ(send("GET", "/v1/status", true), 401);
  EXPECT_NE(last_->written().find("WWW-Authenticate: Bearer"), std::string::npos);
  EXPECT_EQ(send("GET", "/nope", true), 401);  // no route is told before the token
  EXPECT_EQ(send("POST", "/", true), 401);
  // The page itself, static, comes without a token: it asks for the key.
  EXPECT_EQ(send("GET", "/", true), 200);
  EXPECT_EQ(send("GET", "/?x=1", true), 200);
  EXPECT_EQ(send("GET", "/v1/status", true, token(kAdminKey, ApiRole::kAdmin, "GET", "/v1/status")),
            401);
  EXPECT_EQ(send("GET", "/v1/status", true, token(kUserKey, ApiRole::kUser, "GET", "/v1/status")),
            401);
  EXPECT_EQ(send("GET", "/v1/status", true, token(kHttpKey, ApiRole::kAdmin, "GET", "/v1/status")),
            401);
  EXPECT_EQ(send("GET", "/v1/status", true, token(kHttpKey, ApiRole::kUser, "GET", "/v1/hb")), 401);
  EXPECT_EQ(send("GET", "/v1/status", true, token(kHttpKey, ApiRole::kUser, "GET", "/v1/status")),
            200);
  EXPECT_EQ(send("GET", "/v1/events?filter=NodeStale", true,
                 token(kHttpKey, ApiRole::kUser, "GET", "/v1/events")),
            200);
  EXPECT_EQ(send("POST", "/v1/status", true, token(kHttpKey, ApiRole::kUser, "POST", "/v1/status")),
            405);
  EXPECT_EQ(send("POST", "/v1/node/freeze", true,
                 token(kHttpKey, ApiRole::kUser, "POST", "/v1/node/freeze")),
            404);
}

TEST_F(ReadOnlyListenerTest, WithoutAnHttpKeyNoTokenPasses) {
  router_.set_options({.keys = {kAdminKey, kUserKey}, .max_depth = 8});
  EXPECT_EQ(send("GET", "/v1/status", true, token(kHttpKey, ApiRole::kUser, "GET", "/v1/status")),
            401);
  EXPECT_EQ(send("GET", "/v1/status", true, token(kUserKey, ApiRole::kUser, "GET", "/v1/status")),
            401);
}

}  // namespace
}  // namespace vigil::agent
