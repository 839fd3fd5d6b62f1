#include "agent/engine/cluster_file.h"

#include <cerrno>
#include <stdexcept>
#include <string>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "agent/base/bounded_json.h"
#include "agent/base/file.h"
#include "agent/config/endpoint.h"
#include "agent/config/node_name.h"

namespace vigil::agent {

namespace fs = std::filesystem;
using json = nlohmann::json;
using std::chrono::milliseconds;

namespace {

// Nesting of the file: the object, members, an entry, its paths.
constexpr int kMaxDepth = 8;

[[noreturn]] void bad(const std::string& field, const std::string& why) {
  throw std::invalid_argument(field + ": " + why);
}

int64_t bounded_ms(const json& j, const char* key, int64_t lo, int64_t hi) {
  const std::string field = std::string("settings.") + key;
  if (!j.contains(key)) bad(field, "missing");
  const json& v = j.at(key);
  if (!v.is_number_integer()) bad(field, "expected an integer (ms)");
  const auto ms = v.get<int64_t>();
  if (ms < lo || ms > hi)
    bad(field,
        std::to_string(ms) + " is out of range " + std::to_string(lo) + "-" + std::to_string(hi));
  return ms;
}

ClusterSettings settings_from_json(const json& j) {
  if (!j.is_object()) bad("settings", "expected an object");
  ClusterSettings s;
  if (!j.contains("quorum") || !j.at("quorum").is_boolean())
    bad("settings.quorum", "expected true or false");
  s.quorum = j.at("quorum").get<bool>();
  s.max_skew = milliseconds(bounded_ms(j, "max_skew_ms", 1, 86'400'000));
  s.rejoin_grace = milliseconds(bounded_ms(j, "rejoin_grace_ms", 0, 86'400'000));
  if (j.contains("dissemination")) {
    const json& d = j.at("dissemination");
    bool known = false;
    for (auto mode : {Dissemination::kAuto, Dissemination::kMesh, Dissemination::kGossip})
      if (d.is_string() && d.get<std::string>() == to_string(mode)) {
        s.dissemination = mode;
        known = true;
      }
    if (!known) bad("settings.dissemination", "expected \"auto\", \"mesh\" or \"gossip\"");
  }
  const json& arbs = j.contains("arbitrators") ? j.at("arbitrators") : json::array();
  if (!arbs.is_array() || arbs.size() > 64)
    bad("settings.arbitrators", "expected an array of at most 64");
  for (const auto& a : arbs) {
    const std::string field = "settings.arbitrators[" + std::to_string(s.arbitrators.size()) + "]";
    if (!a.is_object() || !a.contains("name") || !a.at("name").is_string() || !a.contains("uri") ||
        !a.at("uri").is_string() || !a.contains("weight") || !a.at("weight").is_number_integer())
      bad(field, "expected {name, uri, weight, timeout_ms}");
    ArbitratorConfig arb;
    arb.name = a.at("name").get<std::string>();
    if (arb.name.empty() || arb.name.size() > 255) bad(field + ".name", "1-255 bytes");
    try {
      arb.uri = parse_arbitrator_uri(a.at("uri").get<std::string>());
    } catch (const std::invalid_argument& e) {
      bad(field + ".uri", e.what());
    }
    const auto weight = a.at("weight").get<int64_t>();
    if (weight < 1 || weight > 1000) bad(field + ".weight", "out of range 1-1000");
    arb.weight = static_cast<uint32_t>(weight);
    arb.timeout = milliseconds(bounded_ms(a, "timeout_ms", 1, 60'000));
    s.arbitrators.push_back(std::move(arb));
  }
  return s;
}

json settings_to_json(const ClusterSettings& s) {
  json arbs = json::array();
  for (const auto& a : s.arbitrators)
    arbs.push_back({{"name", a.name},
                    {"uri", a.uri.text()},
                    {"weight", a.weight},
                    {"timeout_ms", a.timeout.count()}});
  return {{"quorum", s.quorum},
          {"max_skew_ms", s.max_skew.count()},
          {"rejoin_grace_ms", s.rejoin_grace.count()},
          {"dissemination", std::string(to_string(s.dissemination))},
          {"arbitrators", std::move(arbs)}};
}

}  // namespace

fs::path cluster_file_path(const fs::path& var_dir) { return var_dir / "cluster.json"; }

json to_json(const ClusterFile& file) {
  json j = file.members.to_json();
  j["cluster"] = file.cluster;
  if (file.settings) j["settings"] = settings_to_json(*file.settings);
  if (!file.webhooks.entries().empty()) j["webhooks"] = file.webhooks.to_json();
  return j;
}

ClusterFile cluster_file_from_json(const json& j) {
  if (!j.is_object()) bad("cluster file", "expected an object");
  ClusterFile f;
  if (!j.contains("cluster") || !j.at("cluster").is_string()) bad("cluster", "expected a string");
  f.cluster = j.at("cluster").get<std::string>();
  if (f.cluster.empty() || f.cluster.size() > 255) bad("cluster", "1-255 bytes");
  if (!j.contains("members") || !j.at("members").is_array()) bad("members", "expected an array");
  if (j.at("members").size() > kMaxMembers)
    bad("members", "more than " + std::to_string(kMaxMembers) + " entries");
  json list = {{"ltime", j.value("ltime", json(0))}, {"members", j.at("members")}};
  f.members = membership::MemberList::from_json(list);
  for (const auto& [name, m] : f.members.entries())
    if (!is_node_name(name)) bad("members", "invalid node name '" + name + "'");
  if (j.contains("settings")) f.settings = settings_from_json(j.at("settings"));
  if (j.contains("webhooks")) f.webhooks = membership::WebhookSet::from_json(j.at("webhooks"));
  return f;
}

ClusterSettings settings_of(const Config& config) {
  return ClusterSettings{.quorum = config.quorum,
                         .max_skew = config.max_skew,
                         .rejoin_grace = config.rejoin_grace,
                         .dissemination = config.dissemination,
                         .arbitrators = config.arbitrators};
}

std::optional<ClusterFile> load_cluster_file(const fs::path& path) {
  FileContents file;
  try {
    file = read_regular_file(path, kMaxClusterFileBytes);
  } catch (const FileError& e) {
    if (e.error_code() == ENOENT) return std::nullopt;
    throw;
  }
  try {
    json j = parse_json_bounded(file.text, kMaxDepth);
    if (j.is_discarded()) throw std::invalid_argument("not valid JSON");
    return cluster_file_from_json(j);
  } catch (const std::exception& e) {
    throw std::runtime_error(path.string() + ": " + e.what());
  }
}

void save_cluster_file(const fs::path& path, const ClusterFile& file) {
  std::string text = to_json(file).dump();
  text.push_back('\n');
  write_file_atomically(path, text);
}

std::map<std::string, std::string> own_paths(const Config& config) {
  std::map<std::string, std::string> out;
  for (const auto& hb : config.hb)
    out[hb.id] =
        hb.type == PathType::kUnicast ? hb.listen.text() : Endpoint{hb.addr, hb.port}.text();
  return out;
}

ClusterFile seed_cluster_file(const Config& config) {
  ClusterFile f{.cluster = config.cluster_name, .members = {}, .settings = std::nullopt};
  for (const auto& name : config.nodes) {
    membership::Member m{.name = name, .ltime = 1};
    if (name == config.node_name) {
      m.paths = own_paths(config);
    } else {
      for (const auto& hb : config.hb)
        if (auto it = hb.peers.find(name); it != hb.peers.end()) m.paths[hb.id] = it->second.text();
    }
    f.members.merge(m);
  }
  return f;
}

void apply_cluster_file(Config& config, const ClusterFile& file) {
  const membership::Member* self = file.members.find(config.node_name);
  if (!self || self->state != membership::Member::State::kMember) return make_standalone(config);
  config.cluster_name = file.cluster;
  config.nodes = file.members.members();
  for (auto& hb : config.hb) {
    hb.peers.clear();
    for (const auto& name : config.nodes) {
      if (name == config.node_name || hb.not_reached.count(name)) continue;
      if (hb.type == PathType::kMulticast) {
        hb.peers.emplace(name, Endpoint{hb.addr, hb.port});
        continue;
      }
      const auto& paths = file.members.find(name)->paths;
      auto it = paths.find(hb.id);
      if (it == paths.end()) continue;
      try {
        hb.peers.emplace(name, parse_endpoint(it->second));
      } catch (const std::invalid_argument& e) {
        spdlog::warn("member {}: address '{}' on {} skipped: {}", name, it->second, hb.id,
                     e.what());
      }
    }
  }
  if (file.settings) {
    config.quorum = file.settings->quorum;
    config.max_skew = file.settings->max_skew;
    config.rejoin_grace = file.settings->rejoin_grace;
    config.dissemination = file.settings->dissemination;
    config.arbitrators = file.settings->arbitrators;
  }
}

void make_standalone(Config& config) {
  config.cluster_name.clear();
  config.nodes = {config.node_name};
  for (auto& hb : config.hb) hb.peers.clear();
}

bool standalone(const Config& config) { return config.cluster_name.empty(); }

}  // namespace vigil::agent
