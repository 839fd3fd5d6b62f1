#include "agent/events/event_kinds.h"

#include <algorithm>
#include <iterator>

namespace vigil::agent {

namespace {

// Seed 001, "Event Kinds", in its order.
constexpr std::string_view kKinds[] = {
    // Cluster
    "ClusterConfigUpdated", "ClusterStatusUpdated", "JoinError", "JoinIgnored", "JoinRequest",
    "JoinSuccess", "LeaveError", "LeaveIgnored", "LeaveRequest", "LeaveSuccess", "ArbitratorError",
    "ForgetPeer",
    // Config file updates
    "ConfigFileRemoved", "ConfigFileUpdated", "RemoteFileConfig",
    // Daemon
    "DaemonCollectorUpdated", "DaemonCtl", "DaemonDataUpdated", "DaemonDnsUpdated",
    "DaemonHeartbeatUpdated", "DaemonListenerUpdated", "DaemonRunnerImonUpdated",
    "DaemonSchedulerUpdated", "DaemonStatusUpdated", "WatchDog",
    // DNS
    "ZoneRecordDeleted", "ZoneRecordUpdated",
    // Execs
    "Exec", "ExecFailed", "ExecSuccess",
    // Heartbeat
    "HeartbeatMessageTypeUpdated", "HeartbeatAlive", "HeartbeatStale", "HeartbeatRotateRequest",
    "HeartbeatRotateSuccess", "HeartbeatRotateError", "HeartbeatSecretUpdated",
    // Instance
    "InstanceConfigDeleted", "InstanceConfigManagerDone", "InstanceConfigUpdated",
    "InstanceFrozenFileRemoved", "InstanceFrozenFileUpdated", "InstanceMonitorAction",
    "InstanceMonitorDeleted", "InstanceMonitorUpdated", "InstanceStatusDeleted",
    "InstanceStatusPost", "InstanceStatusUpdated", "ProgressInstanceMonitor",
    "SetInstanceMonitorRefused", "RunFileUpdated", "RunFileRemoved", "SetInstanceMonitor",
    // Node
    "NodeAlive", "NodeStale", "NodeConfigUpdated", "NodeDataUpdated", "NodeFrozen",
    "NodeFrozenFileRemoved", "NodeFrozenFileUpdated", "NodeMonitorDeleted", "NodeMonitorUpdated",
    "NodeOsPathsUpdated", "NodePoolStatusUpdated", "NodePoolStatusDeleted", "NodeRejoin",
    "NodeSplitAction", "NodeStatsUpdated", "NodeStatusUpdated", "NodeStatusArbitratorsUpdated",
    "NodeStatusGenUpdates", "NodeStatusLabelsUpdated", "SetNodeMonitor",
    // Object
    "ObjectOrchestrationAccepted", "ObjectOrchestrationEnd", "ObjectOrchestrationRefused",
    "ObjectStatusDeleted", "ObjectStatusDone", "ObjectStatusUpdated",
    // Event subscription
    "ClientSubscribed", "ClientUnsubscribed", "SubscriptionError", "SubscriptionQueueThreshold",
    // Misc
    "Log"};

}  // namespace

bool is_known_kind(std::string_view kind) {
  return std::find(std::begin(kKinds), std::end(kKinds), kind) != std::end(kKinds);
}

}  // namespace vigil::agent
