#include "heartbeat/message.h"

#include <cstdio>
#include <new>
#include <string>

#include <sodium.h>

#include "heartbeat/gossip_fields.h"
#include "heartbeat/json_msgpack.h"
#include "heartbeat/msgpack_reader.h"

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

// The message map's keys, one bit each for the duplicate check.
enum Field : uint32_t {
  kFieldKind,
  kFieldGens,
  kFieldDeltas,
  kFieldFullGen,
  kFieldFull,
  kFieldKeyVersions,
  kFieldKeyOffer,
  kFieldKeyIds,
  kFieldMemberDigest,
  kFieldMembers,
  kFieldWebhookDigest,
  kFieldWebhooks,
  kFieldQueries,
  kFieldQueryAnswers,
  kFieldStop,
  kFieldGossip,  // + detail::gossip_field(key)
};

int field_of(std::string_view key) {
  if (key.size() == 1) {
    switch (key[0]) {
      case 'k':
        return kFieldKind;
      case 'g':
        return kFieldGens;
      case 'd':
        return kFieldDeltas;
      case 'f':
        return kFieldFull;
      case 'm':
        return kFieldMembers;
      case 'w':
        return kFieldWebhooks;
      case 'q':
        return kFieldQueries;
      default:
        return -1;
    }
  }
  if (key == kKeyFullGen) return kFieldFullGen;
  if (key == kKeyVersions) return kFieldKeyVersions;
  if (key == kKeyOffer) return kFieldKeyOffer;
  if (key == kKeyIds) return kFieldKeyIds;
  if (key == kMemberDigest) return kFieldMemberDigest;
  if (key == kWebhookDigest) return kFieldWebhookDigest;
  if (key == kQueryAnswers) return kFieldQueryAnswers;
  if (key == kKeyStop) return kFieldStop;
  const int gossip = detail::gossip_field(key);
  return gossip < 0 ? -1 : kFieldGossip + gossip;
}

void read_key_versions(detail::MsgpackReader& r, std::vector<uint32_t>& versions) {
  const uint32_t n = r.array("\"kv\"");
  if (n > kMaxKeyVersions)
    throw DecodeError("\"kv\": more than " + std::to_string(kMaxKeyVersions) + " key versions");
  for (uint32_t i = 0; i < n; ++i) {
    const uint64_t v = r.uint("key version");
    if (v > UINT32_MAX) throw DecodeError("\"kv\": version out of range");
    if (!versions.empty() && v <= versions.back())
      throw DecodeError("\"kv\": key versions must be strictly ascending");
    versions.push_back(static_cast<uint32_t>(v));
  }
}

void read_key_ids(detail::MsgpackReader& r, std::vector<uint64_t>& ids) {
  const uint32_t n = r.array("\"ki\"");
  for (uint32_t i = 0; i < n; ++i) ids.push_back(r.uint("key id"));
}

KeyOffer read_key_offer(detail::MsgpackReader& r) {
  const auto head = r.next();
  if (head.type != detail::MsgpackReader::Type::kArray || (head.size != 2 && head.size != 4))
    throw DecodeError("\"ko\": expected [version, secret, leader, settled]");
  const uint64_t v = r.uint("key offer version");
  if (v == 0 || v > UINT32_MAX) throw DecodeError("\"ko\": version out of range");
  KeyOffer offer{.version = static_cast<uint32_t>(v)};
  try {
    offer.secret = crypto::parse_secret_hex(r.str("key offer"));
  } catch (const std::invalid_argument&) {
    throw DecodeError("\"ko\": the secret is not 64 hex digits");
  }
  if (head.size == 4) {
    offer.leader = r.str("key offer leader");
    if (offer.leader.size() > kMaxLeaderBytes) throw DecodeError("\"ko\": leader too long");
    offer.settled = r.boolean("\"ko\": settled");
  }
  return offer;
}

// Decoded over the previous vector: a sender's next message names the same
// nodes, in the same (sorted) order, and only the gens change.
void read_gens(detail::MsgpackReader& r, GenVector& gens) {
  const uint32_t n = r.map("\"g\"");
  auto held = gens.begin();
  bool in_place = n == gens.size();
  if (!in_place) gens.clear();
  for (uint32_t i = 0; i < n; ++i) {
    const std::string_view node = r.str("\"g\" key");
    const uint64_t gen = r.uint("\"g\" value");
    if (in_place && held->first == node) {
      held++->second = gen;
      continue;
    }
    if (in_place) {
      gens.erase(held, gens.end());
      in_place = false;
    }
    if (!gens.try_emplace(std::string(node), gen).second)
      throw DecodeError("\"g\": duplicate node");
  }
}

void read_deltas(detail::MsgpackReader& r, std::vector<Delta>& deltas) {
  const uint32_t n = r.array("\"d\"");
  deltas.resize(n);  // decoded over the previous ones
  for (uint32_t i = 0; i < n; ++i) {
    if (r.array("\"d\": each delta") != 2)
      throw DecodeError("\"d\": each delta must be [gen, ops]");
    Delta& delta = deltas[i];
    delta.gen = r.uint("delta gen");
    if (delta.gen == 0 || (i > 0 && delta.gen != deltas[i - 1].gen + 1))
      throw DecodeError("\"d\": gens must be consecutive, ascending and >= 1");
    r.json(delta.ops, kDepthOps, kMaxDepth);
    if (!delta.ops.is_array()) throw DecodeError("delta ops: expected an array");
    for (const auto& op : delta.ops)
      if (!op.is_object()) throw DecodeError("delta ops: every op must be a map");
  }
}

// A value of the message map that must be an array of JSON values.
void read_json_array(detail::MsgpackReader& r, nlohmann::json& out, const char* what) {
  r.json(out, kDepthField, kMaxDepth);
  if (!out.is_array()) throw DecodeError(std::string(what) + ": expected an array");
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

void decode(std::span<const uint8_t> bytes, Message& msg) {
  // The gen vector and the deltas are decoded over the previous ones: the
  // next message of a sender has the same shape, and allocates nothing.
  GenVector gens = std::move(msg.gens);
  std::vector<Delta> deltas = std::move(msg.deltas);
  msg = Message{};
  msg.gens = std::move(gens);
  msg.deltas = std::move(deltas);

  detail::MsgpackReader r(bytes);
  const uint32_t entries = r.map("message");
  uint32_t seen = 0;
  bool has_kind = false;
  uint64_t kind = 0;
  for (uint32_t i = 0; i < entries; ++i) {
    const auto key = r.next();
    if (key.type != detail::MsgpackReader::Type::kStr)
      throw DecodeError("message: keys must be strings");
    const int field = field_of(key.str);
    if (field < 0) throw DecodeError("message: unknown key");
    if (seen & (1u << field))
      throw DecodeError("message: duplicate key \"" + std::string(key.str) + "\"");
    seen |= 1u << field;
    switch (field) {
      case kFieldKind:
        kind = r.uint("\"k\"");
        has_kind = true;
        break;
      case kFieldGens:
        read_gens(r, msg.gens);
        break;
      case kFieldDeltas:
        read_deltas(r, msg.deltas);
        break;
      case kFieldFullGen:
        msg.full_gen = r.uint("\"fg\"");
        break;
      case kFieldFull:
        r.json(msg.full, kDepthField, kMaxDepth);
        break;
      case kFieldKeyVersions:
        read_key_versions(r, msg.key_versions);
        break;
      case kFieldKeyOffer:
        msg.key_offer = read_key_offer(r);
        break;
      case kFieldKeyIds:
        read_key_ids(r, msg.key_ids);
        break;
      case kFieldMemberDigest:
        msg.member_digest = r.uint("\"md\"");
        break;
      case kFieldMembers:
        read_json_array(r, msg.members, "\"m\"");
        break;
      case kFieldWebhookDigest:
        msg.webhook_digest = r.uint("\"wd\"");
        break;
      case kFieldWebhooks:
        read_json_array(r, msg.webhooks, "\"w\"");
        break;
      case kFieldQueries:
        read_json_array(r, msg.queries, "\"q\"");
        break;
      case kFieldQueryAnswers:
        read_json_array(r, msg.query_answers, "\"qa\"");
        break;
      case kFieldStop:
        msg.stop = r.boolean("\"st\"");
        break;
      default:
        detail::read_gossip_field(field - kFieldGossip, r, msg);
        break;
    }
  }
  if (!r.done()) throw DecodeError("trailing bytes after the message");
  if (!(seen & (1u << kFieldDeltas))) msg.deltas.clear();
  if (!has_kind) throw DecodeError("message: missing \"k\"");
  if (!(seen & (1u << kFieldGens))) throw DecodeError("message: missing \"g\"");
  if (kind > static_cast<uint64_t>(MessageKind::kFull))
    throw DecodeError("message: unknown kind " + std::to_string(kind));
  msg.kind = static_cast<MessageKind>(kind);
  const bool is_patch = msg.kind == MessageKind::kPatch;
  const bool is_full = msg.kind == MessageKind::kFull;
  if (((seen >> kFieldDeltas) & 1) != is_patch)
    throw DecodeError(is_patch ? "patch: missing \"d\"" : "message: \"d\" outside a patch");
  if (((seen >> kFieldFullGen) & 1) != is_full || ((seen >> kFieldFull) & 1) != is_full)
    throw DecodeError(is_full ? "full: missing \"fg\" or \"f\""
                              : "message: \"fg\"/\"f\" outside a full");
  if ((seen & (1u << kFieldKeyIds)) &&
      (!(seen & (1u << kFieldKeyVersions)) || msg.key_ids.size() != msg.key_versions.size()))
    throw DecodeError("\"ki\": one key id per \"kv\" entry");
  if (msg.versions_request && !msg.versions) throw DecodeError("\"aq\" without \"av\"");
}

Message decode(std::span<const uint8_t> bytes) {
  Message msg;
  decode(bytes, msg);
  return msg;
}

}  // namespace vigil::heartbeat
