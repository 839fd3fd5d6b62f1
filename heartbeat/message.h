// The plaintext heartbeat message and its msgpack wire codec.
//
// Wire form (msgpack map, keys are short strings):
//   "k": uint            kind: 0 ping, 1 patch, 2 full
//   "g": map str->uint   the sender's gen vector {node: gen}; g[sender] is its own gen
//   "d": array           patch only: [[gen, ops], ...] with consecutive ascending gens,
//                        ops being the RFC 6902 operation array as msgpack
//   "fg": uint           full only: gen of the document carried in "f"
//   "f": any             full only: the sender's whole node document
//   "kv": array of uint  optional, any kind: the key versions the sender holds,
//                        ascending, at most kMaxKeyVersions
//   "ki": array of uint  optional, only with "kv" and of its length: the id
//                        of the key the sender holds for each listed version
//                        (crypto::key_id), so that an acknowledgement names
//                        the key and not only its number
//   "ko": array          optional, any kind: a key offer, [version, 64 hex
//                        digits of the secret, leader, settled], sent by the
//                        node leading a secret rotation (leader = itself,
//                        settled = false) or catching up a peer that lacks a
//                        version in use (settled = true); the message itself
//                        is sealed. [version, secret] alone is read as
//                        leader "" and settled false.
//   "md": uint           optional, any kind: the digest of the sender's member
//                        list (membership/member_list.h); a receiver whose
//                        digest differs sends its list
//   "m": array           optional, any kind: member list entries, each
//                        {"name", "paths", "state", "ltime"}, merged by the
//                        receiver (checked there, not here)
//   "wd": uint           optional, any kind: the digest of the sender's webhook
//                        set (membership/webhook_set.h), left out for the empty
//                        set; a receiver whose digest differs sends its set
//   "w": array           optional, any kind: webhook entries, each {"url",
//                        "state", "ltime", "writer", "auth", "filters", and
//                        "token" or "secret"}, merged by the receiver
//   "q": array           optional, any kind: cluster queries, each {"id", "from",
//                        "kind", "args"} (membership/cluster_query.h)
//   "qa": array          optional, any kind: their answers, each {"id", "node",
//                        "answer"}; both checked by the receiver
//   "st": bool           optional, any kind, sent only as true: the sender's
//                        daemon is stopping cleanly (SIGTERM, SIGINT), and this
//                        is one of its last heartbeats. Receivers mark it
//                        stopped, not stale, for this boot only.
// Gossip mode only (docs/ARCHITECTURE.md, Gossip mode); all optional, on a ping:
//   "sw": map            the SWIM part (membership/swim.h), keys optional:
//                        "p": uint32 ping seq, "a": uint32 ack seq, "n": uint32
//                        nack seq, "r": [seq, target] ping-req, "u": array of
//                        member updates [kind 0 alive | 1 suspect | 2 dead,
//                        node, incarnation, from], "h": the heard digest
//                        [list hash, byte count, [uint64 words]]: the bytes of
//                        the bit set, 8 per word, least significant first
//   "rd": array          relayed deltas, each [writer, boot, gen, ops]: the
//                        change `writer` (in its incarnation `boot`, the
//                        datagram header's boot id) made to its own document
//                        as gen `gen`; ops as in "d". Relays never alter them.
//   "rf": array          relayed full documents, each [writer, boot, gen, doc]
//   "av": map            anti-entropy version vector: node -> [boot, gen] of
//                        every node document the sender holds, itself included
//   "aq": bool           sent only as true, with "av": a push-pull request; the
//                        receiver answers with the fulls the sender lacks and,
//                        when the sender holds newer ones, its own "av"
//   "ad": uint           the digest of the sender's version vector (gen 0
//                        entries left out); a receiver whose digest differs
//                        starts a push-pull with the sender
// JSON values travel as native msgpack (map, array, str, int, float, bool, nil).
// The map holds exactly the keys of its kind, plus the optional ones. Nesting depth counts
// containers from the message map (depth 1) down, empty ones included.
#ifndef VIGIL_HEARTBEAT_MESSAGE_H_
#define VIGIL_HEARTBEAT_MESSAGE_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "crypto/key.h"

namespace vigil::heartbeat {

/// Deepest container nesting encode() produces and decode() accepts.
inline constexpr std::size_t kMaxDepth = 64;
/// Most key versions one message may list.
inline constexpr std::size_t kMaxKeyVersions = 16;

enum class MessageKind : uint8_t { kPing = 0, kPatch = 1, kFull = 2 };

/// "ping", "patch" or "full".
std::string_view to_string(MessageKind kind);

/// {node name: gen}. For the sender itself: its own current gen. For every
/// other node: the last gen of that node the sender applied (0: none, or a
/// full resync is wanted).
using GenVector = std::map<std::string, uint64_t, std::less<>>;

/// One committed change of a node document: the RFC 6902 ops taking the
/// document from gen-1 to gen.
struct Delta {
  uint64_t gen = 0;
  nlohmann::json ops;  // array of RFC 6902 operation objects
};

/// A secret distributed during a rotation: derive_key(secret, cluster,
/// version) is the key of `version`.
struct KeyOffer {
  uint32_t version = 0;  // >= 1
  crypto::Secret secret{};
  std::string leader;    // the node whose rotation made this secret ("" unknown)
  bool settled = false;  // already sealed with by the cluster, not a rotation in progress
  bool operator==(const KeyOffer&) const = default;
};

/// The SWIM part of a gossip-mode message ("sw"); membership/swim.h says
/// what each field means.
struct SwimPart {
  std::optional<uint32_t> ping, ack, nack;
  struct PingReq {
    uint32_t seq = 0;
    std::string target;
    bool operator==(const PingReq&) const = default;
  };
  std::optional<PingReq> ping_req;
  struct Update {
    uint8_t kind = 0;  // 0 alive, 1 suspect, 2 dead
    std::string node;
    uint64_t incarnation = 0;
    std::string from;
    bool operator==(const Update&) const = default;
  };
  std::vector<Update> updates;
  struct Heard {
    uint64_t list = 0;
    std::string bits;  // raw bytes, one bit per member (membership/swim.h)
    bool operator==(const Heard&) const = default;
  };
  std::optional<Heard> heard;
  bool operator==(const SwimPart&) const = default;
};

/// A node document change relayed by gossip ("rd"): written by `writer` in
/// its incarnation `boot`.
struct RelayedDelta {
  std::string writer;
  uint64_t boot = 0;
  uint64_t gen = 0;    // >= 1
  nlohmann::json ops;  // array of RFC 6902 operation objects
};

/// A whole node document relayed by anti-entropy ("rf").
struct RelayedFull {
  std::string writer;
  uint64_t boot = 0;
  uint64_t gen = 0;
  nlohmann::json doc;
};

/// The version of one node document a node holds: its writer's boot and gen.
struct DocVersion {
  uint64_t boot = 0;
  uint64_t gen = 0;
  bool operator==(const DocVersion&) const = default;
};
/// Anti-entropy version vector ("av"): node -> the version held.
using VersionVector = std::map<std::string, DocVersion, std::less<>>;

struct Message {
  MessageKind kind = MessageKind::kPing;
  GenVector gens;
  std::vector<Delta> deltas;           // kPatch only
  uint64_t full_gen = 0;               // kFull only
  nlohmann::json full;                 // kFull only
  std::vector<uint32_t> key_versions;  // ascending; empty: not sent
  std::vector<uint64_t> key_ids;       // empty, or one crypto::key_id per key_versions entry
  std::optional<KeyOffer> key_offer;
  std::optional<uint64_t> member_digest;    // "md"
  nlohmann::json members;                   // "m": null when not sent, else an array
  std::optional<uint64_t> webhook_digest;   // "wd"
  nlohmann::json webhooks;                  // "w": null when not sent, else an array
  nlohmann::json queries;                   // "q": null when not sent, else an array
  nlohmann::json query_answers;             // "qa": null when not sent, else an array
  bool stop = false;                        // "st": the sender is stopping cleanly
  std::optional<SwimPart> swim;             // "sw"
  std::vector<RelayedDelta> relayed;        // "rd"
  std::vector<RelayedFull> relayed_full;    // "rf"
  std::optional<VersionVector> versions;    // "av"
  bool versions_request = false;            // "aq": answer with the fulls I lack
  std::optional<uint64_t> versions_digest;  // "ad"
};

/// The digest sent as "ad": FNV-1a (64 bits) over the entries of `v` whose
/// gen is not 0, in order, each as its node name, a 0 byte, then boot and
/// gen as 8 little-endian bytes each.
uint64_t digest(const VersionVector& v);

/// Thrown by decode() on malformed input; what() names the problem.
class DecodeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Serializes `msg` to msgpack bytes; only the fields of `msg.kind` are
/// written. Floats that are NaN or infinite travel as nil, as in JSON text.
/// Throws std::invalid_argument for a message decode() would refuse: deltas
/// whose gens are not consecutive and ascending from >= 1, ops that are not
/// an array of objects, binary JSON values, nesting deeper than kMaxDepth, key
/// versions not ascending or more than kMaxKeyVersions, members neither
/// null nor an array, webhooks neither null nor an array, relayed deltas of gen 0 or whose ops are
/// not an array of objects, "aq" without "av", key ids not empty and not one per key version, or a
/// key offer of version 0 or with a leader longer than 255 bytes.
std::vector<uint8_t> encode(const Message& msg);

/// Parses msgpack bytes. Throws DecodeError when the bytes are not a valid
/// message: bad or truncated msgpack, trailing bytes, a missing, unknown or
/// duplicate key, wrong types ("st" not a bool, for one), unknown kind, delta gens not consecutive
/// and ascending from >= 1, key versions not ascending or too many, "m", "w", "q" or "qa" not an
/// array, "ki" without "kv" or of another length, a key offer of version 0, whose secret is not 64
/// hex digits or whose leader is longer than 255 bytes, malformed UTF-8, bin/ext or non-finite
/// float values, or nesting deeper than kMaxDepth; in the gossip fields: "sw" not a map or with an
/// unknown key, a seq above 2^32-1, an update kind above 2 or an empty node name, relayed entries
/// not of 4 items or of gen 0, "av" entries not [boot, gen], "aq" not true or without "av".
/// Containers may not declare more entries than the input has bytes, so memory stays proportional
/// to the input size.
///
/// The bytes are read in one pass (msgpack_reader.h): the fields straight into the message, the
/// JSON values (ops, documents, member and webhook entries, queries) into nlohmann::json.
Message decode(std::span<const uint8_t> bytes);
/// The same into `msg`, over what it holds: the gen vector and the deltas, their JSON ops
/// included, reuse the storage of the last message decoded into it (the receive path decodes
/// every message into one Message, and a sender's next heartbeat has the same shape). Every
/// other field is reset. On DecodeError `msg` holds some of the fields read: decode into it again
/// before use.
void decode(std::span<const uint8_t> bytes, Message& msg);

}  // namespace vigil::heartbeat

#endif  // VIGIL_HEARTBEAT_MESSAGE_H_
