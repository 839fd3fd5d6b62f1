// The daemon's side of secret rotation: membership/key_rotation.h decides,
// this keeps <var_dir>/keyring.json in step (agent/keyring_file.h), publishes
// the events and answers `vigil hb rotate`.
//
// Events (seed 001 kinds), labelled node=<this node>:
//   HeartbeatRotateRequest  {version, leader}   a rotation started here, or an
//                                               offer of a rotation's version arrived
//   HeartbeatSecretUpdated  {version, from}     a new version was persisted and
//                                               is accepted from now on
//   HeartbeatRotateSuccess  {version}           this node seals with `version`
//   HeartbeatRotateError    {version, error}    a version could not be saved,
//                                               was offered with another secret
//                                               than the one in use, or a rotation
//                                               led here timed out or lost to a
//                                               concurrent one
//
// Keyring saves (two fsyncs) run on a BlockingWorker, never on the
// io_context thread: heartbeats keep their interval while a disk is slow.
// A version is staged, or a rotation started, only once its save succeeded.
//
// Runs on the daemon's io_context thread; not thread-safe.
#ifndef VIGIL_AGENT_KEYS_SECRET_ROTATION_H_
#define VIGIL_AGENT_KEYS_SECRET_ROTATION_H_

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "agent/base/blocking_worker.h"
#include "agent/config/config.h"
#include "agent/events/event.h"
#include "agent/keys/keyring_file.h"
#include "crypto/keyring.h"
#include "heartbeat/message.h"
#include "membership/key_rotation.h"

namespace vigil::agent {

class SecretRotation {
 public:
  using Clock = std::chrono::steady_clock;
  using Publish = std::function<void(Event)>;
  /// The answer to a rotate request: an HTTP status and a JSON body.
  using Done = std::function<void(int status, const nlohmann::json& answer)>;

  /// Loads <var_dir>/keyring.json when it exists, else starts from the
  /// config's secret as version 1, and fills `ring`. Throws
  /// std::runtime_error("<path>: <reason>") for a keyring file that cannot be
  /// read or used. Saves run on `worker`.
  SecretRotation(const Config& config, crypto::Keyring& ring, BlockingWorker& worker,
                 Publish publish, membership::KeyRotation::Options options = {});

  /// A decoded message from `sender`: its key versions, and its offer.
  void on_message(const std::string& sender, const heartbeat::Message& msg, Clock::time_point now);
  /// Before sealing a heartbeat: chooses the sealing version (the newest
  /// every alive node holds), retires old versions, ends a rotation led
  /// here, and adds the key versions, their ids and the offer to `msg`.
  void prepare(heartbeat::Message& msg, const std::set<std::string>& alive, Clock::time_point now);
  /// The catch-up heartbeats for alive peers that lack the current version
  /// (membership/key_rotation.h).
  std::vector<membership::KeyRotation::CatchUp> catch_up(const std::set<std::string>& alive) const;

  /// `vigil hb rotate`: starts a rotation led here with `secret` (random
  /// when absent). Nodes that are not alive are caught up when they return.
  /// `done` runs once: 200 {"version"} when this node seals with the new
  /// version; 409 {"error"} refused (a rotation led here or by another node
  /// is in progress) or lost to a concurrent rotation; 500 {"error"} the
  /// keyring file could not be written; 504 {"error"} not acknowledged by
  /// every alive node in time.
  void request(std::optional<crypto::Secret> secret, const std::set<std::string>& alive, Done done);

  /// The member set changed (membership/member_list.h): `peers` are the
  /// other members now. A peer removed no longer holds back the retirement
  /// of old versions.
  void set_peers(std::set<std::string> peers);

  /// Every version held and the current one: what keyring.json keeps, and
  /// what a seed hands a joining node.
  StoredKeyring stored() const;

  /// The join token keys (crypto::derive_join_key) of every secret version
  /// held, the current version's first: a token is made with the first and
  /// checked against all, so that a rotation does not void it.
  std::vector<crypto::Key> join_keys() const;

  /// True while a rotation is under way here: led here, or another node's
  /// offer was heard in the last 5 s. Gossip mode then sends every
  /// heartbeat to every member, so that offers and acknowledgements reach
  /// the leader within an interval, as in mesh mode.
  bool busy(Clock::time_point now) const;

  /// For `hb status`: {"current": v, "versions": [...], "rotating": bool}.
  nlohmann::json status() const;

 private:
  /// Saves the keyring, plus `extra`, on the worker; `done(error)` runs on
  /// the io_context after it (error empty on success), unless this object
  /// is gone by then.
  void save(std::optional<heartbeat::KeyOffer> extra, std::function<void(const std::string&)> done);
  void error(uint32_t version, const std::string& what);
  /// The rotation led here to `version` lost to `winner`'s (or was passed).
  void lost(uint32_t version, const std::string& winner);

  const Config& config_;
  std::set<std::string> peers_;  // every other node of the cluster
  std::filesystem::path file_;
  BlockingWorker& worker_;
  Publish publish_;
  membership::KeyRotation rotation_;
  Done waiting_;  // the rotate request led here, until it ends
  // Offers that could not be taken: version -> when to try again.
  std::map<uint32_t, Clock::time_point> retry_after_;
  std::set<uint32_t> saving_;  // offered versions whose save is in progress
  bool starting_ = false;      // a rotation led here waits for its save
  struct OtherLeader {
    std::string leader;
    uint32_t version = 0;
    Clock::time_point until;
  };
  std::optional<OtherLeader> other_leader_;  // the last rotation offer of another node
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace vigil::agent

#endif  // VIGIL_AGENT_KEYS_SECRET_ROTATION_H_
