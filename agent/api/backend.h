// What the API may ask of the rest of the daemon: the dataset, the heartbeat
// status, a change of this node's document, a secret rotation, and the event
// bus. A narrow interface, so that the router can be tested and fuzzed
// against a fake, and so that api/ never includes the engine.
#ifndef VIGIL_AGENT_API_BACKEND_H_
#define VIGIL_AGENT_API_BACKEND_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "agent/base/node_change.h"
#include "crypto/key.h"

namespace vigil::agent {

class EventBus;

class ApiBackend {
 public:
  /// An answer: an HTTP status and a JSON body.
  using Done = std::function<void(int status, const nlohmann::json& body)>;

  virtual ~ApiBackend() = default;
  /// The cluster dataset (engine/dataset.h), for GET /v1/status and waits.
  virtual nlohmann::json dataset() const = 0;
  /// The heartbeat status, for GET /v1/hb.
  virtual nlohmann::json hb_status() const = 0;
  /// Stages a change of this node's document. Throws std::exception whose
  /// what() is meant for the client when the change is refused; otherwise
  /// `committed(gen)` runs once the change is committed.
  virtual void change(const NodeChange& change, std::function<void(uint64_t gen)> committed) = 0;
  /// Starts a secret rotation led here; `done` runs once.
  virtual void rotate(std::optional<crypto::Secret> secret, Done done) = 0;
  /// The join token keys of every secret version held, the current one
  /// first (crypto::derive_join_key): tokens are made with the first.
  virtual std::vector<crypto::Key> join_keys() const = 0;
  /// Reads the config file again and applies what changed (a config
  /// reload, for POST /v1/daemon/reload); `caller` (ApiRequest::caller())
  /// is logged. `done` runs once: 200 {"changed": [dotted keys]}, or 400
  /// {"error": "<file>: key '<k>': <reason>"} when the file does not load or
  /// a change needs a restart (then nothing is applied).
  virtual void reload(const std::string& caller, Done done) = 0;
  /// Membership (README "Joining a cluster"). Each `done` runs once.
  /// A seed admits a joiner (POST /v1/cluster/join): `token` is the
  /// bearer join token as received, `name` and `paths` (hb id ->
  /// "host:port") were checked for shape. 200 with the joiner's cluster
  /// file and keyring; 401 a token refused; 409 a name conflict, no path in
  /// common, or this node standalone; 503 no quorum.
  virtual void admit(const std::string& token, const std::string& name,
                     const std::map<std::string, std::string>& paths, Done done) = 0;
  /// This node joins through `seed` (POST /v1/node/join). 200 once the
  /// seed is seen alive; 504 {"error"} on timeout; 409 {"error"} when the
  /// seed refused, its certificate does not match the token, or this node
  /// is a member already; 502 {"error"} the seed cannot be reached; 400 a
  /// malformed token or seed.
  virtual void join(const std::string& token, const std::string& seed,
                    std::chrono::milliseconds timeout, Done done) = 0;
  /// This node leaves (POST /v1/cluster/leave): 200, or 504 when not every
  /// alive peer acknowledged in time, 409 when standalone.
  virtual void leave(std::chrono::milliseconds timeout, Done done) = 0;
  /// A dead member removed for good (POST /v1/cluster/forget): 200, 404 no
  /// such member, 409 it is alive or is this node.
  virtual void forget(const std::string& node, Done done) = 0;
  /// The member list (GET /v1/cluster/members): {name: {paths, state, ltime}}.
  virtual nlohmann::json members() const = 0;
  /// The cluster's webhooks (README "Webhooks"; seed 000).
  /// GET /v1/webhooks: {"version": 16 hex digits, "webhooks": [{"url",
  /// "auth": none | bearer | jwt, "filters", "writer", "ltime"}] (never a
  /// credential), "nodes": [{"node", "state", "in_sync", "delivery": that
  /// node's counters per webhook, or null when it did not answer}]}.
  virtual void webhooks(Done done) = 0;
  /// POST /v1/webhooks, body {"url", "mode": "add" | "mod", "auth"?,
  /// "credential"?, "filters"?} (shape checked by the router): adds, or
  /// changes what the body names of, a webhook; waits until every alive
  /// member holds the new set or a timeout. 200 {"version", "nodes"}; 400
  /// {"error"} a bad field; 404 mod of an unknown URL; 409 add of a known
  /// one; 507 the set is full.
  virtual void put_webhook(const nlohmann::json& body, Done done) = 0;
  /// POST /v1/webhooks/delete {"url"}: 200 {"version", "nodes"} as above;
  /// 404 an unknown URL.
  virtual void delete_webhook(const std::string& url, Done done) = 0;
  /// POST /v1/webhooks/test {"url", "auth"?, "credential"?}: every alive
  /// member posts a test event to the URL; 200 {"nodes": [{"node",
  /// "state", "ok", "status", "error"}]}; 400 a bad field.
  virtual void test_webhook(const nlohmann::json& body, Done done) = 0;
  /// This node's NATS export (README "NATS export"; seed 004), GET
  /// /v1/export/status: {"nats": null} when no [export.nats] is configured,
  /// else {"nats": the exporter's status (nats/nats_export.h): "url",
  /// "connected", "server", "buffered", "buffer", "published", "acked",
  /// "dropped", "reconnects", "last_error", "last_error_at", "jetstream",
  /// "subject_prefix"}}.
  virtual nlohmann::json export_status() const = 0;
  /// GET /metrics: the Prometheus text exposition (metrics/metrics.h); ""
  /// when the backend keeps no metrics (the route then answers 404).
  virtual std::string metrics() const { return {}; }
  /// One API answer, for vigil_api_requests_total: `route` is the matched
  /// route's path template or "unmatched", `status` the HTTP status.
  virtual void api_request(const std::string& route, int status) {
    (void)route;
    (void)status;
  }
  /// The bus that event streams subscribe to.
  virtual EventBus& bus() = 0;
};

}  // namespace vigil::agent

#endif  // VIGIL_AGENT_API_BACKEND_H_
