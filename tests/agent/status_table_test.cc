#include "agent/cli/status_table.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace vigil::agent {
namespace {

using json = nlohmann::json;

TEST(StatusTable, OneRowPerNodeWithStatePathsAndLabels) {
  json ds = json::parse(R"({
    "cluster": {"name": "demo", "nodes": ["n1", "n2", "n3"]},
    "node": {"n1": {"labels": {"rack": "r7"}, "frozen": true},
             "n2": {"labels": {}, "frozen": false}},
    "peers": {"n1": {"state": "alive", "gen": 4, "hb": {}},
              "n2": {"state": "stale", "gen": 2, "hb": {"u1": "stale"}},
              "n3": {"state": "unknown", "gen": 0, "hb": {"u1": "unknown"}}}})");
  std::string out = render_status_table(ds);
  EXPECT_EQ(out.rfind("cluster demo\n", 0), 0u) << out;
  EXPECT_NE(out.find("HB:u1"), std::string::npos);
  EXPECT_NE(out.find("n1    alive    frozen  4    rack=r7  no path"), std::string::npos) << out;
  EXPECT_NE(out.find("n2    stale    -       2    -        stale"), std::string::npos) << out;
  EXPECT_NE(out.find("n3    unknown  ?       0    -        unknown"), std::string::npos) << out;
  EXPECT_EQ(out.find("quorum"), std::string::npos) << "no quorum object, no quorum line";
}

TEST(StatusTable, MarksTheLocalNodeAndTellsNoPathFromNotApplicable) {
  json ds = json::parse(R"({
    "cluster": {"name": "demo", "nodes": ["n1", "n2", "n3"]},
    "node": {},
    "peers": {"n1": {"state": "alive", "gen": 4, "hb": {"u1": "alive", "u2": "alive"}},
              "n2": {"state": "alive", "gen": 2, "hb": {"u1": "alive", "u2": "stale"}},
              "n3": {"state": "alive", "gen": 1, "hb": {"u1": "alive"}}}})");
  const std::string out = render_status_table(ds, "n1");
  EXPECT_NE(out.find("n1 (local)  alive  ?       4    -       n/a    n/a\n"), std::string::npos)
      << out;
  EXPECT_NE(out.find("n2          alive  ?       2    -       alive  stale\n"), std::string::npos)
      << out;
  EXPECT_NE(out.find("n3          alive  ?       1    -       alive  no path\n"), std::string::npos)
      << out;
  EXPECT_EQ(render_status_table(ds).find("(local)"), std::string::npos);
}

TEST(StatusTable, OddPeerDocumentsNeverStopTheTable) {
  json ds = json::parse(R"({
    "cluster": {"name": "demo", "nodes": ["n1", "n2", "n3"]},
    "node": {"n1": {"labels": "x", "frozen": "yes"},
             "n2": {"labels": {"a": 5, "b": [1]}, "frozen": null},
             "n3": 7},
    "peers": {"n1": {"state": "alive", "gen": 4, "hb": {}},
              "n2": {"state": "alive", "gen": 2, "hb": {}},
              "n3": {"state": "alive", "gen": 1, "hb": {}}}})");
  std::string out;
  ASSERT_NO_THROW(out = render_status_table(ds));
  EXPECT_NE(out.find("n1    alive  ?       4    ?"), std::string::npos) << out;
  EXPECT_NE(out.find("a=5,b=[1]"), std::string::npos) << out;
  EXPECT_NE(out.find("n3    alive  ?       1    -"), std::string::npos) << out;
}

TEST(StatusTable, QuorumLineShowsVotesActionAndArbitrators) {
  json ds = json::parse(R"({
    "cluster": {"name": "demo", "nodes": ["n1", "n2"],
                "quorum": {"enabled": true, "split_action": "disabled", "has_quorum": false,
                           "votes": {"total": 4, "present": 1, "needed": 3},
                           "arbitrators": {
                             "a1": {"reachable": false, "error": "connect: refused"},
                             "a2": {"reachable": null, "error": null}}}},
    "node": {}, "peers": {"n1": {"state": "alive", "gen": 1, "hb": {}}}})");
  EXPECT_NE(render_status_table(ds).find(
                "quorum: LOST, 1 of 4 votes (needed 3); split action disabled; arbitrator a1 "
                "unreachable (connect: refused); arbitrator a2 not checked yet\n"),
            std::string::npos)
      << render_status_table(ds);
  ds["cluster"]["quorum"]["enabled"] = false;
  EXPECT_NE(render_status_table(ds).find("quorum: not enforced, 1 of 4"), std::string::npos);
}

TEST(StatusTable, RejoinGraceLineOnlyWhileItRuns) {
  json ds = json::parse(R"({
    "cluster": {"name": "demo", "nodes": ["n1", "n2", "n3"],
                "quorum": {"enabled": true, "split_action": "disabled", "has_quorum": false,
                           "votes": {"total": 3, "present": 1, "needed": 2}, "arbitrators": {}},
                "rejoin_grace": {"state": "running", "grace_ms": 90000, "remaining_ms": 84001,
                                 "unheard": ["n2", "n3"], "held": []}},
    "node": {}, "peers": {"n1": {"state": "alive", "gen": 1, "hb": {}},
                          "n2": {"state": "stopped", "gen": 0, "hb": {"u1": "stopped"}}}})");
  std::string out = render_status_table(ds);
  EXPECT_NE(out.find("rejoin grace: 85s left, split analysis held; not heard yet: n2,n3\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("n2    stopped"), std::string::npos) << out;
  ds["cluster"]["quorum"]["enabled"] = false;  // nothing to hold
  out = render_status_table(ds);
  EXPECT_NE(out.find("rejoin grace: 85s left; not heard yet: n2,n3\n"), std::string::npos) << out;
  ds["cluster"]["quorum"]["enabled"] = true;
  ds["cluster"]["rejoin_grace"]["state"] = "all_heard";
  ds["cluster"]["rejoin_grace"]["remaining_ms"] = 0;
  EXPECT_EQ(render_status_table(ds).find("rejoin grace"), std::string::npos);
  ds["cluster"]["rejoin_grace"] = {{"state", "running"}, {"remaining_ms", "odd"}};
  EXPECT_NE(render_status_table(ds).find("rejoin grace: running, split analysis held\n"),
            std::string::npos);
}

TEST(StatusTable, HeartbeatTableShowsPeersCountersKernelDropsAndOnlyNonZeroDrops) {
  json hb = json::parse(R"({"paths": [{"id": "u1", "type": "unicast", "up": true,
    "describe": "listen 127.0.0.1:10001", "sent_datagrams": 10, "sent_bytes": 900,
    "send_errors": 0, "dropped": {"bad_tag": 2, "replay": 0}, "kernel_drops": 5,
    "peers": {"n2": {"address": "127.0.0.2:10001", "state": "alive", "last_heard_ms": 120,
                     "received_datagrams": 8, "received_bytes": 700},
              "n3": {"address": "127.0.0.3:10001", "state": "unknown", "last_heard_ms": null,
                     "received_datagrams": 0, "received_bytes": 0}}}],
    "dropped": {"bad_tag": 3, "replay": 0}, "kernel_drops": 5,
    "key": {"current": 2, "versions": [1, 2], "rotating": true},
    "auth_failures": {"n3": {"count": 12, "reason": "key mismatch", "key_version": 1,
                             "last_ms": 40}, "odd": 5}})");
  std::string out = render_hb_table(hb);
  EXPECT_NE(out.find("auth failures from n3: 12 (key mismatch, key version 1, last 40ms ago)\n"),
            std::string::npos)
      << out;
  EXPECT_EQ(out.find("from odd"), std::string::npos) << out;
  EXPECT_NE(out.find("u1    unicast  up      n2    127.0.0.2:10001  alive    120ms ago   8"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("never"), std::string::npos) << out;
  EXPECT_NE(out.find("path u1 (listen 127.0.0.1:10001): sent 10 datagrams, 900 bytes; send "
                     "errors 0; dropped: bad_tag=2; kernel drops (receive buffer full) 5\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("dropped (all paths): bad_tag=3; kernel drops 5\n"), std::string::npos) << out;
  EXPECT_NE(out.find("secret: sealing with version 2; held 1, 2; a rotation led here is in "
                     "progress\n"),
            std::string::npos)
      << out;
}

TEST(StatusTable, HeartbeatTableShowsTheDisseminationMode) {
  json hb = {{"paths", json::array()}, {"dissemination", {{"mode", "mesh"}}}};
  EXPECT_NE(render_hb_table(hb).find("dissemination: mesh\n"), std::string::npos);
  hb["dissemination"] = {
      {"mode", "gossip"},         {"fanout", 3},
      {"probe_interval_ms", 500}, {"rate", {{"messages_per_s", 4.25}, {"bytes_per_s", 812.4}}},
      {"pending_retransmits", 2}, {"alive", 39}};
  const std::string out = render_hb_table(hb);
  EXPECT_NE(out.find("dissemination: gossip; fanout 3, probe interval 500 ms, sending 4.2 msg/s "
                     "and 812 B/s, 2 pending retransmits, 39 members alive\n"),
            std::string::npos)
      << out;
}

TEST(StatusTable, EventLineHasTimeKindLabelsAndData) {
  json e = {{"at", "2026-11-22T14:00:00.000Z"},
            {"kind", "NodeStale"},
            {"id", 3},
            {"labels", {{"node", "n2"}}},
            {"data", {{"node", "n2"}}}};
  EXPECT_EQ(render_event_line(e), R"(2026-11-22T14:00:00.000Z NodeStale node=n2 {"node":"n2"})");
}

}  // namespace
}  // namespace vigil::agent
