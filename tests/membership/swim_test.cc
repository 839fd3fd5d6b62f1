// SWIM with Lifeguard (membership/swim.h) on a fake clock over an in-process
// network: every message is delivered one step (10 ms) later, unless the
// network drops it (loss, a partition, a node down).
#include "membership/swim.h"

#include <deque>
#include <map>
#include <optional>
#include <random>
#include <set>

#include <gtest/gtest.h>

namespace vigil::membership {
namespace {

using std::chrono::milliseconds;
using Clock = Swim::Clock;

class Net {
 public:
  explicit Net(std::size_t n, uint64_t seed = 1, Swim::Options options = {}) : rng_(seed) {
    for (std::size_t i = 1; i <= n; ++i) names_.push_back("n" + std::to_string(i));
    for (const auto& name : names_) {
      nodes_.emplace(name, Swim(name, options, seed * 1000 + nodes_.size()));
      for (const auto& other : names_) nodes_.at(name).add(other, now_);
    }
  }

  // Runs for `d`; `down` nodes neither tick nor send nor receive.
  void run(milliseconds d) {
    const auto end = now_ + d;
    while (now_ < end) step();
  }
  void step() {
    now_ += milliseconds(10);
    std::vector<std::pair<std::string, Swim::Out>> sent;
    std::deque<Pending> in_flight;
    in_flight.swap(in_flight_);
    for (auto& p : in_flight) {
      if (!delivered(p.from, p.out.to)) continue;
      for (auto& o : nodes_.at(p.out.to).receive(p.from, p.out.msg, now_))
        in_flight_.push_back({p.out.to, std::move(o)});
    }
    for (auto& [name, swim] : nodes_) {
      if (down_.count(name)) continue;
      for (auto& o : swim.tick(now_)) in_flight_.push_back({name, std::move(o)});
      for (const auto& t : swim.take_transitions()) events_.push_back({name, t});
    }
    ++messages_;
  }
  bool delivered(const std::string& from, const std::string& to) {
    if (down_.count(from) || down_.count(to)) return false;
    if (cut_.count({from, to})) return false;
    std::uniform_real_distribution<double> u(0, 1);
    return u(rng_) >= loss_;
  }

  struct Event {
    std::string at;
    Transition t;
  };
  std::vector<Event> stale_of(const std::string& node) const {
    std::vector<Event> out;
    for (const auto& e : events_)
      if (e.t.kind == Transition::Kind::kNodeStale && e.t.node == node) out.push_back(e);
    return out;
  }
  std::size_t stale_events() const {
    return static_cast<std::size_t>(
        std::count_if(events_.begin(), events_.end(),
                      [](const Event& e) { return e.t.kind == Transition::Kind::kNodeStale; }));
  }

  struct Pending {
    std::string from;
    Swim::Out out;
  };
  std::mt19937_64 rng_;
  std::vector<std::string> names_;
  std::map<std::string, Swim> nodes_;
  std::deque<Pending> in_flight_;
  std::vector<Event> events_;
  std::set<std::string> down_;
  std::set<std::pair<std::string, std::string>> cut_;
  double loss_ = 0;
  Clock::time_point now_{};
  std::size_t messages_ = 0;
};

TEST(Swim, EveryNodeSeesEveryOtherAliveAndNobodyIsSuspected) {
  Net net(10);
  net.run(milliseconds(20000));
  for (const auto& [name, swim] : net.nodes_) {
    for (const auto& other : net.names_) {
      if (other != name) {
        EXPECT_EQ(swim.state(other), PeerState::kAlive) << name << " " << other;
      }
    }
  }
  EXPECT_EQ(net.stale_events(), 0u);
}

TEST(Swim, AKilledNodeIsDeclaredStaleByEverySurvivorWithinTheBound) {
  Net net(10);
  net.run(milliseconds(5000));
  net.down_.insert("n4");
  net.run(milliseconds(20000));
  auto stale = net.stale_of("n4");
  std::set<std::string> by;
  for (const auto& e : stale) by.insert(e.at);
  EXPECT_EQ(by.size(), 9u) << "every survivor";
  // The bound: probed within 2N-1 periods in the worst case, but by one of
  // nine probers almost at once; then the period and the suspicion timeout.
  for (const auto& [name, swim] : net.nodes_) {
    if (name != "n4") {
      EXPECT_EQ(swim.state("n4"), PeerState::kStale) << name;
    }
  }
  EXPECT_EQ(net.stale_events(), 9u) << "nobody else";
}

TEST(Swim, DetectionTimeStaysWithinTwiceTheSuspicionMax) {
  Swim::Options o;
  Net net(20, 3, o);
  net.run(milliseconds(3000));
  net.down_.insert("n7");
  const auto killed = net.now_;
  Clock::time_point last{};
  for (int i = 0; i < 2000 && net.stale_of("n7").size() < 19; ++i) {
    net.step();
    if (!net.stale_of("n7").empty()) last = net.now_;
  }
  ASSERT_EQ(net.stale_of("n7").size(), 19u);
  EXPECT_LE(last - killed, o.probe_interval * 2 + o.suspicion_max * 2);
}

TEST(Swim, AStalledNodeAccusesNobodyAndRefutesInTime) {
  Net net(8);
  net.run(milliseconds(3000));
  // n2 does not run for 800 ms (a SIGSTOP): others may suspect it; when it
  // runs again the stall is credited (StallDetector) and it refutes.
  net.down_.insert("n2");
  net.run(milliseconds(800));
  net.down_.erase("n2");
  net.nodes_.at("n2").credit(milliseconds(800));
  net.run(milliseconds(10000));
  EXPECT_EQ(net.stale_events(), 0u);
  for (const auto& [name, swim] : net.nodes_) {
    if (name != "n2") {
      EXPECT_EQ(swim.state("n2"), PeerState::kAlive) << name;
    }
  }
}

TEST(Swim, NoFalseStaleUnderFivePercentLoss) {
  Net net(20, 11);
  net.loss_ = 0.05;
  net.run(milliseconds(60000));
  EXPECT_EQ(net.stale_events(), 0u);
}

TEST(Swim, ASuspectedNodeRefutesWithAHigherIncarnation) {
  Net net(5);
  net.run(milliseconds(2000));
  // n1 cannot reach n3 directly, nor through anyone: n3 is suspected...
  for (const auto& other : net.names_)
    if (other != "n3") {
      net.cut_.insert({other, "n3"});
    }
  net.run(milliseconds(1200));
  // ...then the network heals before the suspicion times out.
  net.cut_.clear();
  net.run(milliseconds(5000));
  EXPECT_GT(net.nodes_.at("n3").incarnation(), 1u) << "n3 refuted a suspicion";
  EXPECT_EQ(net.stale_events(), 0u);
}

TEST(Swim, EveryNodeLearnsEveryOtherAliveByGossipNotOnlyByProbes) {
  Net net(30, 5);
  net.run(milliseconds(3000));  // 6 periods: too few to be probed by everyone
  for (const auto& [name, swim] : net.nodes_) EXPECT_EQ(swim.alive_count(), 29u) << name;
}

TEST(Swim, AMemberNeverHeardIsNeverDeclaredStale) {
  Net net(4);
  net.down_.insert("n4");  // down from the start
  net.run(milliseconds(15000));
  EXPECT_EQ(net.stale_of("n4").size(), 0u);
  EXPECT_EQ(net.nodes_.at("n1").state("n4"), PeerState::kUnknown);
}

TEST(Swim, ADeadNodeThatComesBackIsAliveAgain) {
  Net net(5);
  net.run(milliseconds(2000));
  net.down_.insert("n5");
  net.run(milliseconds(10000));
  ASSERT_EQ(net.nodes_.at("n1").state("n5"), PeerState::kStale);
  net.down_.erase("n5");
  net.run(milliseconds(10000));
  for (const auto& [name, swim] : net.nodes_) {
    if (name != "n5") {
      EXPECT_EQ(swim.state("n5"), PeerState::kAlive) << name;
    }
  }
}

TEST(Swim, UpdatesRoundTripThroughTheirText) {
  const SwimUpdate u{SwimUpdate::Kind::kSuspect, "n3", 42, "n1"};
  EXPECT_EQ(Swim::decode(Swim::encode(u)), u);
  for (const char* bad : {"", "x1\nn\n", "s\nn3\n", "s1\n\nn1", "s99999999999999999999999\nn\n"})
    EXPECT_FALSE(Swim::decode(bad).has_value()) << bad;
}

TEST(Swim, AGossipRoundSendsPendingUpdatesToFanoutMembersAndNothingWhenIdle) {
  Swim::Options o;
  o.gossip_fanout = 3;
  Swim s("n1", o, 7);
  const auto t0 = Clock::time_point{};
  for (int i = 2; i <= 10; ++i) s.add("n" + std::to_string(i), t0);
  // Its own `alive` is pending from the start.
  auto round = s.gossip();
  ASSERT_EQ(round.size(), 3u);
  std::set<std::string> targets;
  for (const auto& o2 : round) {
    targets.insert(o2.to);
    EXPECT_NE(o2.to, "n1");
    EXPECT_FALSE(o2.msg.ping || o2.msg.ack || o2.msg.ping_req);
    ASSERT_FALSE(o2.msg.updates.empty());
    EXPECT_EQ(o2.msg.updates[0].node, "n1");
  }
  EXPECT_EQ(targets.size(), 3u);  // distinct members
  // Once the update reached its retransmit limit, an idle round sends nothing...
  for (int i = 0; i < 100 && s.pending_updates() > 0; ++i) s.gossip();
  EXPECT_EQ(s.pending_updates(), 0u);
  EXPECT_TRUE(s.gossip().empty());
  // ...unless the caller has updates of its own to piggyback.
  auto forced = s.gossip(true);
  EXPECT_EQ(forced.size(), 3u);
  for (const auto& o2 : forced) EXPECT_TRUE(o2.msg.updates.empty());
}

Swim::Options with_digests() {
  Swim::Options o;
  o.heard_digests = true;
  return o;
}

TEST(Swim, AHeardDigestMakesAMemberHeardThatNeverSpokeToThisNode) {
  const auto t0 = Clock::time_point{};
  Swim a("a", with_digests(), 1), b("b", with_digests(), 2);
  for (const char* m : {"a", "b", "x"}) {
    a.add(m, t0);
    b.add(m, t0);
  }
  // x spoke to b only.
  b.receive("x", SwimMessage{.updates = {{SwimUpdate::Kind::kAlive, "x", 1, ""}}}, t0);
  ASSERT_EQ(b.state("x"), PeerState::kAlive);
  ASSERT_EQ(a.state("x"), PeerState::kUnknown);
  // a's ping of b carries a's digest (x unheard there); b's ack carries
  // b's, since a lacks x.
  std::optional<SwimMessage> ping;
  for (int period = 0; period < 10 && !ping; ++period)
    for (auto& o : a.tick(t0 + milliseconds(500) * period))
      if (o.to == "b" && o.msg.ping) ping = o.msg;
  ASSERT_TRUE(ping.has_value());
  ASSERT_TRUE(ping->heard.has_value());
  std::optional<SwimMessage> ack;
  for (auto& o : b.receive("a", *ping, t0))
    if (o.to == "a" && o.msg.ack) ack = o.msg;
  ASSERT_TRUE(ack.has_value());
  ASSERT_TRUE(ack->heard.has_value());
  a.receive("b", *ack, t0);
  EXPECT_EQ(a.state("x"), PeerState::kAlive);
  bool alive_x = false;
  for (const auto& t : a.take_transitions())
    alive_x |= t.kind == Transition::Kind::kNodeAlive && t.node == "x";
  EXPECT_TRUE(alive_x);
  // A digest of another member list is ignored.
  Swim c("c", with_digests(), 3);
  for (const char* m : {"c", "y", "x"}) c.add(m, t0);
  c.receive("b", *ack, t0);
  EXPECT_EQ(c.state("x"), PeerState::kUnknown);
}

TEST(Swim, DigestsNeverMakeHeardAMemberThatNeverRan) {
  Net net(12, 9, with_digests());
  net.down_.insert("n12");  // down from the start
  net.run(milliseconds(20000));
  for (const auto& [name, swim] : net.nodes_) {
    if (name == "n12") continue;
    EXPECT_EQ(swim.state("n12"), PeerState::kUnknown) << name;
    EXPECT_EQ(swim.alive_count(), 10u) << name;
  }
  EXPECT_EQ(net.stale_events(), 0u);
}

TEST(Swim, WithDigestsAFirstAnnouncementIsNotRelayedButARefutationIs) {
  const auto t0 = Clock::time_point{};
  Swim a("a", with_digests(), 1);
  for (const char* m : {"b", "x"}) a.add(m, t0);
  const std::size_t own = a.pending_updates();  // its own alive
  a.receive("b", SwimMessage{.updates = {{SwimUpdate::Kind::kAlive, "x", 5, ""}}}, t0);
  EXPECT_EQ(a.state("x"), PeerState::kAlive);
  EXPECT_EQ(a.pending_updates(), own) << "x's first alive: not news";
  a.receive("b", SwimMessage{.updates = {{SwimUpdate::Kind::kAlive, "x", 6, "x"}}}, t0);
  EXPECT_EQ(a.pending_updates(), own + 1) << "x refuted: news";
  // Without digests (a transport that does not carry them) it is relayed,
  // and pings carry no digest.
  Swim b("b", {}, 2);
  for (const char* m : {"a", "x"}) b.add(m, t0);
  const std::size_t own_b = b.pending_updates();
  b.receive("a", SwimMessage{.updates = {{SwimUpdate::Kind::kAlive, "x", 5, ""}}}, t0);
  EXPECT_EQ(b.pending_updates(), own_b + 1);
  for (const auto& o : b.tick(t0)) EXPECT_FALSE(o.msg.heard.has_value());
}

TEST(Swim, AnAccusationOfIncarnationZeroMeansTheFirst) {
  // From a member that heard of this one only by digest.
  const auto t0 = Clock::time_point{};
  Swim x("x", {}, 1, 7);
  x.add("b", t0);
  x.receive("b", SwimMessage{.updates = {{SwimUpdate::Kind::kSuspect, "x", 0, "b"}}}, t0);
  EXPECT_EQ(x.incarnation(), 8u) << "refuted";
  // Again, once refuted: older; the current alive answers, no new one.
  x.receive("b", SwimMessage{.updates = {{SwimUpdate::Kind::kSuspect, "x", 0, "b"}}}, t0);
  EXPECT_EQ(x.incarnation(), 8u);
  // At a member that knows x's first incarnation, it accuses that one.
  Swim b("b", {}, 2);
  b.add("x", t0);
  b.add("c", t0);
  b.receive("x", SwimMessage{.updates = {{SwimUpdate::Kind::kAlive, "x", 7, ""}}}, t0);
  b.receive("c", SwimMessage{.updates = {{SwimUpdate::Kind::kDead, "x", 0, "c"}}}, t0);
  EXPECT_EQ(b.state("x"), PeerState::kStale);
  // ...but not one after a refutation.
  Swim d("d", {}, 3);
  d.add("x", t0);
  d.add("c", t0);
  d.receive("x", SwimMessage{.updates = {{SwimUpdate::Kind::kAlive, "x", 8, "x"}}}, t0);
  d.receive("c", SwimMessage{.updates = {{SwimUpdate::Kind::kDead, "x", 0, "c"}}}, t0);
  EXPECT_EQ(d.state("x"), PeerState::kAlive);
}

TEST(Swim, ADeathHeardBeforeTheMemberIsStaleOnceItIsHeard) {
  const auto t0 = Clock::time_point{};
  Swim a("a", {}, 1);
  for (const char* m : {"b", "x"}) a.add(m, t0);
  a.receive("b", SwimMessage{.updates = {{SwimUpdate::Kind::kDead, "x", 3, "b"}}}, t0);
  EXPECT_EQ(a.state("x"), PeerState::kUnknown) << "never heard: no event";
  for (const auto& t : a.take_transitions()) EXPECT_NE(t.node, "x");
  a.receive("b", SwimMessage{.updates = {{SwimUpdate::Kind::kAlive, "x", 3, ""}}}, t0);
  EXPECT_EQ(a.state("x"), PeerState::kStale);
  const auto ts = a.take_transitions();
  ASSERT_EQ(ts.size(), 2u);
  EXPECT_EQ(ts[0].kind, Transition::Kind::kNodeAlive);
  EXPECT_EQ(ts[1].kind, Transition::Kind::kNodeStale);
}

TEST(Swim, OptionsForMapsTheHeartbeatTimingsAndGrowsWithLogN) {
  const milliseconds interval(500), timeout(2000);
  const auto o200 = Swim::options_for(interval, timeout, 200);
  EXPECT_EQ(o200.probe_interval, interval);
  EXPECT_EQ(o200.probe_timeout, milliseconds(250));
  // timeout - interval: never declared dead before `timeout` of silence
  // (timeout x log10(N) / 4 is only 1150 ms here).
  EXPECT_EQ(o200.suspicion_min, milliseconds(1500));
  EXPECT_EQ(o200.suspicion_max, 6 * o200.suspicion_min);
  EXPECT_EQ(o200.gossip_fanout, 3u);
  EXPECT_EQ(o200.retransmit_mult, 4);
  EXPECT_TRUE(o200.heard_digests);
  EXPECT_EQ(Swim::options_for(interval, timeout, 5000).suspicion_min, milliseconds(1849));
  // Small clusters: the timeout floor too; with a long interval, two periods.
  EXPECT_EQ(Swim::options_for(interval, timeout, 3).suspicion_min, milliseconds(1500));
  EXPECT_EQ(Swim::options_for(milliseconds(1500), timeout, 3).suspicion_min, milliseconds(3000));
  milliseconds last(0);
  for (std::size_t n : {10, 100, 1000, 10000, 100000}) {
    const auto o = Swim::options_for(interval, timeout, n);
    EXPECT_GE(o.suspicion_min, last) << n;
    last = o.suspicion_min;
  }
}

}  // namespace
}  // namespace vigil::membership
