// Split analysis (DESIGN "Membership"): after a peer goes stale, does this
// node's side still hold a majority of the votes? If not, publish
// NodeSplitAction and run node.split_action.
//
// The votes are counted by membership/quorum.h: alive nodes plus the weights
// of the arbitrators this node reaches. Arbitrators are checked
//   - every kArbitratorRefresh, so `daemon status` shows their state, and
//   - again right after a peer is lost, before the count.
// Only with cluster.quorum = true does a lost majority lead to an action; the
// analysis is then run once per peer lost, and the action once per loss of
// the majority (it is armed again when a count finds a majority).
//
// A peer that announced a clean stop is never lost: the engine does not
// report it, and its vote is simply absent from the next count.
//
// The rejoin grace (quorum/rejoin_grace.h, cluster.rejoin_grace): after
// start(), no analysis runs until every member was heard or the grace ran
// out. A peer lost meanwhile is held. When every member was heard, NodeRejoin
// is published and the held losses are analysed at once; when the grace runs
// out, the held losses are analysed; a member never heard since the start was
// never lost from here and starts no analysis (no crash-and-reboot loop for a
// node booted alone), though its vote stays absent.
//
// Events (seed 001 kinds), all labelled node=<this node>:
//   NodeSplitAction              {action, votes: {total, present, needed},
//                                 alive: [nodes], arbitrators: {name: reachable}}
//   ArbitratorError              {arbitrator, uri, error}, when a check fails
//                                after a success or as the first check
//   NodeStatusArbitratorsUpdated {arbitrators: {name: reachable}}, when any
//                                arbitrator's reachability changes
//   NodeRejoin                   {grace_ms, waited_ms, held: [nodes]}, when
//                                every member was heard before the grace ran out
//
// Runs on the daemon's io_context thread; not thread-safe.
#ifndef VIGIL_AGENT_QUORUM_SPLIT_ANALYSIS_H_
#define VIGIL_AGENT_QUORUM_SPLIT_ANALYSIS_H_

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json_fwd.hpp>

#include "agent/config/config.h"
#include "agent/events/event.h"
#include "agent/quorum/rejoin_grace.h"
#include "membership/quorum.h"

namespace vigil::agent {

class ArbitratorProbe;

/// Period of the arbitrator checks that keep their status fresh.
inline constexpr std::chrono::seconds kArbitratorRefresh{10};

/// Runs a split action: kCrash (sysrq c: the kernel panics at once),
/// kReboot (sysrq b: immediate reboot, no sync) or kDisabled (nothing).
/// Writes to /proc/sysrq-trigger, which needs root; returns the reason when
/// that fails, std::nullopt otherwise. These are the actions of OpenSVC's
/// node.split_action: a node without quorum must stop running services at
/// once, before the other side takes them over.
std::optional<std::string> run_split_action(SplitAction action);

class SplitAnalysis {
 public:
  /// The alive nodes, this one included.
  using AliveNodes = std::function<std::vector<std::string>()>;
  using Publish = std::function<void(Event)>;
  /// Runs the action; returns the failure reason, if any.
  using Action = std::function<std::optional<std::string>(SplitAction action)>;
  /// status() or rejoin_status() changed without an event (the grace ran out).
  using Changed = std::function<void()>;

  /// `config` must outlive the analysis; its arbitrators are copied.
  SplitAnalysis(boost::asio::io_context& io, const Config& config, AliveNodes alive,
                Publish publish, Action action = run_split_action, Changed changed = {});
  ~SplitAnalysis();

  /// Starts the periodic arbitrator checks (the first one at once), and the
  /// rejoin grace of config.rejoin_grace over the other members.
  void start();

  /// A config reload of the [arbitrator.*] tables (copied: `config`'s
  /// vector is not read again). An arbitrator whose table is unchanged keeps
  /// its last state; a new or changed one is unknown until its check, which
  /// starts at once. An analysis in flight starts its checks again with the
  /// new arbitrators. cluster.quorum, node.split_action and cluster.nodes
  /// are read from `config` at each use, so the daemon reloads them by
  /// assigning them there. Never throws but std::bad_alloc.
  void reconfigure(const std::vector<ArbitratorConfig>& arbitrators);
  /// Cancels the checks, the grace timer and any analysis in progress.
  void stop();

  /// A peer went stale (after ForgetPeer). With quorum enabled, checks every
  /// arbitrator now, then counts the votes and acts on a lost majority;
  /// while the rejoin grace runs, the loss is held instead.
  void peer_lost(const std::string& node);
  /// A peer was heard (NodeAlive: the first time, or back): it counts for
  /// the rejoin grace, and a count with a majority arms the action again.
  void peer_back(const std::string& node);

  /// A member left or was forgotten: no loss of it is held, and the rejoin
  /// grace no longer waits for it. (The vote total follows config.nodes.)
  void member_removed(const std::string& node);

  /// .cluster.quorum of the dataset: {enabled, split_action, has_quorum,
  /// votes: {total, present, needed}, arbitrators: {name: {uri, weight,
  /// reachable (null before the first check), error (null when reachable)}}}.
  nlohmann::json status() const;

  /// .cluster.rejoin_grace of the dataset: {state ("running", "all_heard",
  /// "expired" or "disabled"), grace_ms (configured), remaining_ms (0 unless
  /// running), unheard: [members not heard since the start], held: [peers
  /// lost while it runs, their analysis waiting]}.
  nlohmann::json rejoin_status() const;

 private:
  struct Arbitrator;
  void check_all(std::function<void()> then);
  void on_checked(Arbitrator& a, bool reachable, const std::string& error);
  void refresh();
  void analyse();
  void count_and_act(const std::string& lost);
  /// Checks the arbitrators, then counts and acts, for the loss of `nodes`.
  void analyse(const std::vector<std::string>& nodes);
  void grace_ended_early();
  void grace_expired();
  /// The votes with `alive_nodes` alive and the arbitrators' last states.
  membership::QuorumCount count(std::size_t alive_nodes) const;

  boost::asio::io_context& io_;
  const Config& config_;  // quorum, split_action, nodes; never its arbitrators
  AliveNodes alive_;
  Publish publish_;
  Action action_;
  Changed changed_;
  std::vector<std::unique_ptr<Arbitrator>> arbitrators_;
  boost::asio::steady_timer refresh_timer_;
  std::optional<RejoinGrace> grace_;  // from start()
  boost::asio::steady_timer grace_timer_;
  std::vector<std::string> held_;  // peers lost during the grace
  bool armed_ = true;              // the next lost majority runs the action
  bool started_ = false;
  bool analysing_ = false;  // checks for an analysis are in flight
  std::vector<std::string> lost_while_analysing_;
  std::shared_ptr<char> alive_token_ = std::make_shared<char>(0);
};

}  // namespace vigil::agent

#endif  // VIGIL_AGENT_QUORUM_SPLIT_ANALYSIS_H_
