// The engine's gossip mode (docs/ARCHITECTURE.md, Gossip mode), used past
// the full mesh (config.h, cluster.dissemination):
//   - failure detection by SWIM with Lifeguard (membership/swim.h): each
//     protocol period (the heartbeat interval) one member is probed, with
//     indirect probes and suspicion, instead of every member hearing from
//     every other; its NodeAlive and NodeStale drive the peer table
//     (PeerTable::drive_externally());
//   - epidemic dissemination: the SWIM updates and this node's document
//     deltas are piggybacked on every message, each a bounded number of
//     times (membership/broadcast_queue.h), and a gossip round every
//     kGossipInterval sends them to `fanout` random members; a commit, and
//     a change heard for the first time, run a round at once;
//   - anti-entropy: a push-pull of version vectors (membership/replicator.h,
//     gossip mode), answered with relayed fulls. Every message carries the
//     digest of the sender's vector; a receiver whose digest differs starts
//     a push-pull with the sender (at most one per kAntiEntropyFast). The
//     digest is the periodic exchange: 9 bytes on every probe instead of a
//     vector of N entries (3.4 KB at N = 200) every few seconds. The whole
//     vector goes to one random alive member every kAntiEntropyFast only
//     while a member's document is missing here (a start, a join);
//   - reconnection: every kReconnectInterval, one random member declared
//     dead gets this node's `alive` (memberlist gossips to the dead for the
//     same reason). Members declared dead are probed no more, so after a
//     partition heals nobody would talk across it; the dead member answers
//     that it holds this node dead, this node refutes with a higher
//     incarnation, and its next reconnection carries that alive across.
// Relays never change another node's document: a relayed delta or full
// keeps its writer, boot and gen, and every receiver checks it as if the
// writer had sent it (the threat model: every member holds the cluster key).
//
// Runs on the engine's io_context thread, as the engine does.
#ifndef VIGIL_AGENT_ENGINE_GOSSIP_MODE_H_
#define VIGIL_AGENT_ENGINE_GOSSIP_MODE_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json_fwd.hpp>

#include "heartbeat/message.h"
#include "membership/broadcast_queue.h"
#include "membership/peer_state.h"
#include "membership/replicator.h"
#include "membership/swim.h"

namespace vigil::agent {

class StatusBefore;  // status_before.h

class GossipMode {
 public:
  using Clock = std::chrono::steady_clock;
  using milliseconds = std::chrono::milliseconds;

  /// memberlist's GossipInterval.
  static constexpr milliseconds kGossipInterval{200};
  static constexpr milliseconds kAntiEntropyFast{200};
  static constexpr milliseconds kReconnectInterval{1000};
  /// Least spacing of the extra gossip rounds that relay a fresh change.
  static constexpr milliseconds kRelaySpacing{50};
  /// Bytes of relayed deltas piggybacked on one message at most.
  static constexpr std::size_t kDeltaBudget = 4096;
  /// Bytes of relayed fulls in one anti-entropy answer at most (it is
  /// fragmented on the wire); what does not fit waits for the next one.
  static constexpr std::size_t kFullBudget = 32768;

  struct Hooks {
    /// The fields every message carries: this node's gen, key versions and
    /// offers, the member digest, the stop flag.
    std::function<heartbeat::Message()> base;
    /// Seals and sends `msg` to `peer` on every unicast path that reaches it.
    std::function<std::size_t(const std::string& peer, const heartbeat::Message& msg)> send;
    /// SWIM's NodeAlive and NodeStale.
    std::function<void(const std::vector<membership::Transition>&)> transitions;
    /// A peer document changed by a relayed delta or full: its writer, what
    /// the document held before of its status fields, and what the
    /// replicator did.
    std::function<void(const std::string& writer, const StatusBefore& before,
                       const membership::Replicator::Received&)>
        document;
  };

  /// `interval`, `timeout`: the heartbeat path's (ms); `boot`: this run's
  /// boot id, also SWIM's first incarnation; `members`: the other members.
  GossipMode(boost::asio::io_context& io, std::string self, uint64_t boot, milliseconds interval,
             milliseconds timeout, const std::vector<std::string>& members,
             membership::Replicator& replicator, Hooks hooks);
  ~GossipMode();

  void start();
  void stop();

  /// A member joined (probed from now on, unknown until heard) or left.
  void add(const std::string& member);
  void remove(const std::string& member);
  /// The local loop stalled for `stall`: SWIM's deadlines move later.
  void credit(milliseconds stall);

  /// This node committed `ops` as gen `gen`: spread them, and run a gossip
  /// round at once.
  void committed(uint64_t gen, const nlohmann::json& ops);
  /// A message from member `sender`, opened and decoded by the engine.
  /// Messages of non-members are ignored.
  void receive(const std::string& sender, const heartbeat::Message& msg);

  /// For `hb status`: {"mode": "gossip", "fanout", "probe_interval_ms",
  /// "sent": {"messages", "bytes"}, "rate": {"messages_per_s",
  /// "bytes_per_s"} (over the last 10 s or less), "pending_retransmits"
  /// (member updates and deltas queued), "awareness", "incarnation",
  /// "alive"}.
  nlohmann::json status() const;

 private:
  void send(const std::string& to, heartbeat::Message msg);
  void send_swim(std::vector<membership::Swim::Out> outs);
  void run();  // the timer: SWIM ticks, gossip rounds, anti-entropy
  void arm();
  void anti_entropy();
  void pull(const std::string& peer);
  void reconnect();
  void answer_versions(const std::string& sender, const heartbeat::Message& msg);
  void take_transitions();

  boost::asio::io_context& io_;
  std::string self_;
  uint64_t boot_;
  membership::Replicator& replicator_;
  Hooks hooks_;
  membership::Swim swim_;
  std::size_t fanout_;
  membership::BroadcastQueue deltas_;
  std::vector<std::string> members_;  // others, for the anti-entropy pick
  std::mt19937_64 rng_;
  boost::asio::steady_timer timer_;
  Clock::time_point armed_at_ = Clock::time_point::max();
  Clock::time_point next_gossip_{}, next_anti_entropy_{}, next_reconnect_{}, next_pull_{},
      next_relay_{};
  bool running_ = false;
  // Traffic, and a window of it for the rate.
  uint64_t messages_ = 0, bytes_ = 0;
  struct Sample {
    Clock::time_point at;
    uint64_t messages, bytes;
  };
  std::vector<Sample> window_;
  milliseconds interval_;
};

}  // namespace vigil::agent

#endif  // VIGIL_AGENT_ENGINE_GOSSIP_MODE_H_
