// The protocol engine: heartbeats over the node's paths, liveness
// transitions, this node's document and its commit tick, replication by the
// gen protocol, secret rotation, and the cluster dataset (DESIGN.md, "Wire
// protocol", "The gen protocol", "Liveness"). It knows nothing of HTTP or the
// CLI: it reports through typed callbacks, and the daemon wires them.
// Runs on one io_context thread, which owns all of its state.
#ifndef VIGIL_AGENT_ENGINE_ENGINE_H_
#define VIGIL_AGENT_ENGINE_ENGINE_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <nlohmann/json_fwd.hpp>

#include "agent/base/node_change.h"
#include "agent/config/config.h"
#include "agent/events/event.h"

namespace vigil::agent {

class Engine {
 public:
  struct Callbacks {
    /// Every event the engine raises (seed 001 kinds): NodeAlive, NodeStale,
    /// HeartbeatAlive, HeartbeatStale, ForgetPeer, NodeMonitorUpdated
    /// ({node, state: "stopped"}: a peer announced a clean stop), NodeDataUpdated,
    /// NodeStatusLabelsUpdated, NodeFrozen, DaemonHeartbeatUpdated, and the
    /// HeartbeatRotate* and HeartbeatSecretUpdated events.
    std::function<void(Event)> publish;
    /// The dataset may have changed: a commit, an applied delta or full, or
    /// a liveness transition.
    std::function<void()> dataset_changed;
    /// A peer went stale (after its NodeStale and ForgetPeer events). Never
    /// for a peer that announced a clean stop.
    std::function<void(const std::string& node)> peer_lost;
    /// A peer came back (after its NodeAlive event).
    std::function<void(const std::string& node)> peer_back;
  };
  /// The answer to a rotate request: an HTTP-like status and a JSON body
  /// (keys/secret_rotation.h lists them).
  using RotateDone = std::function<void(int status, const nlohmann::json& answer)>;

  /// Builds the engine from `config` (which must outlive it); nothing is
  /// opened yet. This node's document starts from <var_dir>/node.json when
  /// it exists (engine/node_file.h), with a new boot_at and this version.
  /// Throws std::runtime_error("<path>: <reason>") for a keyring file or a
  /// node.json that cannot be read or used.
  Engine(boost::asio::io_context& io, const Config& config, Callbacks callbacks);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  /// Opens every heartbeat path (one that cannot open retries by itself),
  /// starts the liveness check, and saves this run's document to node.json.
  /// Call once.
  void start();
  /// A clean stop (SIGTERM, SIGINT): cancels the liveness check and the
  /// commit tick, stops handling datagrams, sends a heartbeat carrying the
  /// stop flag on every path now and again 20 ms later (peers mark this node
  /// stopped, not stale), waits for the last node.json write, closes the
  /// paths, then runs `done` on the io_context. Later calls do nothing.
  void stop(std::function<void()> done);

  /// The cluster dataset (engine/dataset.h); `quorum` goes to
  /// .cluster.quorum as is.
  nlohmann::json dataset(const nlohmann::json& quorum) const;
  /// `hb status`: {node, boot, paths, dropped, kernel_drops, key}.
  nlohmann::json hb_status() const;
  /// The peers heard alive now (this node excluded).
  std::set<std::string> alive_peers() const;

  /// Stages a change of this node's document (engine/local_document.h);
  /// throws what LocalDocument::change throws. `committed(gen)` runs after
  /// the commit tick that publishes it, once node.json holds that document
  /// (or its write failed: logged).
  void change(const NodeChange& change, std::function<void(uint64_t gen)> committed);
  /// `vigil hb rotate`: starts a secret rotation led here with `secret`
  /// (random when absent); `done` runs once.
  void rotate(std::optional<crypto::Secret> secret, RotateDone done);

  /// The join token keys of every secret version held, the current first
  /// (keys/secret_rotation.h).
  std::vector<crypto::Key> join_keys() const;

  /// This daemon's boot id (microseconds of wall time at start).
  uint64_t boot() const;
  /// The number of heartbeat paths.
  std::size_t path_count() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vigil::agent

#endif  // VIGIL_AGENT_ENGINE_ENGINE_H_
