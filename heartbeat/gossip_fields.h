// Internals of the message codec (message.h): the gossip-mode fields "sw",
// "rd", "rf", "av", "aq" and "ad". Not for other modules: include message.h.
#ifndef VIGIL_HEARTBEAT_GOSSIP_FIELDS_H_
#define VIGIL_HEARTBEAT_GOSSIP_FIELDS_H_

#include <msgpack.hpp>

#include "heartbeat/json_msgpack.h"
#include "heartbeat/message.h"

namespace vigil::heartbeat::detail {

/// How many of the gossip fields `msg` writes (map entries).
uint32_t gossip_field_count(const Message& msg);
/// Writes the gossip fields of `msg` (key and value each). Throws
/// std::invalid_argument as encode() documents.
void pack_gossip_fields(Packer& pk, const Message& msg);

/// The gossip fields as found in the message map (null: absent).
struct GossipSlots {
  const msgpack::object* swim = nullptr;
  const msgpack::object* relayed = nullptr;
  const msgpack::object* relayed_full = nullptr;
  const msgpack::object* versions = nullptr;
  const msgpack::object* versions_request = nullptr;
  const msgpack::object* versions_digest = nullptr;
  /// The slot for `key`, or null when it is not a gossip field.
  const msgpack::object** slot(std::string_view key);
};
/// Reads the gossip fields into `msg`. Throws DecodeError as decode()
/// documents.
void read_gossip_fields(const GossipSlots& slots, Message& msg);

}  // namespace vigil::heartbeat::detail

#endif  // VIGIL_HEARTBEAT_GOSSIP_FIELDS_H_
