// Prometheus metrics of the daemon, in the text exposition format 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/), with the
// naming conventions of https://prometheus.io/docs/practices/naming/: the
// `vigil_` prefix, `_total` on counters, base units (seconds, bytes), and
// the standard `process_*` names. The Heketi model (seed 003) serves them at
// GET /metrics.
//
// Two kinds of families:
//   - counted as things happen, on the daemon's thread: events by kind,
//     hook runs by hook and result with a duration histogram (both from the
//     event bus: see count_event() and hook_run()), API requests by route and status;
//   - read at scrape time from the daemon's own status documents (the
//     snapshot below), so that they can never drift from what
//     `vigil hb status` and `vigil daemon status` show: datagrams and bytes
//     per path and peer, drops, peer and path states, quorum, the secret
//     version, gens, webhook and NATS deliveries; and the process figures
//     from /proc/self.
// The metric names and labels are listed in the README ("Metrics").
// Not thread-safe: one io_context thread owns it, like the daemon's state.
#ifndef VIGIL_AGENT_METRICS_METRICS_H_
#define VIGIL_AGENT_METRICS_METRICS_H_

#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

namespace vigil::agent {

struct Event;

/// The daemon's status documents at scrape time; a null pointer leaves its
/// families out.
struct MetricsSnapshot {
  /// Engine::hb_status(): {paths: [{id, type, up, sent_datagrams,
  /// sent_bytes, received_datagrams, received_bytes, send_errors,
  /// kernel_drops, dropped: {reason: n}, sent: {peer: {datagrams, bytes}},
  /// peers: {name: {state, received_datagrams, received_bytes,
  /// last_heard_ms}}}], key: {current, rotating}}.
  const nlohmann::json* hb = nullptr;
  /// The cluster dataset (engine/dataset.h): .cluster.quorum, .peers.
  const nlohmann::json* dataset = nullptr;
  /// The local node's name: left out of the per-peer families.
  std::string self;
  /// WebhookDeliveries::status(): [{url, queued, delivered, failed,
  /// dropped}].
  const nlohmann::json* webhooks = nullptr;
  /// nats::Exporter::status(), or null without [export.nats].
  const nlohmann::json* nats = nullptr;
};

class Metrics {
 public:
  /// `version` goes to vigil_build_info{version}.
  explicit Metrics(const std::string& version);
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  /// An event of the bus, by kind (vigil_events_total): the bus's counter
  /// (EventBus::count), which sees every event, delivered to someone or not.
  void count_event(std::string_view kind);

  /// An ExecSuccess or ExecFailed event (a listener of those kinds): counts
  /// a hook run by hook and result (success, failure, timeout, not_started)
  /// and observes its data.duration_ms in vigil_hook_duration_seconds.
  /// Other kinds are ignored.
  void hook_run(const Event& e);

  /// One API answer: `route` is the route's path template ("/v1/status",
  /// "/v1/queue/<id>"), or "unmatched"; `status` the HTTP status.
  void api_request(const std::string& route, int status);

  /// The whole exposition: the counted families, the snapshot's, and the
  /// process figures. Never throws but std::bad_alloc: a snapshot field of
  /// an unexpected type is skipped.
  std::string expose(const MetricsSnapshot& snapshot) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vigil::agent

#endif  // VIGIL_AGENT_METRICS_METRICS_H_
