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

}  // namespace
}  // namespace vigil::agent
