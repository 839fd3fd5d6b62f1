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

uint32_t read_seq(const msgpack::object& obj, const char* what) {
  const uint64_t v = read_uint(obj, what);
  if (v > UINT32_MAX) throw DecodeError(std::string(what) + ": out of range");
  return static_cast<uint32_t>(v);
}

const msgpack::object* items(const msgpack::object& obj, uint32_t n, const char* what) {
  if (obj.type != msgpack::type::ARRAY || obj.via.array.size != n)
    throw DecodeError(std::string(what) + ": expected an array of " + std::to_string(n));
  return obj.via.array.ptr;
}

SwimPart read_swim(const msgpack::object& obj) {
  if (obj.type != msgpack::type::MAP) throw DecodeError("\"sw\": expected a map");
  SwimPart part;
  bool seen[6] = {};
  for (uint32_t i = 0; i < obj.via.map.size; ++i) {
    const msgpack::object_kv& kv = obj.via.map.ptr[i];
    const std::string key = read_string(kv.key, "\"sw\" key");
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
        part.ping = read_seq(kv.val, "\"sw\" ping");
        break;
      case 1:
        part.ack = read_seq(kv.val, "\"sw\" ack");
        break;
      case 2:
        part.nack = read_seq(kv.val, "\"sw\" nack");
        break;
      case 3: {
        const auto* r = items(kv.val, 2, "\"sw\" ping-req");
        part.ping_req = SwimPart::PingReq{read_seq(r[0], "\"sw\" ping-req seq"),
                                          read_string(r[1], "\"sw\" ping-req target")};
        if (part.ping_req->target.empty()) throw DecodeError("\"sw\": empty ping-req target");
        break;
      }
      case 4: {
        if (kv.val.type != msgpack::type::ARRAY)
          throw DecodeError("\"sw\" updates: expected an array");
        for (uint32_t j = 0; j < kv.val.via.array.size; ++j) {
          const auto* u = items(kv.val.via.array.ptr[j], 4, "\"sw\" update");
          SwimPart::Update up;
          const uint64_t kind = read_uint(u[0], "\"sw\" update kind");
          if (kind > 2) throw DecodeError("\"sw\" update: unknown kind");
          up.kind = static_cast<uint8_t>(kind);
          up.node = read_string(u[1], "\"sw\" update node");
          if (up.node.empty()) throw DecodeError("\"sw\" update: empty node");
          up.incarnation = read_uint(u[2], "\"sw\" update incarnation");
          up.from = read_string(u[3], "\"sw\" update from");
          part.updates.push_back(std::move(up));
        }
        break;
      }
      case 5: {
        const auto* h = items(kv.val, 3, "\"sw\" heard");
        SwimPart::Heard heard{.list = read_uint(h[0], "\"sw\" heard list"), .bits = {}};
        const uint64_t n = read_uint(h[1], "\"sw\" heard bytes");
        if (h[2].type != msgpack::type::ARRAY || n > 8ull * h[2].via.array.size ||
            n + 7 < 8ull * h[2].via.array.size)
          throw DecodeError("\"sw\" heard: byte count does not match the words");
        heard.bits.reserve(n);
        for (uint32_t w = 0; w < h[2].via.array.size; ++w) {
          const uint64_t word = read_uint(h[2].via.array.ptr[w], "\"sw\" heard word");
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

const msgpack::object** GossipSlots::slot(std::string_view key) {
  if (key == kSwim) return &swim;
  if (key == kRelayed) return &relayed;
  if (key == kRelayedFull) return &relayed_full;
  if (key == kVersions) return &versions;
  if (key == kVersionsRequest) return &versions_request;
  if (key == kVersionsDigest) return &versions_digest;
  return nullptr;
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

void read_gossip_fields(const GossipSlots& slots, Message& msg) {
  if (slots.swim) msg.swim = read_swim(*slots.swim);
  if (slots.relayed) {
    if (slots.relayed->type != msgpack::type::ARRAY) throw DecodeError("\"rd\": expected an array");
    for (uint32_t i = 0; i < slots.relayed->via.array.size; ++i) {
      const auto* e = items(slots.relayed->via.array.ptr[i], 4, "\"rd\" entry");
      RelayedDelta d{.writer = read_string(e[0], "\"rd\" writer"),
                     .boot = read_uint(e[1], "\"rd\" boot"),
                     .gen = read_uint(e[2], "\"rd\" gen"),
                     .ops = nullptr};
      if (d.writer.empty() || d.gen == 0) throw DecodeError("\"rd\": empty writer or gen 0");
      if (e[3].type != msgpack::type::ARRAY) throw DecodeError("\"rd\" ops: expected an array");
      for (uint32_t j = 0; j < e[3].via.array.size; ++j)
        if (e[3].via.array.ptr[j].type != msgpack::type::MAP)
          throw DecodeError("\"rd\" ops: every op must be a map");
      d.ops = to_json(e[3], kDepthOps, kMaxDepth);
      msg.relayed.push_back(std::move(d));
    }
  }
  if (slots.relayed_full) {
    if (slots.relayed_full->type != msgpack::type::ARRAY)
      throw DecodeError("\"rf\": expected an array");
    for (uint32_t i = 0; i < slots.relayed_full->via.array.size; ++i) {
      const auto* e = items(slots.relayed_full->via.array.ptr[i], 4, "\"rf\" entry");
      RelayedFull f{.writer = read_string(e[0], "\"rf\" writer"),
                    .boot = read_uint(e[1], "\"rf\" boot"),
                    .gen = read_uint(e[2], "\"rf\" gen"),
                    .doc = to_json(e[3], kDepthDoc, kMaxDepth)};
      if (f.writer.empty() || f.gen == 0) throw DecodeError("\"rf\": empty writer or gen 0");
      msg.relayed_full.push_back(std::move(f));
    }
  }
  if (slots.versions) {
    if (slots.versions->type != msgpack::type::MAP) throw DecodeError("\"av\": expected a map");
    VersionVector v;
    for (uint32_t i = 0; i < slots.versions->via.map.size; ++i) {
      const msgpack::object_kv& kv = slots.versions->via.map.ptr[i];
      std::string node = read_string(kv.key, "\"av\" key");
      const auto* bg = items(kv.val, 2, "\"av\" value");
      DocVersion dv{read_uint(bg[0], "\"av\" boot"), read_uint(bg[1], "\"av\" gen")};
      if (!v.emplace(std::move(node), dv).second) throw DecodeError("\"av\": duplicate node");
    }
    msg.versions = std::move(v);
  }
  if (slots.versions_request) {
    if (slots.versions_request->type != msgpack::type::BOOLEAN ||
        !slots.versions_request->via.boolean)
      throw DecodeError("\"aq\": expected true");
    if (!slots.versions) throw DecodeError("\"aq\" without \"av\"");
    msg.versions_request = true;
  }
  if (slots.versions_digest) msg.versions_digest = read_uint(*slots.versions_digest, "\"ad\"");
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
