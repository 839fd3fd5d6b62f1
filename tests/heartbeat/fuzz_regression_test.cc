// Regression tests for findings of the fuzz targets (tests/fuzz/): each
// holds the input that failed, inline, and checks the behaviour it broke.
#include <algorithm>
#include <cstdint>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "heartbeat/message.h"

namespace vigil::heartbeat {
namespace {

using nlohmann::json;

Message full_of(json doc) {
  Message m;
  m.kind = MessageKind::kFull;
  m.gens = {{"n1", 2}, {"n2", 0}};
  m.full_gen = 2;
  m.full = std::move(doc);
  return m;
}

// fuzz_patch, membership path: the document half of the input (the patch
// half, an add of /labels/rack, applied). Sent as a full message, the float
// 0.0 came back as the integer 0: msgpack-c's pack_double writes integral
// doubles as integers, so peers saw "ratio":0 where the owner had 0.0.
TEST(FuzzRegressionTest, IntegralFloatsStayFloatsOverTheWire) {
  constexpr std::string_view kInput =
      R"({"agent":{"boot":1717000000000000,"version":"0.1.0"},"data":{"item0":{"index":0,)"
      R"("name":"value number 0","on":true,"ratio":0.0},"item1":{"index":1,"name":"value )"
      R"(number 1","on":false,"ratio":0.125}},"frozen":false,"labels":{"rack":"r12","tier":)"
      R"("gold","zone":"eu-west"},"stats":{"delta":-3,"load":0.25,"mem_free":123456789}})";
  const json doc = json::parse(kInput);
  const Message back = decode(encode(full_of(doc)));
  EXPECT_EQ(back.full.dump(), doc.dump());
  EXPECT_TRUE(back.full["data"]["item0"]["ratio"].is_number_float());
  EXPECT_TRUE(back.full["stats"]["delta"].is_number_integer());
  EXPECT_TRUE(back.full["stats"]["mem_free"].is_number_unsigned());
}

// The same finding in a delta, and the float64 wire form of 1.0 and -3.0.
TEST(FuzzRegressionTest, IntegralFloatsInDeltasTravelAsFloat64) {
  Message m;
  m.kind = MessageKind::kPatch;
  m.gens = {{"n1", 3}};
  m.deltas.push_back({3, json::parse(R"([{"op":"add","path":"/a","value":[1.0,-3.0,0.5,7]}])")});
  const std::vector<uint8_t> bytes = encode(m);
  const std::vector<uint8_t> one = {0xcb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0};
  const std::vector<uint8_t> minus_three = {0xcb, 0xc0, 0x08, 0, 0, 0, 0, 0, 0};
  EXPECT_NE(std::search(bytes.begin(), bytes.end(), one.begin(), one.end()), bytes.end());
  EXPECT_NE(std::search(bytes.begin(), bytes.end(), minus_three.begin(), minus_three.end()),
            bytes.end());
  const Message back = decode(bytes);
  ASSERT_EQ(back.deltas.size(), 1u);
  EXPECT_EQ(back.deltas[0].ops.dump(), m.deltas[0].ops.dump());
}

// 2^64 as a float: msgpack-c's pack_double converted it to uint64_t, which
// is undefined (out of range); it must travel as the float it is.
TEST(FuzzRegressionTest, FloatAtTwoToThe64RoundTrips) {
  const json doc = json::parse(R"({"x":18446744073709551616.0,"y":-9223372036854775808.0})");
  const Message back = decode(encode(full_of(doc)));
  EXPECT_TRUE(back.full["x"].is_number_float());
  EXPECT_EQ(back.full["x"].get<double>(), 18446744073709551616.0);
  EXPECT_TRUE(back.full["y"].is_number_float());
  EXPECT_EQ(back.full.dump(), doc.dump());
}

}  // namespace
}  // namespace vigil::heartbeat
