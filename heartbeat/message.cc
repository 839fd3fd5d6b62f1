#include "heartbeat/message.h"

#include <cstdio>
#include <new>
#include <string>

#include <sodium.h>

#include "heartbeat/gossip_fields.h"
#include "heartbeat/json_msgpack.h"

namespace vigil::heartbeat {

namespace {

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
constexpr std::size_t kDepthOps = 4;    // "d" -> [gen, ops] -> ops

void check_ops(const nlohmann::json& ops, uint64_t gen) {
  if (!ops.is_array()) {
    throw std::invalid_argument("delta " + std::to_string(gen) + ": ops must be an array");
  }
  for (const auto& op : ops) {
    if (!op.is_object()) {
      throw std::invalid_argument("delta " + std::to_string(gen) + ": every op must be an object");
    }
  }
}

void pack_deltas(detail::Packer& pk, const std::vector<Delta>& deltas) {
  pk.pack_array(static_cast<uint32_t>(deltas.size()));
  uint64_t prev = 0;
  for (std::size_t i = 0; i < deltas.size(); ++i) {
    const Delta& delta = deltas[i];
    if (delta.gen == 0 || (i > 0 && delta.gen != prev + 1)) {
      throw std::invalid_argument("delta gens must be consecutive, ascending and >= 1");
    }
    prev = delta.gen;
    check_ops(delta.ops, delta.gen);
    pk.pack_array(2);
    pk.pack_uint64(delta.gen);
    detail::pack_json(pk, delta.ops, kDepthOps, kMaxDepth);
  }
}

void check_key_ids(const Message& msg) {
  if (!msg.key_ids.empty() && msg.key_ids.size() != msg.key_versions.size())
    throw std::invalid_argument("key ids: one per key version");
}

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
    const uint64_t v = detail::read_uint(obj.via.array.ptr[i], "key version");
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
    ids.push_back(detail::read_uint(obj.via.array.ptr[i], "key id"));
  return ids;
}

KeyOffer read_key_offer(const msgpack::object& obj) {
  if (obj.type != msgpack::type::ARRAY || (obj.via.array.size != 2 && obj.via.array.size != 4))
    throw DecodeError("\"ko\": expected [version, secret, leader, settled]");
  const uint64_t v = detail::read_uint(obj.via.array.ptr[0], "key offer version");
  if (v == 0 || v > UINT32_MAX) throw DecodeError("\"ko\": version out of range");
  KeyOffer offer{.version = static_cast<uint32_t>(v)};
  try {
    offer.secret = crypto::parse_secret_hex(detail::read_string(obj.via.array.ptr[1], "key offer"));
  } catch (const std::invalid_argument&) {
    throw DecodeError("\"ko\": the secret is not 64 hex digits");
  }
  if (obj.via.array.size == 4) {
    offer.leader = detail::read_string(obj.via.array.ptr[2], "key offer leader");
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
    std::string node = detail::read_string(kv.key, "\"g\" key");
    const uint64_t gen = detail::read_uint(kv.val, "\"g\" value");
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
    delta.gen = detail::read_uint(entry.via.array.ptr[0], "delta gen");
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
    delta.ops = detail::to_json(ops, kDepthOps, kMaxDepth);
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
  detail::GossipSlots gossip;
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
  const uint64_t k = detail::read_uint(*kind, "\"k\"");
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
    msg.full_gen = detail::read_uint(*full_gen, "\"fg\"");
    msg.full = detail::to_json(*full, kDepthField, kMaxDepth);
  }
  if (key_versions != nullptr) msg.key_versions = read_key_versions(*key_versions);
  if (key_ids != nullptr) {
    msg.key_ids = read_key_ids(*key_ids);
    if (key_versions == nullptr || msg.key_ids.size() != msg.key_versions.size())
      throw DecodeError("\"ki\": one key id per \"kv\" entry");
  }
  if (key_offer != nullptr) msg.key_offer = read_key_offer(*key_offer);
  if (member_digest != nullptr) msg.member_digest = detail::read_uint(*member_digest, "\"md\"");
  if (members != nullptr) {
    if (members->type != msgpack::type::ARRAY) throw DecodeError("\"m\": expected an array");
    msg.members = detail::to_json(*members, kDepthField, kMaxDepth);
  }
  if (webhook_digest != nullptr) msg.webhook_digest = detail::read_uint(*webhook_digest, "\"wd\"");
  if (webhooks != nullptr) {
    if (webhooks->type != msgpack::type::ARRAY) throw DecodeError("\"w\": expected an array");
    msg.webhooks = detail::to_json(*webhooks, kDepthField, kMaxDepth);
  }
  if (queries != nullptr) {
    if (queries->type != msgpack::type::ARRAY) throw DecodeError("\"q\": expected an array");
    msg.queries = detail::to_json(*queries, kDepthField, kMaxDepth);
  }
  if (query_answers != nullptr) {
    if (query_answers->type != msgpack::type::ARRAY) throw DecodeError("\"qa\": expected an array");
    msg.query_answers = detail::to_json(*query_answers, kDepthField, kMaxDepth);
  }
  if (stop != nullptr) {
    if (stop->type != msgpack::type::BOOLEAN) throw DecodeError("\"st\": expected a bool");
    msg.stop = stop->via.boolean;
  }
  detail::read_gossip_fields(gossip, msg);
  return msg;
}

}  // namespace

std::string_view to_string(MessageKind kind) {
  switch (kind) {
    case MessageKind::kPing:
      return "ping";
    case MessageKind::kPatch:
      return "patch";
    case MessageKind::kFull:
      return "full";
  }
  return "unknown";
}

std::vector<uint8_t> encode(const Message& msg) {
  std::vector<uint8_t> out;
  out.reserve(64);
  detail::VectorWriter writer(out);
  detail::Packer pk(writer);
  check_key_versions(msg.key_versions);
  check_key_ids(msg);
  if (msg.key_offer && msg.key_offer->version == 0)
    throw std::invalid_argument("key offer: version 0");
  if (msg.key_offer && msg.key_offer->leader.size() > kMaxLeaderBytes)
    throw std::invalid_argument("key offer: leader too long");
  if (!msg.members.is_null() && !msg.members.is_array())
    throw std::invalid_argument("members: expected an array");
  if (!msg.webhooks.is_null() && !msg.webhooks.is_array())
    throw std::invalid_argument("webhooks: expected an array");
  if (!msg.queries.is_null() && !msg.queries.is_array())
    throw std::invalid_argument("queries: expected an array");
  if (!msg.query_answers.is_null() && !msg.query_answers.is_array())
    throw std::invalid_argument("query answers: expected an array");
  const uint32_t optional =
      (msg.key_versions.empty() ? 0 : 1) + (msg.key_ids.empty() ? 0 : 1) + (msg.key_offer ? 1 : 0) +
      (msg.member_digest ? 1 : 0) + (msg.members.is_null() ? 0 : 1) + (msg.webhook_digest ? 1 : 0) +
      (msg.webhooks.is_null() ? 0 : 1) + (msg.queries.is_null() ? 0 : 1) +
      (msg.query_answers.is_null() ? 0 : 1) + (msg.stop ? 1 : 0) + detail::gossip_field_count(msg);
  switch (msg.kind) {
    case MessageKind::kPing:
      pk.pack_map(2 + optional);
      break;
    case MessageKind::kPatch:
      pk.pack_map(3 + optional);
      break;
    case MessageKind::kFull:
      pk.pack_map(4 + optional);
      break;
    default:
      throw std::invalid_argument("message: unknown kind");
  }
  detail::pack_string(pk, kKeyKind);
  pk.pack_uint8(static_cast<uint8_t>(msg.kind));
  detail::pack_string(pk, kKeyGens);
  pk.pack_map(static_cast<uint32_t>(msg.gens.size()));
  for (const auto& [node, gen] : msg.gens) {
    detail::pack_string(pk, node);
    pk.pack_uint64(gen);
  }
  if (msg.kind == MessageKind::kPatch) {
    detail::pack_string(pk, kKeyDeltas);
    pack_deltas(pk, msg.deltas);
  } else if (msg.kind == MessageKind::kFull) {
    detail::pack_string(pk, kKeyFullGen);
    pk.pack_uint64(msg.full_gen);
    detail::pack_string(pk, kKeyFull);
    detail::pack_json(pk, msg.full, kDepthField, kMaxDepth);
  }
  if (!msg.key_versions.empty()) {
    detail::pack_string(pk, kKeyVersions);
    pk.pack_array(static_cast<uint32_t>(msg.key_versions.size()));
    for (uint32_t v : msg.key_versions) pk.pack_uint32(v);
  }
  if (!msg.key_ids.empty()) {
    detail::pack_string(pk, kKeyIds);
    pk.pack_array(static_cast<uint32_t>(msg.key_ids.size()));
    for (uint64_t id : msg.key_ids) pk.pack_uint64(id);
  }
  if (msg.key_offer) {
    detail::pack_string(pk, kKeyOffer);
    pk.pack_array(4);
    pk.pack_uint32(msg.key_offer->version);
    char hex[2 * crypto::kSecretBytes + 1];
    for (std::size_t i = 0; i < crypto::kSecretBytes; ++i)
      std::snprintf(hex + 2 * i, 3, "%02x", msg.key_offer->secret[i]);
    detail::pack_string(pk, std::string_view(hex, 2 * crypto::kSecretBytes));
    sodium_memzero(hex, sizeof hex);
    detail::pack_string(pk, msg.key_offer->leader);
    if (msg.key_offer->settled)
      pk.pack_true();
    else
      pk.pack_false();
  }
  if (msg.member_digest) {
    detail::pack_string(pk, kMemberDigest);
    pk.pack_uint64(*msg.member_digest);
  }
  if (!msg.members.is_null()) {
    detail::pack_string(pk, kMembers);
    detail::pack_json(pk, msg.members, kDepthField, kMaxDepth);
  }
  if (msg.webhook_digest) {
    detail::pack_string(pk, kWebhookDigest);
    pk.pack_uint64(*msg.webhook_digest);
  }
  if (!msg.webhooks.is_null()) {
    detail::pack_string(pk, kWebhooks);
    detail::pack_json(pk, msg.webhooks, kDepthField, kMaxDepth);
  }
  if (!msg.queries.is_null()) {
    detail::pack_string(pk, kQueries);
    detail::pack_json(pk, msg.queries, kDepthField, kMaxDepth);
  }
  if (!msg.query_answers.is_null()) {
    detail::pack_string(pk, kQueryAnswers);
    detail::pack_json(pk, msg.query_answers, kDepthField, kMaxDepth);
  }
  if (msg.stop) {
    detail::pack_string(pk, kKeyStop);
    pk.pack_true();
  }
  detail::pack_gossip_fields(pk, msg);
  return out;
}

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
    handle = msgpack::unpack(data, n, offset, detail::reference_input, nullptr, limit);
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

}  // namespace vigil::heartbeat
