// The protocol engine: heartbeats over the node's paths, liveness
// transitions, this node's document and its commit tick, replication by the
// gen protocol, secret rotation, and the cluster dataset (DESIGN.md, "Wire
// protocol", "The gen protocol", "Liveness"). It knows nothing of HTTP or the
// CLI: it reports through typed callbacks, and the daemon wires them.
// Runs on one io_context thread, which owns all of its state.
#ifndef VIGIL_AGENT_ENGINE_ENGINE_H_
#define VIGIL_AGENT_ENGINE_ENGINE_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <nlohmann/json_fwd.hpp>

#include "agent/base/node_change.h"
#include "agent/config/config.h"
#include "agent/engine/cluster_file.h"
#include "agent/events/event.h"
#include "membership/cluster_query.h"

namespace vigil::agent {

class Engine {
 public:
  struct Callbacks {
    /// Every event the engine raises (seed 001 kinds): NodeAlive, NodeStale,
    /// HeartbeatAlive, HeartbeatStale, ForgetPeer, NodeMonitorUpdated
    /// ({node, state: "stopped"}: a peer announced a clean stop), NodeDataUpdated,
    /// NodeStatusLabelsUpdated, NodeFrozen, DaemonHeartbeatUpdated, the
    /// HeartbeatRotate* and HeartbeatSecretUpdated events, and the member
    /// list's: JoinRequest, JoinSuccess, JoinError, JoinIgnored,
    /// LeaveRequest, LeaveSuccess, LeaveError, ClusterConfigUpdated.
    std::function<void(Event)> publish;
    /// Asked before a document event (NodeDataUpdated, NodeStatusLabelsUpdated,
    /// NodeFrozen; one per heartbeat that changes a peer's document) is
    /// built: true when no one would receive an event of `kind`, which has
    /// then been counted (EventBus::skip_unwanted), and the engine builds
    /// nothing. Unset: every event is built and published.
    std::function<bool(std::string_view kind)> skip_unwanted;
    /// The dataset may have changed: a commit, an applied delta or full, or
    /// a liveness transition.
    std::function<void()> dataset_changed;
    /// A peer went stale (after its NodeStale and ForgetPeer events). Never
    /// for a peer that announced a clean stop.
    std::function<void(const std::string& node)> peer_lost;
    /// A peer came back (after its NodeAlive event).
    std::function<void(const std::string& node)> peer_back;
    /// The member list changed and this node is still a member: the daemon
    /// makes `file` its running config (apply_cluster_file(), which the
    /// engine then reads back: nodes, each path's peers) and tells split
    /// analysis of `removed`. Runs before the engine updates its own parts.
    std::function<void(const ClusterFile& file, const std::vector<std::string>& removed)>
        members_changed;
    /// This node is no member any more: its leave() ended, or another node
    /// forgot it. The daemon goes standalone.
    std::function<void()> removed;
    /// The cluster's webhook set changed (a local put or remove, or entries
    /// merged from a peer): the daemon hands the active ones to delivery.
    std::function<void(const membership::WebhookSet& set)> webhooks_changed;
    /// A peer's query (membership/cluster_query.h), heard for the first
    /// time: the daemon runs it and calls answer_query().
    std::function<void(const membership::Query& query)> query;
  };
  /// The answer to a rotate request: an HTTP-like status and a JSON body
  /// (keys/secret_rotation.h lists them).
  using RotateDone = std::function<void(int status, const nlohmann::json& answer)>;

  /// Builds the engine from `config` (which must outlive it); nothing is
  /// opened yet. This node's document starts from <var_dir>/node.json when
  /// it exists (engine/node_file.h), with a new boot_at and this version.
  /// Throws std::runtime_error("<path>: <reason>") for a keyring file or a
  /// node.json that cannot be read or used.
  /// `cluster` is the member list and settings this run starts from
  /// (cluster.json, or seed_cluster_file(); empty members when standalone);
  /// `config` must already be its running config (apply_cluster_file()).
  Engine(boost::asio::io_context& io, const Config& config, ClusterFile cluster,
         Callbacks callbacks);
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

  /// The member list: {name: {paths: {hb id: address}, state: alive |
  /// stale | stopped | unknown | left (as seen here; this node is alive),
  /// ltime}}, tombstones included.
  nlohmann::json members() const;
  /// The cluster file this node would write now (members, settings, webhooks).
  ClusterFile cluster() const;

  /// The cluster's webhooks (membership/webhook_set.h; webhook CLI): the
  /// set held here; put_webhook() adds or replaces e.url's entry (stamped
  /// with the next Lamport time and this node as writer), remove_webhook()
  /// makes its tombstone. Both save cluster.json, push the set through the
  /// heartbeats and run Callbacks::webhooks_changed. put_webhook() throws
  /// std::length_error when the set is full (WebhookSet::put).
  const membership::WebhookSet& webhooks() const;
  membership::WebhookEntry put_webhook(membership::WebhookEntry e);
  membership::WebhookEntry remove_webhook(const std::string& url);
  /// Where each member stands with this node's webhook set:
  /// [{"node", "state": alive | stale | stopped | unknown (this node:
  /// alive), "in_sync": true when it sent this node's set digest since the
  /// set last changed here (this node: true)}], by node name; and the set's
  /// "version" (its digest, 16 hex digits).
  nlohmann::json webhook_sync() const;

  /// Cluster queries (membership/cluster_query.h): ask() spreads a query of
  /// `kind` with `args` (a JSON object) to every member, and returns its id,
  /// or "" when too many are in flight or `args` is too large; this node
  /// answers its own query as any member does, with answer_query().
  /// answers() holds the answers gathered so far, by node.
  std::string ask(const std::string& kind, nlohmann::json args);
  void answer_query(const std::string& id, nlohmann::json answer);
  std::map<std::string, nlohmann::json> answers(const std::string& id) const;

  /// Seed side of a join (POST /v1/cluster/join), after the token and the
  /// quorum were checked: adds `name` with its heartbeat `paths` (hb id ->
  /// "host:port") to the member list, which spreads by the heartbeats.
  /// Returns 200 and what the joiner needs: {"cluster", "ltime", "members",
  /// "settings", "keyring", "seed"}; the same when `name` already is a
  /// member with these paths (JoinIgnored); 409 {"error"} when the name is
  /// this node's, or that of a live member with other addresses, or when
  /// this node is standalone. Publishes JoinRequest, and JoinIgnored or
  /// JoinError.
  std::pair<int, nlohmann::json> admit(const std::string& name,
                                       const std::map<std::string, std::string>& paths);
  /// `cluster forget NODE`: a dead member removed for good (a tombstone).
  /// 200 {"node", "nodes"}; 404 when it is no member; 409 when it is this
  /// node or alive on any path.
  std::pair<int, nlohmann::json> forget(const std::string& name);
  /// `cluster leave`: marks this node left in the member list, pushes it,
  /// and waits until every alive peer sent the new list's digest, or
  /// `timeout` ran out. `done` then runs once: 200 {"acknowledged_by":
  /// [...]}, or 504 {"error": "... not acknowledged by n2 ..."}; 409
  /// {"error"} at once when standalone or already leaving. Either way the
  /// node left: Callbacks::removed runs after `done`.
  void leave(std::chrono::milliseconds timeout, RotateDone done);

  /// A config reload changed path intervals, timeouts or peers in the
  /// running config: the paths send at the new intervals, the liveness
  /// checks use the new timeouts, and the unicast paths send to the new
  /// peers.
  void reconfigure_paths();

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
