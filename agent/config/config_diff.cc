#include "agent/config/config_diff.h"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

namespace vigil::agent {

namespace {

bool same_hook(const HookConfig& a, const HookConfig& b) {
  return std::tie(a.name, a.events, a.all_events, a.command, a.timeout) ==
         std::tie(b.name, b.events, b.all_events, b.command, b.timeout);
}

bool same_arbitrator(const ArbitratorConfig& a, const ArbitratorConfig& b) {
  return std::tie(a.name, a.weight, a.timeout) == std::tie(b.name, b.weight, b.timeout) &&
         a.uri.text() == b.uri.text();
}

// Tables by name: "<prefix>.<name>" for each one added, removed or changed.
template <typename T, typename Same>
void diff_tables(const std::vector<T>& a, const std::vector<T>& b, const std::string& prefix,
                 Same same, std::vector<std::string>& out) {
  std::map<std::string, const T*> left, right;
  for (const auto& x : a) left[x.name] = &x;
  for (const auto& x : b) right[x.name] = &x;
  for (const auto& [name, x] : left) {
    auto it = right.find(name);
    if (it == right.end() || !same(*x, *it->second)) out.push_back(prefix + "." + name);
  }
  for (const auto& [name, x] : right)
    if (!left.contains(name)) out.push_back(prefix + "." + name);
}

void diff_paths(const std::vector<HeartbeatPathConfig>& a,
                const std::vector<HeartbeatPathConfig>& b, std::vector<std::string>& changed,
                std::vector<RefusedKey>& out) {
  std::map<std::string, const HeartbeatPathConfig*> left, right;
  for (const auto& p : a) left[p.id] = &p;
  for (const auto& p : b) right[p.id] = &p;
  for (const auto& [id, p] : left)
    if (!right.contains(id)) out.push_back({"hb." + id, kNeedsRestart});
  for (const auto& [id, next] : right) {
    auto it = left.find(id);
    if (it == left.end()) {
      out.push_back({"hb." + id, kNeedsRestart});
      continue;
    }
    const HeartbeatPathConfig &p = *it->second, &q = *next;
    const std::string k = "hb." + id + ".";
    if (p.type != q.type) out.push_back({k + "type", kNeedsRestart});
    if (p.listen != q.listen) out.push_back({k + "listen", kNeedsRestart});
    if (p.peers != q.peers || p.not_reached != q.not_reached) changed.push_back(k + "peers");
    if (p.addr != q.addr) out.push_back({k + "addr", kNeedsRestart});
    if (p.port != q.port) out.push_back({k + "port", kNeedsRestart});
    if (p.intf != q.intf) out.push_back({k + "intf", kNeedsRestart});
    if (p.ttl != q.ttl) out.push_back({k + "ttl", kNeedsRestart});
    if (p.interval != q.interval) changed.push_back(k + "interval");
    if (p.timeout != q.timeout) changed.push_back(k + "timeout");
  }
}

void diff_api(const ApiConfig& a, const ApiConfig& b, std::vector<std::string>& changed,
              std::vector<RefusedKey>& refused) {
  if (a.listen != b.listen) refused.push_back({"api.listen", kNeedsRestart});
  if (a.tls_cert != b.tls_cert) refused.push_back({"api.tls_cert", kNeedsRestart});
  if (a.tls_key != b.tls_key) refused.push_back({"api.tls_key", kNeedsRestart});
  if (a.admin_key != b.admin_key) changed.push_back("api.admin_key");
  if (a.user_key != b.user_key) changed.push_back("api.user_key");
  const ApiLimits &x = a.limits, &y = b.limits;
  if (x.max_body_bytes != y.max_body_bytes) changed.push_back("api.max_body_bytes");
  if (x.max_depth != y.max_depth) changed.push_back("api.max_depth");
  if (x.max_connections_tcp != y.max_connections_tcp) changed.push_back("api.max_connections_tcp");
  if (x.max_connections_unix != y.max_connections_unix)
    changed.push_back("api.max_connections_unix");
  if (x.max_waits != y.max_waits) changed.push_back("api.max_waits");
  if (x.max_subscribers != y.max_subscribers) changed.push_back("api.max_subscribers");
  if (x.request_timeout != y.request_timeout) changed.push_back("api.request_timeout");
  if (x.max_token_lifetime != y.max_token_lifetime) changed.push_back("api.max_token_lifetime");
}

// [http]: the listener is bound once, at start, with its TLS files and
// key; any change needs a restart.
void diff_http(const std::optional<HttpConfig>& x, const std::optional<HttpConfig>& y,
               std::vector<RefusedKey>& refused) {
  auto refuse = [&](const char* key) { refused.push_back({key, kNeedsRestart}); };
  if (!x || !y) {
    if (x.has_value() != y.has_value()) refuse("http");
    return;
  }
  if (x->listen != y->listen) refuse("http.listen");
  if (x->tls_cert != y->tls_cert) refuse("http.tls_cert");
  if (x->tls_key != y->tls_key) refuse("http.tls_key");
  if (x->user_key != y->user_key) refuse("http.user_key");
}

// [export.nats]: the exporter holds its connection and buffer from the
// start; any change needs a restart.
void diff_nats(const std::optional<NatsExportConfig>& x, const std::optional<NatsExportConfig>& y,
               std::vector<RefusedKey>& refused) {
  auto refuse = [&](const char* key) { refused.push_back({key, kNeedsRestart}); };
  if (!x || !y) {
    if (x.has_value() != y.has_value()) refuse("export.nats");
    return;
  }
  if (x->url != y->url) refuse("export.nats.url");
  if (x->subject_prefix != y->subject_prefix) refuse("export.nats.subject_prefix");
  if (x->token != y->token) refuse("export.nats.token");
  if (x->user != y->user) refuse("export.nats.user");
  if (x->password != y->password) refuse("export.nats.password");
  if (x->ca_file != y->ca_file) refuse("export.nats.ca_file");
  if (x->jetstream != y->jetstream) refuse("export.nats.jetstream");
  if (x->buffer != y->buffer) refuse("export.nats.buffer");
  if (x->filters != y->filters) refuse("export.nats.filter");
}

}  // namespace

ConfigDiff diff_configs(const Config& running, const Config& next) {
  ConfigDiff d;
  auto refuse_if = [&](bool differs, const char* key) {
    if (differs) d.refused.push_back({key, kNeedsRestart});
  };
  refuse_if(running.cluster_name != next.cluster_name, "cluster.name");
  refuse_if(running.nodes != next.nodes, "cluster.nodes");
  refuse_if(running.secret != next.secret, "cluster.secret");
  refuse_if(running.max_skew != next.max_skew, "cluster.max_skew");
  refuse_if(running.rejoin_grace != next.rejoin_grace, "cluster.rejoin_grace");
  refuse_if(running.dissemination != next.dissemination, "cluster.dissemination");
  refuse_if(running.node_name != next.node_name, "node.name");
  refuse_if(running.var_dir != next.var_dir, "node.var_dir");
  refuse_if(running.commit_interval != next.commit_interval, "node.commit_interval");
  diff_paths(running.hb, next.hb, d.changed, d.refused);
  diff_api(running.api, next.api, d.changed, d.refused);
  diff_http(running.http, next.http, d.refused);
  refuse_if(running.webhooks.queue_max != next.webhooks.queue_max, "webhooks.queue_max");
  refuse_if(running.webhooks.timeout != next.webhooks.timeout, "webhooks.timeout");
  refuse_if(running.webhooks.retry_min != next.webhooks.retry_min, "webhooks.retry_min");
  refuse_if(running.webhooks.retry_max != next.webhooks.retry_max, "webhooks.retry_max");
  refuse_if(running.webhooks.ca_file != next.webhooks.ca_file, "webhooks.ca_file");
  diff_nats(running.nats, next.nats, d.refused);

  if (running.quorum != next.quorum) d.changed.push_back("cluster.quorum");
  if (running.split_action != next.split_action) d.changed.push_back("node.split_action");
  if (running.log_level != next.log_level) d.changed.push_back("node.log_level");
  diff_tables(running.hooks, next.hooks, "hook", same_hook, d.changed);
  diff_tables(running.arbitrators, next.arbitrators, "arbitrator", same_arbitrator, d.changed);

  std::sort(d.changed.begin(), d.changed.end());
  d.changed.erase(std::unique(d.changed.begin(), d.changed.end()), d.changed.end());
  std::sort(d.refused.begin(), d.refused.end(),
            [](const RefusedKey& a, const RefusedKey& b) { return a.key < b.key; });
  return d;
}

void throw_if_refused(const ConfigDiff& diff, const std::filesystem::path& file) {
  if (diff.refused.empty()) return;
  std::string reason = diff.refused.front().reason;
  for (std::size_t i = 1; i < diff.refused.size(); ++i)
    reason += "; key '" + diff.refused[i].key + "': " + diff.refused[i].reason;
  throw ConfigError(file, diff.refused.front().key, reason);
}

}  // namespace vigil::agent
