#include "heartbeat/msgpack_reader.h"

#include <bit>
#include <cmath>
#include <cstring>
#include <string>

#include "heartbeat/json_msgpack.h"
#include "heartbeat/message.h"

namespace vigil::heartbeat::detail {

namespace {

[[noreturn]] void truncated() { throw DecodeError("truncated msgpack"); }

[[noreturn]] void wrong_type(const char* what, const char* expected) {
  throw DecodeError(std::string(what) + ": expected " + expected);
}

}  // namespace

uint64_t MsgpackReader::be(std::size_t n) {
  if (in_.size() - pos_ < n) truncated();
  uint64_t v = 0;
  for (std::size_t k = 0; k < n; ++k) v = (v << 8) | in_[pos_ + k];
  pos_ += n;
  return v;
}

std::string_view MsgpackReader::take(uint64_t n) {
  if (in_.size() - pos_ < n) truncated();
  std::string_view s(reinterpret_cast<const char*>(in_.data() + pos_), n);
  pos_ += n;
  return s;
}

uint32_t MsgpackReader::entries(uint64_t n, uint64_t bytes_each) {
  if (n > (in_.size() - pos_) / bytes_each)
    throw DecodeError("msgpack container larger than the input");
  return static_cast<uint32_t>(n);
}

MsgpackReader::Head MsgpackReader::next() {
  if (pos_ >= in_.size()) truncated();
  const uint8_t t = in_[pos_++];
  Head h;
  auto uint_head = [&h](uint64_t v) {
    h.type = Type::kUint;
    h.u = v;
    return h;
  };
  // A signed encoding of a non-negative value reads as unsigned (msgpack-c).
  auto int_head = [&](int64_t v) {
    if (v >= 0) return uint_head(static_cast<uint64_t>(v));
    h.type = Type::kInt;
    h.i = v;
    return h;
  };
  auto str_head = [&](uint64_t n) {
    h.type = Type::kStr;
    h.str = take(n);
    return h;
  };
  auto array_head = [&](uint64_t n) {
    h.type = Type::kArray;
    h.size = entries(n, 1);
    return h;
  };
  auto map_head = [&](uint64_t n) {
    h.type = Type::kMap;
    h.size = entries(n, 2);
    return h;
  };
  if (t <= 0x7f) return uint_head(t);
  if (t >= 0xe0) return int_head(static_cast<int8_t>(t));
  if (t >= 0xa0 && t <= 0xbf) return str_head(t & 0x1f);
  if (t >= 0x90 && t <= 0x9f) return array_head(t & 0x0f);
  if (t >= 0x80 && t <= 0x8f) return map_head(t & 0x0f);
  switch (t) {
    case 0xc0:
      h.type = Type::kNil;
      return h;
    case 0xc2:
    case 0xc3:
      h.type = Type::kBool;
      h.boolean = t == 0xc3;
      return h;
    case 0xca:
      h.type = Type::kFloat;
      h.f = std::bit_cast<float>(static_cast<uint32_t>(be(4)));
      return h;
    case 0xcb:
      h.type = Type::kFloat;
      h.f = std::bit_cast<double>(be(8));
      return h;
    case 0xcc:
      return uint_head(be(1));
    case 0xcd:
      return uint_head(be(2));
    case 0xce:
      return uint_head(be(4));
    case 0xcf:
      return uint_head(be(8));
    case 0xd0:
      return int_head(static_cast<int8_t>(be(1)));
    case 0xd1:
      return int_head(static_cast<int16_t>(be(2)));
    case 0xd2:
      return int_head(static_cast<int32_t>(be(4)));
    case 0xd3:
      return int_head(static_cast<int64_t>(be(8)));
    case 0xd9:
      return str_head(be(1));
    case 0xda:
      return str_head(be(2));
    case 0xdb:
      return str_head(be(4));
    case 0xdc:
      return array_head(be(2));
    case 0xdd:
      return array_head(be(4));
    case 0xde:
      return map_head(be(2));
    case 0xdf:
      return map_head(be(4));
    case 0xc4:
    case 0xc5:
    case 0xc6:
      throw DecodeError("msgpack bin: not part of a message");
    case 0xc7:
    case 0xc8:
    case 0xc9:
    case 0xd4:
    case 0xd5:
    case 0xd6:
    case 0xd7:
    case 0xd8:
      throw DecodeError("msgpack ext: not part of a message");
    default:  // 0xc1, never used
      throw DecodeError("bad msgpack: reserved byte 0xc1");
  }
}

uint64_t MsgpackReader::uint(const char* what) {
  const Head h = next();
  if (h.type != Type::kUint) wrong_type(what, "an unsigned integer");
  return h.u;
}

std::string_view MsgpackReader::str(const char* what) {
  const Head h = next();
  if (h.type != Type::kStr) wrong_type(what, "a string");
  if (!valid_utf8(h.str)) throw DecodeError(std::string(what) + ": malformed UTF-8");
  return h.str;
}

uint32_t MsgpackReader::array(const char* what) {
  const Head h = next();
  if (h.type != Type::kArray) wrong_type(what, "an array");
  return h.size;
}

uint32_t MsgpackReader::map(const char* what) {
  const Head h = next();
  if (h.type != Type::kMap) wrong_type(what, "a map");
  return h.size;
}

bool MsgpackReader::boolean(const char* what) {
  const Head h = next();
  if (h.type != Type::kBool) wrong_type(what, "a bool");
  return h.boolean;
}

void MsgpackReader::json(nlohmann::json& out, std::size_t depth, std::size_t max_depth) {
  const Head h = next();
  switch (h.type) {
    case Type::kNil:
      out = nullptr;
      return;
    case Type::kBool:
      out = h.boolean;
      return;
    case Type::kUint:
      out = h.u;
      return;
    case Type::kInt:
      out = h.i;
      return;
    case Type::kFloat:
      if (!std::isfinite(h.f)) throw DecodeError("json value: non-finite float");
      out = h.f;
      return;
    case Type::kStr:
      if (!valid_utf8(h.str)) throw DecodeError("json string: malformed UTF-8");
      if (out.is_string())
        out.get_ref<nlohmann::json::string_t&>().assign(h.str);
      else
        out = h.str;
      return;
    case Type::kArray: {
      if (depth > max_depth) throw DecodeError("nesting deeper than " + std::to_string(max_depth));
      if (!out.is_array()) out = nlohmann::json::array();
      auto& array = out.get_ref<nlohmann::json::array_t&>();
      array.resize(h.size);
      for (auto& item : array) json(item, depth + 1, max_depth);
      return;
    }
    case Type::kMap: {
      if (depth > max_depth) throw DecodeError("nesting deeper than " + std::to_string(max_depth));
      if (!out.is_object()) out = nlohmann::json::object();
      auto& object = out.get_ref<nlohmann::json::object_t&>();
      // While the keys are those already held, in order, their values are
      // decoded over the old ones; from the first other key on, the rest is
      // dropped and the entries are inserted (which finds duplicates).
      auto held = object.begin();
      bool in_place = true;
      for (uint32_t k = 0; k < h.size; ++k) {
        const Head key = next();
        if (key.type != Type::kStr) wrong_type("json object key", "a string");
        if (!valid_utf8(key.str)) throw DecodeError("json object key: malformed UTF-8");
        if (in_place && held != object.end() && held->first == key.str) {
          json(held->second, depth + 1, max_depth);
          ++held;
          continue;
        }
        if (in_place) {
          object.erase(held, object.end());
          in_place = false;
        }
        auto [it, inserted] = object.try_emplace(std::string(key.str));
        if (!inserted) throw DecodeError("json object: duplicate key \"" + it->first + "\"");
        json(it->second, depth + 1, max_depth);
      }
      if (in_place) object.erase(held, object.end());
      return;
    }
  }
}

}  // namespace vigil::heartbeat::detail
