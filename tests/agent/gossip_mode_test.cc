// The engine's gossip mode (agent/engine/gossip_mode.h) as a peer sees it on
// the wire: what it sends in answer to an accusation.
#include "agent/engine/gossip_mode.h"

#include <chrono>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "patch/node_document.h"

namespace vigil::agent {
namespace {

using membership::PeerState;
using membership::Swim;
using membership::SwimMessage;
using membership::SwimUpdate;
using std::chrono::milliseconds;

constexpr uint64_t kBoot = 7;

struct Sent {
  std::string to;
  heartbeat::Message msg;
};

class GossipModeTest : public ::testing::Test {
 protected:
  GossipModeTest()
      : doc_(nlohmann::json{{"labels", nlohmann::json::object()}}),
        replicator_("x", {"x", "b", "c"}, doc_),
        gossip_(
            io_, "x", kBoot, milliseconds(500), milliseconds(2000), {"x", "b", "c"}, replicator_,
            GossipMode::Hooks{.base =
                                  [] {
                                    return heartbeat::Message{.kind = heartbeat::MessageKind::kPing,
                                                              .gens = {{"x", 1}}};
                                  },
                              .send =
                                  [this](const std::string& to, const heartbeat::Message& msg) {
                                    sent_.push_back({to, msg});
                                    return std::size_t{100};
                                  },
                              .transitions = [](const std::vector<membership::Transition>&) {},
                              .document = [](const std::string&, const StatusBefore&,
                                             const membership::Replicator::Received&) {}}) {}

  // The alive updates of x that x sent to `to`.
  std::vector<heartbeat::SwimPart::Update> alives_sent_to(const std::string& to) const {
    std::vector<heartbeat::SwimPart::Update> out;
    for (const auto& s : sent_)
      if (s.to == to && s.msg.swim)
        for (const auto& u : s.msg.swim->updates)
          if (u.kind == 0 && u.node == "x") out.push_back(u);
    return out;
  }

  boost::asio::io_context io_;
  patch::NodeDocument doc_;
  membership::Replicator replicator_;
  std::vector<Sent> sent_;
  GossipMode gossip_;
};

// The sequence behind the false NodeStale under loss (docs/BENCHMARKS.md):
// b, which knows x only by digest, suspects "x at any incarnation" (0); x
// answers b at once. Were that answer a first announcement (no `from`), a
// member hearing it would pin a later copy of the incarnation-0 accusation
// on x's current incarnation, which no alive of x could refute.
TEST_F(GossipModeTest, AnAccusationIsAnsweredAtOnceWithARefutationNotAFirstAnnouncement) {
  heartbeat::Message accusation{.kind = heartbeat::MessageKind::kPing, .gens = {{"b", 1}}};
  accusation.swim = heartbeat::SwimPart{};
  accusation.swim->updates.push_back({1, "x", 0, "b"});  // suspect x, any incarnation
  gossip_.receive("b", accusation);

  const auto alives = alives_sent_to("b");
  ASSERT_FALSE(alives.empty()) << "x answered b's accusation";
  for (const auto& u : alives) {
    EXPECT_EQ(u.from, "x") << "sent as a refutation";
    EXPECT_GT(u.incarnation, kBoot) << "a higher incarnation than the one accused";
  }

  // A member d that knew x only by digest hears the answer relayed, then a
  // late copy of the incarnation-0 death: x stays alive there.
  const auto t0 = Swim::Clock::time_point{};
  Swim d("d", {}, 3);
  d.add("x", t0);
  d.add("b", t0);
  const auto& a = alives.back();
  d.receive(
      "b", SwimMessage{.updates = {{SwimUpdate::Kind::kAlive, a.node, a.incarnation, a.from}}}, t0);
  ASSERT_EQ(d.state("x"), PeerState::kAlive);
  d.receive("b", SwimMessage{.updates = {{SwimUpdate::Kind::kDead, "x", 0, "b"}}}, t0);
  EXPECT_EQ(d.state("x"), PeerState::kAlive);
}

TEST_F(GossipModeTest, AMessageWithoutAccusationGetsNoDirectAlive) {
  heartbeat::Message ping{.kind = heartbeat::MessageKind::kPing, .gens = {{"b", 1}}};
  ping.swim = heartbeat::SwimPart{};
  ping.swim->updates.push_back({0, "b", 3, ""});
  gossip_.receive("b", ping);
  EXPECT_TRUE(alives_sent_to("b").empty());
}

}  // namespace
}  // namespace vigil::agent
