// The plaintext heartbeat message and its msgpack wire codec.
//
// Wire form (msgpack map, keys are short strings):
//   "k": uint            kind: 0 ping, 1 patch, 2 full
//   "g": map str->uint   the sender's gen vector {node: gen}; g[sender] is its own gen
//   "d": array           patch only: [[gen, ops], ...] with consecutive ascending gens,
//                        ops being the RFC 6902 operation array as msgpack
//   "fg": uint           full only: gen of the document carried in "f"
//   "f": any             full only: the sender's whole node document
// JSON values travel as native msgpack (map, array, str, int, float, bool, nil).
#ifndef VIGIL_HEARTBEAT_MESSAGE_H_
#define VIGIL_HEARTBEAT_MESSAGE_H_

#include <cstdint>
#include <map>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace vigil::heartbeat {

enum class MessageKind : uint8_t { kPing = 0, kPatch = 1, kFull = 2 };

/// "ping", "patch" or "full".
std::string_view to_string(MessageKind kind);

/// {node name: gen}. For the sender itself: its own current gen. For every
/// other node: the last gen of that node the sender applied (0: none, or a
/// full resync is wanted).
using GenVector = std::map<std::string, uint64_t>;

/// One committed change of a node document: the RFC 6902 ops taking the
/// document from gen-1 to gen.
struct Delta {
  uint64_t gen = 0;
  nlohmann::json ops;  // array of RFC 6902 operation objects
};

struct Message {
  MessageKind kind = MessageKind::kPing;
  GenVector gens;
  std::vector<Delta> deltas;  // kPatch only
  uint64_t full_gen = 0;      // kFull only
  nlohmann::json full;        // kFull only
};

/// Thrown by decode() on malformed input; what() names the problem.
class DecodeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Serializes `msg` to msgpack bytes.
std::vector<uint8_t> encode(const Message& msg);

/// Parses msgpack bytes. Throws DecodeError when the bytes are not a valid
/// message (bad msgpack, wrong types, unknown kind, nesting deeper than 64).
Message decode(std::span<const uint8_t> bytes);

}  // namespace vigil::heartbeat

#endif  // VIGIL_HEARTBEAT_MESSAGE_H_
