// libFuzzer target for what a joining node reads from its seed (and from its
// own <var_dir>/cluster.json): the cluster file (agent/engine/cluster_file.h)
// and the keyring (agent/keys/keyring_file.h) of a join answer.
//
// Input: the answer body, JSON text. What is checked, beyond the sanitizers:
//  - nothing but std::invalid_argument (cluster file) or std::runtime_error
//    (keyring) leaves the parsers;
//  - an accepted cluster file reads back the same from its own JSON, and
//    applying it to a running config keeps every invariant: this node a
//    member (then a name), or standalone; no peer is this node; every
//    unicast peer has an address.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "agent/base/bounded_json.h"
#include "agent/engine/cluster_file.h"
#include "agent/keys/keyring_file.h"

namespace {

using json = nlohmann::json;
using vigil::agent::Config;

[[noreturn]] void fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "fuzz_join_answer: %s: %s\n", what, detail.c_str());
  std::abort();
}

Config joiner() {
  Config c;
  c.has_cluster = false;
  c.node_name = "n4";
  c.nodes = {"n4"};
  vigil::agent::HeartbeatPathConfig u1;
  u1.id = "u1";
  u1.listen = {"127.0.0.4", 10001};
  vigil::agent::HeartbeatPathConfig m1;
  m1.id = "m1";
  m1.type = vigil::agent::PathType::kMulticast;
  c.hb = {u1, m1};
  return c;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  static const bool quiet = [] {
    spdlog::set_level(spdlog::level::off);
    return true;
  }();
  (void)quiet;
  json doc;
  try {
    doc = vigil::agent::parse_json_bounded(
        std::string_view(reinterpret_cast<const char*>(data), size), 16);
  } catch (const std::exception&) {
    return 0;
  }
  if (doc.is_discarded()) return 0;
  if (doc.is_object() && doc.contains("keyring")) {
    try {
      auto k = vigil::agent::keyring_from_json(doc["keyring"]);
      if (vigil::agent::keyring_from_json(vigil::agent::keyring_to_json(k)).secrets != k.secrets)
        fail("keyring round trip", doc["keyring"].dump());
    } catch (const std::runtime_error&) {
    }
  }
  vigil::agent::ClusterFile file;
  try {
    file = vigil::agent::cluster_file_from_json(doc);
  } catch (const std::invalid_argument&) {
    return 0;
  }
  const json again = vigil::agent::to_json(file);
  if (vigil::agent::to_json(vigil::agent::cluster_file_from_json(again)) != again)
    fail("cluster file round trip", again.dump());
  Config c = joiner();
  vigil::agent::apply_cluster_file(c, file);
  if (vigil::agent::standalone(c)) {
    if (c.nodes != std::vector<std::string>{"n4"}) fail("standalone nodes", again.dump());
  } else {
    if (c.cluster_name.empty()) fail("member without a cluster name", again.dump());
  }
  for (const auto& hb : c.hb)
    for (const auto& [name, ep] : hb.peers) {
      if (name == "n4") fail("this node is its own peer", again.dump());
      if (ep.port == 0) fail("a peer without an address", again.dump());
    }
  return 0;
}
