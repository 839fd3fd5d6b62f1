// Heartbeat wire path benchmarks: message encode/decode of a typical patch
// heartbeat, datagram sealing, and the full Opener::open pipeline.
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "crypto/key.h"
#include "crypto/keyring.h"
#include "heartbeat/codec.h"
#include "heartbeat/message.h"

#include "tests/bench/bench_support.h"

namespace {

using vigil::heartbeat::Message;
using vigil::heartbeat::MessageKind;
using vigil::heartbeat::Opener;
using vigil::heartbeat::Sealer;

constexpr uint64_t kBoot = 1717000000000000;

// A patch heartbeat: one replace op on /labels/x whose delta is ~200 bytes,
// plus the gen vector of a 3-node cluster.
Message patch_message() {
  Message m;
  m.kind = MessageKind::kPatch;
  m.gens = {{"node-1", 1042}, {"node-2", 977}, {"node-3", 1310}};
  m.deltas.push_back(
      {1042, nlohmann::json::array(
                 {{{"op", "replace"}, {"path", "/labels/x"}, {"value", std::string(160, 'v')}}})});
  return m;
}

void BM_Encode(benchmark::State& state) {
  const Message m = patch_message();
  std::size_t bytes = 0;
  for (auto _ : state) {
    std::vector<uint8_t> out = vigil::heartbeat::encode(m);
    bytes += out.size();
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
}
BENCHMARK(BM_Encode);

// Decoded over the previous message, as the receive path does.
void BM_Decode(benchmark::State& state) {
  const std::vector<uint8_t> wire = vigil::heartbeat::encode(patch_message());
  Message m;
  for (auto _ : state) {
    vigil::heartbeat::decode(wire, m);
    benchmark::DoNotOptimize(m.deltas.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * wire.size()));
  state.counters["message_bytes"] = static_cast<double>(wire.size());
}
BENCHMARK(BM_Decode);

void BM_SealDatagram(benchmark::State& state) {
  const vigil::crypto::Keyring ring = vigil::bench::keyring();
  Sealer sealer(vigil::crypto::cluster_id("bench"), "node-1", kBoot, ring);
  const std::vector<uint8_t> payload = vigil::heartbeat::encode(patch_message());
  const int64_t now = vigil::bench::wall_ms();
  for (auto _ : state) {
    auto datagrams = sealer.seal(payload, now);
    benchmark::DoNotOptimize(datagrams.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * payload.size()));
}
BENCHMARK(BM_SealDatagram);

// The send side of one heartbeat: encode a patch message carrying a ~200-byte
// delta, then seal it into its datagram, as the engine does for every peer.
// Target: at most 2 x BM_Open of the same run.
void BM_EncodeSeal(benchmark::State& state) {
  const vigil::crypto::Keyring ring = vigil::bench::keyring();
  Sealer sealer(vigil::crypto::cluster_id("bench"), "node-1", kBoot, ring);
  const Message m = patch_message();
  const int64_t now = vigil::bench::wall_ms();
  std::size_t bytes = 0;
  for (auto _ : state) {
    auto datagrams = sealer.seal(vigil::heartbeat::encode(m), now);
    bytes += datagrams.front().size();
    benchmark::DoNotOptimize(datagrams.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
}
BENCHMARK(BM_EncodeSeal);

// Datagrams are sealed in batches outside the timed region; every one has a
// fresh seq, so the replay window sees each exactly once.
void BM_OpenDatagram(benchmark::State& state) {
  constexpr std::size_t kBatch = 512;
  const vigil::crypto::Keyring ring = vigil::bench::keyring();
  const uint64_t cluster = vigil::crypto::cluster_id("bench");
  Sealer sealer(cluster, "node-2", kBoot, ring);
  Opener opener(cluster, "node-1", {"node-1", "node-2", "node-3"}, ring);
  const std::vector<uint8_t> payload = vigil::heartbeat::encode(patch_message());
  std::vector<std::vector<uint8_t>> batch;
  std::size_t next = 0;
  const auto now = Opener::Clock::now();
  int64_t now_wall = vigil::bench::wall_ms();
  for (auto _ : state) {
    if (next == batch.size()) {
      state.PauseTiming();
      batch.clear();
      now_wall = vigil::bench::wall_ms();
      for (std::size_t i = 0; i < kBatch; ++i) batch.push_back(sealer.seal(payload, now_wall)[0]);
      next = 0;
      state.ResumeTiming();
    }
    auto result = opener.open(batch[next++], now, now_wall);
    benchmark::DoNotOptimize(result);
  }
  if (opener.drops().total() != 0) state.SkipWithError("datagrams were dropped");
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * payload.size()));
}
BENCHMARK(BM_OpenDatagram);

}  // namespace
