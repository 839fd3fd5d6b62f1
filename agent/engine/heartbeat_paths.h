// The node's heartbeat paths as one set: builds a driver per [hb.<id>] table
// (unicast or multicast), sends on every path, paces each group of paths
// that share an interval with one timer (so one sealed message goes out on
// all of them and is applied once by receivers), and keeps per-path and
// per-peer receive counters for `vigil hb status`.
#ifndef VIGIL_AGENT_ENGINE_HEARTBEAT_PATHS_H_
#define VIGIL_AGENT_ENGINE_HEARTBEAT_PATHS_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json_fwd.hpp>

#include "agent/config/config.h"
#include "heartbeat/drop_reason.h"
#include "heartbeat/path.h"

namespace vigil::membership {
class PeerTable;
}

namespace vigil::agent {

class HeartbeatPaths {
 public:
  using Datagrams = std::vector<std::vector<uint8_t>>;
  /// One heartbeat: datagrams for every peer, and datagrams for some peers
  /// only (catch-up heartbeats sealed under an older key).
  struct Outgoing {
    struct Targeted {
      std::vector<std::string> peers;
      Datagrams datagrams;
    };
    Datagrams all;
    std::vector<Targeted> targeted;
    /// Gossip mode: `all` goes out on multicast paths only (one datagram
    /// reaches every member there); unicast peers are reached by GossipMode.
    bool multicast_only = false;
  };
  /// A datagram arrived on path number `index` (config order), id `path`.
  using Receive = std::function<void(std::size_t index, const std::string& path,
                                     std::span<const uint8_t> bytes)>;
  /// A path went up or down (reason says why it is down).
  using StateChange =
      std::function<void(const std::string& path, bool up, const std::string& reason)>;
  /// Makes the datagrams of one heartbeat (called once per group tick).
  using Heartbeat = std::function<Outgoing()>;

  /// Builds one driver per `config.hb` entry; nothing is opened yet.
  HeartbeatPaths(boost::asio::io_context& io, const Config& config, Receive on_receive,
                 StateChange on_state, Heartbeat heartbeat);
  ~HeartbeatPaths();

  /// Opens every path (a path that cannot open retries by itself and never
  /// stops the others) and starts the interval timers.
  void start();
  void stop();

  /// The member set changed: each path's peers become those of its
  /// `config.hb` entry (same order as at construction), plus `extra` (path
  /// id -> node -> address: leaving members still sent to for a while).
  void set_peers(const Config& config,
                 const std::map<std::string, std::map<std::string, Endpoint>>& extra = {});
  /// A reload changed path intervals: the paths are grouped again by the
  /// `config.hb` intervals (same order as at construction), and each group
  /// sends at once and then every new interval.
  void set_intervals(const Config& config);
  /// Sends `out` on every path now (commits, answers to peers).
  void send_all(const Outgoing& out);
  /// Sends `datagrams` to `peer` on every unicast path that reaches it
  /// (gossip mode). Returns the bytes sent (queued).
  std::size_t send_to(const std::string& peer, const Datagrams& datagrams);

  /// Counts a datagram that authenticated as `peer` on `path`.
  void count_received(const std::string& path, const std::string& peer, std::size_t bytes);
  /// Counts a datagram of path number `index` dropped for `reason`.
  void count_drop(std::size_t index, heartbeat::DropReason reason);

  /// `hb status` JSON: {"paths": [{id, type, describe, up, sent/received
  /// datagrams and bytes, send_errors, restarts, kernel_drops (datagrams
  /// the kernel dropped at the full receive buffer), dropped: {reason: n},
  /// peers: {name: {address, state, last_heard_ms, received_datagrams,
  /// received_bytes}}, sent: {peer: {datagrams, bytes}}}]}. last_heard_ms is
  /// ms ago, null when never heard. `sent` counts what was addressed to each
  /// peer; a multicast path counts its sends under "*" (the group).
  nlohmann::json status(const membership::PeerTable& peers) const;

  std::size_t size() const { return paths_.size(); }

 private:
  struct PeerCounters {
    uint64_t datagrams = 0, bytes = 0;
  };
  struct Group {
    std::chrono::milliseconds interval;
    std::vector<heartbeat::Path*> paths;
    std::unique_ptr<boost::asio::steady_timer> timer;
  };
  void tick(Group& group);
  void group(const Config& config);
  void send(heartbeat::Path& path, const Outgoing& out);
  /// Adds `datagrams` to the sent counters of (path, peer).
  void count_sent(const heartbeat::Path& path, const std::string& peer, const Datagrams& datagrams);

  boost::asio::io_context& io_;
  Heartbeat heartbeat_;
  std::vector<std::unique_ptr<heartbeat::Path>> paths_;
  std::list<Group> groups_;  // stable addresses: a timer's handler holds its group
  bool started_ = false;
  std::vector<heartbeat::DropCounters> drops_;  // by path index
  // path -> peer -> counters: found once per datagram, with no key built.
  std::map<std::string, std::unordered_map<std::string, PeerCounters>, std::less<>> received_;
  std::map<std::pair<std::string, std::string>, PeerCounters> sent_;  // (path, peer)
};

}  // namespace vigil::agent

#endif  // VIGIL_AGENT_ENGINE_HEARTBEAT_PATHS_H_
