#include "agent/api/service.h"

#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "agent/api/jwt.h"
#include "agent/base/clock.h"
#include "agent/events/event.h"
#include "tests/support/fake_backend.h"
#include "tests/support/fake_exchange.h"

namespace vigil::agent {
namespace {

using json = nlohmann::json;
using testing::FakeBackend;
using testing::FakeExchange;

class ServiceTest : public ::testing::Test {
 protected:
  ServiceTest() {
    config_.node_name = "n1";
    config_.cluster_name = "c";
    config_.var_dir = "/nonexistent/vigil-service-test";  // never bound: start() is not called
    config_.api.limits.max_waits = 2;
    config_.api.limits.max_subscribers = 1;
    service_ = std::make_unique<ApiService>(io_, config_, backend_);
  }

  std::shared_ptr<FakeExchange> send(std::string method, std::string target, json body = nullptr) {
    auto ex = std::make_shared<FakeExchange>(ApiRequest{.method = std::move(method),
                                                        .target = std::move(target),
                                                        .body = body.is_null() ? "" : body.dump()});
    service_->handle(ex);
    return ex;
  }

  // Runs the loop until `ex` has an answer, for at most `limit`.
  void run_until_answered(const std::shared_ptr<FakeExchange>& ex,
                          std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (ex->status() == 0 && std::chrono::steady_clock::now() < deadline)
      io_.run_one_for(std::chrono::milliseconds(10));
  }

  // The operation an asynchronous route started (202): its queue path.
  static std::string location_of(const std::shared_ptr<FakeExchange>& ex) {
    const std::string& w = ex->written();
    const auto at = w.find("\r\nLocation: ");
    if (at == std::string::npos) return "";
    const auto start = at + 12;
    return w.substr(start, w.find("\r\n", start) - start);
  }

  // Where an asynchronous route ended: the operation's 303 or 500, and
  // its own answer read at /result.
  std::shared_ptr<FakeExchange> outcome(const std::shared_ptr<FakeExchange>& started) {
    EXPECT_EQ(started->status(), 202) << started->body();
    const std::string location = location_of(started);
    EXPECT_EQ(location.rfind("/v1/queue/", 0), 0u) << started->written();
    EXPECT_EQ(json::parse(started->body())["location"], location);
    return send("GET", location);
  }
  std::shared_ptr<FakeExchange> result_of(const std::shared_ptr<FakeExchange>& started) {
    return send("GET", location_of(started) + "/result");
  }

  boost::asio::io_context io_;
  Config config_;
  FakeBackend backend_;
  std::unique_ptr<ApiService> service_;
};

TEST_F(ServiceTest, StatusAndHbAnswerFromTheBackend) {
  auto ex = send("GET", "/v1/status");
  EXPECT_EQ(ex->status(), 200);
  EXPECT_EQ(json::parse(ex->body())["x"], 1);
  EXPECT_EQ(send("GET", "/v1/hb")->status(), 200);
}

TEST_F(ServiceTest, AWaitThatHoldsAnswersAtOnce) {
  auto ex = send("POST", "/v1/wait", {{"filter", ".cluster.x=1"}, {"duration_ms", 1000}});
  EXPECT_EQ(ex->status(), 200);
}

TEST_F(ServiceTest, AWaitAnswersWhenTheDatasetChanges) {
  auto ex = send("POST", "/v1/wait", {{"filter", ".cluster.x=2"}, {"duration_ms", 60000}});
  EXPECT_EQ(ex->status(), 0);
  backend_.data["cluster"]["x"] = 2;
  service_->dataset_changed();
  run_until_answered(ex);
  EXPECT_EQ(ex->status(), 200);
}

TEST_F(ServiceTest, AWaitTimesOutWith408NamingTheFailingMatch) {
  auto ex = send("POST", "/v1/wait", {{"filter", ".cluster.x=2"}, {"duration_ms", 20}});
  run_until_answered(ex);
  EXPECT_EQ(ex->status(), 408);
  EXPECT_EQ(json::parse(ex->body()),
            json({{"error", "timeout"}, {"failed", ".cluster.x is 1, wanted 2"}}));
}

TEST_F(ServiceTest, SeveralConditionsMustAllHold) {
  auto held = send("POST", "/v1/wait",
                   {{"filters", {".cluster.x=1", ".cluster.name=c"}}, {"duration_ms", 1000}});
  EXPECT_EQ(held->status(), 200);
  auto ex = send("POST", "/v1/wait",
                 {{"filters", {".cluster.x=1", ".cluster.name=d"}}, {"duration_ms", 20}});
  run_until_answered(ex);
  EXPECT_EQ(ex->status(), 408);
  EXPECT_EQ(json::parse(ex->body())["failed"], R"(.cluster.name is "c", wanted "d")");
}

TEST_F(ServiceTest, WaitRefusesEventFiltersAndPathsOutsideTheDataset) {
  for (const char* f : {"NodeStale", ".x=1"}) {
    auto ex = send("POST", "/v1/wait", {{"filters", {".cluster.x=1", f}}, {"duration_ms", 20}});
    EXPECT_EQ(ex->status(), 400) << f;
    EXPECT_EQ(json::parse(ex->body())["field"], "filters");
  }
  for (const json& body :
       {json{{"duration_ms", 20}}, json{{"filters", json::array()}, {"duration_ms", 20}},
        json{{"filter", ".cluster.x=1"}, {"filters", {".cluster.x=1"}}, {"duration_ms", 20}}})
    EXPECT_EQ(send("POST", "/v1/wait", body)->status(), 400) << body.dump();
}

TEST_F(ServiceTest, WaitsPastTheCapGet503AndAClosedClientFreesItsWait) {
  auto a = send("POST", "/v1/wait", {{"filter", ".cluster.x=2"}, {"duration_ms", 60000}});
  auto b = send("POST", "/v1/wait", {{"filter", ".cluster.x=2"}, {"duration_ms", 60000}});
  EXPECT_EQ(
      send("POST", "/v1/wait", {{"filter", ".cluster.x=2"}, {"duration_ms", 60000}})->status(),
      503);
  a->close();  // the client goes away
  auto c = send("POST", "/v1/wait", {{"filter", ".cluster.x=2"}, {"duration_ms", 60000}});
  EXPECT_EQ(c->status(), 0);  // held
  b->close();
  c->close();
}

TEST_F(ServiceTest, WaitFieldsAreChecked) {
  for (json duration : {json(0), json("1"), json(nullptr), json(1e300), json(100000000000LL)}) {
    auto ex = send("POST", "/v1/wait", {{"filter", ".cluster.x=1"}, {"duration_ms", duration}});
    EXPECT_EQ(ex->status(), 400) << duration.dump();
    EXPECT_EQ(json::parse(ex->body())["field"], "duration_ms");
  }
  auto ex = send("POST", "/v1/wait", {{"filter", ".cluster.x="}, {"duration_ms", 5}});
  EXPECT_EQ(ex->status(), 400);
  EXPECT_EQ(json::parse(ex->body())["field"], "filter");
}

TEST_F(ServiceTest, StreamsGetEventsAndTheCapIsEnforced) {
  auto stream = send("POST", "/v1/events", {{"filters", {"NodeStale"}}});
  EXPECT_NE(stream->written().find("text/event-stream"), std::string::npos);
  EXPECT_EQ(send("GET", "/v1/events")->status(), 503);
  backend_.bus().publish(Event{.kind = "NodeStale", .labels = {{"node", "n2"}}});
  for (int i = 0; i < 100 && stream->written().find("event: NodeStale") == std::string::npos; ++i)
    io_.run_one_for(std::chrono::milliseconds(10));
  EXPECT_NE(stream->written().find("event: NodeStale"), std::string::npos);
  stream->close();
  EXPECT_EQ(send("POST", "/v1/events", {{"filters", {"bad filter ,,"}}})->status(), 400);
}

TEST_F(ServiceTest, NodeChangesReachTheBackend) {
  auto ex = send("POST", "/v1/node/set", {{"path", ".labels.a"}, {"value", "b"}});
  EXPECT_EQ(ex->status(), 200);
  ASSERT_EQ(backend_.changes.size(), 1u);
  EXPECT_EQ(backend_.changes[0].kind, NodeChange::Kind::kSet);
  EXPECT_EQ(backend_.changes[0].path, ".labels.a");
  EXPECT_EQ(send("POST", "/v1/node/freeze")->status(), 200);
  EXPECT_EQ(send("POST", "/v1/node/patch", json::array())->status(), 200);
  EXPECT_EQ(send("POST", "/v1/node/patch", {{"op", "add"}})->status(), 400);  // not an array
  EXPECT_EQ(send("POST", "/v1/node/set", {{"path", ""}, {"value", 1}})->status(), 400);
}

TEST_F(ServiceTest, RotateChecksItsSecret) {
  auto bad = send("POST", "/v1/hb/rotate", {{"secret", "zz"}});
  EXPECT_EQ(bad->status(), 400);
  EXPECT_EQ(json::parse(bad->body())["field"], "secret");
  EXPECT_EQ(backend_.rotations, 0);  // refused before any operation
  auto started = send("POST", "/v1/hb/rotate");
  EXPECT_EQ(outcome(started)->status(), 303);
  auto result = result_of(started);
  EXPECT_EQ(result->status(), 200);
  EXPECT_EQ(json::parse(result->body()), json({{"version", 2}}));
  EXPECT_EQ(backend_.rotations, 1);
}

TEST_F(ServiceTest, AJoinTokenNeedsATlsListenerAndABoundedDuration) {
  // This service has the Unix socket only: no certificate for cnf to pin.
  auto no_tls = send("POST", "/v1/cluster/token");
  EXPECT_EQ(no_tls->status(), 409);
  EXPECT_NE(json::parse(no_tls->body())["error"].get<std::string>().find("TLS listener"),
            std::string::npos);
  for (int64_t ms : {int64_t{999}, int64_t{86400001}}) {
    auto bad = send("POST", "/v1/cluster/token", {{"duration_ms", ms}});
    EXPECT_EQ(bad->status(), 400) << ms;
    EXPECT_EQ(json::parse(bad->body())["field"], "duration_ms");
  }
}

TEST_F(ServiceTest, AStandaloneNodeMakesNoJoinToken) {
  config_.cluster_name.clear();
  auto ex = send("POST", "/v1/cluster/token");
  EXPECT_EQ(ex->status(), 409);
  EXPECT_NE(ex->body().find("standalone"), std::string::npos);
}

TEST_F(ServiceTest, AJoinRequestTakesItsBearerTokenWithoutAnApiJwt) {
  // Remote, with a join token and no API JWT: the route checks it itself.
  auto ex = std::make_shared<FakeExchange>(
      ApiRequest{.method = "POST",
                 .target = "/v1/cluster/join",
                 .body = json{{"name", "n4"}, {"paths", {{"u1", "127.0.0.4:10001"}}}}.dump(),
                 .authorization = "Bearer the.join.token",
                 .remote = true});
  service_->handle(ex);
  EXPECT_EQ(ex->status(), 200) << ex->body();
  ASSERT_EQ(backend_.admitted.size(), 1u);
  EXPECT_EQ(backend_.admitted[0]["token"], "the.join.token");
  EXPECT_EQ(backend_.admitted[0]["paths"]["u1"], "127.0.0.4:10001");
  // Without a bearer, a bad name or bad paths: refused before the backend.
  auto no_token = std::make_shared<FakeExchange>(
      ApiRequest{.method = "POST",
                 .target = "/v1/cluster/join",
                 .body = json{{"name", "n4"}, {"paths", {{"u1", "127.0.0.4:10001"}}}}.dump(),
                 .remote = true});
  service_->handle(no_token);
  EXPECT_EQ(no_token->status(), 401);
  for (const json& body : {json{{"name", "../x"}, {"paths", {{"u1", "127.0.0.4:1"}}}},
                           json{{"name", "n4"}, {"paths", json::object()}},
                           json{{"name", "n4"}, {"paths", {{"u1", "host:1"}}}},
                           json{{"name", "n4"}, {"paths", {{"u1", 7}}}}}) {
    auto bad = std::make_shared<FakeExchange>(ApiRequest{.method = "POST",
                                                         .target = "/v1/cluster/join",
                                                         .body = body.dump(),
                                                         .authorization = "Bearer t",
                                                         .remote = true});
    service_->handle(bad);
    EXPECT_EQ(bad->status(), 400) << body;
  }
  EXPECT_EQ(backend_.admitted.size(), 1u);
  // Other routes still need an API JWT remotely.
  auto members = std::make_shared<FakeExchange>(ApiRequest{.method = "GET",
                                                           .target = "/v1/cluster/members",
                                                           .authorization = "Bearer the.join.token",
                                                           .remote = true});
  service_->handle(members);
  EXPECT_EQ(members->status(), 401);
}

TEST_F(ServiceTest, LeaveForgetAndJoinReachTheBackend) {
  // Each is an operation (202, then 303 to the answer).
  EXPECT_EQ(outcome(send("POST", "/v1/cluster/leave", {{"timeout_ms", 2000}}))->status(), 303);
  EXPECT_EQ(backend_.leaves, std::vector<int64_t>{2000});
  auto forget = send("POST", "/v1/cluster/forget", {{"node", "n3"}});
  EXPECT_EQ(outcome(forget)->status(), 303);
  EXPECT_EQ(json::parse(result_of(forget)->body())["node"], "n3");
  EXPECT_EQ(backend_.forgotten, std::vector<std::string>{"n3"});
  EXPECT_EQ(send("POST", "/v1/cluster/forget")->status(), 400);
  auto join = send("POST", "/v1/node/join", {{"token", "t"}, {"seed", "127.0.0.1:1215"}});
  EXPECT_EQ(outcome(join)->status(), 303);
  EXPECT_EQ(json::parse(result_of(join)->body())["seed"], "127.0.0.1:1215");
  EXPECT_EQ(backend_.joins[0]["timeout_ms"], 30000);
  EXPECT_EQ(
      send("POST", "/v1/node/join", {{"token", "t"}, {"seed", "s"}, {"timeout_ms", 10}})->status(),
      400);
  EXPECT_EQ(send("GET", "/v1/cluster/members")->status(), 200);
}

TEST_F(ServiceTest, ReloadReachesTheBackendWithTheCaller) {
  backend_.reload_changed = {"node.log_level"};
  auto ok = send("POST", "/v1/daemon/reload");
  EXPECT_EQ(ok->status(), 200);
  EXPECT_EQ(json::parse(ok->body()), json({{"changed", {"node.log_level"}}}));
  ASSERT_EQ(backend_.reloads.size(), 1u);
  EXPECT_FALSE(backend_.reloads[0].empty());

  backend_.reload_error = "/etc/vigil.toml: key 'node.name': cannot change without a restart";
  auto bad = send("POST", "/v1/daemon/reload");
  EXPECT_EQ(bad->status(), 400);
  EXPECT_EQ(json::parse(bad->body())["error"], backend_.reload_error);
  EXPECT_EQ(send("GET", "/v1/daemon/reload")->status(), 405);
}

TEST_F(ServiceTest, ReconfigureAppliesNewWaitLimits) {
  auto w1 = send("POST", "/v1/wait", {{"filter", ".cluster.x=2"}, {"duration_ms", 60000}});
  auto w2 = send("POST", "/v1/wait", {{"filter", ".cluster.x=2"}, {"duration_ms", 60000}});
  EXPECT_EQ(
      send("POST", "/v1/wait", {{"filter", ".cluster.x=2"}, {"duration_ms", 60000}})->status(),
      503);  // max_waits = 2
  ApiConfig api = config_.api;
  api.limits.max_waits = 3;
  service_->reconfigure(api);
  auto w3 = send("POST", "/v1/wait", {{"filter", ".cluster.x=2"}, {"duration_ms", 60000}});
  EXPECT_EQ(w3->status(), 0);  // held
  backend_.data["cluster"]["x"] = 2;
  service_->dataset_changed();
  run_until_answered(w3);
  EXPECT_EQ(w3->status(), 200);
}

TEST_F(ServiceTest, ReconfigureAppliesNewBodyDepth) {
  json deep = 1;
  for (int i = 0; i < 20; ++i) deep = json::array({deep});
  EXPECT_EQ(send("POST", "/v1/node/set", {{"path", ".data.x"}, {"value", deep}})->status(), 200);
  ApiConfig api = config_.api;
  api.limits.max_depth = 8;
  service_->reconfigure(api);
  EXPECT_EQ(send("POST", "/v1/node/set", {{"path", ".data.x"}, {"value", deep}})->status(), 400);
}

// A backend whose operations end when the test says.
class HeldBackend : public FakeBackend {
 public:
  void rotate(std::optional<crypto::Secret>, Done done) override { held.push_back(done); }
  void forget(const std::string& node, Done) override {
    if (node == "boom") throw std::runtime_error("boom");
  }
  void test_webhook(const json& body, Done done) override {
    tested.push_back(body);
    done(200, {{"nodes", json::array()}});
  }
  std::vector<Done> held;
  std::vector<json> tested;
};

class AsyncServiceTest : public ServiceTest {
 protected:
  AsyncServiceTest() {
    config_.api.admin_key = std::string(40, 'a');
    config_.api.user_key = std::string(40, 'u');
    service_ = std::make_unique<ApiService>(io_, config_, held_);
  }
  ~AsyncServiceTest() override { service_.reset(); }  // before held_, which it uses
  std::shared_ptr<FakeExchange> send_as(ApiRole role, const std::string& method,
                                        const std::string& target) {
    const std::string path = target.substr(0, target.find('?'));
    auto ex = std::make_shared<FakeExchange>(ApiRequest{
        .method = method,
        .target = target,
        .authorization =
            "Bearer " +
            make_jwt(role, role == ApiRole::kAdmin ? *config_.api.admin_key : *config_.api.user_key,
                     method, path, wall_ms() / 1000),
        .remote = true});
    service_->handle(ex);
    return ex;
  }
  HeldBackend held_;
};

TEST_F(AsyncServiceTest, ARunningOperationIsPendingThenSeesOtherOrFails) {
  auto started = send("POST", "/v1/hb/rotate");
  ASSERT_EQ(started->status(), 202);
  const std::string location = location_of(started);
  auto running = send("GET", location);
  EXPECT_EQ(running->status(), 200);
  EXPECT_NE(running->written().find("\r\nX-Pending: true\r\n"), std::string::npos);
  auto progress = json::parse(running->body());
  EXPECT_EQ(progress["state"], "running");
  EXPECT_EQ(progress["op"], "hb rotate");
  EXPECT_FALSE(progress["progress"].get<std::string>().empty());
  EXPECT_EQ(send("GET", location + "/result")->status(), 409);
  ASSERT_EQ(held_.held.size(), 1u);
  held_.held[0](200, {{"version", 3}});
  auto done = send("GET", location);
  EXPECT_EQ(done->status(), 303);
  EXPECT_NE(done->written().find("\r\nLocation: " + location + "/result\r\n"), std::string::npos);
  EXPECT_EQ(json::parse(send("GET", location + "/result")->body())["version"], 3);

  // A refusal keeps its reason and its own status.
  auto refused = send("POST", "/v1/hb/rotate");
  held_.held[1](409, {{"error", "a rotation is in progress"}});
  auto failed = send("GET", location_of(refused));
  EXPECT_EQ(failed->status(), 500);
  auto why = json::parse(failed->body());
  EXPECT_EQ(why["state"], "failed");
  EXPECT_EQ(why["status"], 409);
  EXPECT_EQ(why["error"], "a rotation is in progress");
  auto own = send("GET", location_of(refused) + "/result");
  EXPECT_EQ(own->status(), 409);
}

TEST_F(AsyncServiceTest, AThrowingBackendFailsTheOperationAndTheDaemonGoesOn) {
  auto started = send("POST", "/v1/cluster/forget", {{"node", "boom"}});
  EXPECT_EQ(started->status(), 202);
  auto failed = send("GET", location_of(started));
  EXPECT_EQ(failed->status(), 500);
  EXPECT_NE(json::parse(failed->body())["error"].get<std::string>().find("boom"),
            std::string::npos);
  EXPECT_EQ(send("GET", "/v1/status")->status(), 200);
}

TEST_F(AsyncServiceTest, UnknownAndMalformedIdsAre404) {
  for (const std::string target :
       {"/v1/queue/0123456789abcdef0123456789abcdef", "/v1/queue/",
        "/v1/queue/0123456789abcdef0123456789abcdef/result", "/v1/queue/x",
        "/v1/queue/%2e%2e/status", "/v1/queue/0123456789ABCDEF0123456789ABCDEF"}) {
    auto ex = send("GET", target);
    EXPECT_EQ(ex->status(), 404) << target;
    EXPECT_TRUE(json::parse(ex->body())["error"].is_string()) << target;
  }
  EXPECT_EQ(send("POST", "/v1/queue/0123456789abcdef0123456789abcdef")->status(), 405);
}

TEST_F(AsyncServiceTest, AUserTokenPollsButCannotStart) {
  auto refused = send_as(ApiRole::kUser, "POST", "/v1/hb/rotate");
  EXPECT_EQ(refused->status(), 403);
  EXPECT_NE(refused->body().find("GET /v1/queue/<id>"), std::string::npos);
  auto started = send_as(ApiRole::kAdmin, "POST", "/v1/hb/rotate");
  ASSERT_EQ(started->status(), 202);
  const std::string location = location_of(started);
  EXPECT_EQ(send_as(ApiRole::kUser, "GET", location)->status(), 200);
  held_.held[0](200, {{"version", 2}});
  EXPECT_EQ(send_as(ApiRole::kUser, "GET", location)->status(), 303);
  EXPECT_EQ(send_as(ApiRole::kUser, "GET", location + "/result")->status(), 200);
}

TEST_F(AsyncServiceTest, AWebhookTestCredentialStaysOutOfTheOperation) {
  auto started =
      send("POST", "/v1/webhooks/test",
           {{"url", "https://example.com/h"}, {"auth", "bearer"}, {"credential", "s3cret-token"}});
  ASSERT_EQ(started->status(), 202);
  ASSERT_EQ(held_.tested.size(), 1u);
  EXPECT_EQ(held_.tested[0]["credential"], "s3cret-token");
  EXPECT_EQ(started->body().find("s3cret"), std::string::npos);
  auto done = send("GET", location_of(started));
  EXPECT_EQ(done->status(), 303);
  EXPECT_EQ(done->body().find("s3cret"), std::string::npos);
  EXPECT_EQ(result_of(started)->body().find("s3cret"), std::string::npos);
}

}  // namespace
}  // namespace vigil::agent
