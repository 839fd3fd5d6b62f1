// JSON patch cost on a small node document (about ten keys and a labels
// object): one-op "replace" apply, and the diff a commit computes.
#include <benchmark/benchmark.h>
#include <nlohmann/json.hpp>

#include "patch/json_patch.h"

namespace {

using nlohmann::json;

json node_document() {
  return json::parse(R"({
    "agent": "0.1.0",
    "boot_at": "2024-05-01T10:00:00Z",
    "frozen": false,
    "labels": {"zone": "eu-west-1a", "rack": "r12", "role": "db", "tier": "gold"},
    "stats": {"load_15m": 0.42, "mem_avail_pct": 61, "score": 87},
    "arbitrators": ["arb1", "arb2"],
    "split_action": "disabled",
    "heartbeat_paths": ["hb#1.tx", "hb#2.tx"],
    "gen": 41,
    "data": {"app": {"version": "2.3"}}
  })");
}

void BM_PatchApply(benchmark::State& state) {
  json doc = node_document();
  const json ops = json::parse(R"([{"op":"replace","path":"/labels/role","value":"replica"}])");
  for (auto _ : state) {
    vigil::patch::apply_patch(doc, ops);
    benchmark::DoNotOptimize(doc);
  }
}
BENCHMARK(BM_PatchApply);

void BM_Diff(benchmark::State& state) {
  const json from = node_document();
  json to = from;
  to["labels"]["role"] = "replica";
  to["stats"]["score"] = 90;
  to["frozen"] = true;
  for (auto _ : state) {
    json ops = vigil::patch::diff(from, to);
    benchmark::DoNotOptimize(ops);
  }
}
BENCHMARK(BM_Diff);

}  // namespace
