#include "agent/config/config_diff.h"

#include <string>

#include <gtest/gtest.h>

namespace vigil::agent {
namespace {

using std::chrono::milliseconds;
using Keys = std::vector<std::string>;

constexpr const char* kBase = R"(
[cluster]
name = "demo"
nodes = ["n1", "n2"]
secret = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

[node]
name = "n1"
var_dir = "/var/lib/vigil/n1"

[hb.lan]
type = "unicast"
listen = "127.0.0.1:10001"
peers = { n2 = "127.0.0.2:10001" }

[hook.notify]
events = ["NodeStale"]
command = ["/bin/true"]

[arbitrator.a1]
uri = "tcp://192.0.2.10:1234"
)";

Config base() { return parse_config(kBase, "/etc/vigil/n1.toml"); }

TEST(ConfigDiff, SameConfigIsEmpty) {
  const ConfigDiff d = diff_configs(base(), base());
  EXPECT_TRUE(d.empty());
  EXPECT_NO_THROW(throw_if_refused(d, "/etc/vigil/n1.toml"));
}

TEST(ConfigDiff, SourceIsNotCompared) {
  Config next = base();
  next.source = "/elsewhere.toml";
  EXPECT_TRUE(diff_configs(base(), next).empty());
}

TEST(ConfigDiff, LiveKeysAreChangedAndSorted) {
  Config next = base();
  next.log_level = LogLevel::kDebug;
  next.quorum = true;
  next.split_action = SplitAction::kReboot;
  const ConfigDiff d = diff_configs(base(), next);
  EXPECT_EQ(d.changed, (Keys{"cluster.quorum", "node.log_level", "node.split_action"}));
  EXPECT_TRUE(d.refused.empty());
}

TEST(ConfigDiff, HooksAddedRemovedChangedByName) {
  Config next = base();
  next.hooks.front().timeout = milliseconds(5000);  // notify changed
  HookConfig added;
  added.name = "audit";
  added.all_events = true;
  added.command = {"/bin/true"};
  next.hooks.insert(next.hooks.begin(), added);
  EXPECT_EQ(diff_configs(base(), next).changed, (Keys{"hook.audit", "hook.notify"}));

  Config removed = base();
  removed.hooks.clear();
  EXPECT_EQ(diff_configs(base(), removed).changed, (Keys{"hook.notify"}));

  Config events = base();
  events.hooks.front().events = {"NodeAlive"};
  EXPECT_EQ(diff_configs(base(), events).changed, (Keys{"hook.notify"}));
  Config command = base();
  command.hooks.front().command = {"/bin/false"};
  EXPECT_EQ(diff_configs(base(), command).changed, (Keys{"hook.notify"}));
}

TEST(ConfigDiff, ArbitratorsByName) {
  Config next = base();
  next.arbitrators.front().weight = 3;
  EXPECT_EQ(diff_configs(base(), next).changed, (Keys{"arbitrator.a1"}));
  Config uri = base();
  uri.arbitrators.front().uri = parse_arbitrator_uri("http://192.0.2.11/health");
  EXPECT_EQ(diff_configs(base(), uri).changed, (Keys{"arbitrator.a1"}));
  Config gone = base();
  gone.arbitrators.clear();
  EXPECT_EQ(diff_configs(base(), gone).changed, (Keys{"arbitrator.a1"}));
}

TEST(ConfigDiff, ApiKeysAndLimitsAreLive) {
  Config next = base();
  next.api.admin_key = std::string(32, 'a');
  next.api.limits.max_waits = 3;
  next.api.limits.request_timeout = milliseconds(2000);
  const ConfigDiff d = diff_configs(base(), next);
  EXPECT_EQ(d.changed, (Keys{"api.admin_key", "api.max_waits", "api.request_timeout"}));
  EXPECT_TRUE(d.refused.empty());
}

TEST(ConfigDiff, WebhookDeliverySettingsNeedARestart) {
  Config next = base();
  next.webhooks.queue_max = 5;
  next.webhooks.timeout = std::chrono::seconds(1);
  next.webhooks.retry_min = std::chrono::seconds(2);
  next.webhooks.retry_max = std::chrono::seconds(3);
  next.webhooks.ca_file = "/etc/ca.pem";
  const ConfigDiff d = diff_configs(base(), next);
  EXPECT_EQ(d.refused, (std::vector<RefusedKey>{{"webhooks.ca_file", kNeedsRestart},
                                                {"webhooks.queue_max", kNeedsRestart},
                                                {"webhooks.retry_max", kNeedsRestart},
                                                {"webhooks.retry_min", kNeedsRestart},
                                                {"webhooks.timeout", kNeedsRestart}}));
  EXPECT_TRUE(d.changed.empty());
}

TEST(ConfigDiff, NatsExportSettingsNeedARestart) {
  Config with = base();
  with.nats = NatsExportConfig{.url = "nats://127.0.0.1:4222"};
  EXPECT_EQ(diff_configs(base(), with).refused,
            (std::vector<RefusedKey>{{"export.nats", kNeedsRestart}}));
  EXPECT_EQ(diff_configs(with, base()).refused,
            (std::vector<RefusedKey>{{"export.nats", kNeedsRestart}}));
  EXPECT_TRUE(diff_configs(with, with).refused.empty());
  Config next = with;
  next.nats->url = "nats://127.0.0.1:4223";
  next.nats->token = "t";
  next.nats->jetstream = true;
  next.nats->buffer = 5;
  next.nats->filters = {"NodeStale"};
  const ConfigDiff d = diff_configs(with, next);
  EXPECT_EQ(d.refused, (std::vector<RefusedKey>{{"export.nats.buffer", kNeedsRestart},
                                                {"export.nats.filter", kNeedsRestart},
                                                {"export.nats.jetstream", kNeedsRestart},
                                                {"export.nats.token", kNeedsRestart},
                                                {"export.nats.url", kNeedsRestart}}));
  EXPECT_TRUE(d.changed.empty());
}

TEST(ConfigDiff, HttpListenerSettingsNeedARestart) {
  Config with = base();
  with.http = HttpConfig{.listen = Endpoint{"127.0.0.1", 9464}};
  EXPECT_EQ(diff_configs(base(), with).refused, (std::vector<RefusedKey>{{"http", kNeedsRestart}}));
  EXPECT_EQ(diff_configs(with, base()).refused, (std::vector<RefusedKey>{{"http", kNeedsRestart}}));
  EXPECT_TRUE(diff_configs(with, with).empty());
  Config next = with;
  next.http->listen.port = 9465;
  next.http->tls_cert = "/etc/vigil/http.crt";
  next.http->tls_key = "/etc/vigil/http.key";
  next.http->user_key = std::string(32, 'h');
  const ConfigDiff d = diff_configs(with, next);
  EXPECT_EQ(d.refused, (std::vector<RefusedKey>{{"http.listen", kNeedsRestart},
                                                {"http.tls_cert", kNeedsRestart},
                                                {"http.tls_key", kNeedsRestart},
                                                {"http.user_key", kNeedsRestart}}));
  EXPECT_TRUE(d.changed.empty());
}

TEST(ConfigDiff, IdentityAndListenersAreRefused) {
  Config next = base();
  next.node_name = "n2";
  next.cluster_name = "other";
  next.var_dir = "/tmp/elsewhere";
  next.nodes.push_back("n3");
  next.secret[0] ^= 1;
  next.api.listen = Endpoint{"127.0.0.1", 1215};
  next.log_level = LogLevel::kDebug;  // live, but the whole reload is refused
  const ConfigDiff d = diff_configs(base(), next);
  EXPECT_EQ(d.refused, (std::vector<RefusedKey>{{"api.listen", kNeedsRestart},
                                                {"cluster.name", kNeedsRestart},
                                                {"cluster.nodes", kNeedsRestart},
                                                {"cluster.secret", kNeedsRestart},
                                                {"node.name", kNeedsRestart},
                                                {"node.var_dir", kNeedsRestart}}));
  EXPECT_EQ(d.changed, (Keys{"node.log_level"}));
}

TEST(ConfigDiff, PathTimingAndPeersApplyLiveButNotTheListenAddress) {
  Config next = base();
  next.hb.front().interval = milliseconds(250);
  next.hb.front().timeout = milliseconds(1000);
  next.hb.front().peers["n2"] = Endpoint{"127.0.0.2", 10002};
  next.hb.front().listen.port = 10003;
  const ConfigDiff d = diff_configs(base(), next);
  EXPECT_EQ(d.refused, (std::vector<RefusedKey>{{"hb.lan.listen", kNeedsRestart}}));
  EXPECT_EQ(d.changed, (Keys{"hb.lan.interval", "hb.lan.peers", "hb.lan.timeout"}));
}

TEST(ConfigDiff, AddedOrRemovedPathIsRefused) {
  Config next = base();
  next.hb.push_back(next.hb.front());
  next.hb.back().id = "wan";
  EXPECT_EQ(diff_configs(base(), next).refused,
            (std::vector<RefusedKey>{{"hb.wan", kNeedsRestart}}));
  EXPECT_EQ(diff_configs(next, base()).refused,
            (std::vector<RefusedKey>{{"hb.wan", kNeedsRestart}}));
}

TEST(ConfigDiff, CommitIntervalSkewAndRejoinGraceAreRefused) {
  Config next = base();
  next.commit_interval = milliseconds(50);
  next.max_skew = milliseconds(5000);
  next.rejoin_grace = milliseconds(1000);  // it runs once, at start
  EXPECT_EQ(diff_configs(base(), next).refused,
            (std::vector<RefusedKey>{{"cluster.max_skew", kNeedsRestart},
                                     {"cluster.rejoin_grace", kNeedsRestart},
                                     {"node.commit_interval", kNeedsRestart}}));
}

TEST(ConfigDiff, RefusalIsAConfigErrorNamingFileAndKeys) {
  Config next = base();
  next.node_name = "n2";
  next.hb.front().listen.port = 10003;
  const ConfigDiff d = diff_configs(base(), next);
  try {
    throw_if_refused(d, "/etc/vigil/n1.toml");
    FAIL() << "not refused";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.key(), "hb.lan.listen");
    EXPECT_EQ(std::string(e.what()),
              "/etc/vigil/n1.toml: key 'hb.lan.listen': cannot change without a restart; "
              "key 'node.name': cannot change without a restart");
  }
}

}  // namespace
}  // namespace vigil::agent
