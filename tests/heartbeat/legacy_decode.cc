// The message decoder as it was before the receive-pipeline rewrite (issue
// "The receive pipeline at half the crypto limit"): msgpack::unpack into a
// msgpack-c object tree, then conversion. Kept for tests only, as the oracle
// the current decoder (heartbeat/message.h) is checked against: on any input
// both accept or both refuse, and what they accept is the same message.
// Not built into vigil.
#include "tests/heartbeat/legacy_decode.h"

#include <cmath>
#include <new>
#include <string>
#include <string_view>

#include <msgpack.hpp>

namespace vigil::heartbeat::legacy {

namespace {

bool valid_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    const unsigned char c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    std::size_t extra = 0;
    uint32_t cp = 0;
    uint32_t min = 0;
    if ((c & 0xe0) == 0xc0) {
      extra = 1;
      cp = c & 0x1f;
      min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
      extra = 2;
      cp = c & 0x0f;
      min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
      extra = 3;
      cp = c & 0x07;
      min = 0x10000;
    } else {
      return false;
    }
    if (static_cast<std::size_t>(end - p) <= extra) return false;
    for (std::size_t i = 1; i <= extra; ++i) {
      if ((p[i] & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (p[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    p += extra + 1;
  }
  return true;
}

std::string read_string(const msgpack::object& obj, const char* what) {
  if (obj.type != msgpack::type::STR) {
    throw DecodeError(std::string(what) + ": expected a string");
  }
  std::string s(obj.via.str.ptr, obj.via.str.size);
  if (!valid_utf8(s)) {
    throw DecodeError(std::string(what) + ": malformed UTF-8");
  }
  return s;
}

uint64_t read_uint(const msgpack::object& obj, const char* what) {
  if (obj.type != msgpack::type::POSITIVE_INTEGER) {
    throw DecodeError(std::string(what) + ": expected an unsigned integer");
  }
  return obj.via.u64;
}

nlohmann::json to_json(const msgpack::object& obj, std::size_t depth, std::size_t max_depth) {
  switch (obj.type) {
    case msgpack::type::NIL:
      return nullptr;
    case msgpack::type::BOOLEAN:
      return obj.via.boolean;
    case msgpack::type::POSITIVE_INTEGER:
      return obj.via.u64;
    case msgpack::type::NEGATIVE_INTEGER:
      return obj.via.i64;
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64:
      if (!std::isfinite(obj.via.f64)) {
        throw DecodeError("json value: non-finite float");
      }
      return obj.via.f64;
    case msgpack::type::STR:
      return read_string(obj, "json string");
    case msgpack::type::ARRAY: {
      if (depth > max_depth) {
        throw DecodeError("nesting deeper than " + std::to_string(max_depth));
      }
      nlohmann::json::array_t array;
      array.reserve(obj.via.array.size);
      for (uint32_t i = 0; i < obj.via.array.size; ++i) {
        array.push_back(to_json(obj.via.array.ptr[i], depth + 1, max_depth));
      }
      return nlohmann::json(std::move(array));
    }
    case msgpack::type::MAP: {
      if (depth > max_depth) {
        throw DecodeError("nesting deeper than " + std::to_string(max_depth));
      }
      nlohmann::json::object_t object;
      for (uint32_t i = 0; i < obj.via.map.size; ++i) {
        const msgpack::object_kv& kv = obj.via.map.ptr[i];
        std::string key = read_string(kv.key, "json object key");
        auto [it, inserted] = object.try_emplace(std::move(key));
        if (!inserted) {
          throw DecodeError("json object: duplicate key \"" + it->first + "\"");
        }
        it->second = to_json(kv.val, depth + 1, max_depth);
      }
      return nlohmann::json(std::move(object));
    }
    case msgpack::type::BIN:
      throw DecodeError("json value: bin is not a JSON type");
    case msgpack::type::EXT:
      throw DecodeError("json value: ext is not a JSON type");
  }
  throw DecodeError("json value: unknown msgpack type");
}

struct GossipSlots {
  const msgpack::object* swim = nullptr;
  const msgpack::object* relayed = nullptr;
  const msgpack::object* relayed_full = nullptr;
  const msgpack::object* versions = nullptr;
  const msgpack::object* versions_request = nullptr;
  const msgpack::object* versions_digest = nullptr;
  const msgpack::object** slot(std::string_view key);
};

constexpr std::string_view kSwim = "sw";
constexpr std::string_view kRelayed = "rd";
constexpr std::string_view kRelayedFull = "rf";
constexpr std::string_view kVersions = "av";
constexpr std::string_view kVersionsRequest = "aq";
constexpr std::string_view kVersionsDigest = "ad";

// Container depths: "rd" (depth 2) -> entry (3) -> ops (4), as "d".
constexpr std::size_t kDepthOps = 4;
constexpr std::size_t kDepthDoc = 4;  // "rf" -> entry -> doc

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

const msgpack::object** GossipSlots::slot(std::string_view key) {
  if (key == kSwim) return &swim;
  if (key == kRelayed) return &relayed;
  if (key == kRelayedFull) return &relayed_full;
  if (key == kVersions) return &versions;
  if (key == kVersionsRequest) return &versions_request;
  if (key == kVersionsDigest) return &versions_digest;
  return nullptr;
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

constexpr std::string_view kKeyKind = "k";
constexpr std::string_view kKeyGens = "g";
constexpr std::string_view kKeyDeltas = "d";
constexpr std::string_view kKeyFullGen = "fg";
constexpr std::string_view kKeyFull = "f";
constexpr std::string_view kKeyVersions = "kv";
constexpr std::string_view kKeyOffer = "ko";
constexpr std::string_view kKeyIds = "ki";
constexpr std::string_view kMemberDigest = "md";
constexpr std::string_view kMembers = "m";
constexpr std::string_view kWebhookDigest = "wd";
constexpr std::string_view kWebhooks = "w";
constexpr std::string_view kQueries = "q";
constexpr std::string_view kQueryAnswers = "qa";
constexpr std::string_view kKeyStop = "st";
constexpr std::size_t kMaxLeaderBytes = 255;

// Container depths inside the message map (depth 1).
constexpr std::size_t kDepthField = 2;  // values of the message map

void check_key_versions(const std::vector<uint32_t>& versions) {
  if (versions.size() > kMaxKeyVersions)
    throw std::invalid_argument("more than " + std::to_string(kMaxKeyVersions) + " key versions");
  for (std::size_t i = 1; i < versions.size(); ++i)
    if (versions[i] <= versions[i - 1])
      throw std::invalid_argument("key versions must be strictly ascending");
}

std::vector<uint32_t> read_key_versions(const msgpack::object& obj) {
  if (obj.type != msgpack::type::ARRAY) throw DecodeError("\"kv\": expected an array");
  std::vector<uint32_t> versions;
  for (uint32_t i = 0; i < obj.via.array.size; ++i) {
    const uint64_t v = read_uint(obj.via.array.ptr[i], "key version");
    if (v > UINT32_MAX) throw DecodeError("\"kv\": version out of range");
    versions.push_back(static_cast<uint32_t>(v));
  }
  try {
    check_key_versions(versions);
  } catch (const std::invalid_argument& e) {
    throw DecodeError(std::string("\"kv\": ") + e.what());
  }
  return versions;
}

std::vector<uint64_t> read_key_ids(const msgpack::object& obj) {
  if (obj.type != msgpack::type::ARRAY) throw DecodeError("\"ki\": expected an array");
  std::vector<uint64_t> ids;
  for (uint32_t i = 0; i < obj.via.array.size; ++i)
    ids.push_back(read_uint(obj.via.array.ptr[i], "key id"));
  return ids;
}

KeyOffer read_key_offer(const msgpack::object& obj) {
  if (obj.type != msgpack::type::ARRAY || (obj.via.array.size != 2 && obj.via.array.size != 4))
    throw DecodeError("\"ko\": expected [version, secret, leader, settled]");
  const uint64_t v = read_uint(obj.via.array.ptr[0], "key offer version");
  if (v == 0 || v > UINT32_MAX) throw DecodeError("\"ko\": version out of range");
  KeyOffer offer{.version = static_cast<uint32_t>(v)};
  try {
    offer.secret = crypto::parse_secret_hex(read_string(obj.via.array.ptr[1], "key offer"));
  } catch (const std::invalid_argument&) {
    throw DecodeError("\"ko\": the secret is not 64 hex digits");
  }
  if (obj.via.array.size == 4) {
    offer.leader = read_string(obj.via.array.ptr[2], "key offer leader");
    if (offer.leader.size() > kMaxLeaderBytes) throw DecodeError("\"ko\": leader too long");
    const msgpack::object& settled = obj.via.array.ptr[3];
    if (settled.type != msgpack::type::BOOLEAN)
      throw DecodeError("\"ko\": settled: expected a bool");
    offer.settled = settled.via.boolean;
  }
  return offer;
}

GenVector read_gens(const msgpack::object& obj) {
  if (obj.type != msgpack::type::MAP) {
    throw DecodeError("\"g\": expected a map");
  }
  GenVector gens;
  for (uint32_t i = 0; i < obj.via.map.size; ++i) {
    const msgpack::object_kv& kv = obj.via.map.ptr[i];
    std::string node = read_string(kv.key, "\"g\" key");
    const uint64_t gen = read_uint(kv.val, "\"g\" value");
    if (!gens.emplace(std::move(node), gen).second) {
      throw DecodeError("\"g\": duplicate node");
    }
  }
  return gens;
}

std::vector<Delta> read_deltas(const msgpack::object& obj) {
  if (obj.type != msgpack::type::ARRAY) {
    throw DecodeError("\"d\": expected an array");
  }
  std::vector<Delta> deltas;
  deltas.reserve(obj.via.array.size);
  for (uint32_t i = 0; i < obj.via.array.size; ++i) {
    const msgpack::object& entry = obj.via.array.ptr[i];
    if (entry.type != msgpack::type::ARRAY || entry.via.array.size != 2) {
      throw DecodeError("\"d\": each delta must be [gen, ops]");
    }
    Delta delta;
    delta.gen = read_uint(entry.via.array.ptr[0], "delta gen");
    if (delta.gen == 0 || (!deltas.empty() && delta.gen != deltas.back().gen + 1)) {
      throw DecodeError("\"d\": gens must be consecutive, ascending and >= 1");
    }
    const msgpack::object& ops = entry.via.array.ptr[1];
    if (ops.type != msgpack::type::ARRAY) {
      throw DecodeError("delta ops: expected an array");
    }
    for (uint32_t j = 0; j < ops.via.array.size; ++j) {
      if (ops.via.array.ptr[j].type != msgpack::type::MAP) {
        throw DecodeError("delta ops: every op must be a map");
      }
    }
    delta.ops = to_json(ops, kDepthOps, kMaxDepth);
    deltas.push_back(std::move(delta));
  }
  return deltas;
}

Message read_message(const msgpack::object& root) {
  if (root.type != msgpack::type::MAP) {
    throw DecodeError("message: expected a map");
  }
  const msgpack::object* kind = nullptr;
  const msgpack::object* gens = nullptr;
  const msgpack::object* deltas = nullptr;
  const msgpack::object* full_gen = nullptr;
  const msgpack::object* full = nullptr;
  const msgpack::object* key_versions = nullptr;
  const msgpack::object* key_offer = nullptr;
  const msgpack::object* key_ids = nullptr;
  const msgpack::object* member_digest = nullptr;
  const msgpack::object* members = nullptr;
  const msgpack::object* webhook_digest = nullptr;
  const msgpack::object* webhooks = nullptr;
  const msgpack::object* queries = nullptr;
  const msgpack::object* query_answers = nullptr;
  const msgpack::object* stop = nullptr;
  GossipSlots gossip;
  for (uint32_t i = 0; i < root.via.map.size; ++i) {
    const msgpack::object_kv& kv = root.via.map.ptr[i];
    if (kv.key.type != msgpack::type::STR) {
      throw DecodeError("message: keys must be strings");
    }
    const std::string_view key(kv.key.via.str.ptr, kv.key.via.str.size);
    const msgpack::object** slot = nullptr;
    if (key == kKeyKind) {
      slot = &kind;
    } else if (key == kKeyGens) {
      slot = &gens;
    } else if (key == kKeyDeltas) {
      slot = &deltas;
    } else if (key == kKeyFullGen) {
      slot = &full_gen;
    } else if (key == kKeyFull) {
      slot = &full;
    } else if (key == kKeyVersions) {
      slot = &key_versions;
    } else if (key == kKeyOffer) {
      slot = &key_offer;
    } else if (key == kKeyIds) {
      slot = &key_ids;
    } else if (key == kMemberDigest) {
      slot = &member_digest;
    } else if (key == kMembers) {
      slot = &members;
    } else if (key == kWebhookDigest) {
      slot = &webhook_digest;
    } else if (key == kWebhooks) {
      slot = &webhooks;
    } else if (key == kQueries) {
      slot = &queries;
    } else if (key == kQueryAnswers) {
      slot = &query_answers;
    } else if (key == kKeyStop) {
      slot = &stop;
    } else if (auto* g = gossip.slot(key)) {
      slot = g;
    } else {
      throw DecodeError("message: unknown key");
    }
    if (*slot != nullptr) {
      throw DecodeError("message: duplicate key \"" + std::string(key) + "\"");
    }
    *slot = &kv.val;
  }
  if (kind == nullptr) throw DecodeError("message: missing \"k\"");
  if (gens == nullptr) throw DecodeError("message: missing \"g\"");

  Message msg;
  const uint64_t k = read_uint(*kind, "\"k\"");
  if (k > static_cast<uint64_t>(MessageKind::kFull)) {
    throw DecodeError("message: unknown kind " + std::to_string(k));
  }
  msg.kind = static_cast<MessageKind>(k);
  const bool is_patch = msg.kind == MessageKind::kPatch;
  const bool is_full = msg.kind == MessageKind::kFull;
  if ((deltas != nullptr) != is_patch) {
    throw DecodeError(is_patch ? "patch: missing \"d\"" : "message: \"d\" outside a patch");
  }
  if ((full_gen != nullptr) != is_full || (full != nullptr) != is_full) {
    throw DecodeError(is_full ? "full: missing \"fg\" or \"f\""
                              : "message: \"fg\"/\"f\" outside a full");
  }
  msg.gens = read_gens(*gens);
  if (is_patch) {
    msg.deltas = read_deltas(*deltas);
  }
  if (is_full) {
    msg.full_gen = read_uint(*full_gen, "\"fg\"");
    msg.full = to_json(*full, kDepthField, kMaxDepth);
  }
  if (key_versions != nullptr) msg.key_versions = read_key_versions(*key_versions);
  if (key_ids != nullptr) {
    msg.key_ids = read_key_ids(*key_ids);
    if (key_versions == nullptr || msg.key_ids.size() != msg.key_versions.size())
      throw DecodeError("\"ki\": one key id per \"kv\" entry");
  }
  if (key_offer != nullptr) msg.key_offer = read_key_offer(*key_offer);
  if (member_digest != nullptr) msg.member_digest = read_uint(*member_digest, "\"md\"");
  if (members != nullptr) {
    if (members->type != msgpack::type::ARRAY) throw DecodeError("\"m\": expected an array");
    msg.members = to_json(*members, kDepthField, kMaxDepth);
  }
  if (webhook_digest != nullptr) msg.webhook_digest = read_uint(*webhook_digest, "\"wd\"");
  if (webhooks != nullptr) {
    if (webhooks->type != msgpack::type::ARRAY) throw DecodeError("\"w\": expected an array");
    msg.webhooks = to_json(*webhooks, kDepthField, kMaxDepth);
  }
  if (queries != nullptr) {
    if (queries->type != msgpack::type::ARRAY) throw DecodeError("\"q\": expected an array");
    msg.queries = to_json(*queries, kDepthField, kMaxDepth);
  }
  if (query_answers != nullptr) {
    if (query_answers->type != msgpack::type::ARRAY) throw DecodeError("\"qa\": expected an array");
    msg.query_answers = to_json(*query_answers, kDepthField, kMaxDepth);
  }
  if (stop != nullptr) {
    if (stop->type != msgpack::type::BOOLEAN) throw DecodeError("\"st\": expected a bool");
    msg.stop = stop->via.boolean;
  }
  read_gossip_fields(gossip, msg);
  return msg;
}

bool reference_input(msgpack::type::object_type, std::size_t, void*) { return true; }

}  // namespace

Message decode(std::span<const uint8_t> bytes) {
  // Every declared entry takes at least one input byte (two for a map entry),
  // so bounding counts by the input size bounds what msgpack-c preallocates.
  const std::size_t n = bytes.size();
  const msgpack::unpack_limit limit(/*array=*/n, /*map=*/n / 2, /*str=*/n, /*bin=*/0, /*ext=*/0,
                                    /*depth=*/kMaxDepth);
  const char* data = reinterpret_cast<const char*>(bytes.data());
  std::size_t offset = 0;
  msgpack::object_handle handle;
  try {
    handle = msgpack::unpack(data, n, offset, reference_input, nullptr, limit);
  } catch (const msgpack::depth_size_overflow&) {
    throw DecodeError("nesting deeper than " + std::to_string(kMaxDepth));
  } catch (const msgpack::insufficient_bytes&) {
    throw DecodeError("truncated msgpack");
  } catch (const msgpack::size_overflow&) {
    throw DecodeError("msgpack container or string larger than the input");
  } catch (const msgpack::unpack_error& e) {
    throw DecodeError(std::string("bad msgpack: ") + e.what());
  } catch (const std::bad_alloc&) {
    throw DecodeError("msgpack: out of memory");
  }
  if (offset != n) {
    throw DecodeError("trailing bytes after the message");
  }
  return read_message(handle.get());
}

}  // namespace vigil::heartbeat::legacy
