// A pull reader over msgpack bytes (the msgpack specification, "Formats"),
// for the message decoder (message.h): it reads one value head at a time
// straight from the input, with no object tree and no allocation; strings
// are views into the input. Private to the heartbeat module.
//
// What it accepts is what msgpack::unpack accepted with the limits the
// decoder used before (array entries <= input bytes, map entries <= half of
// them, no bin, no ext): those values are never part of a valid message, so
// they are refused where they are met.
#ifndef VIGIL_HEARTBEAT_MSGPACK_READER_H_
#define VIGIL_HEARTBEAT_MSGPACK_READER_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include <nlohmann/json.hpp>

namespace vigil::heartbeat::detail {

class MsgpackReader {
 public:
  enum class Type : uint8_t { kNil, kBool, kUint, kInt, kFloat, kStr, kArray, kMap };

  /// One value head. A container's entries follow it: `size` values for an
  /// array, `size` key-value pairs for a map.
  struct Head {
    Type type = Type::kNil;
    bool boolean = false;  // kBool
    uint64_t u = 0;        // kUint: every non-negative integer, signed encodings included
    int64_t i = 0;         // kInt: negative integers only
    double f = 0;          // kFloat (float 32 widened)
    uint32_t size = 0;     // kArray, kMap
    std::string_view str;  // kStr, not yet checked for UTF-8
  };

  explicit MsgpackReader(std::span<const uint8_t> in) : in_(in) {}

  /// Reads the next value head. Throws DecodeError when the input ends
  /// inside it, for bin, ext and the unused 0xc1 byte, and for a container
  /// declaring more entries than bytes remain (each takes at least one).
  Head next();
  bool done() const { return pos_ == in_.size(); }

  // Typed reads: each throws DecodeError naming `what` for another type.
  uint64_t uint(const char* what);
  /// A str holding well-formed UTF-8.
  std::string_view str(const char* what);
  uint32_t array(const char* what);
  uint32_t map(const char* what);
  bool boolean(const char* what);

  /// Reads one JSON value into `out`: the inverse of pack_json
  /// (json_msgpack.h). `depth` is the container depth the value sits at; a
  /// container deeper than `max_depth` is refused, and so are non-str map
  /// keys, duplicate keys, malformed UTF-8 and non-finite floats
  /// (DecodeError). The value is decoded over what `out` holds, reusing its
  /// storage: a value of the same shape as the last one (the ops of a
  /// sender's next delta) allocates nothing. On DecodeError `out` holds part
  /// of the value.
  void json(nlohmann::json& out, std::size_t depth, std::size_t max_depth);

 private:
  uint64_t be(std::size_t n);
  std::string_view take(uint64_t n);
  uint32_t entries(uint64_t n, uint64_t bytes_each);

  std::span<const uint8_t> in_;
  std::size_t pos_ = 0;
};

}  // namespace vigil::heartbeat::detail

#endif  // VIGIL_HEARTBEAT_MSGPACK_READER_H_
