// The daemon API as a whole: the listeners (api/api_server.h), the router
// table of every route (api/router.h), waits (api/waits.h) and event streams
// (api/event_stream.h), over an ApiBackend (api/backend.h).
//
//   route                    role   body
//   GET  /                   user   none            the web status page (status_page.h)
//   GET  /v1/status          user   none            the cluster dataset
//   GET  /v1/hb              user   none            heartbeat status
//   GET|POST /v1/events      user   {filters?: [s]} SSE stream (seed 001 filters); also
//                                                   ?filter=<expr> (repeatable), OR'ed
//   POST /v1/wait            user   {filter: s, duration_ms: 1..86400000}
//   POST /v1/hb/rotate       admin  {secret?: s}    64 hex digits; random when absent (*)
//   POST /v1/node/join       admin  {token, seed, timeout_ms?}                          (*)
//   POST /v1/cluster/join    join   {name, paths}   the seed's admission: synchronous
//   POST /v1/cluster/leave   admin  {timeout_ms?}                                       (*)
//   POST /v1/cluster/forget  admin  {node: s}                                           (*)
//   POST /v1/webhooks/test   admin  {url, auth?, credential?}                           (*)
//   GET  /v1/queue/<id>[/result]  user  none        an operation (api/operations.h)
//   POST /v1/node/patch      admin  [RFC 6902 ops]
//   POST /v1/node/set        admin  {path: s, value: any}
//   POST /v1/node/freeze     admin  none
//   POST /v1/node/unfreeze   admin  none
//   POST /v1/daemon/reload   admin  none            200 {changed: [keys]}; 400 {error}
//
// (*) An asynchronous operation (seed 003): once its body is checked (400
// at once otherwise), 202 {"id", "op", "location"} with Location:
// /v1/queue/<id>; the work's own answer is then read there.
// Errors are JSON {"error": "..."} (400 adds "field"), with the statuses of
// api/router.h, plus 503 when a limit of ApiLimits is reached, or 1,000
// operations run.
#ifndef VIGIL_AGENT_API_SERVICE_H_
#define VIGIL_AGENT_API_SERVICE_H_

#include <memory>

#include <boost/asio/io_context.hpp>

#include "agent/api/api_server.h"
#include "agent/api/backend.h"
#include "agent/config/config.h"

namespace vigil::agent {

class ApiService {
 public:
  /// Builds the routes over `backend`; nothing is bound yet. `config` and
  /// `backend` must outlive the service.
  ApiService(boost::asio::io_context& io, const Config& config, ApiBackend& backend);
  ~ApiService();
  ApiService(const ApiService&) = delete;
  ApiService& operator=(const ApiService&) = delete;

  /// Binds the Unix socket, the TLS listener when [api] listen is set, and
  /// the read-only HTTP listener when there is an [http] table.
  /// Throws std::system_error when either cannot be bound or loaded.
  void start();
  /// Stops accepting and removes the socket file.
  void stop();
  /// The dataset may have changed: waits are tested again.
  void dataset_changed();
  /// A config reload: the JWT keys (admin_key, user_key) and the limits of
  /// `api` apply to the next requests and connections; its listen and TLS
  /// files are not read (they need a restart). Never throws but
  /// std::bad_alloc.
  void reconfigure(const ApiConfig& api);

  /// Answers one request as a listener would hand it over: admitted from its
  /// headers, then dispatched. For tests and the router fuzzer, which bring
  /// their own exchange; never throws.
  void handle(const std::shared_ptr<ApiExchange>& ex);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vigil::agent

#endif  // VIGIL_AGENT_API_SERVICE_H_
