// The cluster's member list: who is a member, and at which address on each
// heartbeat path. It is cluster-wide state that every node holds a copy of
// and merges entry by entry, so that joins, leaves and forgets made at
// different nodes at once end the same on every node.
//
// Each entry is {name, paths: {hb id: "host:port"}, state: member | left,
// ltime}. A node's copy changes only by merge(): an entry replaces the one
// held for its name when it is newer in this total order:
//   1. the higher Lamport time (`ltime`);
//   2. on a tie, `left` over `member` (a leave racing a join is not undone
//      by it);
//   3. then the greater paths map (lexicographic): any deterministic order
//      will do, and this one needs no extra field.
// The merge is a join-semilattice (commutative, associative, idempotent), so
// any order and any repetition of deliveries converges; serf orders its
// join and leave intents by Lamport time the same way.
//
// A left entry stays as a tombstone, so that an old copy of the member
// cannot bring it back; a node that left joins again with a newer ltime.
// Local operations stamp their entry with the next Lamport time, above
// every ltime seen (Lamport 1978).
//
// Pure logic; not thread-safe.
#ifndef VIGIL_MEMBERSHIP_MEMBER_LIST_H_
#define VIGIL_MEMBERSHIP_MEMBER_LIST_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace vigil::membership {

struct Member {
  enum class State { kMember, kLeft };
  std::string name;
  std::map<std::string, std::string> paths;  // heartbeat path id -> "host:port"
  State state = State::kMember;
  uint64_t ltime = 0;
  bool operator==(const Member&) const = default;
};

/// "member" or "left".
const char* to_string(Member::State state);

/// True when `a` wins over `b` (same name) in the order above.
bool newer(const Member& a, const Member& b);

/// {"name", "paths": {id: addr}, "state": "member"|"left", "ltime"}.
nlohmann::json to_json(const Member& m);
/// Parses the shape above. Throws std::invalid_argument naming the field
/// for anything else: a missing or mistyped field, an empty name or one over
/// 255 bytes, an unknown state, more than 16 paths, an address over 300
/// bytes.
Member member_from_json(const nlohmann::json& j);

class MemberList {
 public:
  /// Merges `m`: keeps it when its name is new or it is newer than the
  /// entry held. Advances the Lamport clock past m.ltime either way.
  /// Returns true when the list changed.
  bool merge(const Member& m);

  /// Local operations: the entry for `name` with the next Lamport time,
  /// merged and returned (to be spread to the other nodes).
  Member join(const std::string& name, std::map<std::string, std::string> paths);
  Member leave(const std::string& name);
  /// A dead member removed for good: a `left` tombstone, like leave().
  Member forget(const std::string& name) { return leave(name); }

  /// What merge_all() did with a received array of entries.
  struct Merged {
    std::vector<std::string> changed;  // names whose entry changed
    std::size_t refused = 0;           // entries that are not member_from_json()'s shape
  };
  /// Merges every entry of `entries` (a JSON array, as the heartbeat "m"
  /// field carries it); a malformed entry is skipped and counted, never
  /// thrown.
  Merged merge_all(const nlohmann::json& entries);

  /// A 64-bit digest of every entry (tombstones included): BLAKE2b-256,
  /// first 8 bytes little endian, over the canonical JSON of the entries in
  /// name order. Two lists with the same entries have the same digest;
  /// heartbeats carry it ("md") so that peers notice a difference.
  uint64_t digest() const;
  /// Every entry as a JSON array, as the heartbeat "m" field carries it.
  nlohmann::json entries_json() const;

  /// The entry for `name`, or nullptr.
  const Member* find(const std::string& name) const;
  /// Names whose state is `member`, sorted.
  std::vector<std::string> members() const;
  /// Every entry, tombstones included, by name.
  const std::map<std::string, Member>& entries() const { return entries_; }
  /// The Lamport clock: the highest ltime seen or made.
  uint64_t clock() const { return clock_; }

  /// {"ltime": clock, "members": [entry, ...]}: what cluster.json and a
  /// full resync carry.
  nlohmann::json to_json() const;
  /// Parses to_json()'s shape; throws std::invalid_argument naming the
  /// entry and field. Entries are merged, so duplicates resolve by order.
  static MemberList from_json(const nlohmann::json& j);

 private:
  std::map<std::string, Member> entries_;
  uint64_t clock_ = 0;
};

}  // namespace vigil::membership

#endif  // VIGIL_MEMBERSHIP_MEMBER_LIST_H_
