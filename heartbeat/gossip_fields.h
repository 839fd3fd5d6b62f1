// Internals of the message codec (message.h): the gossip-mode fields "sw",
// "rd", "rf", "av", "aq" and "ad". Not for other modules: include message.h.
#ifndef VIGIL_HEARTBEAT_GOSSIP_FIELDS_H_
#define VIGIL_HEARTBEAT_GOSSIP_FIELDS_H_

#include "heartbeat/json_msgpack.h"
#include "heartbeat/message.h"
#include "heartbeat/msgpack_reader.h"

namespace vigil::heartbeat::detail {

/// How many of the gossip fields `msg` writes (map entries).
uint32_t gossip_field_count(const Message& msg);
/// Writes the gossip fields of `msg` (key and value each). Throws
/// std::invalid_argument as encode() documents.
void pack_gossip_fields(Packer& pk, const Message& msg);

enum GossipField : int {
  kGossipSwim,
  kGossipRelayed,
  kGossipRelayedFull,
  kGossipVersions,
  kGossipVersionsRequest,
  kGossipVersionsDigest,
};
/// Which gossip field the message map key `key` names, or -1.
int gossip_field(std::string_view key);
/// Reads the value of gossip field `field` (a GossipField) into `msg`.
/// Throws DecodeError as decode() documents; "aq" without "av" is the
/// caller's check, once the whole map is read.
void read_gossip_field(int field, MsgpackReader& r, Message& msg);

}  // namespace vigil::heartbeat::detail

#endif  // VIGIL_HEARTBEAT_GOSSIP_FIELDS_H_
