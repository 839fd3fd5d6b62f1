#include "agent/keys/secret_rotation.h"

#include <sodium.h>

#include <stdexcept>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "agent/keys/keyring_file.h"

namespace vigil::agent {

using json = nlohmann::json;

namespace {

// An offer that could not be taken is tried again this much later, not on
// every heartbeat of the leader.
constexpr std::chrono::seconds kOfferRetry{5};
// An offer of another leader is remembered this long: a rotation started
// here meanwhile is refused rather than raced.
constexpr std::chrono::seconds kOtherLeaderMemory{5};

std::filesystem::path keyring_path(const Config& c) { return c.var_dir / "keyring.json"; }

membership::KeyRotation load_rotation(const Config& config, crypto::Keyring& ring,
                                      membership::KeyRotation::Options options) {
  StoredKeyring stored{.current = 1, .secrets = {{1, config.secret}}};
  if (auto file = load_keyring_file(keyring_path(config))) stored = std::move(*file);
  return membership::KeyRotation(ring, config.cluster_name, config.node_name, stored.secrets,
                                 stored.current, options);
}

}  // namespace

SecretRotation::SecretRotation(const Config& config, crypto::Keyring& ring, BlockingWorker& worker,
                               Publish publish, membership::KeyRotation::Options options)
    : config_(config),
      peers_(config.nodes.begin(), config.nodes.end()),
      file_(keyring_path(config)),
      worker_(worker),
      publish_(std::move(publish)),
      rotation_(load_rotation(config, ring, options)) {
  peers_.erase(config.node_name);
}

void SecretRotation::save(std::optional<heartbeat::KeyOffer> extra,
                          std::function<void(const std::string&)> done) {
  StoredKeyring k{.current = rotation_.current(), .secrets = rotation_.secrets()};
  if (extra) k.secrets[extra->version] = extra->secret;
  worker_.submit(
      [file = file_, k = std::move(k)] { save_keyring_file(file, k); },
      [alive = std::weak_ptr<bool>(alive_), done = std::move(done)](const std::string& error) {
        if (!alive.expired()) done(error);
      });
}

void SecretRotation::error(uint32_t version, const std::string& what) {
  spdlog::error("secret rotation to version {}: {}", version, what);
  publish_(Event{.kind = "HeartbeatRotateError", .data = {{"version", version}, {"error", what}}});
}

void SecretRotation::on_message(const std::string& sender, const heartbeat::Message& msg,
                                Clock::time_point now) {
  rotation_.heard(sender, msg.key_versions, msg.key_ids);
  if (!msg.key_offer) return;
  const auto& offer = *msg.key_offer;
  if (!offer.settled && !offer.leader.empty() && offer.leader != config_.node_name)
    other_leader_ = OtherLeader{offer.leader, offer.version, now + kOtherLeaderMemory};
  using Check = membership::KeyRotation::OfferCheck;
  const Check check = rotation_.check_offer(offer);
  if (check == Check::kHeld || check == Check::kLoses) return;
  if (saving_.count(offer.version)) return;
  if (auto it = retry_after_.find(offer.version); it != retry_after_.end() && now < it->second)
    return;
  retry_after_[offer.version] = now + kOfferRetry;
  if (check == Check::kConflict) {
    error(offer.version, sender + " offers another secret for version " +
                             std::to_string(offer.version) + ", which is in use here");
    return;
  }
  if (!offer.settled)
    publish_(Event{.kind = "HeartbeatRotateRequest",
                   .data = {{"version", offer.version}, {"leader", offer.leader}}});
  saving_.insert(offer.version);
  save(offer, [this, offer, sender](const std::string& why) {
    saving_.erase(offer.version);
    if (!why.empty()) return error(offer.version, "cannot save the new secret: " + why);
    // Checked again: the keyring may have moved on while the save ran.
    const Check again = rotation_.check_offer(offer);
    if (again != Check::kNew && again != Check::kReplace) return;
    const auto lost = rotation_.stage(offer);
    retry_after_.erase(offer.version);
    spdlog::info("secret version {} from {} staged{}", offer.version, sender,
                 again == Check::kReplace ? ", replacing the one held for that version" : "");
    publish_(Event{.kind = "HeartbeatSecretUpdated",
                   .data = {{"version", offer.version}, {"from", sender}}});
    if (lost) this->lost(*lost, offer.leader);
  });
}

void SecretRotation::lost(uint32_t version, const std::string& winner) {
  const std::string what = "lost to a concurrent rotation led by " +
                           (winner.empty() ? std::string("another node") : winner) +
                           ", whose secret every node uses instead";
  error(version, what);
  if (waiting_) {
    waiting_(409, {{"error", "secret version " + std::to_string(version) + " " + what}});
    waiting_ = nullptr;
  }
}

void SecretRotation::prepare(heartbeat::Message& msg, const std::set<std::string>& alive,
                             Clock::time_point now) {
  const auto sel = rotation_.select(alive, now);
  const auto retired = rotation_.retire_expired(now);
  if (sel.switched_to || !retired.empty()) {
    save(std::nullopt, [](const std::string& why) {
      if (!why.empty()) spdlog::error("cannot save the keyring: {}", why);
    });
  }
  if (sel.switched_to) {
    spdlog::info("heartbeats now sealed with secret version {}", *sel.switched_to);
    publish_(Event{.kind = "HeartbeatRotateSuccess", .data = {{"version", *sel.switched_to}}});
  }
  for (uint32_t v : retired) spdlog::info("secret version {} retired", v);
  if (sel.succeeded && waiting_) {
    waiting_(200, {{"version", *sel.succeeded}});
    waiting_ = nullptr;
  }
  if (sel.lost) lost(*sel.lost, "");
  if (sel.failed) {
    const std::string what = "not acknowledged by every alive node within the timeout";
    error(*sel.failed, what);
    if (waiting_) {
      waiting_(504, {{"error", "secret version " + std::to_string(*sel.failed) + " " + what}});
      waiting_ = nullptr;
    }
  }
  msg.key_versions = rotation_.versions();
  msg.key_ids = rotation_.key_ids();
  msg.key_offer = rotation_.offer();
}

StoredKeyring SecretRotation::stored() const {
  return StoredKeyring{.current = rotation_.current(), .secrets = rotation_.secrets()};
}

void SecretRotation::set_peers(std::set<std::string> peers) {
  peers.erase(config_.node_name);
  for (const auto& n : peers_)
    if (!peers.count(n)) rotation_.forget(n);
  peers_ = std::move(peers);
}

std::vector<membership::KeyRotation::CatchUp> SecretRotation::catch_up(
    const std::set<std::string>& alive) const {
  return rotation_.catch_up(alive);
}

void SecretRotation::request(std::optional<crypto::Secret> secret,
                             const std::set<std::string>& alive, Done done) {
  if (rotation_.leading() || starting_)
    return done(409, {{"error", "a secret rotation led by this node is in progress"}});
  if (other_leader_ && Clock::now() < other_leader_->until &&
      other_leader_->version >= rotation_.next_version() - 1)
    return done(409, {{"error", "a secret rotation led by " + other_leader_->leader + " (version " +
                                    std::to_string(other_leader_->version) + ") is in progress"}});
  for (const auto& n : peers_) {
    if (!alive.count(n))
      spdlog::info("node {} is not alive: it will be offered the new secret when it returns", n);
  }
  crypto::Secret s;
  if (secret)
    s = *secret;
  else
    randombytes_buf(s.data(), s.size());
  const heartbeat::KeyOffer offer{.version = rotation_.next_version(), .secret = s};
  sodium_memzero(s.data(), s.size());
  starting_ = true;
  save(offer, [this, offer, done = std::move(done)](const std::string& why) {
    starting_ = false;
    if (!why.empty()) {
      error(offer.version, "cannot save the new secret: " + why);
      return done(500, {{"error", "cannot save the new secret: " + why}});
    }
    rotation_.start(offer.secret, Clock::now());
    waiting_ = done;
    spdlog::info("secret rotation to version {} started", offer.version);
    publish_(Event{.kind = "HeartbeatRotateRequest",
                   .data = {{"version", offer.version}, {"leader", config_.node_name}}});
  });
}

std::vector<crypto::Key> SecretRotation::join_keys() const {
  std::vector<crypto::Key> keys;
  const auto& secrets = rotation_.secrets();
  keys.push_back(crypto::derive_join_key(secrets.at(rotation_.current()), config_.cluster_name));
  for (const auto& [version, secret] : secrets)
    if (version != rotation_.current())
      keys.push_back(crypto::derive_join_key(secret, config_.cluster_name));
  return keys;
}

bool SecretRotation::busy(Clock::time_point now) const {
  return starting_ || waiting_ || rotation_.leading() ||
         (other_leader_ && now < other_leader_->until);
}

json SecretRotation::status() const {
  return {{"current", rotation_.current()},
          {"versions", rotation_.versions()},
          {"rotating", rotation_.leading()}};
}

}  // namespace vigil::agent
