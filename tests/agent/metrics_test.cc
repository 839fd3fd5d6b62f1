// The Prometheus exposition (agent/metrics): counted families, families read
// from status documents, process figures, and bad input left out.
#include "agent/metrics/metrics.h"

#include <map>
#include <regex>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "agent/events/event.h"
#include "agent/metrics/process_metrics.h"

namespace vigil::agent {
namespace {

using json = nlohmann::json;

// {"name{labels}": value} of every sample line.
std::map<std::string, double> parse(const std::string& text) {
  std::map<std::string, double> out;
  std::regex line(R"(^([a-z_]+(\{[^}]*\})?) (\S+)$)");
  std::smatch m;
  std::string::size_type start = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    std::string l = text.substr(start, end - start);
    if (std::regex_match(l, m, line)) out[m[1]] = std::stod(m[3]);
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return out;
}

json hb_status() {
  return json::parse(R"({
    "paths": [{"id": "u1", "type": "unicast", "up": true, "send_errors": 2, "kernel_drops": 5,
               "dropped": {"bad_tag": 3, "replay": 0},
               "sent": {"n2": {"datagrams": 10, "bytes": 1000}},
               "peers": {"n2": {"state": "alive", "received_datagrams": 9, "received_bytes": 900,
                                "last_heard_ms": 250},
                         "n3": {"state": "stale", "received_datagrams": 1, "received_bytes": 100,
                                "last_heard_ms": null}}}],
    "key": {"current": 4, "rotating": false}})");
}

json dataset() {
  return json::parse(R"({
    "cluster": {"quorum": {"has_quorum": true, "votes": {"present": 2, "total": 3, "needed": 2}}},
    "peers": {"n1": {"state": "alive", "gen": 7}, "n2": {"state": "alive", "gen": 3},
              "n3": {"state": "stale", "gen": 1}}})");
}

TEST(Metrics, StateFamiliesFollowTheStatusDocuments) {
  Metrics m("1.2.3");
  const json hb = hb_status(), ds = dataset();
  const json hooks = json::parse(
      R"([{"url": "https://r/x", "queued": 4, "delivered": 10, "failed": 2, "dropped": 1}])");
  const json nats = json::parse(
      R"({"connected": true, "buffered": 0, "published": 12, "acked": 0, "dropped": 0,
          "reconnects": 1})");
  auto s =
      parse(m.expose({.hb = &hb, .dataset = &ds, .self = "n1", .webhooks = &hooks, .nats = &nats}));
  EXPECT_EQ(s["vigil_build_info{version=\"1.2.3\"}"], 1);
  EXPECT_EQ(s["vigil_heartbeat_sent_datagrams_total{path=\"u1\",peer=\"n2\"}"], 10);
  EXPECT_EQ(s["vigil_heartbeat_sent_bytes_total{path=\"u1\",peer=\"n2\"}"], 1000);
  EXPECT_EQ(s["vigil_heartbeat_received_datagrams_total{path=\"u1\",peer=\"n2\"}"], 9);
  EXPECT_EQ(s["vigil_heartbeat_received_bytes_total{path=\"u1\",peer=\"n3\"}"], 100);
  EXPECT_EQ(s["vigil_heartbeat_dropped_datagrams_total{path=\"u1\",reason=\"bad_tag\"}"], 3);
  EXPECT_EQ(s["vigil_heartbeat_kernel_dropped_datagrams_total{path=\"u1\"}"], 5);
  EXPECT_EQ(s["vigil_heartbeat_send_errors_total{path=\"u1\"}"], 2);
  EXPECT_EQ(s["vigil_path_up{path=\"u1\",type=\"unicast\"}"], 1);
  EXPECT_EQ(s["vigil_peer_path_up{path=\"u1\",peer=\"n2\"}"], 1);
  EXPECT_EQ(s["vigil_peer_path_up{path=\"u1\",peer=\"n3\"}"], 0);
  EXPECT_DOUBLE_EQ(s["vigil_peer_last_heard_seconds{path=\"u1\",peer=\"n2\"}"], 0.25);
  EXPECT_EQ(s.count("vigil_peer_last_heard_seconds{path=\"u1\",peer=\"n3\"}"), 0u);  // never
  EXPECT_EQ(s["vigil_peer_up{peer=\"n2\"}"], 1);
  EXPECT_EQ(s["vigil_peer_up{peer=\"n3\"}"], 0);
  EXPECT_EQ(s.count("vigil_peer_up{peer=\"n1\"}"), 0u);  // itself
  EXPECT_EQ(s["vigil_node_gen{node=\"n1\"}"], 7);
  EXPECT_EQ(s["vigil_quorum_votes{kind=\"present\"}"], 2);
  EXPECT_EQ(s["vigil_quorum_votes{kind=\"total\"}"], 3);
  EXPECT_EQ(s["vigil_quorum_votes{kind=\"needed\"}"], 2);
  EXPECT_EQ(s["vigil_quorum_held"], 1);
  EXPECT_EQ(s["vigil_secret_version"], 4);
  EXPECT_EQ(s["vigil_secret_rotating"], 0);
  EXPECT_EQ(s["vigil_webhook_queued_events{url=\"https://r/x\"}"], 4);
  EXPECT_EQ(s["vigil_webhook_deliveries_total{result=\"failed\",url=\"https://r/x\"}"], 2);
  EXPECT_EQ(s["vigil_webhook_dropped_events_total{url=\"https://r/x\"}"], 1);
  EXPECT_EQ(s["vigil_nats_connected"], 1);
  EXPECT_EQ(s["vigil_nats_published_events_total"], 12);
  EXPECT_EQ(s["vigil_nats_reconnects_total"], 1);
  EXPECT_GT(s["process_resident_memory_bytes"], 0);
  EXPECT_GT(s["process_open_fds"], 0);
}

TEST(Metrics, EventsHookRunsAndApiRequestsAreCounted) {
  Metrics m("1");
  // As the daemon wires it: the bus's counter sees every kind, and the
  // hook-run listener the Exec events.
  auto event = [&](const Event& e) {
    m.count_event(e.kind);
    m.hook_run(e);
  };
  event(Event{.kind = "NodeStale"});
  event(Event{.kind = "NodeStale"});
  event(Event{.kind = "ExecSuccess",
              .labels = {{"hook", "h"}},
              .data = {{"hook", "h"}, {"pid", 1}, {"exit_code", 0}, {"duration_ms", 30}}});
  event(Event{.kind = "ExecFailed",
              .labels = {{"hook", "h"}},
              .data = {{"pid", 2},
                       {"exit_code", -1},
                       {"duration_ms", 10000},
                       {"error", "timeout after 10000ms"}}});
  event(Event{.kind = "ExecFailed",
              .labels = {{"hook", "h"}},
              .data = {{"exit_code", -1}, {"duration_ms", 0}, {"error", "no such file"}}});
  event(Event{.kind = "ExecFailed",
              .labels = {{"hook", "h"}},
              .data = {{"pid", 3}, {"exit_code", 2}, {"duration_ms", "bad"}}});
  m.api_request("/v1/status", 200);
  m.api_request("/v1/status", 200);
  m.api_request("unmatched", 404);
  auto s = parse(m.expose({}));
  EXPECT_EQ(s["vigil_events_total{kind=\"NodeStale\"}"], 2);
  EXPECT_EQ(s["vigil_hook_runs_total{hook=\"h\",result=\"success\"}"], 1);
  EXPECT_EQ(s["vigil_hook_runs_total{hook=\"h\",result=\"timeout\"}"], 1);
  EXPECT_EQ(s["vigil_hook_runs_total{hook=\"h\",result=\"not_started\"}"], 1);
  EXPECT_EQ(s["vigil_hook_runs_total{hook=\"h\",result=\"failure\"}"], 1);
  // Three durations observed; the one that is not a number is not.
  EXPECT_EQ(s["vigil_hook_duration_seconds_count{hook=\"h\"}"], 3);
  EXPECT_DOUBLE_EQ(s["vigil_hook_duration_seconds_sum{hook=\"h\"}"], 10.03);
  EXPECT_EQ(s["vigil_hook_duration_seconds_bucket{hook=\"h\",le=\"0.05\"}"], 2);
  EXPECT_EQ(s["vigil_api_requests_total{route=\"/v1/status\",status=\"200\"}"], 2);
  EXPECT_EQ(s["vigil_api_requests_total{route=\"unmatched\",status=\"404\"}"], 1);
}

TEST(Metrics, LabelValuesAreBounded) {
  Metrics m("1");
  for (int i = 0; i < 1000; ++i) m.count_event("Kind" + std::to_string(i));
  auto s = parse(m.expose({}));
  std::size_t kinds = 0;
  for (const auto& [name, v] : s)
    if (name.rfind("vigil_events_total{", 0) == 0) ++kinds;
  EXPECT_LE(kinds, 257u);
  EXPECT_GT(s["vigil_events_total{kind=\"other\"}"], 0);
}

TEST(Metrics, DocumentsOfTheWrongShapeAreLeftOut) {
  Metrics m("1");
  const json hb = json::parse(R"({"paths": [1, "x", {"id": 5}, {"id": "u1", "up": "yes",
      "peers": [1], "sent": {"n2": 3}, "dropped": {"bad_tag": "many"}}], "key": 7})");
  const json ds = json::parse(R"({"peers": {"n2": 5}, "cluster": []})");
  const json hooks = json::parse(R"({"url": 1})");
  const json nats = json::array();
  std::string text;
  EXPECT_NO_THROW(
      text =
          m.expose({.hb = &hb, .dataset = &ds, .self = "n1", .webhooks = &hooks, .nats = &nats}));
  auto s = parse(text);
  EXPECT_EQ(s.count("vigil_path_up{path=\"u1\",type=\"\"}"), 0u);  // "yes" is no number
  EXPECT_EQ(s["vigil_peer_up{peer=\"n2\"}"], 0);                   // not "alive"
}

TEST(ProcessStat, ParsesAfterTheLastParenthesis) {
  // comm "a) (b" holds spaces and parentheses; 52 fields in all.
  std::string line =
      "42 (a) (b) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 3 0 1000 "
      "123456789 300 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0";
  ProcessStat s;
  ASSERT_TRUE(parse_process_stat(line, 100, 4096, 1'700'000'000, s));
  EXPECT_DOUBLE_EQ(s.cpu_seconds, 3.0);  // (250 + 50) / 100
  EXPECT_DOUBLE_EQ(s.start_time_seconds, 1'700'000'010.0);
  EXPECT_DOUBLE_EQ(s.virtual_bytes, 123456789);
  EXPECT_DOUBLE_EQ(s.resident_bytes, 300.0 * 4096);
  EXPECT_FALSE(parse_process_stat("42 (x) S 1 2", 100, 4096, 0, s));
  EXPECT_FALSE(parse_process_stat("no parenthesis", 100, 4096, 0, s));
  std::string bad = line;
  bad.replace(bad.find(" 250 "), 5, " x25 ");
  EXPECT_FALSE(parse_process_stat(bad, 100, 4096, 0, s));
}

}  // namespace
}  // namespace vigil::agent
