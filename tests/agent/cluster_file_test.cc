#include "agent/engine/cluster_file.h"

#include <sys/stat.h>

#include <filesystem>
#include <stdexcept>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/temp_dir.h"

namespace vigil::agent {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using vigil::testing::TempDir;

const char* kSecret = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

Config member_config() {
  return parse_config(std::string(R"(
[cluster]
name = "demo"
nodes = ["n1", "n2", "n3"]
secret = ")") + kSecret + R"("
[node]
name = "n1"
var_dir = "/tmp/vigil-cluster-file-test"
[hb.u1]
type = "unicast"
listen = "127.0.0.1:10001"
peers = { n2 = "127.0.0.2:10001", n3 = "127.0.0.3:10001" }
[hb.m1]
type = "multicast"
addr = "239.1.2.3"
port = 10005
)",
                      "/etc/vigil/vigil.toml");
}

Config joiner_config() {
  return parse_config(R"(
[node]
name = "n4"
var_dir = "/tmp/vigil-cluster-file-test"
[hb.u1]
type = "unicast"
listen = "127.0.0.4:10001"
)",
                      "/etc/vigil/vigil.toml");
}

const HeartbeatPathConfig& path(const Config& c, const std::string& id) {
  for (const auto& hb : c.hb)
    if (hb.id == id) return hb;
  throw std::out_of_range(id);
}

TEST(ClusterFile, AConfigWithoutAClusterTableStartsStandalone) {
  Config c = joiner_config();
  EXPECT_FALSE(c.has_cluster);
  EXPECT_EQ(c.nodes, std::vector<std::string>{"n4"});
  EXPECT_TRUE(standalone([&] {
    Config s = c;
    apply_cluster_file(s, ClusterFile{});
    return s;
  }()));
}

TEST(ClusterFile, TheConfigSeedsTheListWithEveryAddress) {
  const Config c = member_config();
  const ClusterFile f = seed_cluster_file(c);
  EXPECT_EQ(f.cluster, "demo");
  EXPECT_EQ(f.members.members(), (std::vector<std::string>{"n1", "n2", "n3"}));
  EXPECT_EQ(
      f.members.find("n1")->paths,
      (std::map<std::string, std::string>{{"m1", "239.1.2.3:10005"}, {"u1", "127.0.0.1:10001"}}));
  EXPECT_EQ(f.members.find("n3")->paths.at("u1"), "127.0.0.3:10001");
  EXPECT_EQ(f.members.find("n3")->paths.at("m1"), "239.1.2.3:10005");
}

TEST(ClusterFile, TheListMakesTheRunningConfig) {
  Config c = joiner_config();
  ClusterFile f = seed_cluster_file(member_config());
  f.members.join("n4", {{"u1", "127.0.0.4:10001"}});
  f.members.leave("n2");
  f.settings = ClusterSettings{.quorum = true};
  apply_cluster_file(c, f);
  EXPECT_FALSE(standalone(c));
  EXPECT_EQ(c.cluster_name, "demo");
  EXPECT_EQ(c.nodes, (std::vector<std::string>{"n1", "n3", "n4"}));
  ASSERT_EQ(c.hb.size(), 1u);
  EXPECT_EQ(c.hb[0].peers.size(), 2u);  // n1 and n3, not itself, not n2 (left)
  EXPECT_EQ(c.hb[0].peers.at("n3").text(), "127.0.0.3:10001");
  EXPECT_TRUE(c.quorum);
  // This node left: standalone.
  f.members.leave("n4");
  apply_cluster_file(c, f);
  EXPECT_TRUE(standalone(c));
  EXPECT_EQ(c.nodes, std::vector<std::string>{"n4"});
  EXPECT_TRUE(c.hb[0].peers.empty());
}

TEST(ClusterFile, SavedWithMode0600AndReadBack) {
  TempDir dir("cluster-file-test");
  const fs::path p = cluster_file_path(dir.path());
  EXPECT_FALSE(load_cluster_file(p));
  ClusterFile f = seed_cluster_file(member_config());
  f.settings = settings_of(member_config());
  save_cluster_file(p, f);
  struct stat st {};
  ASSERT_EQ(::stat(p.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto back = load_cluster_file(p);
  ASSERT_TRUE(back);
  EXPECT_EQ(to_json(*back), to_json(f));
}

TEST(ClusterFile, AJoinedNodeTakesTheSeedsDisseminationMode) {
  Config seed = member_config();
  seed.dissemination = Dissemination::kGossip;
  ClusterFile f = seed_cluster_file(seed);
  f.settings = settings_of(seed);
  const ClusterFile back = cluster_file_from_json(to_json(f));
  ASSERT_TRUE(back.settings);
  EXPECT_EQ(back.settings->dissemination, Dissemination::kGossip);
  Config joiner = member_config();
  apply_cluster_file(joiner, back);
  EXPECT_EQ(joiner.dissemination, Dissemination::kGossip);
  // A file written before the setting existed reads as auto.
  json old = to_json(f);
  old["settings"].erase("dissemination");
  EXPECT_EQ(cluster_file_from_json(old).settings->dissemination, Dissemination::kAuto);
}

TEST(ClusterFile, ABadFileOrAnswerIsRefusedNamingTheField) {
  const json good = to_json(seed_cluster_file(member_config()));
  auto refusal = [](const json& j) -> std::string {
    try {
      cluster_file_from_json(j);
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    return "accepted";
  };
  EXPECT_EQ(refusal(good), "accepted");
  EXPECT_NE(refusal(json::array()).find("expected an object"), std::string::npos);
  json j = good;
  j.erase("cluster");
  EXPECT_NE(refusal(j).find("cluster"), std::string::npos);
  j = good;
  j["cluster"] = "";
  EXPECT_NE(refusal(j).find("cluster"), std::string::npos);
  j = good;
  j["members"][0]["name"] = "../etc";
  EXPECT_NE(refusal(j).find("invalid node name"), std::string::npos);
  j = good;
  j["settings"] = {{"quorum", "yes"}};
  EXPECT_NE(refusal(j).find("settings.quorum"), std::string::npos);
  j = good;
  j["settings"] = {{"quorum", true}, {"max_skew_ms", -1}, {"rejoin_grace_ms", 0}};
  EXPECT_NE(refusal(j).find("settings.max_skew_ms"), std::string::npos);
  j = good;
  j["settings"] = {
      {"quorum", true}, {"max_skew_ms", 1}, {"rejoin_grace_ms", 0}, {"dissemination", "ring"}};
  EXPECT_NE(refusal(j).find("settings.dissemination"), std::string::npos);
  j = good;
  j["settings"] = {
      {"quorum", false},
      {"max_skew_ms", 1000},
      {"rejoin_grace_ms", 0},
      {"arbitrators", {{{"name", "a"}, {"uri", "udp://x"}, {"weight", 1}, {"timeout_ms", 100}}}}};
  EXPECT_NE(refusal(j).find("settings.arbitrators[0].uri"), std::string::npos);
  j = good;
  j["members"] = json::array();
  for (int i = 0; i < 4097; ++i)
    j["members"].push_back({{"name", "n" + std::to_string(i)},
                            {"paths", json::object()},
                            {"state", "member"},
                            {"ltime", 1}});
  EXPECT_NE(refusal(j).find("more than 4096"), std::string::npos);
}

TEST(ClusterFile, AnUnparsableMemberAddressIsSkippedNotFatal) {
  Config c = member_config();
  ClusterFile f = seed_cluster_file(c);
  f.members.join("n9", {{"u1", "not-an-address"}});
  apply_cluster_file(c, f);
  EXPECT_EQ(c.nodes.size(), 4u);
  EXPECT_FALSE(path(c, "u1").peers.contains("n9"));  // unicast: no address
  EXPECT_TRUE(path(c, "m1").peers.contains("n9"));   // multicast reaches every member
}

}  // namespace
}  // namespace vigil::agent
