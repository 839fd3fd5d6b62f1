// Internal to agent/metrics: the families read from the daemon's status
// documents at scrape time (metrics.h, MetricsSnapshot).
#ifndef VIGIL_AGENT_METRICS_STATE_METRICS_H_
#define VIGIL_AGENT_METRICS_STATE_METRICS_H_

#include <vector>

#include <prometheus/metric_family.h>

#include "agent/metrics/metrics.h"

namespace vigil::agent {

/// vigil_heartbeat_{sent,received}_{datagrams,bytes}_total{path,peer},
/// vigil_heartbeat_dropped_datagrams_total{path,reason},
/// vigil_heartbeat_kernel_dropped_datagrams_total{path},
/// vigil_heartbeat_send_errors_total{path}, vigil_path_up{path,type},
/// vigil_peer_path_up{peer,path}, vigil_peer_last_heard_seconds{peer,path},
/// vigil_peer_up{peer}, vigil_node_gen{node}, vigil_quorum_votes{kind},
/// vigil_quorum_held, vigil_secret_version, vigil_secret_rotating,
/// vigil_webhook_*{url}, vigil_nats_*. A field missing or of another type
/// leaves its sample out; never throws but std::bad_alloc.
std::vector<prometheus::MetricFamily> state_families(const MetricsSnapshot& snapshot);

}  // namespace vigil::agent

#endif  // VIGIL_AGENT_METRICS_STATE_METRICS_H_
