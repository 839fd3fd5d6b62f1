// Conversion between nlohmann::json values and native msgpack (msgpack-c
// packer / object API), shared by the message and datagram codecs. Private to
// the heartbeat module: the public headers do not include msgpack.
#ifndef VIGIL_HEARTBEAT_JSON_MSGPACK_H_
#define VIGIL_HEARTBEAT_JSON_MSGPACK_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <msgpack.hpp>
#include <nlohmann/json.hpp>

namespace vigil::heartbeat::detail {

/// A msgpack::packer output stream appending to a byte vector.
class VectorWriter {
 public:
  explicit VectorWriter(std::vector<uint8_t>& out) : out_(out) {}
  void write(const char* data, std::size_t size) {
    const auto* p = reinterpret_cast<const uint8_t*>(data);
    out_.insert(out_.end(), p, p + size);
  }

 private:
  std::vector<uint8_t>& out_;
};

using Packer = msgpack::packer<VectorWriter>;

/// Packs a UTF-8 string as msgpack str.
void pack_string(Packer& pk, std::string_view s);

/// Packs `value` as native msgpack: object -> map (str keys), array -> array,
/// string -> str, unsigned -> uint, signed -> int, float -> float64 (NaN and
/// infinities -> nil, as in JSON text), bool, null -> nil. `depth` is the
/// container depth `value` sits at (a container at depth d holds values at
/// d + 1). Throws std::invalid_argument for a container deeper than
/// `max_depth` or a binary value (not JSON).
void pack_json(Packer& pk, const nlohmann::json& value, std::size_t depth, std::size_t max_depth);

/// True when `s` is well-formed UTF-8 (no overlongs, surrogates or code
/// points above U+10FFFF).
bool valid_utf8(std::string_view s);

/// Reads a msgpack str as a UTF-8 string. Throws DecodeError for another
/// type or malformed UTF-8; `what` names the field in the message.
std::string read_string(const msgpack::object& obj, const char* what);

/// Reads a msgpack unsigned integer. Throws DecodeError for another type.
uint64_t read_uint(const msgpack::object& obj, const char* what);

/// Converts a msgpack object into JSON: the inverse of pack_json. `depth` is
/// the container depth `obj` sits at. Throws DecodeError for bin and ext
/// values, non-str map keys, duplicate map keys, malformed UTF-8, non-finite
/// floats, or a container deeper than `max_depth`.
nlohmann::json to_json(const msgpack::object& obj, std::size_t depth, std::size_t max_depth);

/// Returns true for every str/bin/ext so that msgpack::unpack references the
/// input buffer instead of copying (the object is converted while the input
/// is alive).
bool reference_input(msgpack::type::object_type type, std::size_t length, void* user_data);

}  // namespace vigil::heartbeat::detail

#endif  // VIGIL_HEARTBEAT_JSON_MSGPACK_H_
