// Packing nlohmann::json values as native msgpack (msgpack-c's packer),
// shared by the message and datagram codecs; msgpack_reader.h reads them back. Private to
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

}  // namespace vigil::heartbeat::detail

#endif  // VIGIL_HEARTBEAT_JSON_MSGPACK_H_
