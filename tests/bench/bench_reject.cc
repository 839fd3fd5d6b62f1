// Garbage rejection: how fast heartbeat::Opener::open drops datagrams that are
// not ours, on one core. One item is one datagram dropped.
//
//   BM_RejectBadCluster  a well-formed, sealed datagram of another cluster:
//                        dropped after the header parse (bad_cluster).
//   BM_RejectBadTag      a well-formed datagram of our cluster id, from a
//                        member name, sealed with another secret: dropped by
//                        the AEAD (bad_tag). The argument is the plaintext
//                        size, so the cost of the tag check over the
//                        ciphertext shows; 200 B is a typical heartbeat,
//                        1200 B a full fragment, 64000 B near the largest
//                        datagram the opener accepts (65000 B).
//   BM_RejectRandom      random bytes, 1-1500 long, as vigil-forge --kind
//                        random sends them (malformed / bad_magic).
//
// Every benchmark cycles over a batch of distinct datagrams (each with its own
// random nonce), prepared outside the timed region. It fails unless every
// datagram was dropped, for the expected reason.
#include <chrono>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "crypto/key.h"
#include "crypto/keyring.h"
#include "heartbeat/codec.h"
#include "heartbeat/drop_reason.h"

#include "tests/bench/bench_support.h"

namespace {

using vigil::heartbeat::DropReason;
using vigil::heartbeat::Opener;
using vigil::heartbeat::Sealer;

constexpr uint64_t kBoot = 1717000000000000;
constexpr std::size_t kBatch = 1024;

// `count` datagrams of `payload_bytes` plaintext, one fragment each.
std::vector<std::vector<uint8_t>> sealed_batch(Sealer& sealer, std::size_t payload_bytes,
                                               std::size_t count) {
  const std::vector<uint8_t> payload(payload_bytes, 0x5a);
  const int64_t now = vigil::bench::wall_ms();
  std::vector<std::vector<uint8_t>> out;
  out.reserve(count);
  for (std::size_t i = 0; i < count; ++i) out.push_back(sealer.seal(payload, now).at(0));
  return out;
}

// Runs the timed loop: every datagram of `batch` in turn through `opener`.
// Fails the benchmark unless each one was dropped as `expected` (or, with
// `any_header_reason`, as one of the header-parse reasons).
void run_rejects(benchmark::State& state, Opener& opener,
                 const std::vector<std::vector<uint8_t>>& batch, DropReason expected,
                 bool any_header_reason = false) {
  const auto now = Opener::Clock::now();
  const int64_t now_wall = vigil::bench::wall_ms();
  std::size_t next = 0;
  std::size_t bytes = 0;
  std::size_t accepted = 0;
  for (auto _ : state) {
    const auto& datagram = batch[next];
    next = next + 1 == batch.size() ? 0 : next + 1;
    bytes += datagram.size();
    auto result = opener.open(datagram, now, now_wall);
    if (result) ++accepted;
    benchmark::DoNotOptimize(result);
  }
  const auto& drops = opener.drops();
  const uint64_t iterations = static_cast<uint64_t>(state.iterations());
  const uint64_t expected_drops =
      any_header_reason ? drops.get(DropReason::kMalformed) + drops.get(DropReason::kBadMagic) +
                              drops.get(DropReason::kBadVersion) + drops.get(DropReason::kOversize)
                        : drops.get(expected);
  if (accepted != 0 || drops.total() != iterations || expected_drops != iterations) {
    state.SkipWithError("a datagram was accepted or dropped for another reason");
    return;
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
  state.counters["datagram_bytes"] = static_cast<double>(bytes) / static_cast<double>(iterations);
}

void BM_RejectBadCluster(benchmark::State& state) {
  const auto ours = vigil::bench::keyring(0x5a, "bench");
  const auto theirs = vigil::bench::keyring(0xc3, "other");
  Sealer sealer(vigil::crypto::cluster_id("other"), "node-2", kBoot, theirs);
  const auto batch = sealed_batch(sealer, 200, kBatch);
  Opener opener(vigil::crypto::cluster_id("bench"), "node-1", {"node-1", "node-2", "node-3"}, ours);
  run_rejects(state, opener, batch, DropReason::kBadCluster);
}
BENCHMARK(BM_RejectBadCluster);

void BM_RejectBadTag(benchmark::State& state) {
  const auto payload_bytes = static_cast<std::size_t>(state.range(0));
  const uint64_t cluster = vigil::crypto::cluster_id("bench");
  const auto ours = vigil::bench::keyring(0x5a, "bench");
  const auto wrong = vigil::bench::keyring(0xc3, "bench");  // same cluster name, another secret
  Sealer sealer(cluster, "node-2", kBoot, wrong, std::max<std::size_t>(payload_bytes, 1));
  // Large datagrams: fewer of them, so the batch stays in a sane memory size.
  const std::size_t count = payload_bytes > 8192 ? 64 : kBatch;
  const auto batch = sealed_batch(sealer, payload_bytes, count);
  Opener opener(cluster, "node-1", {"node-1", "node-2", "node-3"}, ours);
  run_rejects(state, opener, batch, DropReason::kBadTag);
}
BENCHMARK(BM_RejectBadTag)->Arg(200)->Arg(1200)->Arg(64000);

void BM_RejectRandom(benchmark::State& state) {
  std::mt19937_64 rng(42);
  std::vector<std::vector<uint8_t>> batch(kBatch);
  for (auto& d : batch) {
    d.resize(1 + rng() % 1500);
    for (auto& b : d) b = static_cast<uint8_t>(rng());
  }
  const auto ours = vigil::bench::keyring(0x5a, "bench");
  Opener opener(vigil::crypto::cluster_id("bench"), "node-1", {"node-1", "node-2", "node-3"}, ours);
  run_rejects(state, opener, batch, DropReason::kMalformed, /*any_header_reason=*/true);
}
BENCHMARK(BM_RejectRandom);

}  // namespace
