#include "agent/api/service.h"

#include <chrono>
#include <memory>

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

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
  EXPECT_EQ(send("POST", "/v1/hb/rotate")->status(), 200);
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

}  // namespace
}  // namespace vigil::agent
