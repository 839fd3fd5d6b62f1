// Questions to every member, answered through the heartbeats: serf's query
// mechanism (a request spread to the cluster, each member's response
// gathered at the asker), carried here by the heartbeat channel instead of
// direct responses, so that it works alike in mesh and gossip mode. Used for
// `webhook test` (each member posts a test event) and `webhook list` (each
// member's delivery counters).
//
// A query {"id", "from", "kind", "args"} rides in every heartbeat ("q") of
// each node that knows it, for kSpread after it first heard it; a node runs
// each query once (on_message() returns it the first time) and its answer
// {"id", "node", "answer"} rides the same way ("qa"), until the asker has
// it. The asker reads the answers gathered so far (answers()); a member that
// did not answer within the asker's wait is shown as such, not retried.
//
// Bounds: at most kMaxQueries queries spread at once, and kMaxRemembered
// ids are remembered (so that a late copy is not run twice); at most
// kMaxAnswers answers are held;
// ids, kinds and node names at most 255 bytes; args and an answer at most
// kMaxValueBytes of JSON text; a heartbeat carries at most kMaxAnswersPerMessage
// answers (the newest first). Entries over a bound, or of another shape,
// are dropped and counted, never thrown.
//
// Pure logic on the caller's clock. Not thread-safe.
#ifndef VIGIL_MEMBERSHIP_CLUSTER_QUERY_H_
#define VIGIL_MEMBERSHIP_CLUSTER_QUERY_H_

#include <chrono>
#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "heartbeat/message.h"

namespace vigil::membership {

struct Query {
  std::string id;    // unique: "<asker>-<boot>-<n>"
  std::string from;  // the asking node
  std::string kind;  // what is asked, e.g. "webhook_test"
  nlohmann::json args = nlohmann::json::object();
};

struct QueryAnswer {
  std::string id;    // the query's
  std::string node;  // the answering node
  nlohmann::json answer;
};

class ClusterQueries {
 public:
  using Clock = std::chrono::steady_clock;
  /// How long a query or an answer rides in the heartbeats, ms.
  static constexpr std::chrono::milliseconds kSpread{5000};
  static constexpr std::size_t kMaxQueries = 16;
  static constexpr std::size_t kMaxRemembered = 256;
  static constexpr std::size_t kMaxAnswers = 4096;
  static constexpr std::size_t kMaxAnswersPerMessage = 64;
  static constexpr std::size_t kMaxValueBytes = 8192;

  /// This node asks: `q` is spread from now on. Returns false (and spreads
  /// nothing) when kMaxQueries are held or `q` is over a bound.
  bool ask(Query q, Clock::time_point now);
  /// This node's answer to a query it ran (or asked): spread from now on,
  /// and kept for answers(). False when over a bound.
  bool answer(QueryAnswer a, Clock::time_point now);

  /// Before sealing a heartbeat: the live queries ("q") and answers ("qa").
  void prepare(heartbeat::Message& msg, Clock::time_point now) const;
  /// A decoded heartbeat: records its queries and answers; returns the
  /// queries new here, which the caller runs and answers.
  std::vector<Query> on_message(const heartbeat::Message& msg, Clock::time_point now);

  /// The answers to `id` held here, by node.
  std::map<std::string, nlohmann::json> answers(const std::string& id) const;
  /// Entries refused so far (shape or bound).
  std::size_t refused() const { return refused_; }

 private:
  struct Held {
    Query query;
    Clock::time_point first_heard;
  };
  struct HeldAnswer {
    QueryAnswer answer;
    Clock::time_point first_heard;
  };
  void expire(Clock::time_point now);
  std::size_t spreading(Clock::time_point now) const;

  std::map<std::string, Held> queries_;                                // by id
  std::map<std::pair<std::string, std::string>, HeldAnswer> answers_;  // by (id, node)
  std::size_t refused_ = 0;
};

}  // namespace vigil::membership

#endif  // VIGIL_MEMBERSHIP_CLUSTER_QUERY_H_
