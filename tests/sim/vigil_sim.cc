// vigil_sim: the gossip-mode simulator (simulator.h) as a command.
//
//   vigil_sim --nodes 1000 [--seconds 30] [--kill 3] [--loss 0.05] [--seed 1]
//             [--interval 500ms] [--timeout 2s] [--gossip-interval 200ms]
//             [--update-budget 1024] [--format json] [--check]
//             [--suspicion-min MS] [--suspicion-max MS] [--fanout K]
//             [--retransmit-mult M]
//
// The Swim options are Swim::options_for(interval, timeout, nodes); the
// last four flags override them (for tuning). Starts every node at once (a
// cold start), warms up for 5 s, kills --kill random nodes at once, then
// runs --seconds more. Prints detection times over every (killed, survivor)
// pair (p50, p95, max), survivors that did not detect, false NodeStale,
// messages and bytes per node per second after the warm-up (estimated
// bytes, see simulator.h), when every node had heard every other, the
// options used and the wall time. With --check it exits 1 unless every
// node heard every other, every survivor detected every killed node with
// p95 within 2 x the timeout (3 x above 1,000 nodes: the gossip-mode
// targets), and no NodeStale was false. Exit 2 on a usage error.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <random>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "tests/sim/simulator.h"

namespace {

using vigil::sim::Duration;

Duration parse_ms(const std::string& text) {
  std::size_t used = 0;
  const long v = std::stol(text, &used);
  const std::string unit = text.substr(used);
  if (unit == "ms") return Duration(v);
  if (unit == "s") return Duration(v * 1000);
  throw std::invalid_argument("expected a duration such as 500ms or 2s: " + text);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"vigil_sim: SWIM failure detection of vigil's gossip mode, simulated"};
  std::size_t nodes = 200, kills = 2;
  int seconds = 20;
  double loss = 0;
  uint64_t seed = 1;
  std::string interval = "500ms", timeout = "2s", gossip = "200ms", format = "table";
  bool check = false;
  std::size_t budget = 1024;
  app.add_option("--nodes", nodes, "cluster size")->check(CLI::Range(2, 100000));
  app.add_option("--seconds", seconds, "simulated seconds after the kill")
      ->check(CLI::Range(1, 3600));
  app.add_option("--kill", kills, "nodes killed at once after the warm-up");
  app.add_option("--loss", loss, "probability a message is lost")->check(CLI::Range(0.0, 0.9));
  app.add_option("--seed", seed, "random seed");
  app.add_option("--interval", interval, "probe interval (the heartbeat interval)");
  app.add_option("--timeout", timeout,
                 "the heartbeat timeout (Swim::options_for maps it to the suspicion timeouts)");
  app.add_option("--gossip-interval", gossip,
                 "a gossip round per node every this often (0ms: none)");
  app.add_option("--format", format, "table or json")->check(CLI::IsMember({"table", "json"}));
  app.add_option("--update-budget", budget, "bytes of updates piggybacked per message")
      ->check(CLI::Range(64, 65536));
  int64_t smin = 0, smax = 0;
  int fanout = 0, mult = 0;
  app.add_option("--suspicion-min", smin, "ms; overrides Swim::options_for (0: keep)");
  app.add_option("--suspicion-max", smax, "ms; overrides Swim::options_for (0: keep)");
  app.add_option("--fanout", fanout, "gossip fanout; overrides Swim::options_for (0: keep)");
  app.add_option("--retransmit-mult", mult, "overrides Swim::options_for (0: keep)");
  app.add_flag("--check", check, "exit 1 unless the targets hold");
  CLI11_PARSE(app, argc, argv);
  if (kills >= nodes) {
    std::cerr << "vigil_sim: --kill must leave survivors\n";
    return 2;
  }

  vigil::sim::Options o;
  o.nodes = nodes;
  o.seed = seed;
  o.loss = loss;
  Duration t{};
  try {
    o.swim.probe_interval = parse_ms(interval);
    t = parse_ms(timeout);
    o.gossip_interval = parse_ms(gossip);
  } catch (const std::exception& e) {
    std::cerr << "vigil_sim: " << e.what() << "\n";
    return 2;
  }
  o.swim = vigil::membership::Swim::options_for(o.swim.probe_interval, t, nodes);
  o.swim.update_budget = budget;
  if (smin > 0) o.swim.suspicion_min = Duration(smin);
  if (smax > 0) o.swim.suspicion_max = Duration(std::max(smax, smin));
  if (fanout > 0) o.swim.gossip_fanout = static_cast<std::size_t>(fanout);
  if (mult > 0) o.swim.retransmit_mult = mult;

  const auto wall = std::chrono::steady_clock::now();
  vigil::sim::Simulator sim(o);
  sim.run_until(Duration(5000));
  sim.reset_traffic();
  std::vector<std::string> victims = sim.names();
  std::mt19937_64 rng(seed);
  std::shuffle(victims.begin(), victims.end(), rng);
  victims.resize(kills);
  for (const auto& v : victims) sim.kill(v);
  sim.run_until(Duration(5000) + Duration(seconds * 1000));
  const double wall_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall).count();

  const auto s = sim.stats();
  std::vector<int64_t> all;
  std::size_t undetected = 0;
  for (const auto& [node, times] : s.detections)
    for (const auto& d : times) all.push_back(d.count());
  for (const auto& [node, n] : s.undetected) undetected += n;
  std::sort(all.begin(), all.end());
  auto pct = [&](double p) -> int64_t {
    if (all.empty()) return -1;
    const auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(all.size())));
    return all[std::min(all.size() - 1, rank == 0 ? 0 : rank - 1)];
  };
  nlohmann::json out = {
      {"nodes", nodes},
      {"killed", kills},
      {"loss", loss},
      {"seconds", seconds},
      {"detection_ms", {{"p50", pct(0.5)}, {"p95", pct(0.95)}, {"max", pct(1.0)}}},
      {"undetected", undetected},
      {"false_stale", s.false_stale},
      {"messages_per_node_s", sim.messages_per_node_second()},
      {"bytes_per_node_s", sim.bytes_per_node_second()},
      {"wall_s", wall_s},
      {"all_heard_ms", s.all_heard.count()},
      {"suspicion_min_ms", o.swim.suspicion_min.count()},
      {"suspicion_max_ms", o.swim.suspicion_max.count()},
      {"gossip_fanout", o.swim.gossip_fanout},
      {"retransmit_mult", o.swim.retransmit_mult}};
  const int64_t bound = (nodes > 1000 ? 3 : 2) * t.count();
  const bool ok = undetected == 0 && s.false_stale == 0 && s.all_heard.count() >= 0 &&
                  (kills == 0 || (pct(0.95) >= 0 && pct(0.95) <= bound));
  out["ok"] = ok;
  if (format == "json") {
    std::cout << out.dump() << "\n";
  } else {
    std::printf(
        "N=%zu killed=%zu loss=%.2f: detection p50 %lld ms, p95 %lld ms, max %lld ms; "
        "undetected %zu; false NodeStale %zu; %.2f msg/node/s, %.0f B/node/s (est.); "
        "all heard at %lld ms; wall %.1f s\n",
        nodes, kills, loss, static_cast<long long>(pct(0.5)), static_cast<long long>(pct(0.95)),
        static_cast<long long>(pct(1.0)), undetected, s.false_stale, sim.messages_per_node_second(),
        sim.bytes_per_node_second(), static_cast<long long>(s.all_heard.count()), wall_s);
  }
  return check && !ok ? 1 : 0;
}
