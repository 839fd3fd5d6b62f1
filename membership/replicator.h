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
#ifndef VIGIL_MEMBERSHIP_REPLICATOR_H_
#define VIGIL_MEMBERSHIP_REPLICATOR_H_

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

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

  /// What receive() did.
  struct Received {
    bool full = false;                      // a full document replaced the copy
    std::vector<heartbeat::Delta> applied;  // deltas applied, in order
    bool resync = false;                    // a gap or bad delta: full requested
    /// The peer's document, as the full or the deltas made it, was refused
    /// by the check: why. document() keeps the last accepted one.
    std::optional<std::string> refused;
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
  Received receive(const std::string& sender, uint64_t boot, const heartbeat::Message& msg);

  /// The peer went stale: its acknowledgement no longer holds back journal
  /// trimming, and a full document is requested when it comes back.
  void forget(const std::string& peer);

  /// A member joined: its document is followed from now on (a full is
  /// requested). Nothing changes for a peer already followed.
  void add(const std::string& peer);
  /// A member left or was forgotten: its copy is dropped, and its
  /// acknowledgement no longer holds back journal trimming.
  void remove(const std::string& peer) { peers_.erase(peer); }

  /// True when `peer` acknowledged less than this node's gen (it needs data).
  bool behind(const std::string& peer) const;

  /// This node's copy of `peer`'s document: the last accepted one (null
  /// until a full was accepted).
  const nlohmann::json& document(const std::string& peer) const;
  /// Last gen of `peer` applied here (0: none yet, or a full is awaited).
  uint64_t applied_gen(const std::string& peer) const;
  /// Gen of this node that `peer` last acknowledged.
  uint64_t acked_gen(const std::string& peer) const;
  /// The gen vector this node advertises.
  heartbeat::GenVector gens() const;

 private:
  struct Peer {
    nlohmann::json doc;    // null until the first full; the raw one while refused
    nlohmann::json shown;  // while refused: the last accepted document
    bool refused = false;
    uint64_t applied = 0;   // gen of doc
    bool need_full = true;  // advertise 0 until a full arrives
    uint64_t acked = 0;     // our gen it acknowledged
    uint64_t boot = 0;      // incarnation the state above belongs to
  };
  /// Applies `d` to `p`: in place when the check allows it, else on a copy
  /// that is checked. False when the delta does not apply.
  bool apply_delta(Peer& p, const heartbeat::Delta& d, Received& out);
  /// After `p.doc` was replaced or patched while refused: accepted again?
  void recheck(Peer& p, Received& out);

  std::string self_;
  patch::NodeDocument& doc_;
  const DocumentCheck* check_;
  std::map<std::string, Peer> peers_;
};

}  // namespace vigil::membership

#endif  // VIGIL_MEMBERSHIP_REPLICATOR_H_
