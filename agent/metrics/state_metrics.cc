#include "agent/metrics/state_metrics.h"

#include <algorithm>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

namespace vigil::agent {

using json = nlohmann::json;
using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

namespace {

using Labels = std::vector<ClientMetric::Label>;

// A family filled sample by sample; numbers only (a field of another type
// is skipped).
class Family {
 public:
  Family(std::string name, std::string help, MetricType type)
      : f_{std::move(name), std::move(help), type, {}} {}

  void add(Labels labels, const json& value) {
    if (value.is_boolean()) return add(std::move(labels), value.get<bool>() ? 1.0 : 0.0);
    if (value.is_number()) add(std::move(labels), value.get<double>());
  }
  void add(Labels labels, double value) {
    std::sort(labels.begin(), labels.end());  // one order in every sample: by name
    ClientMetric m;
    m.label = std::move(labels);
    if (f_.type == MetricType::Counter)
      m.counter.value = value;
    else
      m.gauge.value = value;
    f_.metric.push_back(std::move(m));
  }
  void into(std::vector<MetricFamily>& out) {
    if (!f_.metric.empty()) out.push_back(std::move(f_));
  }

 private:
  MetricFamily f_;
};

const json& field(const json& j, const char* key) {
  static const json null;
  if (!j.is_object()) return null;
  auto it = j.find(key);
  return it == j.end() ? null : *it;
}

std::string text(const json& j) { return j.is_string() ? j.get<std::string>() : std::string(); }

void paths(const json& hb, const std::string& self, std::vector<MetricFamily>& out) {
  Family sent_dgrams("vigil_heartbeat_sent_datagrams_total",
                     "Datagrams sent, by heartbeat path and peer (peer \"*\": a multicast "
                     "group)",
                     MetricType::Counter);
  Family sent_bytes("vigil_heartbeat_sent_bytes_total",
                    "Bytes sent (UDP payload), by heartbeat path and peer", MetricType::Counter);
  Family recv_dgrams("vigil_heartbeat_received_datagrams_total",
                     "Datagrams received and accepted, by heartbeat path and sender",
                     MetricType::Counter);
  Family recv_bytes("vigil_heartbeat_received_bytes_total",
                    "Bytes received and accepted (UDP payload), by heartbeat path and sender",
                    MetricType::Counter);
  Family dropped("vigil_heartbeat_dropped_datagrams_total",
                 "Datagrams dropped by vigil's checks, by heartbeat path and reason",
                 MetricType::Counter);
  Family kernel("vigil_heartbeat_kernel_dropped_datagrams_total",
                "Datagrams the kernel dropped at the socket's receive buffer (SO_RXQ_OVFL)",
                MetricType::Counter);
  Family errors("vigil_heartbeat_send_errors_total", "Sends that failed, by heartbeat path",
                MetricType::Counter);
  Family up("vigil_path_up", "1 when the heartbeat path's socket is open, 0 while it retries",
            MetricType::Gauge);
  Family peer_path("vigil_peer_path_up",
                   "1 when the peer is alive on the heartbeat path (this node's view)",
                   MetricType::Gauge);
  Family heard("vigil_peer_last_heard_seconds",
               "Seconds since the peer was last heard on the heartbeat path", MetricType::Gauge);
  const json& list = field(hb, "paths");
  if (!list.is_array()) return;
  for (const auto& p : list) {
    const std::string id = text(field(p, "id"));
    if (id.empty()) continue;
    up.add({{"path", id}, {"type", text(field(p, "type"))}}, field(p, "up"));
    kernel.add({{"path", id}}, field(p, "kernel_drops"));
    errors.add({{"path", id}}, field(p, "send_errors"));
    if (const json& d = field(p, "dropped"); d.is_object())
      for (const auto& [reason, n] : d.items()) dropped.add({{"path", id}, {"reason", reason}}, n);
    if (const json& s = field(p, "sent"); s.is_object())
      for (const auto& [peer, c] : s.items()) {
        sent_dgrams.add({{"path", id}, {"peer", peer}}, field(c, "datagrams"));
        sent_bytes.add({{"path", id}, {"peer", peer}}, field(c, "bytes"));
      }
    if (const json& peers = field(p, "peers"); peers.is_object())
      for (const auto& [peer, c] : peers.items()) {
        if (peer == self) continue;
        recv_dgrams.add({{"path", id}, {"peer", peer}}, field(c, "received_datagrams"));
        recv_bytes.add({{"path", id}, {"peer", peer}}, field(c, "received_bytes"));
        peer_path.add({{"peer", peer}, {"path", id}},
                      text(field(c, "state")) == "alive" ? 1.0 : 0.0);
        if (const json& ms = field(c, "last_heard_ms"); ms.is_number())
          heard.add({{"peer", peer}, {"path", id}}, ms.get<double>() / 1000.0);
      }
  }
  for (auto* f : {&sent_dgrams, &sent_bytes, &recv_dgrams, &recv_bytes, &dropped, &kernel, &errors,
                  &up, &peer_path, &heard})
    f->into(out);
}

void key(const json& hb, std::vector<MetricFamily>& out) {
  const json& k = field(hb, "key");
  Family version("vigil_secret_version", "The version of the cluster secret this node seals with",
                 MetricType::Gauge);
  version.add({}, field(k, "current"));
  version.into(out);
  Family rotating("vigil_secret_rotating", "1 while a secret rotation is under way",
                  MetricType::Gauge);
  rotating.add({}, field(k, "rotating"));
  rotating.into(out);
}

void dataset(const json& ds, const std::string& self, std::vector<MetricFamily>& out) {
  Family up("vigil_peer_up", "1 when the peer node is alive (this node's view), 0 otherwise",
            MetricType::Gauge);
  Family gen("vigil_node_gen", "The gen of each node's document held here", MetricType::Gauge);
  if (const json& peers = field(ds, "peers"); peers.is_object())
    for (const auto& [name, p] : peers.items()) {
      gen.add({{"node", name}}, field(p, "gen"));
      if (name != self) up.add({{"peer", name}}, text(field(p, "state")) == "alive" ? 1.0 : 0.0);
    }
  up.into(out);
  gen.into(out);
  const json& quorum = field(field(ds, "cluster"), "quorum");
  Family votes("vigil_quorum_votes",
               "Split analysis votes: present (alive nodes and reachable arbitrators), total, "
               "needed (a strict majority)",
               MetricType::Gauge);
  if (const json& v = field(quorum, "votes"); v.is_object())
    for (const char* kind : {"present", "total", "needed"})
      votes.add({{"kind", kind}}, field(v, kind));
  votes.into(out);
  Family held("vigil_quorum_held", "1 when this node's partition holds the quorum",
              MetricType::Gauge);
  held.add({}, field(quorum, "has_quorum"));
  held.into(out);
}

void webhooks(const json& list, std::vector<MetricFamily>& out) {
  Family queued("vigil_webhook_queued_events", "Events queued for the webhook on this node",
                MetricType::Gauge);
  Family deliveries("vigil_webhook_deliveries_total",
                    "Delivery attempts of this node, by webhook and result (delivered, failed)",
                    MetricType::Counter);
  Family dropped("vigil_webhook_dropped_events_total",
                 "Events dropped because the webhook's queue was full", MetricType::Counter);
  if (!list.is_array()) return;
  for (const auto& w : list) {
    const std::string url = text(field(w, "url"));
    if (url.empty()) continue;
    queued.add({{"url", url}}, field(w, "queued"));
    deliveries.add({{"url", url}, {"result", "delivered"}}, field(w, "delivered"));
    deliveries.add({{"url", url}, {"result", "failed"}}, field(w, "failed"));
    dropped.add({{"url", url}}, field(w, "dropped"));
  }
  for (auto* f : {&queued, &deliveries, &dropped}) f->into(out);
}

void nats(const json& s, std::vector<MetricFamily>& out) {
  struct {
    const char* name;
    const char* key;
    const char* help;
    MetricType type;
  } const rows[] = {
      {"vigil_nats_connected", "connected", "1 while connected to the NATS server",
       MetricType::Gauge},
      {"vigil_nats_buffered_events", "buffered", "Events held for publication", MetricType::Gauge},
      {"vigil_nats_published_events_total", "published",
       "Events the server proved it received (a PONG or a JetStream ack after them)",
       MetricType::Counter},
      {"vigil_nats_acked_events_total", "acked", "Events a JetStream stream stored",
       MetricType::Counter},
      {"vigil_nats_dropped_events_total", "dropped", "Events dropped: the buffer was full",
       MetricType::Counter},
      {"vigil_nats_reconnects_total", "reconnects", "Connections made again after a loss",
       MetricType::Counter},
  };
  for (const auto& r : rows) {
    Family f(r.name, r.help, r.type);
    f.add({}, field(s, r.key));
    f.into(out);
  }
}

}  // namespace

std::vector<MetricFamily> state_families(const MetricsSnapshot& s) {
  std::vector<MetricFamily> out;
  if (s.hb) {
    paths(*s.hb, s.self, out);
    key(*s.hb, out);
  }
  if (s.dataset) dataset(*s.dataset, s.self, out);
  if (s.webhooks) webhooks(*s.webhooks, out);
  if (s.nats && s.nats->is_object()) nats(*s.nats, out);
  return out;
}

}  // namespace vigil::agent
