#include "agent/config/config.h"

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "agent/base/file.h"
#include "tests/support/temp_dir.h"

namespace vigil::agent {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

constexpr const char* kSecretHex =
    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

// A complete three-node config for n1, with every optional key set.
std::string full_config() {
  return std::string(R"(
[cluster]
name = "demo"
nodes = ["n1", "n2", "n3"]
secret = ")") +
         kSecretHex + R"("
max_skew = "10s"

[node]
name = "n1"
var_dir = "/var/lib/vigil/n1"
commit_interval = "50ms"
log_level = "debug"
split_action = "disabled"

[hb.lan]
type = "unicast"
listen = "127.0.0.1:10001"
peers = { n2 = "127.0.0.2:10001", n3 = "127.0.0.3:10001" }
interval = "250ms"
timeout = "1.5s"

[hb.v6]
type = "unicast"
listen = "[::1]:10002"
peers = { n2 = "[::1]:10012" }

[hook.notify]
events = ["NodeStale", "NodeAlive"]
command = ["/usr/local/bin/on-event", "--verbose"]
timeout = "5s"

[hook.audit]
events = ["all"]
command = ["/usr/local/bin/audit"]
)";
}

// Replaces the first occurrence of `from` (which must exist) with `to`.
std::string edit(std::string text, std::string_view from, std::string_view to) {
  const auto pos = text.find(from);
  EXPECT_NE(pos, std::string::npos) << "test bug: '" << from << "' not in config";
  if (pos != std::string::npos) text.replace(pos, from.size(), to);
  return text;
}

const fs::path kSource = "/etc/vigil/n1.toml";

// Parses `text` expecting a ConfigError; returns it.
ConfigError expect_error(const std::string& text, const fs::path& source = kSource) {
  try {
    parse_config(text, source);
  } catch (const ConfigError& e) {
    return e;
  }
  ADD_FAILURE() << "config accepted";
  return ConfigError(source, "<none>", "<accepted>");
}

// Asserts the error names the file and the key, in the contract's format.
void expect_names(const ConfigError& e, const std::string& key, const fs::path& file = kSource) {
  EXPECT_EQ(e.key(), key);
  EXPECT_EQ(std::string(e.what()).rfind(file.string() + ": key '" + key + "': ", 0), 0u)
      << e.what();
}

using vigil::testing::TempDir;

TEST(Config, FullValidExampleLoads) {
  const Config c = parse_config(full_config(), kSource);
  EXPECT_EQ(c.source, kSource);
  EXPECT_EQ(c.cluster_name, "demo");
  EXPECT_EQ(c.nodes, (std::vector<std::string>{"n1", "n2", "n3"}));
  EXPECT_EQ(c.secret[0], 0x00);
  EXPECT_EQ(c.secret[1], 0x11);
  EXPECT_EQ(c.secret[31], 0xff);
  EXPECT_EQ(c.max_skew, milliseconds(10'000));
  EXPECT_EQ(c.node_name, "n1");
  EXPECT_EQ(c.var_dir, fs::path("/var/lib/vigil/n1"));
  EXPECT_EQ(c.api_socket(), fs::path("/var/lib/vigil/n1/api.sock"));
  EXPECT_EQ(c.commit_interval, milliseconds(50));
  EXPECT_EQ(c.log_level, LogLevel::kDebug);
  EXPECT_EQ(c.split_action, SplitAction::kDisabled);

  ASSERT_EQ(c.hb.size(), 2u);
  const HeartbeatPathConfig& lan = c.hb[0];
  EXPECT_EQ(lan.id, "lan");
  EXPECT_EQ(lan.type, PathType::kUnicast);
  EXPECT_EQ(lan.listen, (Endpoint{"127.0.0.1", 10001}));
  ASSERT_EQ(lan.peers.size(), 2u);
  EXPECT_EQ(lan.peers.at("n2").text(), "127.0.0.2:10001");
  EXPECT_EQ(lan.peers.at("n3").text(), "127.0.0.3:10001");
  EXPECT_EQ(lan.interval, milliseconds(250));
  EXPECT_EQ(lan.timeout, milliseconds(1500));
  const HeartbeatPathConfig& v6 = c.hb[1];
  EXPECT_EQ(v6.listen.host, "::1");
  EXPECT_EQ(v6.listen.text(), "[::1]:10002");
  EXPECT_EQ(v6.interval, milliseconds(500));  // defaults
  EXPECT_EQ(v6.timeout, milliseconds(2000));

  ASSERT_EQ(c.hooks.size(), 2u);
  const HookConfig& audit = c.hooks[0];  // table-name order
  EXPECT_EQ(audit.name, "audit");
  EXPECT_TRUE(audit.all_events);
  EXPECT_EQ(audit.timeout, milliseconds(30'000));
  EXPECT_TRUE(audit.wants("NodeStale"));
  EXPECT_FALSE(audit.wants("Exec"));  // hook runs never trigger hooks
  EXPECT_FALSE(audit.wants("ExecFailed"));
  const HookConfig& notify = c.hooks[1];
  EXPECT_EQ(notify.events, (std::vector<std::string>{"NodeStale", "NodeAlive"}));
  EXPECT_EQ(notify.command, (std::vector<std::string>{"/usr/local/bin/on-event", "--verbose"}));
  EXPECT_EQ(notify.timeout, milliseconds(5000));
  EXPECT_TRUE(notify.wants("NodeAlive"));
  EXPECT_FALSE(notify.wants("ForgetPeer"));
}

TEST(Config, MinimalSingleNodeConfigTakesDefaults) {
  const Config c = parse_config(std::string(R"(
[cluster]
name = "solo"
nodes = ["n1"]
secret = ")") + kSecretHex + R"("
[node]
name = "n1"
var_dir = "/run/vigil"
)",
                                kSource);
  EXPECT_EQ(c.max_skew, milliseconds(30'000));
  EXPECT_EQ(c.commit_interval, milliseconds(100));
  EXPECT_EQ(c.log_level, LogLevel::kInfo);
  EXPECT_EQ(c.split_action, SplitAction::kDisabled);
  EXPECT_TRUE(c.hb.empty());
  EXPECT_TRUE(c.hooks.empty());
  EXPECT_FALSE(c.quorum);
  EXPECT_EQ(c.rejoin_grace, milliseconds(90'000));  // OpenSVC's default
  EXPECT_TRUE(c.arbitrators.empty());
}

TEST(Config, RejoinGraceIsReadAndZeroTurnsItOff) {
  EXPECT_EQ(
      parse_config(edit(full_config(), "max_skew", "rejoin_grace = \"5s\"\nmax_skew"), kSource)
          .rejoin_grace,
      milliseconds(5'000));
  EXPECT_EQ(
      parse_config(edit(full_config(), "max_skew", "rejoin_grace = \"0s\"\nmax_skew"), kSource)
          .rejoin_grace,
      milliseconds(0));
  for (const char* bad : {"rejoin_grace = 90", "rejoin_grace = \"90\"", "rejoin_grace = \"25h\""}) {
    SCOPED_TRACE(bad);
    expect_names(expect_error(edit(full_config(), "max_skew", std::string(bad) + "\nmax_skew")),
                 "cluster.rejoin_grace");
  }
}

TEST(Config, DisseminationIsReadAndAutoSwitchesAbove32Members) {
  const Config def = parse_config(full_config(), kSource);
  EXPECT_EQ(def.dissemination, Dissemination::kAuto);
  EXPECT_FALSE(def.gossip(32));
  EXPECT_TRUE(def.gossip(33));
  const Config mesh =
      parse_config(edit(full_config(), "max_skew", "dissemination = \"mesh\"\nmax_skew"), kSource);
  EXPECT_FALSE(mesh.gossip(500));
  const Config gossip = parse_config(
      edit(full_config(), "max_skew", "dissemination = \"gossip\"\nmax_skew"), kSource);
  EXPECT_TRUE(gossip.gossip(3));
  EXPECT_EQ(to_string(gossip.dissemination), "gossip");
  for (const char* bad : {"dissemination = \"ring\"", "dissemination = 1"}) {
    SCOPED_TRACE(bad);
    expect_names(expect_error(edit(full_config(), "max_skew", std::string(bad) + "\nmax_skew")),
                 "cluster.dissemination");
  }
}

TEST(Config, WebhooksTableIsReadWithDefaults) {
  const Config def = parse_config(full_config(), kSource);
  EXPECT_EQ(def.webhooks.queue_max, 10000u);
  EXPECT_EQ(def.webhooks.timeout, std::chrono::milliseconds(5000));
  EXPECT_EQ(def.webhooks.retry_min, std::chrono::milliseconds(1000));
  EXPECT_EQ(def.webhooks.retry_max, std::chrono::milliseconds(300000));
  EXPECT_TRUE(def.webhooks.ca_file.empty());
  const Config c = parse_config(full_config() + R"(
[webhooks]
queue_max = 50
timeout = "2s"
retry_min = "200ms"
retry_max = "1m"
ca_file = "ca.pem"
)",
                                kSource);
  EXPECT_EQ(c.webhooks.queue_max, 50u);
  EXPECT_EQ(c.webhooks.timeout, std::chrono::milliseconds(2000));
  EXPECT_EQ(c.webhooks.retry_min, std::chrono::milliseconds(200));
  EXPECT_EQ(c.webhooks.retry_max, std::chrono::milliseconds(60000));
  EXPECT_EQ(c.webhooks.ca_file, fs::path("/etc/vigil/ca.pem"));  // next to the config
  for (const auto& [bad, key] : std::vector<std::pair<std::string, std::string>>{
           {"queue_max = 0", "webhooks.queue_max"},
           {"timeout = \"2m\"", "webhooks.timeout"},
           {"retry_min = \"2s\"\nretry_max = \"1s\"", "webhooks.retry_max"},
           {"ca_file = 3", "webhooks.ca_file"},
           {"colour = \"red\"", "webhooks.colour"}}) {
    SCOPED_TRACE(bad);
    expect_names(expect_error(full_config() + "[webhooks]\n" + bad + "\n"), key);
  }
}

TEST(Config, NatsExportTableIsReadWithDefaults) {
  EXPECT_FALSE(parse_config(full_config(), kSource).nats.has_value());
  const Config def =
      parse_config(full_config() + "[export.nats]\nurl = \"nats://127.0.0.1\"\n", kSource);
  ASSERT_TRUE(def.nats.has_value());
  EXPECT_FALSE(def.nats->tls);
  EXPECT_EQ(def.nats->host, "127.0.0.1");
  EXPECT_EQ(def.nats->port, 4222);
  EXPECT_EQ(def.nats->subject_prefix, "vigil.events");
  EXPECT_TRUE(def.nats->token.empty() && def.nats->user.empty() && def.nats->ca_file.empty());
  EXPECT_FALSE(def.nats->jetstream);
  EXPECT_EQ(def.nats->buffer, 10000u);
  EXPECT_TRUE(def.nats->filters.empty());  // every event
  const Config c = parse_config(full_config() + R"(
[export.nats]
url = "tls://nats.example.com:4443"
subject_prefix = "ops.vigil"
user = "u"
password = "p"
ca_file = "nats-ca.pem"
jetstream = true
buffer = 50
filter = ["NodeStale", "NodeAlive,node=n2"]
)",
                                kSource);
  ASSERT_TRUE(c.nats.has_value());
  EXPECT_TRUE(c.nats->tls);
  EXPECT_EQ(c.nats->host, "nats.example.com");
  EXPECT_EQ(c.nats->port, 4443);
  EXPECT_EQ(c.nats->subject_prefix, "ops.vigil");
  EXPECT_EQ(c.nats->user, "u");
  EXPECT_EQ(c.nats->password, "p");
  EXPECT_EQ(c.nats->ca_file, fs::path("/etc/vigil/nats-ca.pem"));  // next to the config
  EXPECT_TRUE(c.nats->jetstream);
  EXPECT_EQ(c.nats->buffer, 50u);
  EXPECT_EQ(c.nats->filters, (std::vector<std::string>{"NodeStale", "NodeAlive,node=n2"}));
  const Config v6 =
      parse_config(full_config() + "[export.nats]\nurl = \"nats://[::1]:4000\"\n", kSource);
  EXPECT_EQ(v6.nats->host, "::1");
  EXPECT_EQ(v6.nats->port, 4000);
}

TEST(Config, BadNatsExportKeysNameTheKey) {
  for (const auto& [bad, key] : std::vector<std::pair<std::string, std::string>>{
           {"subject_prefix = \"x\"", "export.nats.url"},  // url is required
           {"url = \"http://127.0.0.1:4222\"", "export.nats.url"},
           {"url = \"nats://user:pw@127.0.0.1\"", "export.nats.url"},
           {"url = \"nats://127.0.0.1:0\"", "export.nats.url"},
           {"url = \"nats://127.0.0.1:99999\"", "export.nats.url"},
           {"url = \"nats://[::1\"", "export.nats.url"},
           {"url = \"nats://\"", "export.nats.url"},
           {"url = \"nats://a b\"", "export.nats.url"},
           {"url = \"nats://h\"\nsubject_prefix = \"a..b\"", "export.nats.subject_prefix"},
           {"url = \"nats://h\"\nsubject_prefix = \"a.*\"", "export.nats.subject_prefix"},
           {"url = \"nats://h\"\nsubject_prefix = \"a b\"", "export.nats.subject_prefix"},
           {"url = \"nats://h\"\ntoken = \"t\"\nuser = \"u\"\npassword = \"p\"",
            "export.nats.token"},
           {"url = \"nats://h\"\nuser = \"u\"", "export.nats.password"},
           {"url = \"nats://h\"\njetstream = \"yes\"", "export.nats.jetstream"},
           {"url = \"nats://h\"\nbuffer = 0", "export.nats.buffer"},
           {"url = \"nats://h\"\nbuffer = 1000001", "export.nats.buffer"},
           {"url = \"nats://h\"\nfilter = [\"NodeStale,,x\"]", "export.nats.filter"},
           {"url = \"nats://h\"\nfilter = [\"all\", \"NodeStale\"]", "export.nats.filter"},
           {"url = \"nats://h\"\ncolour = 1", "export.nats.colour"}}) {
    SCOPED_TRACE(bad);
    expect_names(expect_error(full_config() + "[export.nats]\n" + bad + "\n"), key);
  }
  expect_names(expect_error(full_config() + "[export.kafka]\nurl = \"x\"\n"), "export.kafka");
}

TEST(Config, QuorumAndArbitratorsAreRead) {
  const Config c = parse_config(edit(full_config(), "max_skew", "quorum = true\nmax_skew") + R"(
[arbitrator.site3]
uri = "http://[::1]:8080/health"
weight = 2
timeout = "250ms"

[arbitrator.a1]
uri = "tcp://127.0.0.9:1234"
)",
                                kSource);
  EXPECT_TRUE(c.quorum);
  ASSERT_EQ(c.arbitrators.size(), 2u);
  EXPECT_EQ(c.arbitrators[0].name, "a1");  // table-name order
  EXPECT_EQ(c.arbitrators[0].uri.scheme, ArbitratorUri::Scheme::kTcp);
  EXPECT_EQ(c.arbitrators[0].uri.host, "127.0.0.9");
  EXPECT_EQ(c.arbitrators[0].uri.port, 1234);
  EXPECT_EQ(c.arbitrators[0].weight, 1u);
  EXPECT_EQ(c.arbitrators[0].timeout, milliseconds(1000));
  EXPECT_EQ(c.arbitrators[1].name, "site3");
  EXPECT_EQ(c.arbitrators[1].uri.scheme, ArbitratorUri::Scheme::kHttp);
  EXPECT_EQ(c.arbitrators[1].uri.target, "/health");
  EXPECT_EQ(c.arbitrators[1].weight, 2u);
  EXPECT_EQ(c.arbitrators[1].timeout, milliseconds(250));
}

TEST(Config, ApiListenerIsRead) {
  const Config c = parse_config(full_config() + R"(
[api]
listen = "127.0.0.1:1215"
tls_cert = "tls/api.crt"
tls_key = "/etc/vigil/api.key"
admin_key = "0123456789abcdef0123456789abcdef-admin"
)",
                                kSource);
  ASSERT_TRUE(c.api.listen.has_value());
  EXPECT_EQ(c.api.listen->text(), "127.0.0.1:1215");
  EXPECT_EQ(c.api.tls_cert, fs::path("/etc/vigil/tls/api.crt"));  // relative to the file
  EXPECT_EQ(c.api.tls_key, fs::path("/etc/vigil/api.key"));
  EXPECT_EQ(c.api.admin_key, "0123456789abcdef0123456789abcdef-admin");
  EXPECT_FALSE(c.api.user_key.has_value());
  EXPECT_FALSE(parse_config(full_config(), kSource).api.listen.has_value());
}

TEST(Config, BadApiTablesNameFileAndKey) {
  const std::string base = full_config() + "\n[api]\n";
  const std::string cert = "tls_cert = \"a.crt\"\ntls_key = \"a.key\"\n";
  const std::string key = "admin_key = \"0123456789abcdef0123456789abcdef\"\n";
  expect_names(expect_error(base + cert + key), "api.listen");
  expect_names(expect_error(base + "listen = \"127.0.0.1\"\n" + cert + key), "api.listen");
  expect_names(expect_error(base + "listen = \"127.0.0.1:1215\"\n" + key), "api.tls_cert");
  expect_names(expect_error(base + "listen = \"127.0.0.1:1215\"\n" + cert), "api.admin_key");
  expect_names(
      expect_error(base + "listen = \"127.0.0.1:1215\"\n" + cert + "user_key = \"short\"\n"),
      "api.user_key");
  expect_names(expect_error(base + "port = 1\n"), "api.port");
}

TEST(Config, ApiKeysAreAtLeast32BytesAndDistinct) {
  const std::string base = full_config() +
                           "\n[api]\nlisten = \"127.0.0.1:1215\"\n"
                           "tls_cert = \"a.crt\"\ntls_key = \"a.key\"\n";
  const std::string k31(31, 'a'), k32(32, 'a'), other32(32, 'b');
  // RFC 7518 section 3.2: 32 bytes is the minimum for HS256.
  EXPECT_EQ(parse_config(base + "admin_key = \"" + k32 + "\"\n", kSource).api.admin_key, k32);
  const ConfigError admin_short = expect_error(base + "admin_key = \"" + k31 + "\"\n");
  expect_names(admin_short, "api.admin_key");
  EXPECT_NE(admin_short.reason().find("at least 32"), std::string::npos) << admin_short.what();
  expect_names(expect_error(base + "user_key = \"" + k31 + "\"\n"), "api.user_key");
  expect_names(expect_error(base + "admin_key = \"0123456789abcdef\"\n"), "api.admin_key");
  expect_names(expect_error(base + "admin_key = \"" + k32 + "\"\nuser_key = \"" + k31 + "\"\n"),
               "api.user_key");

  // The same key for both roles would let any user mint admin tokens.
  const ConfigError same =
      expect_error(base + "admin_key = \"" + k32 + "\"\nuser_key = \"" + k32 + "\"\n");
  expect_names(same, "api.user_key");
  EXPECT_NE(same.reason().find("admin_key"), std::string::npos) << same.what();
  const Config both =
      parse_config(base + "admin_key = \"" + k32 + "\"\nuser_key = \"" + other32 + "\"\n", kSource);
  EXPECT_EQ(both.api.admin_key, k32);
  EXPECT_EQ(both.api.user_key, other32);
}

TEST(Config, ApiLimitsDefault) {
  const ApiLimits l = parse_config(full_config(), kSource).api.limits;
  EXPECT_EQ(l.max_body_bytes, 1u << 20);
  EXPECT_EQ(l.max_depth, 64);
  EXPECT_EQ(l.max_connections_tcp, 64u);
  EXPECT_EQ(l.max_connections_unix, 256u);
  EXPECT_EQ(l.max_waits, 256u);
  EXPECT_EQ(l.max_subscribers, 64u);
  EXPECT_EQ(l.request_timeout, milliseconds(10000));
  EXPECT_EQ(l.max_token_lifetime, milliseconds(600000));
}

TEST(Config, ApiLimitsAreReadWithoutAListener) {
  // The limits govern the Unix socket too, so [api] may hold only them.
  const Config c = parse_config(full_config() + R"(
[api]
max_body_bytes = 2048
max_depth = 8
max_connections_tcp = 1
max_connections_unix = 65536
max_waits = 10
max_subscribers = 3
request_timeout = "1.5s"
max_token_lifetime = "1m"
)",
                                kSource);
  EXPECT_FALSE(c.api.listen.has_value());
  EXPECT_FALSE(c.api.admin_key.has_value());
  EXPECT_EQ(c.api.limits.max_body_bytes, 2048u);
  EXPECT_EQ(c.api.limits.max_depth, 8);
  EXPECT_EQ(c.api.limits.max_connections_tcp, 1u);
  EXPECT_EQ(c.api.limits.max_connections_unix, 65536u);
  EXPECT_EQ(c.api.limits.max_waits, 10u);
  EXPECT_EQ(c.api.limits.max_subscribers, 3u);
  EXPECT_EQ(c.api.limits.request_timeout, milliseconds(1500));
  EXPECT_EQ(c.api.limits.max_token_lifetime, milliseconds(60000));

  // ...and with one.
  const Config l = parse_config(full_config() + R"(
[api]
listen = "127.0.0.1:1215"
tls_cert = "a.crt"
tls_key = "a.key"
user_key = "0123456789abcdef0123456789abcdef"
max_body_bytes = 67108864
request_timeout = "10m"
max_token_lifetime = "24h"
)",
                                kSource);
  ASSERT_TRUE(l.api.listen.has_value());
  EXPECT_EQ(l.api.limits.max_body_bytes, 64u << 20);
  EXPECT_EQ(l.api.limits.max_depth, 64);  // default kept
  EXPECT_EQ(l.api.limits.request_timeout, milliseconds(600000));
  EXPECT_EQ(l.api.limits.max_token_lifetime, milliseconds(86400000));

  // Listener keys still need listen.
  const std::string limits_only = full_config() + "\n[api]\nmax_waits = 5\n";
  expect_names(expect_error(limits_only + "tls_cert = \"a.crt\"\n"), "api.listen");
  expect_names(expect_error(limits_only + "tls_key = \"a.key\"\n"), "api.listen");
  expect_names(expect_error(limits_only + "admin_key = \"0123456789abcdef0123456789abcdef\"\n"),
               "api.listen");
  expect_names(expect_error(limits_only + "user_key = \"0123456789abcdef0123456789abcdef\"\n"),
               "api.listen");
}

TEST(Config, BadApiLimitsNameTheKey) {
  const std::string base = full_config() + "\n[api]\n";
  struct Case {
    const char* line;
    const char* key;
  };
  const Case cases[] = {
      // Out of range, both ends.
      {"max_body_bytes = 1023", "api.max_body_bytes"},
      {"max_body_bytes = 67108865", "api.max_body_bytes"},
      {"max_depth = 7", "api.max_depth"},
      {"max_depth = 1025", "api.max_depth"},
      {"max_connections_tcp = 0", "api.max_connections_tcp"},
      {"max_connections_tcp = 65537", "api.max_connections_tcp"},
      {"max_connections_unix = 0", "api.max_connections_unix"},
      {"max_connections_unix = 65537", "api.max_connections_unix"},
      {"max_waits = 0", "api.max_waits"},
      {"max_waits = -1", "api.max_waits"},
      {"max_waits = 65537", "api.max_waits"},
      {"max_subscribers = 0", "api.max_subscribers"},
      {"max_subscribers = 65537", "api.max_subscribers"},
      {"request_timeout = \"99ms\"", "api.request_timeout"},
      {"request_timeout = \"0s\"", "api.request_timeout"},
      {"request_timeout = \"10m1ms\"", "api.request_timeout"},
      {"max_token_lifetime = \"999ms\"", "api.max_token_lifetime"},
      {"max_token_lifetime = \"24h0.001s\"", "api.max_token_lifetime"},
      {"max_token_lifetime = \"2d\"", "api.max_token_lifetime"},
      // Wrong types.
      {"max_body_bytes = \"1MiB\"", "api.max_body_bytes"},
      {"max_depth = 64.0", "api.max_depth"},
      {"max_connections_tcp = true", "api.max_connections_tcp"},
      {"max_connections_unix = [1]", "api.max_connections_unix"},
      {"max_waits = \"10\"", "api.max_waits"},
      {"max_subscribers = {}", "api.max_subscribers"},
      {"request_timeout = 10", "api.request_timeout"},
      {"max_token_lifetime = 600", "api.max_token_lifetime"},
      // Typos stay errors.
      {"max_body = 2048", "api.max_body"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.line);
    expect_names(expect_error(base + c.line + "\n"), c.key);
  }
  // Ranges are inclusive.
  for (const char* line :
       {"max_body_bytes = 1024", "max_depth = 1024", "max_connections_tcp = 65536", "max_waits = 1",
        "request_timeout = \"100ms\"", "max_token_lifetime = \"1s\""}) {
    SCOPED_TRACE(line);
    EXPECT_NO_THROW(parse_config(base + line + "\n", kSource));
  }
  const ConfigError e = expect_error(base + "max_depth = 2000\n");
  EXPECT_NE(e.reason().find("8-1024"), std::string::npos) << e.what();
  const ConfigError d = expect_error(base + "request_timeout = \"20m\"\n");
  EXPECT_NE(d.reason().find("100ms-10m"), std::string::npos) << d.what();
}

TEST(Config, BadQuorumAndArbitratorKeysNameFileAndKey) {
  expect_names(expect_error(edit(full_config(), "max_skew", "quorum = \"yes\"\nmax_skew")),
               "cluster.quorum");
  expect_names(expect_error(full_config() + "\n[arbitrator.a1]\nuri = \"udp://1.2.3.4:5\"\n"),
               "arbitrator.a1.uri");
  expect_names(expect_error(full_config() + "\n[arbitrator.a1]\nweight = 1\n"),
               "arbitrator.a1.uri");
  expect_names(
      expect_error(full_config() + "\n[arbitrator.a1]\nuri = \"tcp://127.0.0.1:1\"\nweight = 0\n"),
      "arbitrator.a1.weight");
  expect_names(expect_error(full_config() +
                            "\n[arbitrator.a1]\nuri = \"tcp://127.0.0.1:1\"\ntimeout = \"0s\"\n"),
               "arbitrator.a1.timeout");
  expect_names(expect_error(full_config() + "\n[arbitrator]\na1 = 3\n"), "arbitrator.a1");
}

TEST(Config, MissingClusterNameNamesFileAndKey) {
  expect_names(expect_error(edit(full_config(), "name = \"demo\"\n", "")), "cluster.name");
}

TEST(Config, BadSecretNamesFileAndKey) {
  const auto e = expect_error(edit(full_config(), kSecretHex, "abcd"));
  expect_names(e, "cluster.secret");
  const auto e2 = expect_error(edit(full_config(), "secret = ", "# "));
  expect_names(e2, "cluster.secret");
}

TEST(Config, SecretAndSecretFileTogetherAreRefused) {
  const auto e =
      expect_error(edit(full_config(), "max_skew", "secret_file = \"secret.hex\"\nmax_skew"));
  expect_names(e, "cluster.secret_file");
}

TEST(Config, NodeNotInNodesNamesFileAndKey) {
  const auto e = expect_error(edit(full_config(), "name = \"n1\"", "name = \"n9\""));
  expect_names(e, "node.name");
  EXPECT_NE(std::string(e.what()).find("n9"), std::string::npos);
}

TEST(Config, DuplicateOrInvalidNodeNamesAreRefused) {
  expect_names(
      expect_error(edit(full_config(), "\"n1\", \"n2\", \"n3\"", "\"n1\", \"n2\", \"n2\"")),
      "cluster.nodes");
  expect_names(expect_error(edit(full_config(), "nodes = [\"n1\", \"n2\", \"n3\"]", "nodes = []")),
               "cluster.nodes");
  expect_names(expect_error(edit(full_config(), "\"n3\"]", "\"bad name\"]")), "cluster.nodes");
}

TEST(Config, PeerNotInNodesNamesFileAndKey) {
  const auto e =
      expect_error(edit(full_config(), "n3 = \"127.0.0.3:10001\"", "n7 = \"127.0.0.3:10001\""));
  expect_names(e, "hb.lan.peers.n7");
}

TEST(Config, SelfAsPeerIsRefused) {
  const auto e =
      expect_error(edit(full_config(), "n3 = \"127.0.0.3:10001\"", "n1 = \"127.0.0.3:10001\""));
  expect_names(e, "hb.lan.peers.n1");
}

TEST(Config, BadDurationNamesFileAndKey) {
  const auto e = expect_error(edit(full_config(), "interval = \"250ms\"", "interval = \"250us\""));
  expect_names(e, "hb.lan.interval");
  EXPECT_NE(std::string(e.what()).find("invalid duration '250us'"), std::string::npos);
  expect_names(expect_error(edit(full_config(), "max_skew = \"10s\"", "max_skew = 10")),
               "cluster.max_skew");
  expect_names(
      expect_error(edit(full_config(), "commit_interval = \"50ms\"", "commit_interval = \"0s\"")),
      "node.commit_interval");
}

TEST(Config, TimeoutNotGreaterThanIntervalNamesFileAndKey) {
  expect_names(expect_error(edit(full_config(), "timeout = \"1.5s\"", "timeout = \"250ms\"")),
               "hb.lan.timeout");
  expect_names(expect_error(edit(full_config(), "timeout = \"1.5s\"", "timeout = \"100ms\"")),
               "hb.lan.timeout");
}

TEST(Config, BadListenAddressNamesFileAndKey) {
  for (const char* bad :
       {"127.0.0.1", "127.0.0.1:0", "127.0.0.1:70000", "localhost:10001", "::1:10001", "[::1:10001",
        "[nope]:1", "300.0.0.1:1", ":10001", "127.0.0.1:x"}) {
    const auto e = expect_error(edit(full_config(), "listen = \"127.0.0.1:10001\"",
                                     std::string("listen = \"") + bad + "\""));
    expect_names(e, "hb.lan.listen");
  }
}

TEST(Config, DuplicateListenAddressIsRefused) {
  expect_names(
      expect_error(edit(full_config(), "listen = \"[::1]:10002\"", "listen = \"127.0.0.1:10001\"")),
      "hb.v6.listen");
}

TEST(Config, UnknownKeyNamesFileAndKey) {
  expect_names(expect_error(edit(full_config(), "log_level", "colour = \"red\"\nlog_level")),
               "node.colour");
  expect_names(expect_error(edit(full_config(), "interval = \"250ms\"", "intreval = \"250ms\"")),
               "hb.lan.intreval");
  expect_names(expect_error(full_config() + "\n[arbitrator.a1]\nurl = \"x\"\n"),
               "arbitrator.a1.url");
  expect_names(expect_error(full_config() + "\n[arbitrators.a1]\nuri = \"x\"\n"), "arbitrators");
  const auto e = expect_error(edit(full_config(), "log_level", "colour = \"red\"\nlog_level"));
  EXPECT_EQ(e.reason(), "unknown key");
}

TEST(Config, UnknownHeartbeatTypeIsRefused) {
  const auto e =
      expect_error(edit(full_config(), "type = \"unicast\"", "type = \"carrier-pigeon\""));
  expect_names(e, "hb.lan.type");
  EXPECT_NE(e.reason().find("unicast or multicast"), std::string::npos) << e.what();
}

TEST(Config, MulticastPathReachesEveryOtherNodeWithDefaults) {
  const Config c =
      parse_config(full_config() + "\n[hb.mc]\ntype = \"multicast\"\n", "/etc/vigil/n1.toml");
  ASSERT_EQ(c.hb.size(), 3u);
  const auto& mc = c.hb[1];  // table-name order: lan, mc, v6
  ASSERT_EQ(mc.id, "mc");
  EXPECT_EQ(mc.type, PathType::kMulticast);
  EXPECT_EQ(mc.addr, "224.3.29.71");
  EXPECT_EQ(mc.port, 10000);
  EXPECT_EQ(mc.ttl, 1);
  EXPECT_TRUE(mc.intf.empty());
  ASSERT_EQ(mc.peers.size(), 2u);
  EXPECT_EQ(mc.peers.at("n2").text(), "224.3.29.71:10000");
}

TEST(Config, MulticastKeysAreRead) {
  const Config c = parse_config(full_config() +
                                    "\n[hb.mc]\ntype = \"multicast\"\naddr = \"239.1.2.3\"\n"
                                    "port = 12000\nintf = \"lo\"\nttl = 4\ninterval = \"1s\"\n"
                                    "timeout = \"5s\"\n",
                                "/etc/vigil/n1.toml");
  const auto& mc = c.hb[1];
  ASSERT_EQ(mc.id, "mc");
  EXPECT_EQ(mc.addr, "239.1.2.3");
  EXPECT_EQ(mc.port, 12000);
  EXPECT_EQ(mc.intf, "lo");
  EXPECT_EQ(mc.ttl, 4);
  EXPECT_EQ(mc.interval, milliseconds(1000));
  EXPECT_EQ(mc.timeout, milliseconds(5000));
}

TEST(Config, BadMulticastKeysNameTheKey) {
  const std::string base = full_config() + "\n[hb.mc]\ntype = \"multicast\"\n";
  expect_names(expect_error(base + "addr = \"10.0.0.1\"\n"), "hb.mc.addr");
  expect_names(expect_error(base + "port = 0\n"), "hb.mc.port");
  expect_names(expect_error(base + "port = \"x\"\n"), "hb.mc.port");
  expect_names(expect_error(base + "ttl = 300\n"), "hb.mc.ttl");
  expect_names(expect_error(base + "listen = \"127.0.0.1:1\"\n"), "hb.mc.listen");
}

TEST(Config, EnumeratedValuesAreChecked) {
  expect_names(expect_error(edit(full_config(), "log_level = \"debug\"", "log_level = \"loud\"")),
               "node.log_level");
  expect_names(
      expect_error(edit(full_config(), "split_action = \"disabled\"", "split_action = \"panic\"")),
      "node.split_action");
}

TEST(Config, HookTablesAreValidated) {
  expect_names(expect_error(edit(full_config(), "events = [\"all\"]", "events = []")),
               "hook.audit.events");
  expect_names(expect_error(edit(full_config(), "events = [\"all\"]", "events = [\"Exec\"]")),
               "hook.audit.events");
  expect_names(
      expect_error(edit(full_config(), "command = [\"/usr/local/bin/audit\"]", "command = []")),
      "hook.audit.command");
  expect_names(expect_error(edit(full_config(), "command = [\"/usr/local/bin/audit\"]",
                                 "command = \"/usr/local/bin/audit | tee\"")),
               "hook.audit.command");
  const auto typo =
      expect_error(edit(full_config(), "events = [\"all\"]", "events = [\"NoSuchEvent\"]"));
  expect_names(typo, "hook.audit.events");
  EXPECT_NE(std::string(typo.what()).find("'NoSuchEvent'"), std::string::npos);
  // Seed 002 writes the list as one string.
  const Config c = parse_config(
      edit(full_config(), "events = [\"all\"]", "events = \"NodeStale, NodeAlive\""), kSource);
  EXPECT_EQ(c.hooks[0].events, (std::vector<std::string>{"NodeStale", "NodeAlive"}));
}

TEST(Config, MultiNodeClusterNeedsAHeartbeatPath) {
  std::string text = full_config();
  text = text.substr(0, text.find("[hb.lan]"));
  expect_names(expect_error(text), "hb");
}

TEST(Config, EveryMemberMustBeReachedByAPath) {
  // n3 is in cluster.nodes but in no peers table, and no path is multicast.
  const auto e = expect_error(edit(full_config(), ", n3 = \"127.0.0.3:10001\"", ""));
  expect_names(e, "cluster.nodes");
  EXPECT_NE(std::string(e.what()).find("'n3'"), std::string::npos) << e.what();
}

TEST(Config, TomlSyntaxErrorReportsFileLineAndColumn) {
  const auto e = expect_error("[cluster]\nname = \"demo\"\nnodes = [\"n1\",\n= oops\n");
  EXPECT_EQ(e.key(), "");
  EXPECT_GT(e.line(), 0u);
  EXPECT_EQ(std::string(e.what()).rfind(kSource.string() + ":" + std::to_string(e.line()) + ":" +
                                            std::to_string(e.column()) + ": " + e.reason(),
                                        0),
            0u)
      << e.what();
  EXPECT_EQ(std::string(e.what()).find("key ''"), std::string::npos) << e.what();
  const auto e2 = expect_error("[cluster]\nname = \"demo\"\nname = \"again\"\n");
  EXPECT_EQ(e2.line(), 3u);
}

TEST(Config, SecretFileIsReadRelativeToTheConfigDirectory) {
  TempDir dir("config-test");
  fs::create_directories(dir.path() / "keys");
  dir.write("keys/secret.hex", std::string(kSecretHex) + "\n");
  fs::permissions(dir.path() / "keys/secret.hex", fs::perms::owner_read | fs::perms::owner_write);
  // The config holds no secret itself: it may be readable by all.
  dir.write("n1.toml", edit(edit(full_config(), std::string("secret = \"") + kSecretHex + "\"",
                                 "secret_file = \"keys/secret.hex\""),
                            "var_dir = \"/var/lib/vigil/n1\"", "var_dir = \"state\""));
  const Config c = load_config(dir.path() / "n1.toml");
  EXPECT_EQ(c.secret[1], 0x11);
  EXPECT_EQ(c.var_dir, dir.path() / "state");  // relative to the config directory too
  EXPECT_EQ(c.source, dir.path() / "n1.toml");
}

TEST(Config, MissingOrBadSecretFileNamesFileAndKey) {
  TempDir dir("config-test");
  const std::string text = edit(full_config(), std::string("secret = \"") + kSecretHex + "\"",
                                "secret_file = \"secret.hex\"");
  dir.write("n1.toml", text);
  ConfigError e = expect_error(text, dir.path() / "n1.toml");
  expect_names(e, "cluster.secret_file", dir.path() / "n1.toml");
  EXPECT_NE(std::string(e.what()).find((dir.path() / "secret.hex").string()), std::string::npos);
  EXPECT_NE(std::string(e.what()).find("No such file"), std::string::npos);

  dir.write("secret.hex", "not hex\n");
  expect_names(expect_error(text, dir.path() / "n1.toml"), "cluster.secret_file",
               dir.path() / "n1.toml");
}

// load_config() expecting a ConfigError; returns it.
ConfigError expect_load_error(const fs::path& file) {
  try {
    load_config(file);
  } catch (const ConfigError& e) {
    return e;
  }
  ADD_FAILURE() << file << " loaded";
  return ConfigError(file, "<none>", "<accepted>");
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(Config, AMissingFileGivesThePathAndTheReasonWithoutAKey) {
  TempDir dir("config-test");
  const ConfigError e = expect_load_error(dir.path() / "absent.toml");
  EXPECT_EQ(e.key(), "");
  EXPECT_EQ(std::string(e.what()),
            (dir.path() / "absent.toml").string() + ": No such file or directory");
}

TEST(Config, AConfigThatIsNotARegularFileIsRefusedAtOnce) {
  TempDir dir("config-test");
  const ConfigError d = expect_load_error(dir.path());
  EXPECT_EQ(std::string(d.what()), dir.path().string() + ": not a regular file (a directory)");
  const fs::path fifo = dir.path() / "fifo.toml";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_EQ(expect_load_error(fifo).reason(), "not a regular file (a FIFO)");  // no hang
  if (::access("/dev/zero", R_OK) == 0)                                        // no endless read
    EXPECT_EQ(expect_load_error("/dev/zero").reason(), "not a regular file (a character device)");
}

TEST(Config, AConfigLargerThanOneMebibyteIsRefused) {
  TempDir dir("config-test");
  dir.write("big.toml", std::string(kMaxConfigFileBytes + 1, '#'));
  const ConfigError e = expect_load_error(dir.path() / "big.toml");
  EXPECT_EQ(e.key(), "");
  EXPECT_EQ(e.reason(), "larger than 1048576 bytes");
}

// Writes n1.toml into `dir`: the full config with secret_file = "secret.hex".
fs::path config_with_secret_file(const TempDir& dir) {
  dir.write("n1.toml", edit(full_config(), std::string("secret = \"") + kSecretHex + "\"",
                            "secret_file = \"secret.hex\""));
  return dir.path() / "n1.toml";
}

TEST(Config, ASecretFileOpenToGroupOrOthersIsRefused) {
  TempDir dir("config-test");
  const fs::path config = config_with_secret_file(dir);
  const fs::path secret = dir.path() / "secret.hex";
  dir.write("secret.hex", std::string(kSecretHex) + "\n");
  for (const mode_t mode : {0644, 0640, 0604, 0660}) {
    ::chmod(secret.c_str(), mode);
    const ConfigError e = expect_load_error(config);
    expect_names(e, "cluster.secret_file", config);
    EXPECT_TRUE(contains(e.what(), secret.string() + ": group or others have access to it (mode " +
                                       mode_text(mode) + "); chmod 600 it"))
        << e.what();
  }
  for (const mode_t mode : {0600, 0400}) {
    ::chmod(secret.c_str(), mode);
    EXPECT_EQ(load_config(config).secret[1], 0x11) << mode_text(mode);
  }
}

TEST(Config, ASecretFileThatIsNotARegularFileOrTooLargeIsRefused) {
  TempDir dir("config-test");
  const fs::path config = config_with_secret_file(dir);
  const fs::path secret = dir.path() / "secret.hex";
  fs::create_directory(secret);
  ConfigError e = expect_load_error(config);
  expect_names(e, "cluster.secret_file", config);
  EXPECT_TRUE(contains(e.what(), secret.string() + ": not a regular file (a directory)"))
      << e.what();
  fs::remove(secret);
  ASSERT_EQ(::mkfifo(secret.c_str(), 0600), 0);
  EXPECT_TRUE(contains(expect_load_error(config).what(), "not a regular file (a FIFO)"));
  fs::remove(secret);
  dir.write("secret.hex", std::string(kMaxSecretFileBytes + 1, 'a'));
  ::chmod(secret.c_str(), 0600);
  EXPECT_TRUE(contains(expect_load_error(config).what(), "larger than 4096 bytes"));
}

TEST(Config, AConfigHoldingASecretOpenToGroupOrOthersIsRefused) {
  TempDir dir("config-test");
  const fs::path config = dir.path() / "n1.toml";
  dir.write("n1.toml", full_config());  // cluster.secret inline
  ::chmod(config.c_str(), 0644);
  const ConfigError e = expect_load_error(config);
  expect_names(e, "cluster.secret", config);
  EXPECT_EQ(e.reason(),
            "holds a secret, so the file must be private: group or others have access to it "
            "(mode 0644); chmod 600 it");
  ::chmod(config.c_str(), 0600);
  EXPECT_NO_THROW(load_config(config));

  // JWT keys are secrets too.
  dir.write("secret.hex", std::string(kSecretHex) + "\n");
  ::chmod((dir.path() / "secret.hex").c_str(), 0600);
  const std::string api =
      "\n[api]\nlisten = \"127.0.0.1:1215\"\ntls_cert = \"a.crt\"\ntls_key = \"a.key\"\n";
  const std::string key = std::string(32, 'k');
  for (const std::string which : {"admin_key", "user_key"}) {
    dir.write("n1.toml", edit(full_config(), std::string("secret = \"") + kSecretHex + "\"",
                              "secret_file = \"secret.hex\"") +
                             api + which + " = \"" + key + "\"\n");
    ::chmod(config.c_str(), 0640);
    expect_names(expect_load_error(config), "api." + which, config);
    ::chmod(config.c_str(), 0600);
    EXPECT_NO_THROW(load_config(config)) << which;
  }
}

TEST(Config, HttpTableDefaultsToLoopbackAndIsAbsentWithoutIt) {
  EXPECT_FALSE(parse_config(full_config(), kSource).http.has_value());
  const Config c = parse_config(full_config() + "\n[http]\n", kSource);
  ASSERT_TRUE(c.http.has_value());
  EXPECT_EQ(c.http->listen.text(), "127.0.0.1:9464");
  EXPECT_FALSE(c.http->tls());
  EXPECT_FALSE(c.http->user_key.has_value());
  // Any loopback address, either family.
  for (const char* listen : {"127.0.0.1:80", "127.1.2.3:9464", "[::1]:9464"}) {
    const Config l =
        parse_config(full_config() + "\n[http]\nlisten = \"" + listen + "\"\n", kSource);
    EXPECT_EQ(l.http->listen.text(), listen);
  }
}

TEST(Config, HttpNonLoopbackAddressNeedsTlsAndAUserKey) {
  const std::string base = full_config() + "\n[http]\n";
  const ConfigError e = expect_error(base + "listen = \"0.0.0.0:9464\"\n");
  expect_names(e, "http.listen");
  EXPECT_EQ(e.reason(),
            "http.listen 0.0.0.0:9464: a non-loopback address needs http.tls_cert, "
            "http.tls_key and http.user_key");
  for (const char* listen :
       {"192.0.2.7:9464", "[::]:9464", "[fe80::1]:9464", "[::ffff:10.0.0.1]:1"})
    expect_names(expect_error(base + "listen = \"" + listen + "\"\n"), "http.listen");

  const std::string key(32, 'h');
  const Config c = parse_config(base +
                                    "listen = \"0.0.0.0:9464\"\ntls_cert = \"tls/http.crt\"\n"
                                    "tls_key = \"/etc/vigil/http.key\"\nuser_key = \"" +
                                    key + "\"\n",
                                kSource);
  ASSERT_TRUE(c.http.has_value());
  EXPECT_TRUE(c.http->tls());
  EXPECT_EQ(c.http->listen.text(), "0.0.0.0:9464");
  EXPECT_EQ(c.http->tls_cert, fs::path("/etc/vigil/tls/http.crt"));  // relative to the file
  EXPECT_EQ(c.http->tls_key, fs::path("/etc/vigil/http.key"));
  EXPECT_EQ(c.http->user_key, key);
}

TEST(Config, HttpTlsKeysGoTogether) {
  const std::string base = full_config() + "\n[http]\n";
  const std::string cert = "tls_cert = \"a.crt\"\n", tls_key = "tls_key = \"a.key\"\n";
  const std::string user = "user_key = \"" + std::string(32, 'h') + "\"\n";
  expect_names(expect_error(base + cert + tls_key), "http.user_key");
  expect_names(expect_error(base + cert + user), "http.tls_key");
  expect_names(expect_error(base + tls_key + user), "http.tls_cert");
  expect_names(expect_error(base + user), "http.tls_cert");
  EXPECT_TRUE(parse_config(base + cert + tls_key + user, kSource).http->tls());
}

TEST(Config, BadHttpTablesNameFileAndKey) {
  const std::string base = full_config() + "\n[http]\n";
  const std::string tls = "tls_cert = \"a.crt\"\ntls_key = \"a.key\"\n";
  expect_names(expect_error(base + "port = 9464\n"), "http.port");
  expect_names(expect_error(base + "listen = \"localhost:9464\"\n"), "http.listen");
  expect_names(expect_error(base + "listen = 9464\n"), "http.listen");
  const ConfigError short_key =
      expect_error(base + tls + "user_key = \"" + std::string(31, 'h') + "\"\n");
  expect_names(short_key, "http.user_key");
  EXPECT_NE(short_key.reason().find("at least 32"), std::string::npos) << short_key.what();
  // The key of user tokens here must not be the key of admin tokens there.
  const std::string admin(32, 'a');
  const std::string api =
      "\n[api]\nlisten = \"127.0.0.1:1215\"\ntls_cert = \"a.crt\"\n"
      "tls_key = \"a.key\"\nadmin_key = \"" +
      admin + "\"\n";
  const ConfigError same =
      expect_error(full_config() + api + "\n[http]\n" + tls + "user_key = \"" + admin + "\"\n");
  expect_names(same, "http.user_key");
  EXPECT_NE(same.reason().find("api.admin_key"), std::string::npos) << same.what();
  // The same key as [api] user_key is allowed: both give read access.
  EXPECT_NO_THROW(parse_config(full_config() + api + "user_key = \"" + std::string(32, 'u') +
                                   "\"\n\n[http]\n" + tls + "user_key = \"" + std::string(32, 'u') +
                                   "\"\n",
                               kSource));
  // Not the address of the TLS API.
  expect_names(expect_error(full_config() + api + "\n[http]\nlisten = \"127.0.0.1:1215\"\n"),
               "http.listen");
}

TEST(Config, AConfigHoldingTheHttpUserKeyMustBePrivate) {
  TempDir dir("config-test");
  const fs::path config = dir.path() / "n1.toml";
  dir.write("secret.hex", std::string(kSecretHex) + "\n");
  ::chmod((dir.path() / "secret.hex").c_str(), 0600);
  dir.write("n1.toml", edit(full_config(), std::string("secret = \"") + kSecretHex + "\"",
                            "secret_file = \"secret.hex\"") +
                           "\n[http]\ntls_cert = \"a.crt\"\ntls_key = \"a.key\"\n"
                           "user_key = \"" +
                           std::string(32, 'h') + "\"\n");
  ::chmod(config.c_str(), 0644);
  expect_names(expect_load_error(config), "http.user_key", config);
  ::chmod(config.c_str(), 0600);
  EXPECT_NO_THROW(load_config(config));
}

TEST(Config, OverlongSocketPathIsRefused) {
  expect_names(expect_error(edit(full_config(), "var_dir = \"/var/lib/vigil/n1\"",
                                 "var_dir = \"/" + std::string(120, 'v') + "\"")),
               "node.var_dir");
}

TEST(Endpoint, ParsesAndFormatsBothFamilies) {
  EXPECT_EQ(parse_endpoint("10.0.0.1:7000"), (Endpoint{"10.0.0.1", 7000}));
  EXPECT_EQ(parse_endpoint("[fe80::1]:65535"), (Endpoint{"fe80::1", 65535}));
  EXPECT_EQ((Endpoint{"fe80::1", 1}).text(), "[fe80::1]:1");
  EXPECT_THROW(parse_endpoint("10.0.0.1:65536"), std::invalid_argument);
}

}  // namespace
}  // namespace vigil::agent

namespace vigil::agent {
namespace {

TEST(ConfigHooks, ARelativeCommandIsTakenFromTheConfigDirectory) {
  const Config c = parse_config(
      edit(full_config(), "command = [\"/usr/local/bin/audit\"]", "command = [\"hooks/audit.sh\"]"),
      "/etc/vigil/n1.toml");
  EXPECT_EQ(c.hooks[0].command.front(), "/etc/vigil/hooks/audit.sh");
  const Config bare = parse_config(
      edit(full_config(), "command = [\"/usr/local/bin/audit\"]", "command = [\"logger\"]"),
      "/etc/vigil/n1.toml");
  EXPECT_EQ(bare.hooks[0].command.front(), "logger");  // looked up in PATH
}

TEST(ConfigHooks, StartChecksNameTheKeyOfAMissingOrNonExecutableCommand) {
  vigil::testing::TempDir dir("hookcheck");
  const auto script = dir.path() / "ok.sh";
  const auto plain = dir.path() / "plain.sh";
  std::ofstream(script) << "#!/bin/sh\n";
  std::ofstream(plain) << "#!/bin/sh\n";
  fs::permissions(script, fs::perms::owner_all);
  fs::permissions(plain, fs::perms::owner_read | fs::perms::owner_write);
  auto with_audit = [&](const std::string& command) {
    return parse_config(edit(full_config(), "command = [\"/usr/local/bin/audit\"]",
                             "command = [\"" + command + "\"]"),
                        dir.path() / "n1.toml");
  };
  auto with_both = [&](const std::string& audit) {
    Config c = with_audit(audit);
    c.hooks[1].command.front() = "sh";  // hook.notify: a bare name in PATH
    return c;
  };
  EXPECT_NO_THROW(check_hook_commands(with_both("./ok.sh")));
  for (const std::string bad : {"./plain.sh", "./missing.sh", "/"}) {
    try {
      check_hook_commands(with_both(bad));
      ADD_FAILURE() << bad << " was accepted";
    } catch (const ConfigError& e) {
      EXPECT_EQ(e.key(), "hook.audit.command") << e.what();
    }
  }
  Config c = with_both("./ok.sh");
  c.hooks[1].command.front() = "no-such-program-for-vigil";
  try {
    check_hook_commands(c);
    ADD_FAILURE() << "a program missing from PATH was accepted";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.key(), "hook.notify.command") << e.what();
  }
}

}  // namespace
}  // namespace vigil::agent
