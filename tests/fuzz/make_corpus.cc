// Writes the seed corpus of the fuzz targets:
//   <out>/fuzz_datagram/: real heartbeat messages (ping, patch, full) sealed
//     with the fuzz cluster key, as single datagrams, fragment trains,
//     fragment records, Sealer round-trip and tamper inputs, and plaintexts
//     for decode() (see vigil::fuzz::DatagramMode for the input formats);
//   <out>/fuzz_patch/: every record of the RFC 6902 conformance suite files
//     given, as "document JSON \0 patch JSON", plus node-document patches.
// Usage: make_corpus <out-dir> <conformance.json>...
// Output is deterministic: nonces are counters, not random.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "crypto/key.h"
#include "heartbeat/datagram.h"
#include "heartbeat/message.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

namespace fs = std::filesystem;
namespace fz = vigil::fuzz;
using nlohmann::json;
using vigil::heartbeat::Header;
using vigil::heartbeat::Message;
using vigil::heartbeat::MessageKind;
using Bytes = std::vector<uint8_t>;

void write_file(const fs::path& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

Bytes with_mode(fz::DatagramMode mode, const Bytes& rest) {
  Bytes out{static_cast<uint8_t>(mode)};
  out.insert(out.end(), rest.begin(), rest.end());
  return out;
}

void put_u16(Bytes& out, std::size_t v) {
  out.push_back(static_cast<uint8_t>(v & 0xff));
  out.push_back(static_cast<uint8_t>((v >> 8) & 0xff));
}

json node_document(int items) {
  json data = json::object();
  for (int i = 0; i < items; ++i) {
    data["item" + std::to_string(i)] = {{"index", i},
                                        {"name", "value number " + std::to_string(i)},
                                        {"ratio", i / 8.0},
                                        {"on", i % 2 == 0}};
  }
  return {{"labels", {{"zone", "eu-west"}, {"tier", "gold"}}},
          {"frozen", false},
          {"agent", {{"version", "0.1.0"}, {"boot", fz::kBoot}}},
          {"stats", {{"load", 0.25}, {"mem_free", 123456789}, {"delta", -3}}},
          {"data", data},
          {"text", "h\u00e9llo \u2713 \U0001F680"}};
}

Message ping() {
  Message m;
  m.kind = MessageKind::kPing;
  m.gens = {{"n1", 3}, {"n2", 5}, {"n3", 0}};
  return m;
}

Message patch_message() {
  Message m;
  m.kind = MessageKind::kPatch;
  m.gens = {{"n1", 2}, {"n2", 7}, {"n3", 4}};
  m.deltas.push_back(
      {6,
       json::array({{{"op", "replace"}, {"path", "/labels/zone"}, {"value", "us-east"}},
                    {{"op", "add"}, {"path", "/data/new"}, {"value", {1, 2.5, "x", nullptr}}}})});
  m.deltas.push_back(
      {7, json::array({{{"op", "remove"}, {"path", "/frozen"}},
                       {{"op", "move"}, {"from", "/data/new"}, {"path", "/data/moved"}},
                       {{"op", "copy"}, {"from", "/labels"}, {"path", "/data/l"}},
                       {{"op", "test"}, {"path", "/agent/version"}, {"value", "0.1.0"}}})});
  return m;
}

Message full_message(int items) {
  Message m;
  m.kind = MessageKind::kFull;
  m.gens = {{"n1", 0}, {"n2", 7}};
  m.full_gen = 7;
  m.full = node_document(items);
  return m;
}

// A gossip-mode message: SWIM part, relayed deltas and fulls, versions.
Message gossip_message() {
  Message m;
  m.kind = MessageKind::kPing;
  m.gens = {{"n2", 4}};
  m.swim = vigil::heartbeat::SwimPart{
      .ping = 7,
      .ack = 6,
      .nack = std::nullopt,
      .ping_req = vigil::heartbeat::SwimPart::PingReq{5, "n3"},
      .updates = {{0, "n2", 11, ""}, {1, "n3", 4, "n1"}, {2, "n4", 9, "n1"}},
      .heard = vigil::heartbeat::SwimPart::Heard{0x0123456789abcdefull, std::string("\x0f", 1)}};
  m.relayed.push_back({"n3", 17, 5, patch_message().deltas[0].ops});
  m.relayed_full.push_back({"n4", 21, 3, node_document(2)});
  m.versions = vigil::heartbeat::VersionVector{{"n2", {12, 4}}, {"n3", {17, 5}}};
  m.versions_request = true;
  m.versions_digest = 0x5a5a5a5a5a5a5a5aull;
  return m;
}

// Seals `plaintext` the way Sealer does, with deterministic nonces.
class Sealing {
 public:
  Sealing() : ring_(fz::keyring()) {}

  std::vector<Bytes> seal(const Bytes& plaintext, std::size_t budget, std::string sender = "n2",
                          uint32_t key_version = fz::kKeyVersion,
                          uint64_t cluster = vigil::crypto::cluster_id(fz::kCluster),
                          uint64_t boot = fz::kBoot) {
    const vigil::crypto::Key key =
        vigil::crypto::derive_key(fz::secret(), fz::kCluster, key_version);
    const std::size_t count = std::max<std::size_t>(1, (plaintext.size() + budget - 1) / budget);
    Header h;
    h.cluster_id = cluster;
    h.sender = std::move(sender);
    h.key_version = key_version;
    h.boot = boot;
    h.sent_ms = fz::kNowWallMs;
    h.msg_id = ++msg_id_;
    h.frag_count = static_cast<uint16_t>(count);
    std::vector<Bytes> out;
    for (std::size_t i = 0; i < count; ++i) {
      const std::size_t begin = std::min(i * budget, plaintext.size());
      const std::size_t end = std::min(begin + budget, plaintext.size());
      h.seq = ++seq_;
      h.frag_index = static_cast<uint16_t>(i);
      h.nonce.fill(0x3c);
      for (int b = 0; b < 8; ++b) h.nonce[b] = static_cast<unsigned char>(seq_ >> (8 * b));
      out.push_back(vigil::heartbeat::seal_datagram(
          h, key, std::span<const uint8_t>(plaintext.data() + begin, end - begin)));
    }
    return out;
  }

 private:
  vigil::crypto::Keyring ring_;
  uint64_t seq_ = 0;
  uint32_t msg_id_ = 0;
};

Bytes train(const std::vector<Bytes>& datagrams) {
  Bytes out;
  for (const Bytes& d : datagrams) {
    put_u16(out, d.size());
    out.insert(out.end(), d.begin(), d.end());
  }
  return out;
}

// One fragment record of DatagramMode::kFragments.
void record(Bytes& out, uint8_t flags, uint8_t sender, uint8_t boot, uint8_t msg_id, uint8_t index,
            uint8_t count, uint16_t advance_ms, std::span<const uint8_t> data) {
  out.insert(out.end(), {flags, sender, boot, msg_id, index, count});
  put_u16(out, advance_ms);
  put_u16(out, data.size());
  out.insert(out.end(), data.begin(), data.end());
}

Bytes text_bytes(const std::string& s) { return Bytes(s.begin(), s.end()); }

int write_datagram_corpus(const fs::path& dir) {
  int files = 0;
  auto put = [&](const std::string& name, const Bytes& bytes) {
    write_file(dir / name, bytes);
    ++files;
  };
  const Bytes ping_bytes = vigil::heartbeat::encode(ping());
  const Bytes patch_bytes = vigil::heartbeat::encode(patch_message());
  const Bytes full_bytes = vigil::heartbeat::encode(full_message(2));
  const Bytes big_full_bytes = vigil::heartbeat::encode(full_message(50));
  const Bytes gossip_bytes = vigil::heartbeat::encode(gossip_message());
  Sealing s;
  using M = fz::DatagramMode;

  // Single authentic datagrams, and ones each check of the pipeline drops.
  put("raw-ping", with_mode(M::kRaw, s.seal(ping_bytes, 1200)[0]));
  put("raw-gossip", with_mode(M::kRaw, s.seal(gossip_bytes, 1200)[0]));
  put("raw-ping-n3", with_mode(M::kRaw, s.seal(ping_bytes, 1200, "n3")[0]));
  put("raw-patch", with_mode(M::kRaw, s.seal(patch_bytes, 1200)[0]));
  put("raw-full", with_mode(M::kRaw, s.seal(full_bytes, 1200)[0]));
  put("raw-first-fragment", with_mode(M::kRaw, s.seal(big_full_bytes, 1200)[0]));
  put("raw-unknown-key", with_mode(M::kRaw, s.seal(ping_bytes, 1200, "n2", 2)[0]));
  put("raw-other-cluster",
      with_mode(M::kRaw, s.seal(ping_bytes, 1200, "n2", 1, vigil::crypto::cluster_id("other"))[0]));
  put("raw-self-sender", with_mode(M::kRaw, s.seal(ping_bytes, 1200, "n1")[0]));
  put("raw-stranger", with_mode(M::kRaw, s.seal(ping_bytes, 1200, "n4")[0]));
  Bytes truncated = s.seal(ping_bytes, 1200)[0];
  truncated.resize(truncated.size() - 5);
  put("raw-truncated", with_mode(M::kRaw, truncated));
  put("raw-garbage", with_mode(M::kRaw, text_bytes("not a datagram at all")));

  // Fragment trains: in order, reversed with a duplicate, a restart.
  put("train-full-3", with_mode(M::kRawTrain, train(s.seal(big_full_bytes, 1200))));
  std::vector<Bytes> patch_frags = s.seal(patch_bytes, 48);
  std::reverse(patch_frags.begin(), patch_frags.end());
  patch_frags.push_back(patch_frags.front());
  put("train-patch-reversed-dup", with_mode(M::kRawTrain, train(patch_frags)));
  std::vector<Bytes> restart = s.seal(full_bytes, 64);
  restart.resize(restart.size() / 2);
  for (Bytes& d :
       s.seal(ping_bytes, 1200, "n2", 1, vigil::crypto::cluster_id(fz::kCluster), fz::kBoot + 1)) {
    restart.push_back(std::move(d));
  }
  put("train-restart", with_mode(M::kRawTrain, train(restart)));
  std::vector<Bytes> two_senders = s.seal(ping_bytes, 1200, "n3");
  for (Bytes& d : s.seal(full_bytes, 100)) two_senders.push_back(std::move(d));
  put("train-two-senders", with_mode(M::kRawTrain, train(two_senders)));

  // Fragment records sealed inside the target.
  {
    Bytes r;
    record(r, 0, 0, 0, 1, 0, 0, 10, ping_bytes);
    put("frag-ping", with_mode(M::kFragments, r));
  }
  {
    Bytes r;
    const std::size_t third = full_bytes.size() / 3;
    const std::span<const uint8_t> all(full_bytes);
    record(r, 0, 0, 0, 2, 2, 2, 5, all.subspan(2 * third));
    record(r, 0, 0, 0, 2, 0, 2, 5, all.first(third));
    record(r, 0, 0, 0, 2, 1, 2, 5, all.subspan(third, third));
    put("frag-full-out-of-order", with_mode(M::kFragments, r));
  }
  {
    Bytes r;
    const std::span<const uint8_t> all(patch_bytes);
    const std::size_t half = patch_bytes.size() / 2;
    record(r, 0, 0, 0, 3, 0, 1, 5, all.first(half));
    record(r, fz::kFlagRepeatSeq, 0, 0, 3, 0, 1, 5, all.first(half));
    record(r, 0, 1, 1, 3, 1, 1, 5, all.subspan(half));
    record(r, 0, 0, 0, 3, 1, 1, 5, all.subspan(half));
    put("frag-patch-repeat-seq", with_mode(M::kFragments, r));
  }
  {
    Bytes r;
    for (uint8_t id = 0; id < 6; ++id) record(r, 0, 0, 0, id, 0, 3, 100, ping_bytes);
    record(r, fz::kFlagExpire, 0, 0, 0, 1, 3, 6000, ping_bytes);
    record(r, fz::kFlagWide, 1, 0, 1, 1, 1, 0, ping_bytes);
    record(r, fz::kFlagForeignKey, 0, 0, 1, 0, 0, 0, ping_bytes);
    record(r, fz::kFlagSkewed, 0, 0, 1, 0, 0, 0, ping_bytes);
    record(r, 0, 0, 2, 1, 0, 0, 0, ping_bytes);
    record(r, 0, 0, 1, 1, 0, 0, 0, ping_bytes);
    record(r, fz::kFlagSeqJump, 0, 1, 2, 0, 0, 0, ping_bytes);
    record(r, fz::kFlagSeqBack, 0, 1, 2, 0, 0, 0, ping_bytes);
    put("frag-limits", with_mode(M::kFragments, r));
  }
  {
    // Two fragments of one message that together pass the target's 4096
    // byte message limit.
    Bytes r;
    const Bytes filler(2100, 0x61);
    record(r, 0, 0, 0, 4, 0, 2, 1, filler);
    record(r, 0, 0, 0, 4, 1, 2, 1, filler);
    put("frag-oversize", with_mode(M::kFragments, r));
  }

  // Sealer round trips: [budget u16][order u8][plaintext].
  auto sealer_input = [](std::size_t budget, uint8_t order, const Bytes& plaintext) {
    Bytes r;
    put_u16(r, budget - 1);
    r.push_back(order);
    r.insert(r.end(), plaintext.begin(), plaintext.end());
    return with_mode(M::kSealerRoundTrip, r);
  };
  put("sealer-ping", sealer_input(1200, 0, ping_bytes));
  put("sealer-patch-reversed-dup", sealer_input(40, 0x81, patch_bytes));
  put("sealer-full-interleaved", sealer_input(64, 2, full_bytes));
  put("sealer-full-rotated", sealer_input(100, 3 + 4 * 5, big_full_bytes));

  // decode() directly.
  put("decode-ping", with_mode(M::kDecode, ping_bytes));
  put("decode-patch", with_mode(M::kDecode, patch_bytes));
  put("decode-full", with_mode(M::kDecode, full_bytes));
  put("decode-full-large", with_mode(M::kDecode, big_full_bytes));
  Message empty_full;
  empty_full.kind = MessageKind::kFull;
  empty_full.full_gen = 1;
  empty_full.full = json::object();
  put("decode-full-empty", with_mode(M::kDecode, vigil::heartbeat::encode(empty_full)));
  Message rotation = ping();
  rotation.gens = {{"n1", 3}};
  rotation.key_versions = {1, 2};
  rotation.key_offer = vigil::heartbeat::KeyOffer{.version = 2};
  rotation.key_offer->secret.fill(0xab);
  put("decode-ping-rotation", with_mode(M::kDecode, vigil::heartbeat::encode(rotation)));
  rotation.key_ids = {0x1122334455667788ull, 0x99aabbccddeeff00ull};
  rotation.key_offer->leader = "n2";
  rotation.key_offer->settled = true;
  put("decode-ping-catch-up", with_mode(M::kDecode, vigil::heartbeat::encode(rotation)));
  Message members = ping();
  members.member_digest = 0x0123456789abcdefull;
  members.members = json::array(
      {{{"name", "n4"}, {"paths", {{"u1", "127.0.0.4:1"}}}, {"state", "member"}, {"ltime", 3}}});
  put("decode-ping-members", with_mode(M::kDecode, vigil::heartbeat::encode(members)));
  Message webhooks = ping();
  webhooks.webhook_digest = 0x0fedcba987654321ull;
  webhooks.webhooks = json::array({{{"url", "https://127.0.0.1:8443/hook"},
                                    {"state", "active"},
                                    {"ltime", 4},
                                    {"writer", "n2"},
                                    {"auth", "jwt"},
                                    {"secret", "s"},
                                    {"filters", json::array({"NodeStale,node=n1"})}},
                                   {{"url", "http://127.0.0.1:8080/old"},
                                    {"state", "deleted"},
                                    {"ltime", 5},
                                    {"writer", "n1"},
                                    {"auth", "none"},
                                    {"filters", json::array()}}});
  put("decode-ping-webhooks", with_mode(M::kDecode, vigil::heartbeat::encode(webhooks)));
  Message queries = ping();
  queries.queries = json::array(
      {{{"id", "n1-7-1"}, {"from", "n1"}, {"kind", "webhook_status"}, {"args", json::object()}}});
  queries.query_answers = json::array(
      {{{"id", "n1-7-1"}, {"node", "n2"}, {"answer", {{"ok", false}, {"status", 500}}}}});
  put("decode-ping-queries", with_mode(M::kDecode, vigil::heartbeat::encode(queries)));
  // The gossip-mode shapes, and a patch of several deltas: what the receive
  // pipeline decodes most once gossip multiplies the message rate.
  put("decode-gossip", with_mode(M::kDecode, gossip_bytes));
  Message probe = ping();
  probe.swim = vigil::heartbeat::SwimPart{.ping = 9,
                                          .ack = std::nullopt,
                                          .nack = std::nullopt,
                                          .ping_req = std::nullopt,
                                          .updates = {}};
  probe.versions_digest = 0x1234ull;
  put("decode-gossip-probe", with_mode(M::kDecode, vigil::heartbeat::encode(probe)));
  Message relay = ping();
  for (uint64_t gen = 5; gen < 9; ++gen)
    relay.relayed.push_back({"n3", 17, gen, patch_message().deltas[0].ops});
  relay.versions = vigil::heartbeat::VersionVector{{"n3", {17, 8}}};
  put("decode-gossip-relay", with_mode(M::kDecode, vigil::heartbeat::encode(relay)));
  Message run = patch_message();
  const json ops = run.deltas[0].ops;
  for (int k = 0; k < 3; ++k) run.deltas.push_back({run.deltas.back().gen + 1, ops});
  put("decode-patch-run", with_mode(M::kDecode, vigil::heartbeat::encode(run)));
  Message stop = ping();
  stop.stop = true;
  put("decode-ping-stop", with_mode(M::kDecode, vigil::heartbeat::encode(stop)));

  // Tamper: [plaintext length u8][plaintext][edits].
  auto tamper_input = [](const Bytes& plaintext, const Bytes& edits) {
    Bytes r{static_cast<uint8_t>(plaintext.size())};
    r.insert(r.end(), plaintext.begin(), plaintext.end());
    r.insert(r.end(), edits.begin(), edits.end());
    return with_mode(M::kTamper, r);
  };
  put("tamper-none", tamper_input(ping_bytes, {}));
  put("tamper-flip-header", tamper_input(ping_bytes, {12, 0, 0, 0x01}));
  put("tamper-truncate", tamper_input(ping_bytes, {60, 0, 1, 0}));
  put("tamper-insert-erase", tamper_input(ping_bytes, {30, 0, 2, 0x90, 31, 0, 3, 0}));
  return files;
}

int write_patch_corpus(const fs::path& dir, const std::vector<fs::path>& suites,
                       const fs::path& datagram_dir) {
  int files = 0;
  int decode_seeds = 0;
  auto put = [&](const std::string& name, const json& doc, const json& patch) {
    const std::string text = doc.dump() + std::string(1, '\0') + patch.dump();
    write_file(dir / name, Bytes(text.begin(), text.end()));
    ++files;
  };
  for (const fs::path& suite : suites) {
    std::ifstream in(suite);
    const json records = json::parse(in);
    int n = 0;
    for (const json& r : records) {
      if (!r.contains("doc") || !r.contains("patch")) continue;
      char name[64];
      std::snprintf(name, sizeof name, "%s-%03d", suite.stem().c_str(), n++);
      put(name, r["doc"], r["patch"]);
      // A few of the suite's documents and patches also seed decode().
      const json& ops = r["patch"];
      bool objects = ops.is_array() && !ops.empty();
      if (objects) {
        for (const json& op : ops) objects = objects && op.is_object();
      }
      if (objects && n % 8 == 0) {
        Message m;
        m.kind = MessageKind::kPatch;
        m.gens = {{"n2", 2}};
        m.deltas.push_back({2, ops});
        write_file(datagram_dir / (std::string("decode-") + name),
                   with_mode(fz::DatagramMode::kDecode, vigil::heartbeat::encode(m)));
        ++decode_seeds;
      }
    }
  }
  // Node-document style patches, the kind `vigil node patch` sends.
  const json doc = node_document(3);
  put("node-set-label", doc,
      json::array({{{"op", "add"}, {"path", "/labels/rack"}, {"value", "r12"}}}));
  put("node-freeze", doc,
      json::array({{{"op", "test"}, {"path", "/frozen"}, {"value", false}},
                   {{"op", "replace"}, {"path", "/frozen"}, {"value", true}}}));
  put("node-data-array", doc,
      json::array({{{"op", "add"}, {"path", "/data/list"}, {"value", json::array()}},
                   {{"op", "add"}, {"path", "/data/list/-"}, {"value", {{"a", 1}}}},
                   {{"op", "add"}, {"path", "/data/list/0"}, {"value", "first"}},
                   {{"op", "move"}, {"from", "/data/list/1"}, {"path", "/data/item0/moved"}},
                   {{"op", "remove"}, {"path", "/data/item1"}}}));
  put("node-escaped-keys", json{{"a/b", {{"m~n", 1}}}, {"", 0}},
      json::array({{{"op", "copy"}, {"from", "/a~1b/m~0n"}, {"path", "/"}},
                   {{"op", "replace"}, {"path", "/a~1b"}, {"value", nullptr}}}));
  put("node-replace-root", doc,
      json::array({{{"op", "replace"}, {"path", ""}, {"value", {1, 2}}}}));
  std::cout << "make_corpus: " << decode_seeds << " decode seeds from the conformance suite\n";
  return files;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: make_corpus <out-dir> <conformance.json>...\n";
    return 2;
  }
  try {
    const fs::path out = argv[1];
    const fs::path datagram_dir = out / "fuzz_datagram";
    const fs::path patch_dir = out / "fuzz_patch";
    fs::create_directories(datagram_dir);
    fs::create_directories(patch_dir);
    std::vector<fs::path> suites(argv + 2, argv + argc);
    const int datagrams = write_datagram_corpus(datagram_dir);
    const int patches = write_patch_corpus(patch_dir, suites, datagram_dir);
    std::cout << "make_corpus: " << datagrams << " fuzz_datagram seeds, " << patches
              << " fuzz_patch seeds\n";
  } catch (const std::exception& e) {
    std::cerr << "make_corpus: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
