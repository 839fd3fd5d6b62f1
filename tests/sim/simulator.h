// An in-process simulator of a vigil cluster in gossip mode: thousands of
// real membership::Swim instances (membership/swim.h) on a fake clock, over
// a fake network with per-message latency, random loss, partitions and
// killed nodes. It measures what the gossip-mode targets are about:
// detection time of a killed node at every survivor, false NodeStale,
// messages and bytes per node per second.
//
// Bytes are an estimate of the SWIM part alone (the daemon's messages also
// carry its gen, key versions and digests, heartbeat/message.h): the
// datagram envelope (header with the sender's name, nonce and AEAD tag, 110
// bytes) plus the msgpack-sized fields (estimated_bytes()): 8 bytes per
// sequence number, each update's text and 3, a heard digest's N/8 bytes
// and 12.
//
// Event driven: a message is delivered at its own time; a node runs tick()
// when its next deadline comes (Swim::next_deadline()) and after each
// delivery, and a gossip round (Swim::gossip()) every gossip interval, from
// a random start within the first interval. Its messages count in the
// traffic figures like any other. Single-threaded and deterministic for a
// seed.
#ifndef VIGIL_TESTS_SIM_SIMULATOR_H_
#define VIGIL_TESTS_SIM_SIMULATOR_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <queue>
#include <random>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "membership/swim.h"

namespace vigil::sim {

using Clock = membership::Swim::Clock;
using Duration = std::chrono::milliseconds;

/// The bytes one SWIM message from `sender` would take on the wire.
std::size_t estimated_bytes(const membership::SwimMessage& msg, const std::string& sender);

struct Options {
  std::size_t nodes = 100;
  uint64_t seed = 1;
  Duration latency_min{1}, latency_max{5};  // one way, uniform
  double loss = 0;                          // probability a message is lost
  Duration gossip_interval{200};            // memberlist's GossipInterval; 0: no gossip
  membership::Swim::Options swim;
};

class Simulator {
 public:
  explicit Simulator(Options options);

  /// Runs until `elapsed` since the start.
  void run_until(Duration elapsed);
  Duration now() const;

  /// Kills `node` now: it neither runs, sends nor receives any more.
  void kill(const std::string& node);
  /// Cuts the network between `side` and everyone else (both ways).
  void partition(const std::set<std::string>& side) { side_ = side; }
  void heal() { side_.clear(); }

  const std::vector<std::string>& names() const { return names_; }
  /// The Swim instance of `node` (its state as the run left it).
  const membership::Swim& node(const std::string& name) const { return nodes_[index_.at(name)]; }
  bool killed(const std::string& name) const { return dead_[index_.at(name)]; }

  struct Stats {
    // Per killed node: how long after its kill each survivor published
    // NodeStale for it, and how many survivors have not yet.
    std::map<std::string, std::vector<Duration>> detections;
    std::map<std::string, std::size_t> undetected;
    std::size_t false_stale = 0;  // NodeStale of a node that was not killed
    // Cold start: when every node had published NodeAlive for every other
    // (-1: not yet), and how many (node, member) pairs had by the end.
    Duration all_heard{-1};
    uint64_t heard_pairs = 0;
    uint64_t messages = 0, bytes = 0;  // sent, lost ones included
  };
  Stats stats() const;
  /// Sent messages and bytes since the last reset, and since when.
  void reset_traffic();
  double messages_per_node_second() const;
  double bytes_per_node_second() const;

 private:
  struct Delivery {
    Clock::time_point at;
    uint64_t order;
    std::size_t from, to;
    membership::SwimMessage msg;
    bool operator>(const Delivery& o) const { return at != o.at ? at > o.at : order > o.order; }
  };
  void send(std::size_t from, std::vector<membership::Swim::Out> outs);
  void run_node(std::size_t i);
  void schedule(std::size_t i);
  void collect(std::size_t i);
  bool cut(std::size_t a, std::size_t b) const;

  Options options_;
  std::mt19937_64 rng_;
  std::vector<std::string> names_;
  std::unordered_map<std::string, std::size_t> index_;
  std::vector<membership::Swim> nodes_;
  std::vector<bool> dead_;
  std::vector<std::vector<bool>> heard_;  // [node][member]: NodeAlive published
  std::vector<Clock::time_point> due_;
  std::priority_queue<Delivery, std::vector<Delivery>, std::greater<>> deliveries_;
  using Due = std::pair<Clock::time_point, std::size_t>;
  std::priority_queue<Due, std::vector<Due>, std::greater<>> timers_;
  std::priority_queue<Due, std::vector<Due>, std::greater<>> gossips_;  // next round per node
  std::set<std::string> side_;
  std::map<std::string, Clock::time_point> killed_at_;
  Stats stats_;
  Clock::time_point start_{}, now_{}, traffic_since_{};
  uint64_t traffic_messages_ = 0, traffic_bytes_ = 0;
  uint64_t order_ = 0;
};

}  // namespace vigil::sim

#endif  // VIGIL_TESTS_SIM_SIMULATOR_H_
