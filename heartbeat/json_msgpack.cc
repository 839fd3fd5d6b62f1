#include "heartbeat/json_msgpack.h"

#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>

#include "heartbeat/message.h"

namespace vigil::heartbeat::detail {

namespace {

// Packs `d` in the msgpack float 64 format: 0xcb, then the IEEE 754 bits big
// endian. msgpack-c's pack_double writes an integral double as an integer
// (1.0 as 1, so it would arrive as a JSON integer), and converts 2^64 to
// uint64_t on the way, which is undefined; a JSON float must stay a float.
void pack_float64(Packer& pk, double d) {
  uint64_t bits = 0;
  std::memcpy(&bits, &d, sizeof bits);
  char buf[9];
  buf[0] = static_cast<char>(0xcb);
  for (int i = 0; i < 8; ++i) buf[1 + i] = static_cast<char>(bits >> (56 - 8 * i));
  pk.pack_bin_body(buf, sizeof buf);  // appends the bytes as they are
}

}  // namespace

void pack_string(Packer& pk, std::string_view s) {
  pk.pack_str(static_cast<uint32_t>(s.size()));
  pk.pack_str_body(s.data(), static_cast<uint32_t>(s.size()));
}

void pack_json(Packer& pk, const nlohmann::json& value, std::size_t depth, std::size_t max_depth) {
  using Type = nlohmann::json::value_t;
  switch (value.type()) {
    case Type::null:
      pk.pack_nil();
      return;
    case Type::boolean:
      if (value.get<bool>()) {
        pk.pack_true();
      } else {
        pk.pack_false();
      }
      return;
    case Type::number_integer:
      pk.pack_int64(value.get<int64_t>());
      return;
    case Type::number_unsigned:
      pk.pack_uint64(value.get<uint64_t>());
      return;
    case Type::number_float: {
      const double d = value.get<double>();
      if (std::isfinite(d)) {
        pack_float64(pk, d);
      } else {
        pk.pack_nil();
      }
      return;
    }
    case Type::string:
      pack_string(pk, value.get_ref<const nlohmann::json::string_t&>());
      return;
    case Type::array: {
      if (depth > max_depth) {
        throw std::invalid_argument("json nesting deeper than " + std::to_string(max_depth));
      }
      const auto& array = value.get_ref<const nlohmann::json::array_t&>();
      pk.pack_array(static_cast<uint32_t>(array.size()));
      for (const auto& item : array) {
        pack_json(pk, item, depth + 1, max_depth);
      }
      return;
    }
    case Type::object: {
      if (depth > max_depth) {
        throw std::invalid_argument("json nesting deeper than " + std::to_string(max_depth));
      }
      const auto& object = value.get_ref<const nlohmann::json::object_t&>();
      pk.pack_map(static_cast<uint32_t>(object.size()));
      for (const auto& [key, item] : object) {
        pack_string(pk, key);
        pack_json(pk, item, depth + 1, max_depth);
      }
      return;
    }
    case Type::binary:
    case Type::discarded:
      break;
  }
  throw std::invalid_argument("json value of type " + std::string(value.type_name()) +
                              " has no msgpack form");
}

bool valid_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    // ASCII, 8 bytes at a time: the usual text of names, paths and values.
    if (end - p >= 8) {
      uint64_t word = 0;
      std::memcpy(&word, p, sizeof word);
      if ((word & 0x8080808080808080ull) == 0) {
        p += 8;
        continue;
      }
    }
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

}  // namespace vigil::heartbeat::detail
