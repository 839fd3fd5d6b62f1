// The cluster's webhooks (issue "events leave the node"; seed 000, the
// GlusterFS events API, whose webhooks are synced to every node): cluster-wide
// state that every node holds a copy of and merges entry by entry, as the
// member list does (member_list.h), so that adds, changes and deletes made at
// different nodes at once end the same on every node.
//
// Each entry is
//   {"url": "https://...", "state": "active" | "deleted", "ltime": 7,
//    "writer": "n1", "auth": "none" | "bearer" | "jwt",
//    "token": "...",            // auth = bearer: the static bearer token
//    "secret": "...",           // auth = jwt: the HS256 key of each JWT
//    "filters": ["NodeStale", ...]}   // event filter texts, [] for all
// and an entry replaces the one held for its URL when it is newer in this
// total order: the higher Lamport time; on a tie `deleted` over `active`;
// then the greater writer name. The merge is a join-semilattice, so any
// order and repetition of deliveries converges. A deleted entry stays as a
// tombstone (its token and secret cleared), so that an old copy cannot
// bring the webhook back; adding the URL again makes a newer entry.
//
// Tokens and secrets travel only inside sealed heartbeats and sit in
// <var_dir>/cluster.json (mode 0600); they never enter the dataset.
//
// Pure logic; not thread-safe.
#ifndef VIGIL_MEMBERSHIP_WEBHOOK_SET_H_
#define VIGIL_MEMBERSHIP_WEBHOOK_SET_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace vigil::membership {

struct WebhookEntry {
  enum class State { kActive, kDeleted };
  enum class Auth { kNone, kBearer, kJwt };
  std::string url;
  State state = State::kActive;
  uint64_t ltime = 0;
  std::string writer;
  Auth auth = Auth::kNone;
  std::string token;   // kBearer
  std::string secret;  // kJwt
  std::vector<std::string> filters;
  bool operator==(const WebhookEntry&) const = default;
};

/// Bounds of an entry, bytes or counts.
inline constexpr std::size_t kMaxWebhookUrlBytes = 2048;
inline constexpr std::size_t kMaxWebhookCredentialBytes = 4096;
inline constexpr std::size_t kMaxWebhookFilters = 32;
inline constexpr std::size_t kMaxWebhookFilterBytes = 1024;
/// Entries a set holds at most, tombstones included.
inline constexpr std::size_t kMaxWebhookEntries = 256;
/// Bytes of the set's JSON text at most after a local put(): the whole set
/// rides in heartbeats while it is pushed.
inline constexpr std::size_t kMaxWebhookSetBytes = 32 * 1024;

/// "none", "bearer" or "jwt".
const char* to_string(WebhookEntry::Auth auth);

/// True when `a` wins over `b` (same URL) in the order above.
bool newer(const WebhookEntry& a, const WebhookEntry& b);

/// The JSON form above ("token" only for bearer, "secret" only for jwt).
nlohmann::json to_json(const WebhookEntry& e);
/// Parses that form. Throws std::invalid_argument naming the field: a
/// missing or mistyped field, an unknown one, a URL that does not start with
/// http:// or https:// or is longer than kMaxWebhookUrlBytes, an empty
/// writer, an unknown state or auth, a bearer entry without a token or a jwt
/// one without a secret (active entries), a credential over
/// kMaxWebhookCredentialBytes, more than kMaxWebhookFilters filters or one
/// over kMaxWebhookFilterBytes. The filter grammar is checked where the
/// filters are used (agent/events/event_filter.h), not here.
WebhookEntry webhook_from_json(const nlohmann::json& j);

class WebhookSet {
 public:
  /// Merges `e`: keeps it when its URL is new (and the set is not full) or
  /// it is newer than the entry held. Advances the Lamport clock past
  /// e.ltime either way. Returns true when the set changed.
  bool merge(WebhookEntry e);

  /// Local operations, stamped with the next Lamport time and `writer`:
  /// put() adds or replaces the webhook of e.url (its state, ltime and
  /// writer are set here); remove() makes a tombstone. Both return the
  /// entry merged. put() throws std::length_error, and changes nothing, when
  /// the set holds kMaxWebhookEntries entries and e.url is new, or when the
  /// set would pass kMaxWebhookSetBytes.
  WebhookEntry put(WebhookEntry e, const std::string& writer);
  WebhookEntry remove(const std::string& url, const std::string& writer);

  struct Merged {
    std::vector<std::string> changed;  // URLs whose entry changed
    std::size_t refused = 0;           // entries not of webhook_from_json()'s shape
  };
  /// Merges every entry of a JSON array (the heartbeat "w" field); a
  /// malformed entry is skipped and counted, never thrown.
  Merged merge_all(const nlohmann::json& entries);

  /// BLAKE2b-256 of the canonical JSON of the entries in URL order, first 8
  /// bytes little endian: the "wd" heartbeat field, and the version a node
  /// reports as applied.
  uint64_t digest() const;
  /// Every entry as a JSON array (the heartbeat "w" field).
  nlohmann::json entries_json() const;

  /// The entry for `url`, or nullptr.
  const WebhookEntry* find(const std::string& url) const;
  /// The active entries, by URL.
  std::vector<WebhookEntry> active() const;
  const std::map<std::string, WebhookEntry>& entries() const { return entries_; }
  uint64_t clock() const { return clock_; }

  /// {"ltime": clock, "webhooks": [entry, ...]}: what cluster.json holds.
  nlohmann::json to_json() const;
  /// Parses to_json()'s shape; throws std::invalid_argument naming the
  /// entry and field.
  static WebhookSet from_json(const nlohmann::json& j);

 private:
  std::map<std::string, WebhookEntry> entries_;
  uint64_t clock_ = 0;
};

}  // namespace vigil::membership

#endif  // VIGIL_MEMBERSHIP_WEBHOOK_SET_H_
