#include "agent/quorum/split_analysis.h"

#include <chrono>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <nlohmann/json.hpp>

namespace vigil::agent {
namespace {

using std::chrono::milliseconds;
namespace asio = boost::asio;

// A TCP arbitrator on loopback: listening is enough for a connect to succeed.
struct TcpArbitrator {
  explicit TcpArbitrator(asio::io_context& io)
      : acceptor(io, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {}
  uint16_t port() const { return acceptor.local_endpoint().port(); }
  asio::ip::tcp::acceptor acceptor;
};

// A loopback port with nothing listening.
uint16_t closed_port(asio::io_context& io) {
  asio::ip::tcp::acceptor a(io, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return a.local_endpoint().port();
}

ArbitratorConfig arbitrator(const std::string& name, uint16_t port, uint32_t weight = 1) {
  ArbitratorConfig a;
  a.name = name;
  a.uri = parse_arbitrator_uri("tcp://127.0.0.1:" + std::to_string(port));
  a.weight = weight;
  a.timeout = milliseconds(2000);
  return a;
}

struct Fixture {
  Fixture(std::vector<std::string> nodes, bool quorum, std::vector<ArbitratorConfig> arbs = {}) {
    config.cluster_name = "t";
    config.nodes = std::move(nodes);
    config.node_name = config.nodes.front();
    config.quorum = quorum;
    config.split_action = SplitAction::kCrash;  // run by the fake action below, never for real
    config.arbitrators = std::move(arbs);
    alive = {config.node_name};
    split = std::make_unique<SplitAnalysis>(
        io, config, [this] { return alive; }, [this](Event e) { events.push_back(std::move(e)); },
        [this](SplitAction action) -> std::optional<std::string> {
          actions.push_back(std::string(to_string(action)));
          return std::nullopt;
        });
  }
  // Runs the io_context until `done` or a generous deadline.
  template <typename Done>
  void run_until(Done done) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!done() && std::chrono::steady_clock::now() < end) {
      io.run_for(milliseconds(20));
      if (io.stopped()) io.restart();
    }
  }
  // Runs the io_context until nothing is left to run (no check in flight,
  // no timer armed), or a generous deadline: true when it ran dry. From then
  // on nothing more can be published.
  bool run_until_idle() {
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    do {
      io.restart();
      io.run_for(milliseconds(20));
    } while (!io.stopped() && std::chrono::steady_clock::now() < end);
    return io.stopped();
  }
  std::vector<const Event*> of_kind(const std::string& kind) const {
    std::vector<const Event*> out;
    for (const auto& e : events)
      if (e.kind == kind) out.push_back(&e);
    return out;
  }

  asio::io_context io;
  Config config;
  std::vector<std::string> alive;
  std::vector<Event> events;
  std::vector<std::string> actions;
  std::unique_ptr<SplitAnalysis> split;
};

TEST(SplitAnalysisTest, ALostMajorityPublishesNodeSplitActionAndActsOnce) {
  Fixture f({"n1", "n2", "n3"}, true);
  f.split->peer_lost("n2");
  f.alive = {"n1"};
  f.run_until([&] { return !f.actions.empty(); });
  ASSERT_EQ(f.actions, std::vector<std::string>{"crash"});
  const auto split = f.of_kind("NodeSplitAction");
  ASSERT_EQ(split.size(), 1u);
  EXPECT_EQ(split[0]->data["action"], "crash");
  EXPECT_EQ(split[0]->data["lost"], "n2");
  EXPECT_EQ(split[0]->data["votes"], (nlohmann::json{{"total", 3}, {"present", 1}, {"needed", 2}}));
  EXPECT_EQ(split[0]->data["alive"], nlohmann::json::array({"n1"}));
  // Still no majority when the next peer goes: no second action.
  f.split->peer_lost("n3");
  ASSERT_TRUE(f.run_until_idle());
  EXPECT_EQ(f.actions.size(), 1u);
  EXPECT_EQ(f.of_kind("NodeSplitAction").size(), 1u);
  EXPECT_FALSE(f.split->status()["has_quorum"].get<bool>());
}

TEST(SplitAnalysisTest, AHeldMajorityRunsNothing) {
  Fixture f({"n1", "n2", "n3"}, true);
  f.alive = {"n1", "n2"};
  f.split->peer_lost("n3");
  ASSERT_TRUE(f.run_until_idle());
  EXPECT_TRUE(f.actions.empty());
  EXPECT_TRUE(f.of_kind("NodeSplitAction").empty());
  EXPECT_TRUE(f.split->status()["has_quorum"].get<bool>());
}

TEST(SplitAnalysisTest, QuorumDisabledNeverActs) {
  Fixture f({"n1", "n2"}, false);
  f.split->peer_lost("n2");
  ASSERT_TRUE(f.run_until_idle());
  EXPECT_TRUE(f.actions.empty());
  EXPECT_TRUE(f.events.empty());
  EXPECT_FALSE(f.split->status()["enabled"].get<bool>());
}

TEST(SplitAnalysisTest, AReachableArbitratorBreaksATwoNodeTie) {
  asio::io_context other;
  TcpArbitrator arb(other);
  Fixture f({"n1", "n2"}, true, {arbitrator("a1", arb.port())});
  f.split->peer_lost("n2");
  f.run_until([&] { return !f.split->status()["arbitrators"]["a1"]["reachable"].is_null(); });
  ASSERT_TRUE(f.run_until_idle()) << "the check and the count are over";
  EXPECT_TRUE(f.actions.empty());
  EXPECT_TRUE(f.of_kind("NodeSplitAction").empty());
  const auto st = f.split->status();
  EXPECT_EQ(st["arbitrators"]["a1"]["reachable"], true);
  EXPECT_EQ(st["votes"], (nlohmann::json{{"total", 3}, {"present", 2}, {"needed", 2}}));
  EXPECT_TRUE(st["has_quorum"].get<bool>());
}

TEST(SplitAnalysisTest, AnUnreachableArbitratorIsReportedAndCountsNothing) {
  asio::io_context other;
  Fixture f({"n1", "n2"}, true, {arbitrator("a1", closed_port(other), 2)});
  f.split->peer_lost("n2");
  f.run_until([&] { return !f.actions.empty(); });
  EXPECT_EQ(f.actions.size(), 1u);
  const auto errors = f.of_kind("ArbitratorError");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0]->labels.at("arbitrator"), "a1");
  EXPECT_FALSE(errors[0]->data["error"].get<std::string>().empty());
  ASSERT_EQ(f.of_kind("NodeStatusArbitratorsUpdated").size(), 1u);
  EXPECT_EQ(f.of_kind("NodeStatusArbitratorsUpdated")[0]->data["arbitrators"]["a1"], false);
  const auto split = f.of_kind("NodeSplitAction");
  ASSERT_EQ(split.size(), 1u);
  EXPECT_EQ(split[0]->data["votes"], (nlohmann::json{{"total", 4}, {"present", 1}, {"needed", 3}}));
  EXPECT_EQ(split[0]->data["arbitrators"]["a1"], false);
  const auto st = f.split->status();
  EXPECT_EQ(st["arbitrators"]["a1"]["reachable"], false);
  EXPECT_EQ(st["arbitrators"]["a1"]["weight"], 2);
  EXPECT_TRUE(st["arbitrators"]["a1"]["error"].is_string());
}

TEST(SplitAnalysisTest, RegainingAMajorityArmsTheActionAgain) {
  Fixture f({"n1", "n2", "n3"}, true);
  f.split->peer_lost("n2");
  f.run_until([&] { return f.actions.size() == 1; });
  f.alive = {"n1", "n3"};
  f.split->peer_back("n3");
  f.alive = {"n1"};
  f.split->peer_lost("n3");
  f.run_until([&] { return f.actions.size() == 2; });
  EXPECT_EQ(f.actions.size(), 2u);
  EXPECT_EQ(f.of_kind("NodeSplitAction").size(), 2u);
}

TEST(SplitAnalysisTest, PeriodicChecksKeepTheArbitratorStatusFresh) {
  asio::io_context other;
  TcpArbitrator arb(other);
  Fixture f({"n1", "n2", "n3"}, false, {arbitrator("a1", arb.port())});
  EXPECT_TRUE(f.split->status()["arbitrators"]["a1"]["reachable"].is_null());
  f.split->start();
  f.run_until([&] { return !f.split->status()["arbitrators"]["a1"]["reachable"].is_null(); });
  EXPECT_EQ(f.split->status()["arbitrators"]["a1"]["reachable"], true);
  ASSERT_EQ(f.of_kind("NodeStatusArbitratorsUpdated").size(), 1u);
  EXPECT_TRUE(f.of_kind("ArbitratorError").empty());
  f.split->stop();
  EXPECT_TRUE(f.run_until_idle()) << "stop() leaves no refresh timer armed";
}

TEST(SplitAnalysisTest, ReconfigureAddsAndRemovesArbitrators) {
  asio::io_context other;
  TcpArbitrator arb(other);
  Fixture f({"n1", "n2"}, true);
  f.split->start();
  EXPECT_TRUE(f.split->status()["arbitrators"].empty());
  std::vector<ArbitratorConfig> arbs = {arbitrator("a1", arb.port(), 2)};
  f.split->reconfigure(arbs);
  f.config.arbitrators.clear();  // copied: the daemon's vector may change
  EXPECT_EQ(f.split->status()["votes"]["total"], 4);
  f.run_until([&] { return !f.split->status()["arbitrators"]["a1"]["reachable"].is_null(); });
  EXPECT_EQ(f.split->status()["arbitrators"]["a1"]["reachable"], true);
  // Unchanged: the state is kept, no new check is needed to know it.
  f.split->reconfigure(arbs);
  EXPECT_EQ(f.split->status()["arbitrators"]["a1"]["reachable"], true);
  f.split->reconfigure({});
  EXPECT_TRUE(f.split->status()["arbitrators"].empty());
  EXPECT_EQ(f.split->status()["votes"]["total"], 2);
  f.split->stop();
  EXPECT_TRUE(f.run_until_idle());
  EXPECT_TRUE(f.actions.empty());
}

TEST(SplitAnalysisTest, QuorumAndActionAreReadAtEachUse) {
  Fixture f({"n1", "n2"}, false);
  f.config.quorum = true;  // what a reload assigns
  f.config.split_action = SplitAction::kReboot;
  f.split->peer_lost("n2");
  f.run_until([&] { return !f.actions.empty(); });
  EXPECT_EQ(f.actions, std::vector<std::string>{"reboot"});
  EXPECT_TRUE(f.split->status()["enabled"].get<bool>());
}

TEST(SplitAnalysisTest, DisabledActionOnlyPublishes) {
  Fixture f({"n1", "n2"}, true);
  f.config.split_action = SplitAction::kDisabled;
  f.split->peer_lost("n2");
  f.run_until([&] { return !f.of_kind("NodeSplitAction").empty(); });
  ASSERT_EQ(f.of_kind("NodeSplitAction").size(), 1u);
  EXPECT_EQ(f.of_kind("NodeSplitAction")[0]->data["action"], "disabled");
  EXPECT_TRUE(f.actions.empty());
}

TEST(SplitAnalysisTest, TheRejoinGraceHoldsALossUntilEveryMemberIsHeard) {
  Fixture f({"n1", "n2", "n3"}, true);
  f.config.rejoin_grace = milliseconds(60'000);
  std::size_t changes = 0;
  f.split = std::make_unique<SplitAnalysis>(
      f.io, f.config, [&f] { return f.alive; }, [&f](Event e) { f.events.push_back(std::move(e)); },
      [&f](SplitAction action) -> std::optional<std::string> {
        f.actions.push_back(std::string(to_string(action)));
        return std::nullopt;
      },
      [&changes] { ++changes; });
  f.split->start();
  auto g = f.split->rejoin_status();
  EXPECT_EQ(g["state"], "running");
  EXPECT_EQ(g["grace_ms"], 60'000);
  EXPECT_GT(g["remaining_ms"].get<int64_t>(), 50'000);
  EXPECT_EQ(g["unheard"], nlohmann::json::array({"n2", "n3"}));
  // n2 is heard, then lost, while n3 was never heard: 1 of 3 votes, but the
  // view is not built yet, so nothing acts.
  f.split->peer_back("n2");
  f.split->peer_lost("n2");
  f.io.run_for(milliseconds(200));
  EXPECT_TRUE(f.actions.empty());
  EXPECT_TRUE(f.of_kind("NodeSplitAction").empty());
  g = f.split->rejoin_status();
  EXPECT_EQ(g["held"], nlohmann::json::array({"n2"}));
  EXPECT_EQ(g["unheard"], nlohmann::json::array({"n3"}));
  EXPECT_GE(changes, 1u);
  // n3 is heard: every member was, so the grace ends early with NodeRejoin,
  // and the held loss is analysed at once (n1 and n3: a majority).
  f.alive = {"n1", "n3"};
  f.split->peer_back("n3");
  const auto rejoin = f.of_kind("NodeRejoin");
  ASSERT_EQ(rejoin.size(), 1u);
  EXPECT_EQ(rejoin[0]->data["grace_ms"], 60'000);
  EXPECT_EQ(rejoin[0]->data["held"], nlohmann::json::array({"n2"}));
  EXPECT_LT(rejoin[0]->data["waited_ms"].get<int64_t>(), 60'000);
  g = f.split->rejoin_status();
  EXPECT_EQ(g["state"], "all_heard");
  EXPECT_EQ(g["remaining_ms"], 0);
  EXPECT_EQ(g["held"], nlohmann::json::array());
  ASSERT_TRUE(f.run_until_idle()) << "the grace timer is cancelled, the analysis done";
  EXPECT_TRUE(f.actions.empty());
  EXPECT_TRUE(f.split->status()["has_quorum"].get<bool>());
  // From now on a loss is analysed at once.
  f.alive = {"n1"};
  f.split->peer_lost("n3");
  f.run_until([&] { return !f.actions.empty(); });
  EXPECT_EQ(f.actions.size(), 1u);
  EXPECT_EQ(f.of_kind("NodeRejoin").size(), 1u);
}

TEST(SplitAnalysisTest, WhenTheGraceRunsOutMembersNeverHeardStartNoSplitAction) {
  // A node booted alone: its peers were never lost from here, so no split
  // action (no crash-and-reboot loop), though it has 1 vote of 3.
  Fixture f({"n1", "n2", "n3"}, true);
  f.config.rejoin_grace = milliseconds(300);
  f.split->start();
  EXPECT_EQ(f.split->rejoin_status()["state"], "running");
  f.run_until([&] { return f.split->rejoin_status()["state"] == "expired"; });
  ASSERT_TRUE(f.run_until_idle());
  EXPECT_TRUE(f.actions.empty());
  EXPECT_TRUE(f.of_kind("NodeSplitAction").empty());
  EXPECT_TRUE(f.of_kind("NodeRejoin").empty());
  const auto g = f.split->rejoin_status();
  EXPECT_EQ(g["remaining_ms"], 0);
  EXPECT_EQ(g["unheard"], nlohmann::json::array({"n2", "n3"}));
  // A member heard late changes the grace no more.
  f.split->peer_back("n2");
  EXPECT_TRUE(f.of_kind("NodeRejoin").empty());
  EXPECT_EQ(f.split->rejoin_status()["state"], "expired");
}

TEST(SplitAnalysisTest, WhenTheGraceRunsOutTheLossesHeldAreCounted) {
  Fixture f({"n1", "n2", "n3"}, true);
  f.config.rejoin_grace = milliseconds(300);
  f.split->start();
  f.split->peer_back("n2");
  f.alive = {"n1"};
  f.split->peer_lost("n2");  // held: n3 was never heard
  EXPECT_TRUE(f.actions.empty());
  f.run_until([&] { return !f.actions.empty(); });
  const auto split = f.of_kind("NodeSplitAction");
  ASSERT_EQ(split.size(), 1u);
  EXPECT_EQ(split[0]->data["lost"], "n2");
  EXPECT_EQ(split[0]->data["votes"], (nlohmann::json{{"total", 3}, {"present", 1}, {"needed", 2}}));
  EXPECT_EQ(f.split->rejoin_status()["state"], "expired");
}

TEST(SplitAnalysisTest, WhenTheGraceRunsOutWithAMajorityNothingActs) {
  Fixture f({"n1", "n2", "n3"}, true);
  f.config.rejoin_grace = milliseconds(300);
  f.split->start();
  f.alive = {"n1", "n2"};
  f.split->peer_back("n2");  // n3 is never heard: 2 of 3
  f.run_until([&] { return f.split->rejoin_status()["state"] == "expired"; });
  ASSERT_TRUE(f.run_until_idle());
  EXPECT_TRUE(f.actions.empty());
  EXPECT_TRUE(f.of_kind("NodeSplitAction").empty());
  EXPECT_EQ(f.split->rejoin_status()["unheard"], nlohmann::json::array({"n3"}));
}

TEST(SplitAnalysisTest, ARejoinGraceOfZeroIsOff) {
  Fixture f({"n1", "n2", "n3"}, true);
  f.config.rejoin_grace = milliseconds(0);
  f.split->start();
  EXPECT_EQ(f.split->rejoin_status()["state"], "disabled");
  f.split->peer_lost("n2");
  f.run_until([&] { return !f.actions.empty(); });
  EXPECT_EQ(f.actions.size(), 1u);
  f.split->peer_back("n2");
  f.split->peer_back("n3");
  EXPECT_TRUE(f.of_kind("NodeRejoin").empty());
}

}  // namespace
}  // namespace vigil::agent
