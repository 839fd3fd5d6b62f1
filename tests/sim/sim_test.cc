// Properties of SWIM with Lifeguard (membership/swim.h) over the simulator
// (simulator.h): hundreds of nodes, 1-5 ms latency, random loss, several
// seeds, the options the engine will use (Swim::options_for with the
// heartbeat interval and timeout, 500 ms and 2 s). Each property is checked
// at every live node, not on average.
#include <chrono>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "tests/sim/simulator.h"

namespace vigil::sim {
namespace {

using membership::PeerState;
using membership::Swim;

Options options(std::size_t nodes, uint64_t seed, double loss) {
  Options o;
  o.nodes = nodes;
  o.seed = seed;
  o.loss = loss;
  o.swim = Swim::options_for(Duration(500), Duration(2000), nodes);
  return o;
}

// Every live node sees every other live node alive, and every killed one
// stale: the cold start's hearing, the deaths and any refutation reached
// them all.
void expect_converged(const Simulator& sim) {
  for (const auto& at : sim.names()) {
    if (sim.killed(at)) continue;
    for (const auto& of : sim.names()) {
      if (of == at) continue;
      const PeerState want = sim.killed(of) ? PeerState::kStale : PeerState::kAlive;
      ASSERT_EQ(sim.node(at).state(of), want) << of << " at " << at;
    }
  }
}

TEST(SimProperty, AColdStartEndsWithEveryNodeHavingHeardEveryOther) {
  for (uint64_t seed = 1; seed <= 3; ++seed) {
    Simulator sim(options(300, seed, 0.02));
    sim.run_until(Duration(10000));
    const auto s = sim.stats();
    EXPECT_EQ(s.heard_pairs, 300u * 299u) << "seed " << seed;
    EXPECT_GE(s.all_heard.count(), 0) << "seed " << seed;
    EXPECT_LE(s.all_heard.count(), 8000) << "seed " << seed;
    expect_converged(sim);
  }
}

TEST(SimProperty, EveryDeathReachesEveryLiveNodeAndOnlyThem) {
  for (uint64_t seed = 1; seed <= 3; ++seed) {
    Simulator sim(options(200, seed, 0.02));
    sim.run_until(Duration(5000));
    // Three victims, one every two seconds: updates in flight overlap.
    for (int k = 0; k < 3; ++k) {
      sim.kill(sim.names()[(seed * 37 + static_cast<uint64_t>(k) * 61) % 200]);
      sim.run_until(Duration(5000 + 2000 * (k + 1)));
    }
    sim.run_until(Duration(30000));
    const auto s = sim.stats();
    for (const auto& [victim, missing] : s.undetected) EXPECT_EQ(missing, 0u) << victim;
    EXPECT_EQ(s.detections.size(), 3u);
    // Each by every node alive at the time (197 survivors, and the victims
    // killed later that detected it first), once.
    for (const auto& [victim, times] : s.detections) {
      EXPECT_GE(times.size(), 197u) << victim;
      EXPECT_LE(times.size(), 199u) << victim;
    }
    EXPECT_EQ(s.false_stale, 0u) << "seed " << seed;
    expect_converged(sim);
  }
}

TEST(SimProperty, ARefutationReachesEveryLiveNode) {
  // A few nodes are cut off for 800 ms: long enough to be suspected, too
  // short to be confirmed by K others (a cut of 2 s is a failure, as a
  // heartbeat timeout of 2 s says). The network heals: their refutations
  // must end every suspicion, everywhere.
  for (uint64_t seed = 1; seed <= 3; ++seed) {
    Simulator sim(options(200, seed, 0.02));
    sim.run_until(Duration(5000));
    std::set<std::string> side;
    for (std::size_t i = 0; i < 5; ++i) side.insert(sim.names()[(seed * 11 + i * 37) % 200]);
    sim.partition(side);
    sim.run_until(Duration(5800));
    sim.heal();
    sim.run_until(Duration(25000));
    EXPECT_EQ(sim.stats().false_stale, 0u) << "seed " << seed;
    expect_converged(sim);
    std::size_t refuted = 0;
    for (const auto& n : side) refuted += sim.node(n).incarnation() > 1 ? 1 : 0;
    EXPECT_GE(refuted, 1u) << "seed " << seed << ": some were suspected and refuted";
  }
}

TEST(SimProperty, NoFalseStaleUnderFivePercentLossOver300Seconds) {
  for (uint64_t seed = 1; seed <= 3; ++seed) {
    Simulator sim(options(200, seed, 0.05));
    sim.run_until(Duration(300000));
    EXPECT_EQ(sim.stats().false_stale, 0u) << "seed " << seed;
    expect_converged(sim);
  }
}

}  // namespace
}  // namespace vigil::sim
