// Secret rotation without downtime (DESIGN "Membership", secret rotation).
//
//   1. The leader (the node where `vigil hb rotate` ran) stages a new secret
//      as version v = the highest version held + 1, and offers it in every
//      heartbeat it sends ("ko", inside the sealed message).
//   2. A node that receives an offer for a version it does not hold stages
//      it: the caller persists it first (keyring_file.h), then adds its key
//      to the ring. Every heartbeat lists the versions its sender holds
//      ("kv"): that list is the acknowledgement.
//   3. Every node seals with the highest version that it and every other
//      node of the cluster hold, as their last heartbeats listed. So each
//      sender switches on its own once every node has acknowledged, with no
//      further message, and receivers accept every held version meanwhile: no
//      heartbeat is lost. A node that is down holds the switch back: a
//      rotation that fails cannot complete later behind its back.
//   4. Versions below the one sealed with are retired `grace` after the
//      switch, once in-flight datagrams are gone.
// The leader's rotation succeeds when it switches to v, and fails when that
// has not happened `timeout` after the start; the offer stops either way.
//
// Pure logic on the caller's clock; the caller owns the ring, which the
// Sealer and Opener read. Not thread-safe.
#ifndef VIGIL_MEMBERSHIP_KEY_ROTATION_H_
#define VIGIL_MEMBERSHIP_KEY_ROTATION_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "crypto/key.h"
#include "crypto/keyring.h"
#include "heartbeat/message.h"

namespace vigil::membership {

class KeyRotation {
 public:
  using Clock = std::chrono::steady_clock;

  struct Options {
    std::chrono::milliseconds grace{60000};    // old versions kept after a switch
    std::chrono::milliseconds timeout{30000};  // a leader's rotation fails after it
  };

  /// What select() did.
  struct Selection {
    std::optional<uint32_t> switched_to;  // the sealing version changed to this
    std::optional<uint32_t> succeeded;    // this node's own rotation to this version completed
    std::optional<uint32_t> failed;       // this node's own rotation to this version timed out
  };

  /// `secrets`: every version held at start (>= 1 entry), `current` among
  /// them. Fills `ring` with their keys (derive_key(secret, cluster,
  /// version)) and makes `current` current. Throws std::invalid_argument on
  /// an empty map or a `current` it does not hold.
  KeyRotation(crypto::Keyring& ring, std::string cluster_name,
              std::map<uint32_t, crypto::Secret> secrets, uint32_t current, Options options);

  /// Starts a rotation led by this node: stages `secret` as the next
  /// version, which it returns. The caller persists secrets() with it first;
  /// see next_version(). Throws std::logic_error when a rotation led here is
  /// in progress.
  uint32_t start(const crypto::Secret& secret, Clock::time_point now);
  /// The version start() would stage: the highest held + 1.
  uint32_t next_version() const;
  /// True between start() and its success or failure.
  bool leading() const { return offer_.has_value(); }

  /// What this node's heartbeats carry: the offer while leading, and the
  /// versions held, ascending (at most heartbeat::kMaxKeyVersions).
  const std::optional<heartbeat::KeyOffer>& offer() const { return offer_; }
  std::vector<uint32_t> versions() const;

  /// A peer's message listed these versions (its acknowledgement). The
  /// last list heard is kept while the peer is stale.
  void heard(const std::string& peer, const std::vector<uint32_t>& versions);

  enum class OfferCheck { kHeld, kNew, kConflict };
  /// kHeld: nothing to do; kNew: the caller persists it, then stage();
  /// kConflict: this node holds that version with another secret (two
  /// leaders at once), refuse it.
  OfferCheck check_offer(const heartbeat::KeyOffer& offer) const;
  /// Adds an offered version (after check_offer() said kNew).
  void stage(const heartbeat::KeyOffer& offer);

  /// Every held version with its secret: what the keyring file keeps.
  const std::map<uint32_t, crypto::Secret>& secrets() const { return secrets_; }
  uint32_t current() const { return ring_.current_version(); }

  /// Called before each heartbeat with every other node of the cluster:
  /// seals from now on with the highest version held here and in the last
  /// list of each of `peers` (a peer never heard with a list holds nothing,
  /// and the sealing version then stays); ends the led rotation on success
  /// or timeout.
  Selection select(const std::set<std::string>& peers, Clock::time_point now);
  /// Retires the versions below the current one once `grace` has passed
  /// since the last switch (for versions loaded at start: since the first
  /// select()); returns them.
  std::vector<uint32_t> retire_expired(Clock::time_point now);

 private:
  void add(uint32_t version, const crypto::Secret& secret);

  crypto::Keyring& ring_;
  std::string cluster_;
  Options options_;
  std::map<uint32_t, crypto::Secret> secrets_;
  std::map<std::string, std::vector<uint32_t>> peers_;
  std::optional<heartbeat::KeyOffer> offer_;
  Clock::time_point offer_deadline_{};
  std::optional<Clock::time_point> switched_at_;  // when the current version was selected
};

}  // namespace vigil::membership

#endif  // VIGIL_MEMBERSHIP_KEY_ROTATION_H_
