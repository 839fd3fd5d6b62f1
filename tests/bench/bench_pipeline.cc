// The whole heartbeat receive path for a typical patch message (~200 bytes
// of msgpack): Opener::open (header parse, AEAD open, replay window,
// reassembly) -> decode -> Replicator::receive (RFC 6902 apply to the copy
// of the sender's document). One item is one datagram taken from the wire to
// an applied delta.
//
// The sender side is real too, but runs outside the timed region: a
// NodeDocument commits one label change per message (so each message carries
// the next gen and a fresh delta), a Sealer seals it with a fresh seq. Batches
// of datagrams are prepared with timing paused; the receiver keeps its state
// across batches, so every datagram is fresh and every delta applies.
//
// Not included: what the daemon does around this path (liveness bookkeeping,
// the NodeDataUpdated event with a copy of the document, waking `node wait`).
#include <chrono>
#include <cstdint>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <nlohmann/json.hpp>

#include "crypto/key.h"
#include "crypto/keyring.h"
#include "heartbeat/codec.h"
#include "heartbeat/message.h"
#include "membership/replicator.h"
#include "patch/node_document.h"

#include "tests/bench/bench_support.h"

namespace {

using nlohmann::json;
using vigil::heartbeat::Message;
using vigil::heartbeat::MessageKind;
using vigil::heartbeat::Opener;
using vigil::heartbeat::Sealer;

constexpr uint64_t kBoot = 1717000000000000;
constexpr std::size_t kBatch = 4096;

// The shape of an agent's node document: labels, frozen state, boot time,
// version and a data subtree holding `data_keys` extra entries of ~40 bytes
// (0: a fresh agent; more: what operators publish with `node set .data.*`).
json sender_document(int64_t data_keys) {
  json data = {{"app", {{"version", "2.3"}}}};
  for (int64_t i = 0; i < data_keys; ++i)
    data["key-" + std::to_string(i)] = "value-" + std::to_string(i) + std::string(24, 'd');
  return {{"labels", {{"zone", "eu-west-1a"}, {"rack", "r12"}, {"role", "db"}, {"x", "0"}}},
          {"frozen", false},
          {"frozen_at", nullptr},
          {"boot_at", "2024-05-01T10:00:00.000Z"},
          {"version", "0.1.0"},
          {"data", std::move(data)}};
}

// A label value of fixed width, distinct per gen, sized so the encoded patch
// message is about 200 bytes.
std::string label_value(uint64_t gen) {
  std::string digits = std::to_string(gen);
  return std::string(120 - digits.size(), 'v') + digits;
}

// node-2 as seen from the wire: its document, its gen vector and its sealer.
class Sender {
 public:
  Sender(const vigil::crypto::Keyring& ring, uint64_t cluster, int64_t data_keys)
      : doc_(sender_document(data_keys)), sealer_(cluster, "node-2", kBoot, ring) {}

  // Gen 1 as a full message, as a receiver first gets it (one datagram per
  // fragment).
  std::vector<std::vector<uint8_t>> full(int64_t now_wall) {
    Message m;
    m.kind = MessageKind::kFull;
    m.gens = gens();
    m.full_gen = doc_.gen();
    m.full = doc_.committed();
    return seal(m, now_wall);
  }

  // Commits the next label change and seals it as a one-delta patch message.
  std::vector<uint8_t> next_patch(int64_t now_wall) {
    doc_.set(json::json_pointer("/labels/x"), label_value(doc_.gen() + 1));
    auto ops = doc_.commit();
    doc_.journal().trim(doc_.gen());  // acknowledged at once: keep the journal short
    Message m;
    m.kind = MessageKind::kPatch;
    m.gens = gens();
    m.deltas.push_back({doc_.gen(), std::move(*ops)});
    auto datagrams = seal(m, now_wall);
    if (datagrams.size() != 1) throw std::logic_error("a patch message needs one datagram");
    return std::move(datagrams.front());
  }

  uint64_t gen() const { return doc_.gen(); }
  std::size_t last_payload_bytes() const { return last_payload_bytes_; }

 private:
  vigil::heartbeat::GenVector gens() const {
    return {{"node-1", 1}, {"node-2", doc_.gen()}, {"node-3", 1}};
  }

  std::vector<std::vector<uint8_t>> seal(const Message& m, int64_t now_wall) {
    const std::vector<uint8_t> payload = vigil::heartbeat::encode(m);
    last_payload_bytes_ = payload.size();
    return sealer_.seal(payload, now_wall);
  }

  vigil::patch::NodeDocument doc_;
  Sealer sealer_;
  std::size_t last_payload_bytes_ = 0;
};

void BM_ReceivePipeline(benchmark::State& state) {
  const vigil::crypto::Keyring ring = vigil::bench::keyring();
  const uint64_t cluster = vigil::crypto::cluster_id("bench");
  Sender sender(ring, cluster, state.range(0));

  // The receiver, node-1: its own document, the opener and the replicator
  // holding its copies of node-2's and node-3's documents.
  vigil::patch::NodeDocument own(json{{"labels", json::object()}});
  Opener opener(cluster, "node-1", {"node-1", "node-2", "node-3"}, ring);
  vigil::membership::Replicator replicator("node-1", {"node-1", "node-2", "node-3"}, own);

  // Prime: node-1 holds node-2's document at gen 1.
  {
    const auto now = Opener::Clock::now();
    const int64_t now_wall = vigil::bench::wall_ms();
    Opener::Opened r;
    for (const auto& datagram : sender.full(now_wall)) r = opener.open(datagram, now, now_wall);
    if (!r || !r->payload ||
        !replicator.receive(r->sender, r->boot, vigil::heartbeat::decode(*r->payload)).full) {
      state.SkipWithError("priming full document was not applied");
      return;
    }
  }

  std::vector<std::vector<uint8_t>> batch;
  batch.reserve(kBatch);
  std::size_t next = 0;
  std::size_t wire_bytes = 0;
  auto now = Opener::Clock::now();
  int64_t now_wall = vigil::bench::wall_ms();
  bool failed = false;
  Message msg;  // decoded into again and again, as the daemon does
  for (auto _ : state) {
    if (next == batch.size()) {
      state.PauseTiming();
      batch.clear();
      now = Opener::Clock::now();
      now_wall = vigil::bench::wall_ms();
      for (std::size_t i = 0; i < kBatch; ++i) batch.push_back(sender.next_patch(now_wall));
      next = 0;
      state.ResumeTiming();
    }
    const std::vector<uint8_t>& datagram = batch[next++];
    wire_bytes += datagram.size();
    auto opened = opener.open(datagram, now, now_wall);
    if (!opened || !opened->payload) {
      failed = true;
      break;
    }
    vigil::heartbeat::decode(*opened->payload, msg);
    auto received = replicator.receive(opened->sender, opened->boot, msg);
    if (received.applied.size() != 1) {
      failed = true;
      break;
    }
    benchmark::DoNotOptimize(received);
  }
  if (failed) {
    state.SkipWithError("a datagram was dropped or its delta did not apply");
    return;
  }
  if (opener.drops().total() != 0) {
    state.SkipWithError("the opener counted drops");
    return;
  }
  // Every delta applied: the copy matches the sender at the last applied gen.
  const uint64_t applied = replicator.applied_gen("node-2");
  if (replicator.document("node-2")["labels"]["x"] != label_value(applied)) {
    state.SkipWithError("node-2's copy diverged from the sender");
    return;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<int64_t>(wire_bytes));
  state.counters["message_bytes"] = static_cast<double>(sender.last_payload_bytes());
  state.counters["document_bytes"] =
      static_cast<double>(replicator.document("node-2").dump().size());
  state.counters["datagram_bytes"] =
      state.iterations() ? static_cast<double>(wire_bytes) / static_cast<double>(state.iterations())
                         : 0.0;
}
// data_keys:0 is the reference figure (target: at most 2 x BM_Open of the
// same run, half the crypto limit); data_keys:100 (a ~5 KB document, target
// 2.5 x BM_Open) shows how the cost grows with the size of the sender's
// document although the delta stays the same.
BENCHMARK(BM_ReceivePipeline)->ArgName("data_keys")->Arg(0)->Arg(100);

}  // namespace
