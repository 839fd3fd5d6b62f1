#include "heartbeat/gossip_fields.h"

#include <string>

namespace vigil::heartbeat::detail {

namespace {

constexpr std::string_view kSwim = "sw";
constexpr std::string_view kRelayed = "rd";
constexpr std::string_view kRelayedFull = "rf";
constexpr std::string_view kVersions = "av";
constexpr std::string_view kVersionsRequest = "aq";
constexpr std::string_view kVersionsDigest = "ad";

// Container depths: "rd" (depth 2) -> entry (3) -> ops (4), as "d".
constexpr std::size_t kDepthOps = 4;
constexpr std::size_t kDepthDoc = 4;  // "rf" -> entry -> doc

void check_relayed_ops(const nlohmann::json& ops) {
  if (!ops.is_array()) throw std::invalid_argument("relayed delta: ops must be an array");
  for (const auto& op : ops)
    if (!op.is_object()) throw std::invalid_argument("relayed delta: every op must be an object");
}

uint32_t read_seq(MsgpackReader& r, const char* what) {
  const uint64_t v = r.uint(what);
  if (v > UINT32_MAX) throw DecodeError(std::string(what) + ": out of range");
  return static_cast<uint32_t>(v);
}

void expect_items(MsgpackReader& r, uint32_t n, const char* what) {
  const auto head = r.next();
  if (head.type != MsgpackReader::Type::kArray || head.size != n)
    throw DecodeError(std::string(what) + ": expected an array of " + std::to_string(n));
}

SwimPart read_swim(MsgpackReader& r) {
  const uint32_t entries = r.map("\"sw\"");
  SwimPart part;
  bool seen[6] = {};
  for (uint32_t i = 0; i < entries; ++i) {
    const std::string_view key = r.str("\"sw\" key");
    int index = key == "p"   ? 0
                : key == "a" ? 1
                : key == "n" ? 2
                : key == "r" ? 3
                : key == "u" ? 4
                : key == "h" ? 5
                             : -1;
    if (index < 0) throw DecodeError("\"sw\": unknown key");
    if (seen[index]) throw DecodeError("\"sw\": duplicate key");
    seen[index] = true;
    switch (index) {
      case 0:
        part.ping = read_seq(r, "\"sw\" ping");
        break;
      case 1:
        part.ack = read_seq(r, "\"sw\" ack");
        break;
      case 2:
        part.nack = read_seq(r, "\"sw\" nack");
        break;
      case 3: {
        expect_items(r, 2, "\"sw\" ping-req");
        const uint32_t seq = read_seq(r, "\"sw\" ping-req seq");
        part.ping_req = SwimPart::PingReq{seq, std::string(r.str("\"sw\" ping-req target"))};
        if (part.ping_req->target.empty()) throw DecodeError("\"sw\": empty ping-req target");
        break;
      }
      case 4: {
        const uint32_t n = r.array("\"sw\" updates");
        part.updates.reserve(n);
        for (uint32_t j = 0; j < n; ++j) {
          expect_items(r, 4, "\"sw\" update");
          SwimPart::Update up;
          const uint64_t kind = r.uint("\"sw\" update kind");
          if (kind > 2) throw DecodeError("\"sw\" update: unknown kind");
          up.kind = static_cast<uint8_t>(kind);
          up.node = r.str("\"sw\" update node");
          if (up.node.empty()) throw DecodeError("\"sw\" update: empty node");
          up.incarnation = r.uint("\"sw\" update incarnation");
          up.from = r.str("\"sw\" update from");
          part.updates.push_back(std::move(up));
        }
        break;
      }
      case 5: {
        expect_items(r, 3, "\"sw\" heard");
        SwimPart::Heard heard{.list = r.uint("\"sw\" heard list"), .bits = {}};
        const uint64_t n = r.uint("\"sw\" heard bytes");
        const auto words = r.next();
        if (words.type != MsgpackReader::Type::kArray || n > 8ull * words.size ||
            n + 7 < 8ull * words.size)
          throw DecodeError("\"sw\" heard: byte count does not match the words");
        heard.bits.reserve(n);
        for (uint32_t w = 0; w < words.size; ++w) {
          const uint64_t word = r.uint("\"sw\" heard word");
          for (int b = 0; b < 8 && heard.bits.size() < n; ++b)
            heard.bits.push_back(static_cast<char>((word >> (8 * b)) & 0xff));
        }
        part.heard = std::move(heard);
        break;
      }
    }
  }
  return part;
}

void pack_swim(Packer& pk, const SwimPart& part) {
  const uint32_t n = (part.ping ? 1 : 0) + (part.ack ? 1 : 0) + (part.nack ? 1 : 0) +
                     (part.ping_req ? 1 : 0) + (part.updates.empty() ? 0 : 1) +
                     (part.heard ? 1 : 0);
  pk.pack_map(n);
  if (part.ping) {
    pack_string(pk, "p");
    pk.pack_uint32(*part.ping);
  }
  if (part.ack) {
    pack_string(pk, "a");
    pk.pack_uint32(*part.ack);
  }
  if (part.nack) {
    pack_string(pk, "n");
    pk.pack_uint32(*part.nack);
  }
  if (part.ping_req) {
    if (part.ping_req->target.empty()) throw std::invalid_argument("ping-req: empty target");
    pack_string(pk, "r");
    pk.pack_array(2);
    pk.pack_uint32(part.ping_req->seq);
    pack_string(pk, part.ping_req->target);
  }
  if (!part.updates.empty()) {
    pack_string(pk, "u");
    pk.pack_array(static_cast<uint32_t>(part.updates.size()));
    for (const auto& u : part.updates) {
      if (u.kind > 2 || u.node.empty())
        throw std::invalid_argument("swim update: bad kind or node");
      pk.pack_array(4);
      pk.pack_uint8(u.kind);
      pack_string(pk, u.node);
      pk.pack_uint64(u.incarnation);
      pack_string(pk, u.from);
    }
  }
  if (part.heard) {
    const std::string& bits = part.heard->bits;
    pack_string(pk, "h");
    pk.pack_array(3);
    pk.pack_uint64(part.heard->list);
    pk.pack_uint64(bits.size());
    pk.pack_array(static_cast<uint32_t>((bits.size() + 7) / 8));
    for (std::size_t w = 0; w < bits.size(); w += 8) {
      uint64_t word = 0;
      for (std::size_t b = 0; b < 8 && w + b < bits.size(); ++b)
        word |= static_cast<uint64_t>(static_cast<unsigned char>(bits[w + b])) << (8 * b);
      pk.pack_uint64(word);
    }
  }
}

}  // namespace

int gossip_field(std::string_view key) {
  if (key == kSwim) return kGossipSwim;
  if (key == kRelayed) return kGossipRelayed;
  if (key == kRelayedFull) return kGossipRelayedFull;
  if (key == kVersions) return kGossipVersions;
  if (key == kVersionsRequest) return kGossipVersionsRequest;
  if (key == kVersionsDigest) return kGossipVersionsDigest;
  return -1;
}

uint32_t gossip_field_count(const Message& msg) {
  return (msg.swim ? 1 : 0) + (msg.relayed.empty() ? 0 : 1) + (msg.relayed_full.empty() ? 0 : 1) +
         (msg.versions ? 1 : 0) + (msg.versions_request ? 1 : 0) + (msg.versions_digest ? 1 : 0);
}

void pack_gossip_fields(Packer& pk, const Message& msg) {
  if (msg.versions_request && !msg.versions)
    throw std::invalid_argument("versions request without versions");
  if (msg.swim) {
    pack_string(pk, kSwim);
    pack_swim(pk, *msg.swim);
  }
  if (!msg.relayed.empty()) {
    pack_string(pk, kRelayed);
    pk.pack_array(static_cast<uint32_t>(msg.relayed.size()));
    for (const auto& d : msg.relayed) {
      if (d.gen == 0) throw std::invalid_argument("relayed delta: gen 0");
      check_relayed_ops(d.ops);
      pk.pack_array(4);
      pack_string(pk, d.writer);
      pk.pack_uint64(d.boot);
      pk.pack_uint64(d.gen);
      pack_json(pk, d.ops, kDepthOps, kMaxDepth);
    }
  }
  if (!msg.relayed_full.empty()) {
    pack_string(pk, kRelayedFull);
    pk.pack_array(static_cast<uint32_t>(msg.relayed_full.size()));
    for (const auto& f : msg.relayed_full) {
      if (f.gen == 0) throw std::invalid_argument("relayed full: gen 0");
      pk.pack_array(4);
      pack_string(pk, f.writer);
      pk.pack_uint64(f.boot);
      pk.pack_uint64(f.gen);
      pack_json(pk, f.doc, kDepthDoc, kMaxDepth);
    }
  }
  if (msg.versions) {
    pack_string(pk, kVersions);
    pk.pack_map(static_cast<uint32_t>(msg.versions->size()));
    for (const auto& [node, v] : *msg.versions) {
      pack_string(pk, node);
      pk.pack_array(2);
      pk.pack_uint64(v.boot);
      pk.pack_uint64(v.gen);
    }
  }
  if (msg.versions_request) {
    pack_string(pk, kVersionsRequest);
    pk.pack_true();
  }
  if (msg.versions_digest) {
    pack_string(pk, kVersionsDigest);
    pk.pack_uint64(*msg.versions_digest);
  }
}

void read_gossip_field(int field, MsgpackReader& r, Message& msg) {
  switch (field) {
    case kGossipSwim:
      msg.swim = read_swim(r);
      return;
    case kGossipRelayed: {
      const uint32_t n = r.array("\"rd\"");
      msg.relayed.reserve(n);
      for (uint32_t i = 0; i < n; ++i) {
        expect_items(r, 4, "\"rd\" entry");
        RelayedDelta& d = msg.relayed.emplace_back();
        d.writer = r.str("\"rd\" writer");
        d.boot = r.uint("\"rd\" boot");
        d.gen = r.uint("\"rd\" gen");
        if (d.writer.empty() || d.gen == 0) throw DecodeError("\"rd\": empty writer or gen 0");
        r.json(d.ops, kDepthOps, kMaxDepth);
        if (!d.ops.is_array()) throw DecodeError("\"rd\" ops: expected an array");
        for (const auto& op : d.ops)
          if (!op.is_object()) throw DecodeError("\"rd\" ops: every op must be a map");
      }
      return;
    }
    case kGossipRelayedFull: {
      const uint32_t n = r.array("\"rf\"");
      msg.relayed_full.reserve(n);
      for (uint32_t i = 0; i < n; ++i) {
        expect_items(r, 4, "\"rf\" entry");
        RelayedFull& f = msg.relayed_full.emplace_back();
        f.writer = r.str("\"rf\" writer");
        f.boot = r.uint("\"rf\" boot");
        f.gen = r.uint("\"rf\" gen");
        r.json(f.doc, kDepthDoc, kMaxDepth);
        if (f.writer.empty() || f.gen == 0) throw DecodeError("\"rf\": empty writer or gen 0");
      }
      return;
    }
    case kGossipVersions: {
      const uint32_t n = r.map("\"av\"");
      VersionVector v;
      for (uint32_t i = 0; i < n; ++i) {
        const std::string_view node = r.str("\"av\" key");
        expect_items(r, 2, "\"av\" value");
        const uint64_t boot = r.uint("\"av\" boot");
        const uint64_t gen = r.uint("\"av\" gen");
        if (!v.emplace(node, DocVersion{boot, gen}).second)
          throw DecodeError("\"av\": duplicate node");
      }
      msg.versions = std::move(v);
      return;
    }
    case kGossipVersionsRequest:
      if (!r.boolean("\"aq\"")) throw DecodeError("\"aq\": expected true");
      msg.versions_request = true;
      return;
    case kGossipVersionsDigest:
      msg.versions_digest = r.uint("\"ad\"");
      return;
    default:
      throw DecodeError("message: unknown key");
  }
}

}  // namespace vigil::heartbeat::detail

namespace vigil::heartbeat {

uint64_t digest(const VersionVector& v) {
  uint64_t h = 0xcbf29ce484222325ull;
  auto mix = [&h](unsigned char c) {
    h ^= c;
    h *= 0x100000001b3ull;
  };
  for (const auto& [node, dv] : v) {
    if (dv.gen == 0) continue;
    for (unsigned char c : node) mix(c);
    mix(0);
    for (uint64_t x : {dv.boot, dv.gen})
      for (int i = 0; i < 8; ++i) mix(static_cast<unsigned char>(x >> (8 * i)));
  }
  return h;
}

}  // namespace vigil::heartbeat
