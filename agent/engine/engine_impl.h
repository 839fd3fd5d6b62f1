// Internals of the protocol engine (engine.h), shared by its source files:
// engine.cc (transmit, receive, liveness, documents, status),
// member_lifecycle.cc (the member list: joins, leaves, forgets),
// cluster_webhooks.cc (the webhook set) and cluster_queries.cc (queries to
// every member). Not for other modules: include
// engine.h.
#ifndef VIGIL_AGENT_ENGINE_ENGINE_IMPL_H_
#define VIGIL_AGENT_ENGINE_ENGINE_IMPL_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>

#include "agent/base/blocking_worker.h"
#include "agent/engine/auth_failures.h"
#include "agent/engine/cluster_file.h"
#include "agent/engine/dataset.h"
#include "agent/engine/document_saver.h"
#include "agent/engine/engine.h"
#include "agent/engine/gossip_mode.h"
#include "agent/engine/heartbeat_paths.h"
#include "agent/engine/local_document.h"
#include "agent/engine/node_schema.h"
#include "agent/keys/secret_rotation.h"
#include "crypto/keyring.h"
#include "heartbeat/codec.h"
#include "heartbeat/message.h"
#include "membership/cluster_query.h"
#include "membership/member_sync.h"
#include "membership/peer_table.h"
#include "membership/replicator.h"
#include "membership/stall_detector.h"
#include "membership/webhook_sync.h"

namespace vigil::agent {

/// The paths that reach `node` in the running config (its peer table specs).
std::vector<membership::PeerTable::PathSpec> path_specs_of(const Config& c,
                                                           const std::string& node);

class Engine::Impl {
 public:
  using Clock = std::chrono::steady_clock;
  using milliseconds = std::chrono::milliseconds;

  Impl(boost::asio::io_context& io, const Config& config, ClusterFile cluster, Callbacks callbacks);

  void start();
  void stop(std::function<void()> done);
  nlohmann::json dataset(const nlohmann::json& quorum) const {
    nlohmann::json ds = build_dataset(config_, local_.document(), peers_, replicator_, quorum);
    ds["cluster"]["members"] = members();
    ds["cluster"]["standalone"] = standalone(config_);
    return ds;
  }
  nlohmann::json hb_status() const;
  std::set<std::string> alive_peers() const { return peers_.alive(); }
  void change(const NodeChange& change, std::function<void(uint64_t)> committed) {
    // The client hears of its change once node.json holds it (or its write
    // failed, which is logged): a change acknowledged survives a crash.
    if (committed)
      committed = [this, committed = std::move(committed)](uint64_t gen) {
        saver_.when_saved(saver_.last(), [committed, gen] { committed(gen); });
      };
    local_.change(change, std::move(committed));
  }
  void rotate(std::optional<crypto::Secret> secret, RotateDone done);
  uint64_t boot() const { return boot_; }
  std::vector<crypto::Key> join_keys() const { return rotation_.join_keys(); }
  nlohmann::json members() const;
  ClusterFile cluster() const {
    return ClusterFile{.cluster = config_.cluster_name,
                       .members = sync_.list(),
                       .settings = settings_,
                       .webhooks = webhooks_.set()};
  }
  const membership::WebhookSet& webhooks() const { return webhooks_.set(); }
  membership::WebhookEntry put_webhook(membership::WebhookEntry e);
  membership::WebhookEntry remove_webhook(const std::string& url);
  nlohmann::json webhook_sync() const;
  std::string ask(const std::string& kind, nlohmann::json args);
  void answer_query(const std::string& id, nlohmann::json answer);
  std::map<std::string, nlohmann::json> answers(const std::string& id) const {
    return queries_.answers(id);
  }
  std::pair<int, nlohmann::json> admit(const std::string& name,
                                       const std::map<std::string, std::string>& paths);
  std::pair<int, nlohmann::json> forget(const std::string& name);
  void leave(milliseconds timeout, RotateDone done);
  void reconfigure_paths();
  std::size_t path_count() const { return paths_.size(); }

 private:
  // Heartbeat transmit.
  HeartbeatPaths::Outgoing heartbeat();
  void send_now();
  void send_soon();
  // Gossip mode (gossip_mode.h).
  /// Starts or ends gossip mode when the member count crossed the auto
  /// threshold (at start too).
  void update_mode();
  heartbeat::Message gossip_base();
  std::size_t gossip_send(const std::string& peer, const heartbeat::Message& msg);
  void gossip_receive(const std::string& sender, uint64_t boot, const heartbeat::Message& msg);
  void gossip_document(const std::string& writer, const StatusBefore& before,
                       const membership::Replicator::Received& received);
  // Heartbeat receive and liveness.
  void on_datagram(std::size_t index, const std::string& path, std::span<const uint8_t> bytes);
  void on_path_state(const std::string& path, bool up, const std::string& reason);
  void check_tick();
  void apply(const std::vector<membership::Transition>& transitions);
  // The member list.
  void members_merged(const std::vector<std::string>& changed);
  // The webhook set.
  void webhooks_received(const std::string& sender, const heartbeat::Message& msg,
                         Clock::time_point now);
  void webhooks_updated();  // saves cluster.json, tells the daemon
  // Cluster queries.
  void queries_received(const std::string& sender, const heartbeat::Message& msg,
                        Clock::time_point now);
  void save_cluster() { cluster_saver_.save(to_json(cluster())); }
  void check_leave(Clock::time_point now);
  void expire_farewells(Clock::time_point now);
  // Documents.
  void on_commit(const nlohmann::json& before, const nlohmann::json& ops);
  /// Publishes what a peer document received as a full or deltas changed;
  /// `before` was recorded before they applied.
  void publish_received(const std::string& node, const StatusBefore& before,
                        const membership::Replicator::Received& r);
  /// NodeDataUpdated with the ops applied (`patch()`, called only when the
  /// event is built; null: a full) and the document `after` shared as its
  /// value (Event::value), then NodeStatusLabelsUpdated and NodeFrozen when
  /// `before` says those fields changed. An event no one wants is only
  /// counted (Callbacks::skip_unwanted).
  void publish_document_change(const std::string& node, const StatusBefore& before,
                               const std::shared_ptr<const nlohmann::json>& after, uint64_t gen,
                               const std::function<nlohmann::json()>& patch, bool from_peer);
  /// False when no one wants an event of `kind` (counted, not built).
  bool want_event(std::string_view kind) { return !cb_.skip_unwanted || !cb_.skip_unwanted(kind); }

  boost::asio::io_context& io_;
  const Config& config_;
  Callbacks cb_;
  uint64_t boot_;
  crypto::Keyring keyring_;
  BlockingWorker disk_;  // keyring and node.json saves
  DocumentSaver saver_;  // node.json
  SecretRotation rotation_;
  AuthFailures auth_failures_;
  heartbeat::Sealer sealer_;
  heartbeat::Opener opener_;
  // The message being received, decoded over the previous one (its storage
  // is reused: heartbeat::decode); only on_datagram touches it.
  heartbeat::Message received_;
  membership::PeerTable peers_;
  membership::StallDetector stall_;
  LocalDocument local_;
  NodeSchemaCheck schema_;
  membership::Replicator replicator_;
  HeartbeatPaths paths_;
  membership::MemberSync sync_;
  membership::WebhookSync webhooks_;
  membership::ClusterQueries queries_;
  uint64_t queries_asked_ = 0;
  std::unique_ptr<GossipMode> gossip_;       // null in mesh mode
  std::optional<ClusterSettings> settings_;  // a joined node's, from its seed
  DocumentSaver cluster_saver_;              // cluster.json
  // Members that left, still sent heartbeats until `until`: path -> node -> address.
  std::map<std::string, std::map<std::string, Endpoint>> farewell_;
  Clock::time_point farewell_until_{};
  struct Leaving {
    Clock::time_point deadline;
    milliseconds timeout;
    RotateDone done;
  };
  std::optional<Leaving> leaving_;
  bool removed_ = false;  // Callbacks::removed ran
  boost::asio::steady_timer check_timer_, eager_timer_, stop_timer_;
  bool eager_pending_ = false;
  bool stopping_ = false;  // a clean stop is being announced
  bool started_ = false;   // start() ran
  Clock::time_point last_send_{};
};

}  // namespace vigil::agent

#endif  // VIGIL_AGENT_ENGINE_ENGINE_IMPL_H_
