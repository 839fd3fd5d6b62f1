// The gen protocol (DESIGN.md, Wire protocol: gen vector, deltas): decides
// what this node sends (ping, patch or full) from the acknowledgements in
// its peers' gen vectors, and applies what peers send to its copy of their
// node documents.
//
// Sender side: every message carries the gen vector {self: own gen, peer:
// last gen applied from that peer}. The journal keeps deltas until every
// live peer acknowledged them. A live peer that acknowledges gen 0, or a gen
// older than the journal holds, gets a full document.
// Receiver side: deltas apply in gen order; a gap, a failed apply, or a peer
// restart makes this node advertise gen 0 for that peer until a full arrives.
//
// Gossip mode (docs/ARCHITECTURE.md, Gossip mode) has no acknowledgements:
// each delta travels as a relayed delta {writer, boot, gen, ops}, spread
// epidemically by every node that applied it, and a node that missed one
// repairs it by anti-entropy: a push-pull of version vectors {node: (boot,
// gen)} with one random peer, answered with relayed fulls. The journal keeps
// nothing once a delta is queued for gossip (trim_journal()).
#ifndef VIGIL_MEMBERSHIP_REPLICATOR_H_
#define VIGIL_MEMBERSHIP_REPLICATOR_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/container/small_vector.hpp>
#include <nlohmann/json.hpp>

#include "heartbeat/message.h"
#include "patch/node_document.h"

namespace vigil::membership {

/// How received node documents are checked (the schema is the agent's:
/// agent/engine/node_schema.h). Implementations are stateless.
class DocumentCheck {
 public:
  virtual ~DocumentCheck() = default;
  /// Why `doc` is refused, or std::nullopt when it is accepted.
  virtual std::optional<std::string> refuse(const nlohmann::json& doc) const = 0;
  /// True when applying `ops` to an accepted document surely leaves it
  /// accepted, so that no copy and no check is needed.
  virtual bool keeps_valid(const nlohmann::json& ops) const = 0;
};

class Replicator {
 public:
  /// A patch message carrying more deltas than this is sent as a full.
  static constexpr std::size_t kMaxDeltasPerMessage = 64;

  /// `doc` is the local node document; it must outlive the Replicator, and
  /// so must `check` when given (no check: every document is accepted).
  Replicator(std::string self, std::vector<std::string> peers, patch::NodeDocument& doc,
             const DocumentCheck* check = nullptr);

  /// The message to send now to every peer, given the peers currently alive.
  /// Also trims the journal to the lowest acknowledgement among them.
  heartbeat::Message outgoing(const std::set<std::string>& alive);

  /// A delta shown: its gen and ops. The ops are not copied: they live in
  /// the message given to receive() or relayed(), or in Received::kept (a
  /// held-back delta, or a message given as an rvalue), and are valid as
  /// long as both.
  struct AppliedDelta {
    uint64_t gen = 0;
    const nlohmann::json* ops = nullptr;
  };

  /// What receive() did.
  struct Received {
    bool full = false;                                        // a full document replaced the copy
    boost::container::small_vector<AppliedDelta, 4> applied;  // deltas applied, in order
    bool resync = false;                                      // a gap or bad delta: full requested
    bool fresh = false;  // gossip mode: new here (applied or held back), worth relaying
    /// The peer's document, as the full or the deltas made it, was refused
    /// by the check: why. document() keeps the last accepted one.
    std::optional<std::string> refused;
    /// Ops applied that live in no message (see AppliedDelta). Reserved
    /// before it is filled, so the pointers into it stay valid.
    std::vector<nlohmann::json> kept;
    /// When changed(): the peer's document as now shown, shared with the
    /// replicator (snapshot()), and its gen; found with the peer, so that a
    /// caller publishing the change looks nothing up again.
    std::shared_ptr<const nlohmann::json> document;
    uint64_t gen = 0;
    /// The sender acknowledged less than this node's gen, as of this
    /// message: it needs data.
    bool behind = false;
    bool changed() const { return full || !applied.empty(); }
  };

  /// Applies a message from `sender` sent by its incarnation `boot` (the
  /// datagram header's boot id). A boot other than the last one seen from
  /// that sender means it restarted: its gens start over, so everything known
  /// about it is reset and a full is requested. Unknown senders are ignored.
  /// A document the check refuses is still followed for the gen protocol
  /// (no full is requested again for it), but never shown: document() keeps
  /// the last accepted one until a later full or delta makes it acceptable
  /// again, which is reported as a full.
  ///
  ///
  /// Copies nothing: Received::applied points into `msg.deltas`, and a full
  /// document taken is moved out of `msg.full`. Given an rvalue, the ops
  /// applied are copied into Received::kept instead.
  Received receive(const std::string& sender, uint64_t boot, heartbeat::Message& msg);
  Received receive(const std::string& sender, uint64_t boot, heartbeat::Message&& msg);

  /// The peer went stale: its acknowledgement no longer holds back journal
  /// trimming, and a full document is requested when it comes back.
  void forget(const std::string& peer);

  /// A member joined: its document is followed from now on (a full is
  /// requested). Nothing changes for a peer already followed.
  void add(const std::string& peer);
  /// A member left or was forgotten: its copy is dropped, and its
  /// acknowledgement no longer holds back journal trimming.
  void remove(const std::string& peer) { peers_.erase(peer); }

  // ---- gossip mode ----

  /// Most deltas held back per writer while the gens before them are missing.
  static constexpr std::size_t kMaxHeldDeltas = 64;

  /// A relayed delta of `d.writer`'s document. A boot newer than the one
  /// held resets the writer (as receive() does for a restart), an older one
  /// is ignored, and so are deltas of this node or of a non-member. The next
  /// gen applies (then any held-back successors); a later one is held back
  /// (at most kMaxHeldDeltas per writer) until the gap fills, by gossip or
  /// by a full; a delta that does not apply requests a full (resync).
  /// `fresh` is set when the delta was new here.
  Received relayed(const heartbeat::RelayedDelta& d);
  /// A relayed full of `f.writer`'s document: taken when of a newer boot, of
  /// a newer gen, or while a full is awaited, as receive() takes a full.
  Received relayed_full(const heartbeat::RelayedFull& f);
  /// The version vector this node advertises: itself (`self_boot`, its gen)
  /// and, for every peer whose document it holds, (boot, gen); gen 0 while
  /// a full is awaited.
  heartbeat::VersionVector versions(uint64_t self_boot) const;
  /// Nodes whose document this node holds newer than `theirs` says (a newer
  /// boot, or the same boot and a higher gen, or absent there), sorted.
  std::vector<std::string> newer_than(const heartbeat::VersionVector& theirs,
                                      uint64_t self_boot) const;
  /// True when `theirs` holds some member's document newer than this node.
  bool older_than(const heartbeat::VersionVector& theirs, uint64_t self_boot) const;
  /// The document of `node` (this node too) as a relayed full; nullopt when
  /// none is held.
  std::optional<heartbeat::RelayedFull> full_of(const std::string& node, uint64_t self_boot) const;
  /// Drops every journal entry: in gossip mode deltas leave through the
  /// broadcast queue, and a node behind gets a full.
  void trim_journal() { doc_.journal().trim(doc_.gen()); }

  /// This node's copy of `peer`'s document: the last accepted one (null
  /// until a full was accepted).
  const nlohmann::json& document(const std::string& peer) const;
  /// The same document as a shared, immutable snapshot (null pointer for an
  /// unknown peer). It never changes: while a snapshot is held, the next
  /// delta applies to a copy (copy on write); once every holder let go,
  /// deltas apply in place again, so an event that shares the document
  /// (agent Event::value) and is done with at once costs no copy.
  std::shared_ptr<const nlohmann::json> snapshot(const std::string& peer) const;
  /// document(), and whether `peer`'s document is refused by the check:
  /// then document() is the last accepted one, and the next accepted change
  /// shows as a full. One lookup, for a caller that reads both before each
  /// message (a null document, not refused, for an unknown peer).
  struct Shown {
    const nlohmann::json& document;
    bool refused = false;
  };
  Shown shown(const std::string& peer) const;
  /// Last gen of `peer` applied here (0: none yet, or a full is awaited).
  uint64_t applied_gen(const std::string& peer) const;
  /// Gen of this node that `peer` last acknowledged.
  uint64_t acked_gen(const std::string& peer) const;
  /// The gen vector this node advertises.
  heartbeat::GenVector gens() const;

 private:
  /// A document held as a snapshot that may be shared (snapshot()).
  using Doc = std::shared_ptr<nlohmann::json>;
  struct Peer {
    // null until the first full; the raw one while refused. Never a null
    // pointer.
    Doc doc = std::make_shared<nlohmann::json>();
    Doc shown;  // while refused: the last accepted document
    bool refused = false;
    uint64_t applied = 0;                     // gen of doc
    bool need_full = true;                    // advertise 0 until a full arrives
    uint64_t acked = 0;                       // our gen it acknowledged
    uint64_t boot = 0;                        // incarnation the state above belongs to
    std::map<uint64_t, nlohmann::json> held;  // gossip: deltas past a gap, by gen
  };
  /// `d` to be changed in place: copied first when a snapshot holds it.
  static nlohmann::json& writable(Doc& d);
  /// Sets Received::document and gen from `p` when `out` changed something.
  static void show(const Peer& p, Received& out);
  /// A newer boot of `p`: everything known about it starts over.
  static void reset(Peer& p, uint64_t boot);
  /// Applies held-back deltas that follow `p.applied`.
  void drain_held(Peer& p, Received& out);
  enum class Applied { kNot, kShown, kHidden };
  /// Applies `ops` (the next gen) to `p`: in place when the check allows it,
  /// else on a copy that is checked. kNot when the delta does not apply;
  /// kHidden when the document it makes is refused (or already was).
  Applied apply_delta(Peer& p, const nlohmann::json& ops, Received& out);
  /// After `p.doc` was replaced or patched while refused: accepted again?
  void recheck(Peer& p, Received& out);

  std::string self_;
  patch::NodeDocument& doc_;
  const DocumentCheck* check_;
  std::unordered_map<std::string, Peer> peers_;  // found once per message
};

}  // namespace vigil::membership

#endif  // VIGIL_MEMBERSHIP_REPLICATOR_H_
