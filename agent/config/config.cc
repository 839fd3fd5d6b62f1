#include "agent/config/config.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <initializer_list>
#include <optional>
#include <set>
#include <utility>

#include <toml++/toml.h>

#include "agent/base/file.h"
#include "agent/config/api_table.h"
#include "agent/config/duration.h"
#include "agent/config/http_table.h"
#include "agent/config/node_name.h"
#include "agent/config/toml_reader.h"
#include "agent/events/event_filter.h"
#include "agent/events/event_kinds.h"

namespace vigil::agent {
namespace fs = std::filesystem;

namespace {

// Indexed by the enums of config.h.
constexpr std::string_view kPathTypes[] = {"unicast", "multicast"};
constexpr std::string_view kLogLevels[] = {"trace", "debug", "info", "warn", "error"};
constexpr std::string_view kSplitActions[] = {"disabled", "crash", "reboot"};
constexpr std::string_view kExecKinds[] = {"Exec", "ExecSuccess", "ExecFailed"};
// The longest cluster.rejoin_grace: a day.
constexpr std::chrono::milliseconds kMaxRejoinGrace{24 * 3600 * 1000};

template <std::size_t N>
bool one_of(std::string_view v, const std::string_view (&set)[N]) {
  return std::find(std::begin(set), std::end(set), v) != std::end(set);
}

// The enum value spelled `v` in `set`, which is indexed by the enum.
template <typename Enum, std::size_t N>
Enum enum_of(std::string_view v, const std::string_view (&set)[N]) {
  return static_cast<Enum>(std::find(std::begin(set), std::end(set), v) - std::begin(set));
}

template <std::size_t N>
std::string list_of(const std::string_view (&set)[N]) {
  std::string out;
  for (std::size_t i = 0; i < N; ++i) {
    if (i != 0) out += i + 1 == N ? " or " : ", ";
    out += set[i];
  }
  return out;
}

// Reads one config document; every check names its dotted key.
class Reader : public TomlReader {
 public:
  explicit Reader(const fs::path& source)
      : TomlReader(source), base_dir_(fs::absolute(source).parent_path()) {}

  Config read(const toml::table& root);

 private:
  void read_cluster(const toml::table& t, Config& c) const;
  void read_node(const toml::table& t, Config& c) const;
  HeartbeatPathConfig read_hb(std::string_view id, const toml::table& t, const Config& c) const;
  HookConfig read_hook(std::string_view name, const toml::table& t) const;
  ArbitratorConfig read_arbitrator(std::string_view name, const toml::table& t) const;
  NatsExportConfig read_nats(const toml::table& t) const;

  fs::path base_dir_;
};

Config Reader::read(const toml::table& root) {
  check_keys(root, "",
             {"cluster", "node", "hb", "hook", "arbitrator", "api", "http", "webhooks", "export"});
  Config c;
  c.source = source_;
  // Without [cluster], the node starts standalone, a one-node cluster of
  // itself, until `vigil cluster join` (agent/engine/cluster_file.h).
  const toml::table* cluster = table_at(root, "cluster", "cluster", false);
  c.has_cluster = cluster != nullptr;
  if (cluster) read_cluster(*cluster, c);
  read_node(*table_at(root, "node", "node", true), c);
  if (!c.has_cluster) c.nodes = {c.node_name};

  if (const toml::table* hb = table_at(root, "hb", "hb", false)) {
    std::map<std::string, std::string> listen_owner;  // listen text -> hb id
    for (auto&& [k, v] : *hb) {
      const std::string key = join("hb", k.str());
      if (!v.is_table()) fail(key, "expected a table");
      HeartbeatPathConfig path = read_hb(k.str(), *v.as_table(), c);
      if (path.type == PathType::kUnicast) {
        auto [it, fresh] = listen_owner.emplace(path.listen.text(), key);
        if (!fresh) fail(key + ".listen", "address already used by " + it->second);
      }
      if (path.type == PathType::kUnicast)
        for (const auto& n : c.nodes)
          if (n != c.node_name && !path.peers.contains(n)) path.not_reached.insert(n);
      c.hb.push_back(std::move(path));
    }
  }
  if (c.hb.empty() && c.nodes.size() > 1) {
    fail("hb", "at least one [hb.<id>] heartbeat path is required in a cluster of several nodes");
  }
  // A member no path reaches would stay unknown forever, and count against
  // the quorum of nodes that are alive.
  for (const auto& n : c.nodes) {
    if (n == c.node_name) continue;
    const bool reached = std::any_of(c.hb.begin(), c.hb.end(), [&](const auto& path) {
      return path.type == PathType::kMulticast || path.peers.contains(n);
    });
    if (!reached)
      fail("cluster.nodes", "node '" + n +
                                "' is reached by no heartbeat path: add it to the peers of an "
                                "[hb.<id>] table, or add a multicast path");
  }

  if (const toml::table* hooks = table_at(root, "hook", "hook", false)) {
    for (auto&& [k, v] : *hooks) {
      if (!v.is_table()) fail(join("hook", k.str()), "expected a table");
      c.hooks.push_back(read_hook(k.str(), *v.as_table()));
    }
  }

  if (const toml::table* api = table_at(root, "api", "api", false))
    read_api_table(*this, *api, base_dir_, c.api);
  if (const toml::table* http = table_at(root, "http", "http", false))
    read_http_table(*this, *http, base_dir_, c.api, c.http.emplace());
  if (const toml::table* w = table_at(root, "webhooks", "webhooks", false)) {
    using std::chrono::hours, std::chrono::milliseconds, std::chrono::seconds;
    check_keys(*w, "webhooks", {"queue_max", "timeout", "retry_min", "retry_max", "ca_file"});
    c.webhooks.queue_max = static_cast<std::size_t>(
        integer_at(*w, "queue_max", "webhooks.queue_max", 1, 1'000'000, 10'000));
    bounded_duration_at(*w, "timeout", "webhooks.timeout", milliseconds(100), seconds(60),
                        c.webhooks.timeout);
    bounded_duration_at(*w, "retry_min", "webhooks.retry_min", milliseconds(100), hours(1),
                        c.webhooks.retry_min);
    bounded_duration_at(*w, "retry_max", "webhooks.retry_max", c.webhooks.retry_min, hours(1),
                        c.webhooks.retry_max);
    if (auto ca = string_at(*w, "ca_file", "webhooks.ca_file", false)) {
      c.webhooks.ca_file = *ca;
      if (c.webhooks.ca_file.is_relative()) c.webhooks.ca_file = base_dir_ / c.webhooks.ca_file;
    }
  }

  if (const toml::table* ex = table_at(root, "export", "export", false)) {
    check_keys(*ex, "export", {"nats"});
    if (const toml::table* n = table_at(*ex, "nats", "export.nats", false)) c.nats = read_nats(*n);
  }

  if (const toml::table* arbitrators = table_at(root, "arbitrator", "arbitrator", false)) {
    for (auto&& [k, v] : *arbitrators) {
      if (!v.is_table()) fail(join("arbitrator", k.str()), "expected a table");
      c.arbitrators.push_back(read_arbitrator(k.str(), *v.as_table()));
    }
  }
  return c;
}

// nats://HOST[:PORT] or tls://HOST[:PORT]: HOST a DNS name, an IPv4
// address or a bracketed IPv6 address; no user-info, path or query (the
// credentials are keys of their own). Returns "" or the reason.
std::string parse_nats_url(const std::string& url, NatsExportConfig& n) {
  std::string_view rest = url;
  if (rest.starts_with("nats://")) {
    n.tls = false;
    rest.remove_prefix(7);
  } else if (rest.starts_with("tls://")) {
    n.tls = true;
    rest.remove_prefix(6);
  } else {
    return "expected nats://HOST[:PORT] or tls://HOST[:PORT]";
  }
  if (rest.ends_with("/")) rest.remove_suffix(1);
  if (rest.find_first_of("@/?#") != std::string_view::npos)
    return "expected nats://HOST[:PORT] or tls://HOST[:PORT] (no user-info, path or query: "
           "use token or user/password)";
  std::string_view host, port;
  if (rest.starts_with("[")) {
    const auto close = rest.find(']');
    if (close == std::string_view::npos) return "unclosed '[' in the host";
    host = rest.substr(1, close - 1);
    rest.remove_prefix(close + 1);
    in6_addr a6{};
    if (inet_pton(AF_INET6, std::string(host).c_str(), &a6) != 1)
      return "bad IPv6 address '" + std::string(host) + "'";
    if (!rest.empty() && !rest.starts_with(":")) return "unexpected text after the host";
    if (!rest.empty()) port = rest.substr(1);
  } else {
    const auto colon = rest.find(':');
    host = rest.substr(0, colon);
    if (colon != std::string_view::npos) port = rest.substr(colon + 1);
    if (host.empty()) return "the host is missing";
    if (host.size() > 253) return "the host is longer than 253 characters";
    for (char ch : host) {
      if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '-' || ch == '_'))
        return "bad character in the host '" + std::string(host) + "'";
    }
  }
  if (host.empty()) return "the host is missing";
  n.host = std::string(host);
  n.port = 4222;
  if (!port.empty() || rest.ends_with(":")) {
    if (port.empty() || port.size() > 5 ||
        port.find_first_not_of("0123456789") != std::string_view::npos)
      return "bad port '" + std::string(port) + "'";
    const int p = std::stoi(std::string(port));
    if (p < 1 || p > 65535) return "port out of range (1-65535)";
    n.port = static_cast<uint16_t>(p);
  }
  return "";
}

// A NATS subject made of dot-separated tokens, each of printable ASCII
// without spaces or the wildcards '*' and '>' (NATS client protocol,
// "Protocol conventions"). Returns "" or the reason.
std::string check_subject(std::string_view subject) {
  if (subject.size() > 128) return "longer than 128 characters";
  std::size_t start = 0;
  while (true) {
    const auto dot = subject.find('.', start);
    const std::string_view token = subject.substr(start, dot - start);
    if (token.empty()) return "empty token (a leading, trailing or doubled '.')";
    for (char ch : token) {
      if (ch <= 0x20 || ch >= 0x7f || ch == '*' || ch == '>')
        return "token '" + std::string(token) +
               "' holds a space, a control character or a wildcard ('*', '>')";
    }
    if (dot == std::string_view::npos) return "";
    start = dot + 1;
  }
}

NatsExportConfig Reader::read_nats(const toml::table& t) const {
  check_keys(t, "export.nats",
             {"url", "subject_prefix", "token", "user", "password", "ca_file", "jetstream",
              "buffer", "filter"});
  NatsExportConfig n;
  n.url = *string_at(t, "url", "export.nats.url", true);
  if (std::string why = parse_nats_url(n.url, n); !why.empty()) fail("export.nats.url", why);
  if (auto p = string_at(t, "subject_prefix", "export.nats.subject_prefix", false)) {
    if (std::string why = check_subject(*p); !why.empty())
      fail("export.nats.subject_prefix", "not a NATS subject: " + why);
    n.subject_prefix = *p;
  }
  auto printable = [&](const std::string& v, const char* key) {
    for (char ch : v) {
      if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f)
        fail(key, "must not hold control characters");
    }
  };
  if (auto v = string_at(t, "token", "export.nats.token", false)) n.token = *v;
  if (auto v = string_at(t, "user", "export.nats.user", false)) n.user = *v;
  if (auto v = string_at(t, "password", "export.nats.password", false)) n.password = *v;
  printable(n.token, "export.nats.token");
  printable(n.user, "export.nats.user");
  printable(n.password, "export.nats.password");
  if (!n.token.empty() && (!n.user.empty() || !n.password.empty()))
    fail("export.nats.token", "use token or user/password, not both");
  if (n.user.empty() != n.password.empty())
    fail(n.user.empty() ? "export.nats.user" : "export.nats.password",
         "user and password go together");
  if (auto ca = string_at(t, "ca_file", "export.nats.ca_file", false)) {
    n.ca_file = *ca;
    if (n.ca_file.is_relative()) n.ca_file = base_dir_ / n.ca_file;
  }
  if (const toml::node* js = t.get("jetstream")) {
    if (!js->is_boolean()) fail("export.nats.jetstream", "expected true or false");
    n.jetstream = js->as_boolean()->get();
  }
  n.buffer =
      static_cast<std::size_t>(integer_at(t, "buffer", "export.nats.buffer", 1, 1'000'000, 10'000));
  if (auto filters = strings_at(t, "filter", "export.nats.filter", false)) {
    for (const auto& f : *filters) {
      if (f == "all") {
        if (filters->size() != 1) fail("export.nats.filter", "\"all\" stands alone");
        break;
      }
      try {
        EventFilter::parse(f);
      } catch (const std::exception& e) {
        fail("export.nats.filter", e.what());
      }
      n.filters.push_back(f);
    }
  }
  return n;
}

ArbitratorConfig Reader::read_arbitrator(std::string_view name, const toml::table& t) const {
  const std::string prefix = join("arbitrator", name);
  check_keys(t, prefix, {"uri", "weight", "timeout"});
  ArbitratorConfig a;
  a.name = std::string(name);
  try {
    a.uri = parse_arbitrator_uri(*string_at(t, "uri", prefix + ".uri", true));
  } catch (const std::invalid_argument& e) {
    fail(prefix + ".uri", e.what());
  }
  a.weight = static_cast<uint32_t>(integer_at(t, "weight", prefix + ".weight", 1, 1000, a.weight));
  duration_at(t, "timeout", prefix + ".timeout", a.timeout);
  return a;
}

void Reader::read_cluster(const toml::table& t, Config& c) const {
  check_keys(t, "cluster",
             {"name", "nodes", "secret", "secret_file", "max_skew", "quorum", "rejoin_grace",
              "dissemination"});
  c.cluster_name = *string_at(t, "name", "cluster.name", true);

  c.nodes = *strings_at(t, "nodes", "cluster.nodes", true);
  std::set<std::string_view> seen;
  for (const auto& n : c.nodes) {
    if (!is_node_name(n)) {
      fail("cluster.nodes", "invalid node name '" + n +
                                "' (1-64 letters, digits, '.', '_' or '-', starting with a "
                                "letter or digit)");
    }
    if (!seen.insert(n).second) fail("cluster.nodes", "duplicate node name '" + n + "'");
  }

  const auto secret = string_at(t, "secret", "cluster.secret", false);
  const auto secret_file = string_at(t, "secret_file", "cluster.secret_file", false);
  if (secret && secret_file) {
    fail("cluster.secret_file", "set either cluster.secret or cluster.secret_file, not both");
  }
  if (!secret && !secret_file) {
    fail("cluster.secret", "required key missing (set secret or secret_file)");
  }
  if (secret) {
    try {
      c.secret = crypto::parse_secret_hex(*secret);
    } catch (const std::invalid_argument& e) {
      fail("cluster.secret", e.what());
    }
  } else {
    const fs::path path = resolve(base_dir_, *secret_file);
    FileContents file;
    try {
      file = read_regular_file(path, kMaxSecretFileBytes);
    } catch (const FileError& e) {
      fail("cluster.secret_file", e.what());
    }
    const WipeOnExit wipe{file.text};
    if (const auto problem = secret_mode_problem(file.mode); !problem.empty())
      fail("cluster.secret_file", path.string() + ": " + problem);
    try {
      c.secret = crypto::parse_secret_hex(file.text);
    } catch (const std::invalid_argument& e) {
      fail("cluster.secret_file", path.string() + ": " + e.what());
    }
  }

  duration_at(t, "max_skew", "cluster.max_skew", c.max_skew);
  if (const toml::node* q = t.get("quorum")) {
    if (!q->is_boolean()) fail("cluster.quorum", "expected true or false");
    c.quorum = q->as_boolean()->get();
  }
  if (const toml::node* g = t.get("rejoin_grace")) {
    // "0s" is allowed here: it turns the grace off.
    if (!g->is_string())
      fail("cluster.rejoin_grace", "expected a duration string such as \"90s\" or \"0s\"");
    try {
      c.rejoin_grace = parse_duration(g->as_string()->get());
    } catch (const std::invalid_argument& e) {
      fail("cluster.rejoin_grace", e.what());
    }
    if (c.rejoin_grace > kMaxRejoinGrace)
      fail("cluster.rejoin_grace", format_duration(c.rejoin_grace) + " is out of range 0s-" +
                                       format_duration(kMaxRejoinGrace));
  }
  if (auto d = string_at(t, "dissemination", "cluster.dissemination", false)) {
    if (!one_of(*d, kDisseminationNames))
      fail("cluster.dissemination",
           "unknown mode '" + *d + "' (expected " + list_of(kDisseminationNames) + ")");
    c.dissemination = enum_of<Dissemination>(*d, kDisseminationNames);
  }
}

void Reader::read_node(const toml::table& t, Config& c) const {
  check_keys(t, "node", {"name", "var_dir", "commit_interval", "log_level", "split_action"});
  c.node_name = *string_at(t, "name", "node.name", true);
  if (!c.has_cluster && !is_node_name(c.node_name))
    fail("node.name", "invalid node name '" + c.node_name +
                          "' (1-64 letters, digits, '.', '_' or '-', starting with a letter or "
                          "digit)");
  if (c.has_cluster && std::find(c.nodes.begin(), c.nodes.end(), c.node_name) == c.nodes.end()) {
    fail("node.name", "node '" + c.node_name + "' is not in cluster.nodes");
  }

  c.var_dir = resolve(base_dir_, *string_at(t, "var_dir", "node.var_dir", true));
  // The API socket path must fit in sockaddr_un.sun_path with its NUL.
  if (c.api_socket().native().size() >= sizeof(sockaddr_un{}.sun_path)) {
    fail("node.var_dir", "too long: '" + c.api_socket().string() + "' exceeds the " +
                             std::to_string(sizeof(sockaddr_un{}.sun_path) - 1) +
                             "-byte Unix socket path limit");
  }

  duration_at(t, "commit_interval", "node.commit_interval", c.commit_interval);
  if (auto level = string_at(t, "log_level", "node.log_level", false)) {
    if (!one_of(*level, kLogLevels)) {
      fail("node.log_level",
           "unknown level '" + *level + "' (expected " + list_of(kLogLevels) + ")");
    }
    c.log_level = enum_of<LogLevel>(*level, kLogLevels);
  }
  if (auto action = string_at(t, "split_action", "node.split_action", false)) {
    if (!one_of(*action, kSplitActions)) {
      fail("node.split_action",
           "unknown action '" + *action + "' (expected " + list_of(kSplitActions) + ")");
    }
    c.split_action = enum_of<SplitAction>(*action, kSplitActions);
  }
}

HeartbeatPathConfig Reader::read_hb(std::string_view id, const toml::table& t,
                                    const Config& c) const {
  const std::string prefix = join("hb", id);
  HeartbeatPathConfig hb;
  hb.id = std::string(id);
  const std::string type = *string_at(t, "type", prefix + ".type", true);
  if (!one_of(type, kPathTypes))
    fail(prefix + ".type", "unknown type '" + type + "' (expected " + list_of(kPathTypes) + ")");
  hb.type = enum_of<PathType>(type, kPathTypes);
  if (hb.type == PathType::kMulticast) {
    check_keys(t, prefix, {"type", "addr", "port", "intf", "ttl", "interval", "timeout"});
    if (auto addr = string_at(t, "addr", prefix + ".addr", false)) hb.addr = *addr;
    in_addr group{};
    if (inet_pton(AF_INET, hb.addr.c_str(), &group) != 1 || !IN_MULTICAST(ntohl(group.s_addr)))
      fail(prefix + ".addr", "'" + hb.addr + "' is not an IPv4 multicast group (224.0.0.0/4)");
    hb.port = static_cast<uint16_t>(integer_at(t, "port", prefix + ".port", 1, 65535, hb.port));
    if (auto intf = string_at(t, "intf", prefix + ".intf", false)) hb.intf = *intf;
    hb.ttl = static_cast<int>(integer_at(t, "ttl", prefix + ".ttl", 1, 255, hb.ttl));
    // Every other cluster node listens on the group.
    for (const auto& n : c.nodes)
      if (n != c.node_name) hb.peers.emplace(n, Endpoint{hb.addr, hb.port});
  } else {
    check_keys(t, prefix, {"type", "listen", "peers", "interval", "timeout"});
    const toml::node* listen = t.get("listen");
    if (listen == nullptr) fail(prefix + ".listen", "required key missing");
    hb.listen = endpoint_at(*listen, prefix + ".listen");

    const toml::table* peers = table_at(t, "peers", prefix + ".peers", c.has_cluster);
    if (peers && !c.has_cluster)
      fail(prefix + ".peers",
           "peers need a [cluster] table; a node without one joins with `vigil cluster join`");
    if (peers)
      for (auto&& [k, v] : *peers) {
        const std::string name(k.str());
        const std::string key = join(prefix + ".peers", name);
        if (name == c.node_name) fail(key, "this node cannot be its own peer");
        if (std::find(c.nodes.begin(), c.nodes.end(), name) == c.nodes.end()) {
          fail(key, "node '" + name + "' is not in cluster.nodes");
        }
        hb.peers.emplace(name, endpoint_at(v, key));
      }
  }

  duration_at(t, "interval", prefix + ".interval", hb.interval);
  duration_at(t, "timeout", prefix + ".timeout", hb.timeout);
  if (hb.timeout <= hb.interval) {
    fail(prefix + ".timeout", "must be greater than interval (timeout " +
                                  format_duration(hb.timeout) + ", interval " +
                                  format_duration(hb.interval) + ")");
  }
  return hb;
}

HookConfig Reader::read_hook(std::string_view name, const toml::table& t) const {
  const std::string prefix = join("hook", name);
  check_keys(t, prefix, {"events", "command", "timeout"});
  HookConfig h;
  h.name = std::string(name);

  const std::string events_key = prefix + ".events";
  std::vector<std::string> events;
  if (const toml::node* n = t.get("events"); n != nullptr && n->is_string()) {
    // Seed 002 form: events = "all" or "KindA,KindB".
    std::string_view s = n->as_string()->get();
    while (!s.empty()) {
      const std::size_t comma = s.find(',');
      std::string_view item = s.substr(0, comma);
      while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
      while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
      events.emplace_back(item);
      if (comma == std::string_view::npos) break;
      s.remove_prefix(comma + 1);
    }
    if (events.empty()) fail(events_key, "must not be empty");
  } else {
    events = *strings_at(t, "events", events_key, true);
  }
  for (const auto& kind : events) {
    if (kind == "all") {
      if (events.size() != 1) fail(events_key, "\"all\" cannot be combined with event kinds");
      h.all_events = true;
      continue;
    }
    if (!is_known_kind(kind)) {
      fail(events_key, "unknown event kind '" + kind + "' (the kinds of seed 001, or \"all\")");
    }
    if (one_of(kind, kExecKinds)) {
      fail(events_key, "'" + kind + "' events never trigger hooks (a hook run publishes them)");
    }
    if (std::find(h.events.begin(), h.events.end(), kind) == h.events.end()) {
      h.events.push_back(kind);
    }
  }

  const std::string command_key = prefix + ".command";
  if (const toml::node* n = t.get("command"); n != nullptr && n->is_string()) {
    fail(command_key,
         "expected an array of strings such as [\"/path/to/script\", \"arg\"] (no shell is used)");
  }
  h.command = *strings_at(t, "command", command_key, true);
  if (h.command.front().empty()) fail(command_key, "the program path must not be empty");
  // A relative path with a '/' is taken from this file's directory, so that
  // configs can ship their hooks beside them; a bare name is looked up in
  // PATH when the hook runs.
  std::string& exe = h.command.front();
  if (exe.find('/') != std::string::npos) exe = resolve(base_dir_, exe).string();

  duration_at(t, "timeout", prefix + ".timeout", h.timeout);
  return h;
}

}  // namespace

std::string_view to_string(PathType type) { return kPathTypes[static_cast<int>(type)]; }
std::string_view to_string(LogLevel level) { return kLogLevels[static_cast<int>(level)]; }
std::string_view to_string(SplitAction action) { return kSplitActions[static_cast<int>(action)]; }

namespace {

// The reason `path` cannot be executed, or "" when it can.
std::string not_executable(const fs::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::strerror(errno);
  if (!S_ISREG(st.st_mode)) return "not a regular file";
  if (::access(path.c_str(), X_OK) != 0)
    return std::string("not executable: ") + std::strerror(errno);
  return "";
}

}  // namespace

void check_hook_commands(const Config& config) {
  for (const auto& hook : config.hooks) {
    const std::string key = join("hook", hook.name) + ".command";
    const std::string& exe = hook.command.front();
    if (exe.find('/') != std::string::npos) {
      if (auto why = not_executable(exe); !why.empty())
        throw ConfigError(config.source, key, "'" + exe + "': " + why);
      continue;
    }
    const char* env = std::getenv("PATH");
    std::string_view dirs = env ? env : "/usr/local/bin:/usr/bin:/bin";
    bool found = false;
    while (!found && !dirs.empty()) {
      const std::size_t colon = dirs.find(':');
      const std::string_view dir = dirs.substr(0, colon);
      found = !dir.empty() && not_executable(fs::path(dir) / exe).empty();
      dirs = colon == std::string_view::npos ? std::string_view() : dirs.substr(colon + 1);
    }
    if (!found) throw ConfigError(config.source, key, "'" + exe + "' is not an executable in PATH");
  }
}

bool HookConfig::wants(std::string_view kind) const {
  if (one_of(kind, kExecKinds)) return false;
  return all_events || std::find(events.begin(), events.end(), kind) != events.end();
}

namespace {
std::string config_error_message(const fs::path& file, const std::string& key,
                                 const std::string& reason, uint32_t line, uint32_t column) {
  std::string msg = file.string();
  if (line != 0) msg += ":" + std::to_string(line) + ":" + std::to_string(column);
  if (!key.empty()) msg += ": key '" + key + "'";
  msg += ": " + reason;
  return msg;
}
}  // namespace

ConfigError::ConfigError(const fs::path& file, std::string key, std::string reason, uint32_t line,
                         uint32_t column)
    : std::runtime_error(config_error_message(file, key, reason, line, column)),
      file_(file),
      key_(std::move(key)),
      reason_(std::move(reason)),
      line_(line),
      column_(column) {}

namespace {

toml::table parse_toml(std::string_view toml_text, const fs::path& source) {
  try {
    return toml::parse(toml_text, source.string());
  } catch (const toml::parse_error& e) {
    throw ConfigError(source, "", std::string(e.description()), e.source().begin.line,
                      e.source().begin.column);
  }
}

}  // namespace

Config parse_config(std::string_view toml_text, const fs::path& source) {
  return Reader(source).read(parse_toml(toml_text, source));
}

Config load_config(const fs::path& file) {
  FileContents contents;
  try {
    contents = read_regular_file(file, kMaxConfigFileBytes);
  } catch (const FileError& e) {
    throw ConfigError(file, "", e.reason());
  }
  const WipeOnExit wipe{contents.text};
  const toml::table root = parse_toml(contents.text, file);
  // A secret written in the file makes the file a secret.
  if (const auto problem = secret_mode_problem(contents.mode); !problem.empty()) {
    for (const char* key : {"cluster.secret", "api.admin_key", "api.user_key", "http.user_key"}) {
      if (root.at_path(key))
        throw ConfigError(file, key, "holds a secret, so the file must be private: " + problem);
    }
  }
  return Reader(file).read(root);
}

}  // namespace vigil::agent
