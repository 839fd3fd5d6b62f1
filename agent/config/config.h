// The daemon's TOML configuration, one file per node (DESIGN "Config").
//
//   [cluster]                           # optional: without it, the node starts standalone and
//                                       #   joins with `vigil cluster join` (README "Joining")
//   name = "demo"                       # required
//   nodes = ["n1", "n2", "n3"]          # required, non-empty, unique
//   secret = "<64 hex digits>"          # exactly one of secret / secret_file;
//   secret_file = "secret.hex"          #   a relative path is relative to this file's directory
//   max_skew = "30s"                    # optional
//   quorum = false                      # optional: split analysis when a peer goes stale
//   rejoin_grace = "90s"                # optional: after a start, split analysis waits until
//                                       #   every member was heard or this ran out; "0s": off
//   dissemination = "auto"              # auto | mesh | gossip: auto is mesh up to 32 members,
//                                       #   gossip above; every member must use the same mode
//
//   [node]
//   name = "n1"                         # required, one of cluster.nodes
//   var_dir = "/var/lib/vigil"          # required; state and <var_dir>/api.sock; mode 0700
//   commit_interval = "100ms"           # optional
//   log_level = "info"                  # trace | debug | info | warn | error
//   split_action = "disabled"           # crash | reboot | disabled
//
//   [hb.<id>]                           # one table per heartbeat path
//   type = "unicast"                    # required: unicast | multicast
//   listen = "127.0.0.1:10001"          # unicast, required: IPv4:port or [IPv6]:port
//   peers = { n2 = "127.0.0.2:10001" }  # unicast, required with [cluster] (absent without):
//                                       #   other cluster nodes only
//   addr = "224.3.29.71"                # multicast: IPv4 group (default 224.3.29.71)
//   port = 10000                        # multicast: UDP port (default 10000)
//   intf = "eth0"                       # multicast: interface name or local IPv4 address
//   ttl = 1                             # multicast: 1-255 (default 1)
//   interval = "500ms"                  # optional
//   timeout = "2s"                      # optional, greater than interval
//
//   [hook.<name>]
//   events = ["NodeStale", "NodeAlive"] # or ["all"]; required, non-empty
//   command = ["/path/to/script", "arg"]# required, non-empty; run without a shell
//   timeout = "30s"                     # optional
//
//   [api]                               # optional: limits, and the TCP listener (TLS + JWT,
//                                       #   agent/api/jwt.h)
//   listen = "127.0.0.1:1215"           # IPv4:port or [IPv6]:port; without it, no TCP listener
//   tls_cert = "api.crt"                # required with listen: PEM chain; relative to this file
//   tls_key = "api.key"                 # required with listen: PEM private key
//   admin_key = "..."                   # HS256 key of iss=admin tokens (every route)
//   user_key = "..."                    # HS256 key of iss=user tokens (read-only routes)
//                                       # with listen: at least one of the two keys; each at
//                                       #   least 32 bytes (RFC 7518 3.2), and the two differ
//                                       # tls_cert, tls_key, admin_key, user_key need listen;
//                                       #   the limits below do not (they govern both the
//                                       #   Unix socket and the TCP listener):
//   max_body_bytes = 1048576            # request body, bytes (default 1 MiB; 1 KiB-64 MiB)
//   max_depth = 64                      # JSON nesting of a body, filter or value (default 64;
//                                       #   8-1024)
//   max_connections_tcp = 64            # open TLS connections (default 64; 1-65536)
//   max_connections_unix = 256          # open Unix-socket connections (default 256; 1-65536)
//   max_waits = 256                     # concurrent POST /v1/wait (default 256; 1-65536)
//   max_subscribers = 64                # concurrent event streams (default 64; 1-65536)
//   request_timeout = "10s"             # TLS handshake plus request headers and body
//                                       #   (default 10s; 100ms-10m)
//   max_token_lifetime = "10m"          # largest JWT exp - iat accepted (default 10m; 1s-24h)
//
//   [http]                              # optional: the read-only HTTP listener (status page,
//                                       #   /metrics, GET /v1/status, /v1/hb, /v1/events);
//                                       #   without the table, no listener
//   listen = "127.0.0.1:9464"           # the default; without TLS, a loopback address only
//   tls_cert = "http.crt"               # tls_cert, tls_key and user_key go together: then any
//   tls_key = "http.key"                #   address, and every request needs a user JWT
//   user_key = "..."                    # HS256 key of iss=user tokens (agent/api/jwt.h), at
//                                       #   least 32 bytes, not api.admin_key
//
//   [arbitrator.<name>]                 # votes in split analysis (membership/quorum.h)
//   uri = "tcp://192.0.2.10:1234"       # required: tcp://HOST:PORT or http://HOST[:PORT]/PATH
//   weight = 1                          # optional, 1-1000 votes
//   timeout = "1s"                      # optional: bounds one reachability check
//
//   [export.nats]                       # optional: events exported to a NATS server (seed 004)
//   url = "nats://127.0.0.1:4222"       # required: nats://HOST[:PORT] or tls://HOST[:PORT]
//                                       #   (port 4222 by default)
//   subject_prefix = "vigil.events"     # subject <prefix>.<cluster>.<node>.<kind>
//   token = "..."                       # optional; or user + password, not both
//   ca_file = "nats-ca.pem"             # optional: PEM CAs for TLS; relative to this file
//   jetstream = false                   # true: each publish waits for its JetStream ack
//   buffer = 10000                      # events held while disconnected (1-1000000)
//   filter = ["all"]                    # event filter expressions (seed 001 grammar)
//
// Durations are strings read by parse_duration(). Unknown tables and keys are
// errors.
//
// Files (agent/base/file.h): the config, secret_file, tls_cert and tls_key
// must be regular files (a symbolic link to one is followed) of at most the
// bounds below. A file that holds secrets must not be open to group or others
// (mode & 077 == 0, as ssh asks of a private key): secret_file, tls_key, and
// the config itself when it holds cluster.secret, api.admin_key,
// api.user_key or http.user_key. var_dir is created with mode 0700 (prepare_daemon_files()).
#ifndef VIGIL_AGENT_CONFIG_CONFIG_H_
#define VIGIL_AGENT_CONFIG_CONFIG_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "agent/config/arbitrator_uri.h"
#include "agent/config/endpoint.h"
#include "crypto/key.h"

namespace vigil::agent {

/// The largest config file read, in bytes (1 MiB).
constexpr std::size_t kMaxConfigFileBytes = 1 << 20;
/// The largest secret file read (cluster.secret_file, `hb rotate
/// --secret-file`), in bytes: 64 hex digits and blanks fit many times over.
constexpr std::size_t kMaxSecretFileBytes = 4096;
/// The largest api.tls_cert or api.tls_key file read, in bytes (1 MiB).
constexpr std::size_t kMaxTlsFileBytes = 1 << 20;

/// The `type` of an [hb.<id>] table.
enum class PathType { kUnicast, kMulticast };
/// node.log_level.
enum class LogLevel { kTrace, kDebug, kInfo, kWarn, kError };
/// node.split_action: what a node without quorum does at once (OpenSVC's
/// node.split_action): nothing, a kernel panic, or an immediate reboot.
enum class SplitAction { kDisabled, kCrash, kReboot };
/// cluster.dissemination: how heartbeats and deltas reach the members
/// (docs/ARCHITECTURE.md, Gossip mode): every member directly (mesh), by
/// SWIM probes and epidemic gossip (gossip), or mesh up to
/// kMeshMaxMembers members and gossip above (auto).
enum class Dissemination { kAuto, kMesh, kGossip };
/// The most members auto dissemination runs as a full mesh (Corosync's
/// totem supports 32 nodes for the same N^2 reason).
inline constexpr std::size_t kMeshMaxMembers = 32;

/// The config spelling of each value: "unicast", "debug", "crash"...
std::string_view to_string(PathType type);
std::string_view to_string(LogLevel level);
std::string_view to_string(SplitAction action);
/// The config spellings of Dissemination, in enum order.
inline constexpr std::string_view kDisseminationNames[] = {"auto", "mesh", "gossip"};
inline std::string_view to_string(Dissemination d) {
  return kDisseminationNames[static_cast<int>(d)];
}

/// One [hb.<id>] table.
struct HeartbeatPathConfig {
  std::string id;  // the table name
  PathType type = PathType::kUnicast;
  // unicast
  Endpoint listen;
  std::map<std::string, Endpoint> peers;  // node name -> address; never this node
  /// Unicast with [cluster]: the members of cluster.nodes that `peers`
  /// leaves out. This path never reaches them, whatever addresses the
  /// member list holds (agent/engine/cluster_file.h).
  std::set<std::string> not_reached;
  // multicast: one datagram per interval to the group reaches every peer
  std::string addr = "224.3.29.71";  // IPv4 group, in 224.0.0.0/4
  uint16_t port = 10000;
  std::string intf;  // interface name ("eth0") or local IPv4 address; empty: system default
  int ttl = 1;       // 1-255; 1 keeps heartbeats on the local link
  std::chrono::milliseconds interval{500}, timeout{2000};
};

/// One [hook.<name>] table.
struct HookConfig {
  std::string name;
  std::vector<std::string> events;  // kinds listed (empty when all_events)
  bool all_events = false;          // events = ["all"]
  std::vector<std::string> command;
  std::chrono::milliseconds timeout{30000};
  /// True when an event of `kind` runs this hook. Exec, ExecSuccess and
  /// ExecFailed never do, even with "all" (a hook run publishes them).
  bool wants(std::string_view kind) const;
};

/// The limits of the API server, on both listeners ([api] keys of the same
/// names). Each bounds what one client can make the daemon hold.
struct ApiLimits {
  std::size_t max_body_bytes = 1 << 20;              // request body, bytes
  int max_depth = 64;                                // JSON nesting of a body, a filter or a value
  std::size_t max_connections_tcp = 64;              // open TLS connections
  std::size_t max_connections_unix = 256;            // open Unix-socket connections
  std::size_t max_waits = 256;                       // concurrent POST /v1/wait
  std::size_t max_subscribers = 64;                  // concurrent event streams
  std::chrono::milliseconds request_timeout{10000};  // handshake plus request headers and body
  std::chrono::milliseconds max_token_lifetime{600000};  // exp - iat of a JWT
};

/// The [api] table: the TCP listener with TLS, the JWT keys, and the limits.
struct ApiConfig {
  std::optional<Endpoint> listen;           // absent: the Unix socket only
  std::filesystem::path tls_cert, tls_key;  // absolute
  std::optional<std::string> admin_key, user_key;
  ApiLimits limits;
};

/// The listen address of an [http] table without one.
inline constexpr std::string_view kDefaultHttpListen = "127.0.0.1:9464";

/// The [http] table: the read-only HTTP listener. Plain HTTP on a loopback
/// address, or TLS with a user JWT on every request (all three of tls_cert,
/// tls_key and user_key).
struct HttpConfig {
  Endpoint listen;                          // kDefaultHttpListen when not written
  std::filesystem::path tls_cert, tls_key;  // absolute; empty: plain HTTP
  std::optional<std::string> user_key;      // set exactly when TLS is
  bool tls() const { return !tls_cert.empty(); }
};

/// The [webhooks] table: how this node delivers to the cluster's webhooks
/// (the set itself is managed with `vigil webhook`, not here).
struct WebhooksConfig {
  std::size_t queue_max = 10000;                // deliveries queued per webhook, 1-1000000
  std::chrono::milliseconds timeout{5000};      // one request, 100ms-60s
  std::chrono::milliseconds retry_min{1000};    // backoff floor, 100ms-1h
  std::chrono::milliseconds retry_max{300000};  // backoff ceiling, retry_min-1h
  std::filesystem::path ca_file;                // PEM CAs for https; empty: the system store
};

/// The [export.nats] table (README "NATS export"; seed 004): where this node
/// exports the events it publishes.
struct NatsExportConfig {
  bool tls = false;      // url scheme tls:// (else nats://)
  std::string host;      // a DNS name, an IPv4 address, or an IPv6 address (no brackets)
  uint16_t port = 4222;  // the url's port, 4222 when absent
  std::string url;       // as written
  std::string subject_prefix = "vigil.events";  // dot-separated NATS subject tokens
  std::string token;                            // CONNECT auth_token; "" for none
  std::string user, password;                   // CONNECT user/pass; "" for none
  std::filesystem::path ca_file;                // PEM CAs for TLS; empty: the system store
  bool jetstream = false;                       // wait for a JetStream ack of each publish
  std::size_t buffer = 10000;                   // events held unpublished, 1-1000000
  std::vector<std::string> filters;  // event filter expressions; empty: every event ("all")
};

/// One [arbitrator.<name>] table.
struct ArbitratorConfig {
  std::string name;  // the table name
  ArbitratorUri uri;
  uint32_t weight = 1;                      // votes, 1-1000
  std::chrono::milliseconds timeout{1000};  // one whole check
};

struct Config {
  std::filesystem::path source;  // the file loaded
  /// The file has a [cluster] table. Without one, the node starts
  /// standalone (nodes = {node_name}, no cluster name, no peers) and joins
  /// with `vigil cluster join`; <var_dir>/cluster.json then holds the
  /// cluster (agent/engine/cluster_file.h).
  bool has_cluster = true;
  std::string cluster_name;
  std::vector<std::string> nodes;
  vigil::crypto::Secret secret{};
  std::chrono::milliseconds max_skew{30000};
  bool quorum = false;  // cluster.quorum: act on a lost majority (node.split_action)
  /// cluster.rejoin_grace: after a start, split analysis holds until every
  /// member was heard, or this long (0: no grace). OpenSVC's default, 90 s.
  std::chrono::milliseconds rejoin_grace{90000};
  Dissemination dissemination = Dissemination::kAuto;
  /// True when a node with `members` members (itself included) runs in
  /// gossip mode under this config.
  bool gossip(std::size_t members) const {
    return dissemination == Dissemination::kGossip ||
           (dissemination == Dissemination::kAuto && members > kMeshMaxMembers);
  }
  std::string node_name;
  std::filesystem::path var_dir;  // absolute; a relative value is taken from the file's directory
  std::chrono::milliseconds commit_interval{100};
  LogLevel log_level = LogLevel::kInfo;
  SplitAction split_action = SplitAction::kDisabled;
  std::vector<HeartbeatPathConfig> hb;        // in table-name order
  std::vector<HookConfig> hooks;              // in table-name order
  std::vector<ArbitratorConfig> arbitrators;  // in table-name order
  ApiConfig api;
  std::optional<HttpConfig> http;  // [http]; absent: no read-only listener
  WebhooksConfig webhooks;
  std::optional<NatsExportConfig> nats;  // [export.nats]; absent: no export
  std::filesystem::path api_socket() const { return var_dir / "api.sock"; }
};

/// A configuration that cannot be used. what() is
/// "<file>: key '<dotted.key>': <reason>"; for an error of the whole file
/// (no key) "<file>: <reason>", or "<file>:<line>:<col>: <reason>" for a TOML
/// syntax error.
class ConfigError : public std::runtime_error {
 public:
  ConfigError(const std::filesystem::path& file, std::string key, std::string reason,
              uint32_t line = 0, uint32_t column = 0);
  const std::filesystem::path& file() const noexcept { return file_; }
  /// Dotted key, e.g. "hb.lan.timeout"; empty for file-level errors.
  const std::string& key() const noexcept { return key_; }
  const std::string& reason() const noexcept { return reason_; }
  /// Position of a TOML syntax error (1-based), 0 otherwise.
  uint32_t line() const noexcept { return line_; }
  uint32_t column() const noexcept { return column_; }

 private:
  std::filesystem::path file_;
  std::string key_;
  std::string reason_;
  uint32_t line_ = 0;
  uint32_t column_ = 0;
};

/// Reads and validates `file`, a regular file of at most kMaxConfigFileBytes.
/// Throws ConfigError: a file that cannot be read gives an empty key and the
/// reason of read_regular_file() ("No such file or directory", "not a
/// regular file (a FIFO)", "larger than 1048576 bytes"); a file that holds a
/// secret (cluster.secret, api.admin_key, api.user_key, http.user_key) while group or others
/// have access to it names that key, the mode and the fix ("chmod 600").
Config load_config(const std::filesystem::path& file);

/// Checks that every hook's program exists and is executable: a path (made
/// absolute by the loader), or a bare name found in PATH. Reads the file
/// system, so the daemon calls it at start and at each reload (off its
/// io_context thread), not load_config(). Throws
/// ConfigError naming "hook.<name>.command" and the system's reason.
void check_hook_commands(const Config& config);

/// Validates TOML text as if read from `source` (used in messages and to
/// resolve relative secret_file and var_dir). Reads secret_file, if any (see
/// "Files" above). Throws ConfigError. The mode of `source` is not checked:
/// load_config() does that.
Config parse_config(std::string_view toml_text, const std::filesystem::path& source);

}  // namespace vigil::agent

#endif  // VIGIL_AGENT_CONFIG_CONFIG_H_
