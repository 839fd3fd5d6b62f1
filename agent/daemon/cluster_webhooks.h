// The daemon's webhook commands (README "Webhooks"; seed 000's webhook-add,
// -mod, -del, -test and status): the replicated set the engine keeps
// (membership/webhook_set.h, Engine::put_webhook) on one side, this node's
// deliveries (webhooks/webhook_deliveries.h) on the other.
//   - add, mod, del change the set here, then answer once every alive member
//     holds this node's version of it, or after kSyncWait: the answer lists
//     each member's state and whether it is in sync (a member down gets the
//     set when it comes back: its digest differs, and the set is pushed);
//   - every version of the set, made here or merged from a peer, is handed
//     to the deliveries (entries that do not make a valid Webhook are
//     logged and left out);
//   - list shows the set without credentials, where each member stands,
//     and each member's delivery counters; test has every alive member post
//     a test event. Both ask every member through a cluster query
//     (membership/cluster_query.h, kinds "webhook_status" and
//     "webhook_test"), and answer with what came back within their wait.
// Runs on the daemon's io_context thread.
#ifndef VIGIL_AGENT_DAEMON_CLUSTER_WEBHOOKS_H_
#define VIGIL_AGENT_DAEMON_CLUSTER_WEBHOOKS_H_

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "agent/base/blocking_worker.h"
#include "agent/config/config.h"
#include "agent/engine/engine.h"
#include "agent/webhooks/webhook_deliveries.h"

namespace vigil::agent {

class ClusterWebhooks {
 public:
  using Done = std::function<void(int status, const nlohmann::json& body)>;
  /// How long add, mod and del wait for the alive members to sync, and list
  /// for their counters.
  static constexpr std::chrono::milliseconds kSyncWait{10'000};
  static constexpr std::chrono::milliseconds kListWait{3'000};

  /// `engine` returns the running engine (a join replaces it); `publish`
  /// puts the deliveries' own events on the bus.
  ClusterWebhooks(boost::asio::io_context& io, const Config& config,
                  std::function<Engine&()> engine, WebhookDeliveries::Publish publish);
  ~ClusterWebhooks();

  /// A new version of the set (Engine::Callbacks::webhooks_changed, and once
  /// for each engine built).
  void set_changed(const membership::WebhookSet& set);
  /// An event of the bus, for the deliveries.
  void offer(const Event& e) { deliveries_.offer(e); }
  /// The kinds offer() may deliver (WebhookDeliveries::wants).
  bool wants(std::string_view kind) const { return deliveries_.wants(kind); }

  /// The ApiBackend calls (api/backend.h).
  void list(Done done);
  /// This node's delivery counters, one object per webhook
  /// (WebhookDeliveries::status()), without asking the other members.
  nlohmann::json delivery_status() const { return deliveries_.status(); }
  void put(const nlohmann::json& body, Done done);
  void remove(const std::string& url, Done done);
  void test(const nlohmann::json& body, Done done);
  /// A query heard from a peer, or asked here: runs it, answers it.
  void run_query(const membership::Query& q);

  /// Clean stop: the queues written out, then `done`.
  void stop(std::function<void()> done) { deliveries_.stop(std::move(done)); }

 private:
  void wait_sync(std::chrono::steady_clock::time_point deadline, Done done);
  /// Asks every member `kind` with `args` and runs it here too; `done`
  /// gets {node: answer} once every alive member answered, or at `wait`.
  void ask(const std::string& kind, const nlohmann::json& args, std::chrono::milliseconds wait,
           std::function<void(std::map<std::string, nlohmann::json>)> done);
  void wait_answers(const std::string& id, std::chrono::steady_clock::time_point deadline,
                    std::function<void(std::map<std::string, nlohmann::json>)> done);

  boost::asio::io_context& io_;
  const Config& config_;
  std::function<Engine&()> engine_;
  BlockingWorker worker_;  // queue files: their fsyncs never delay node.json saves
  WebhookDeliveries deliveries_;
  uint64_t local_queries_ = 0;  // asked here alone (ClusterQueries full)
  bool pruned_ = false;         // prune_queues() ran, after the first set
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace vigil::agent

#endif  // VIGIL_AGENT_DAEMON_CLUSTER_WEBHOOKS_H_
