// Secret rotation without downtime (DESIGN "Membership", secret rotation).
//
//   1. The leader (the node where `vigil hb rotate` ran) stages a new secret
//      as version v = the highest version held + 1, and offers it in every
//      heartbeat it sends ("ko", inside the sealed message, with the
//      leader's name and settled = false).
//   2. A node that receives an offer for a version it does not hold stages
//      it: the caller persists it first (keyring_file.h), then adds its key
//      to the ring. Every heartbeat lists the versions its sender holds
//      ("kv") with the id of each key ("ki", crypto::key_id): that list is
//      the acknowledgement, and it names the key, not only its number.
//   3. Every node seals with the highest version that it and every *alive*
//      peer hold with the same key id, as their last heartbeats listed. So
//      each sender switches on its own once every alive node has
//      acknowledged, with no further message, and receivers accept every
//      held version meanwhile: no heartbeat is lost. The sealing version
//      only moves up; a version sealed with is "settled".
//   4. A version below the one sealed with is retired `grace` after it
//      stopped being needed: after the switch, and only once every peer
//      ever heard (alive or down) holds a newer one. A peer that was down
//      during a rotation therefore comes back sealing with a version its
//      peers still hold. They hear it, and send it, besides their regular
//      heartbeats, a catch-up heartbeat sealed under the newest version it
//      holds, offering the oldest settled version it lacks (settled =
//      true). It stages the versions one by one and switches forward. No
//      keyring is copied by hand.
//
// Two offers for one version with different secrets (two rotations at
// once, or a stale leftover) are resolved the same way on every node:
//   - a settled version beats one that is not;
//   - between two unsettled ones, the higher (version, leader name) wins;
//   - a settled version held here never changes (a settled conflict is an
//     error the caller reports).
// A leader whose offer loses, or whose version is passed by a newer one,
// has lost its rotation; one that is not acknowledged by every alive node
// within `timeout` has failed. Its offer stops either way.
//
// Threat model note: an old version stays usable while a down peer may
// still seal with it. A leaked secret is cut off only once every member
// holds a newer one, or the down member is removed from the cluster.
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
#include <unordered_map>
#include <vector>

#include "crypto/key.h"
#include "crypto/keyring.h"
#include "heartbeat/message.h"

namespace vigil::membership {

class KeyRotation {
 public:
  using Clock = std::chrono::steady_clock;

  struct Options {
    std::chrono::milliseconds grace{60000};    // old versions kept after they stop being needed
    std::chrono::milliseconds timeout{30000};  // a leader's rotation fails after it
  };

  /// What select() did.
  struct Selection {
    std::optional<uint32_t> switched_to;  // the sealing version changed to this
    std::optional<uint32_t> succeeded;    // this node's own rotation to this version completed
    std::optional<uint32_t> failed;       // this node's own rotation to this version timed out
    std::optional<uint32_t> lost;  // this node's own rotation to this version was passed by a newer
  };

  /// `self`: this node's name (the leader of its rotations). `secrets`:
  /// every version held at start (>= 1 entry), `current` among them; the
  /// versions up to `current` are settled. Fills `ring` with their keys
  /// (derive_key(secret, cluster, version)) and makes `current` current.
  /// Throws std::invalid_argument on an empty map or a `current` it does
  /// not hold.
  KeyRotation(crypto::Keyring& ring, std::string cluster_name, std::string self,
              std::map<uint32_t, crypto::Secret> secrets, uint32_t current, Options options);

  /// Starts a rotation led by this node: stages `secret` as the next
  /// version, which it returns. The caller persists secrets() with it first;
  /// see next_version(). Throws std::logic_error when a rotation led here is
  /// in progress.
  uint32_t start(const crypto::Secret& secret, Clock::time_point now);
  /// The version start() would stage: the highest held + 1.
  uint32_t next_version() const;
  /// True between start() and its success, loss or failure.
  bool leading() const { return offer_.has_value(); }

  /// The offer this node's heartbeats carry while it leads a rotation.
  const std::optional<heartbeat::KeyOffer>& offer() const { return offer_; }

  /// A heartbeat for peers that cannot open this node's: sealed with
  /// `version` (one they hold), carrying `offer`, the oldest settled version
  /// one of them lacks.
  struct CatchUp {
    uint32_t version = 0;
    heartbeat::KeyOffer offer;
    std::vector<std::string> peers;  // the alive peers it is for
  };
  /// One CatchUp per version that some alive peers of `alive` hold as
  /// their newest shared one, below the current version; ascending.
  std::vector<CatchUp> catch_up(const std::set<std::string>& alive) const;
  /// The versions held, ascending (at most heartbeat::kMaxKeyVersions, the
  /// newest), and the id of each one's key, in the same order.
  std::vector<uint32_t> versions() const;
  std::vector<uint64_t> key_ids() const;

  /// A peer's message listed these versions and key ids (its
  /// acknowledgement; `ids` empty: trusted by number alone). The last list
  /// heard is kept while the peer is down.
  void heard(const std::string& peer, const std::vector<uint32_t>& versions,
             const std::vector<uint64_t>& ids = {});

  /// A member left or was forgotten: its list no longer holds back the
  /// retirement of old versions, nor asks for a catch-up.
  void forget(const std::string& peer) { peers_.erase(peer); }

  enum class OfferCheck {
    kHeld,     // nothing to do
    kNew,      // not held: the caller persists it, then stage()
    kReplace,  // it wins over the unsettled secret held for that version: persist, then stage()
    kLoses,    // the secret held for that version wins: ignore the offer
    kConflict  // another secret for a settled version held here: refuse and report
  };
  /// Compares an offer with what is held for its version (rules above).
  OfferCheck check_offer(const heartbeat::KeyOffer& offer) const;
  /// Adds or replaces an offered version (after check_offer() said kNew or
  /// kReplace). Returns the version of this node's own rotation when the
  /// offer replaced it: that rotation is lost, and its offer stops.
  std::optional<uint32_t> stage(const heartbeat::KeyOffer& offer);

  /// Every held version with its secret: what the keyring file keeps.
  const std::map<uint32_t, crypto::Secret>& secrets() const { return secrets_; }
  uint32_t current() const { return ring_.current_version(); }

  /// Called before each heartbeat with the alive peers: seals from now on
  /// with the highest version held here and by each of `alive` with the
  /// same key id, when it is above the current one (an alive peer never
  /// heard with a list holds nothing, and the sealing version then stays;
  /// a lagging peer is caught up, never followed down; with no peer alive,
  /// only this node's own rotation switches); ends the led rotation on
  /// success, loss or timeout.
  Selection select(const std::set<std::string>& alive, Clock::time_point now);
  /// Retires the versions below min(current, the newest version each peer
  /// ever heard holds) once `grace` has passed since that bound last rose
  /// (for versions loaded at start: since the first select()); returns them.
  std::vector<uint32_t> retire_expired(Clock::time_point now);

 private:
  struct Held {
    uint64_t id = 0;     // crypto::key_id of the derived key
    std::string leader;  // "" when unknown (loaded at start)
    bool settled = false;
  };
  struct PeerList {
    std::vector<uint32_t> versions;
    std::vector<uint64_t> ids;
  };
  void add(uint32_t version, const crypto::Secret& secret, std::string leader, bool settled);
  /// `peer`'s last list holds `version` with this node's key for it.
  bool holds(const PeerList& peer, uint32_t version) const;
  /// The newest version `peer` holds with this node's key (0: none).
  uint32_t newest_shared(const PeerList& peer) const;
  /// min(current, the newest version shared with each peer ever heard).
  uint32_t retire_bound() const;
  /// Records retire_bound(), and when it last rose.
  void update_bound(Clock::time_point now);

  crypto::Keyring& ring_;
  std::string cluster_;
  std::string self_;
  Options options_;
  std::map<uint32_t, crypto::Secret> secrets_;
  std::map<uint32_t, Held> held_;
  std::unordered_map<std::string, PeerList> peers_;  // found once per message
  std::optional<heartbeat::KeyOffer> offer_;
  Clock::time_point offer_deadline_{};
  uint32_t bound_ = 0;                         // retire_bound() when last looked at
  std::optional<Clock::time_point> bound_at_;  // when bound_ last rose
};

}  // namespace vigil::membership

#endif  // VIGIL_MEMBERSHIP_KEY_ROTATION_H_
