#include "agent/api/body_schema.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace vigil::agent {
namespace {

using json = nlohmann::json;
using Type = FieldSpec::Type;

const BodySchema kWait{
    BodySchema::Root::kObject,
    {{.name = "filter", .type = Type::kString, .required = true},
     {.name = "duration_ms", .type = Type::kInteger, .required = true, .min = 1, .max = 86400000}}};

TEST(BodySchema, AcceptsAFittingObject) {
  EXPECT_FALSE(check_body({{"filter", ".x=1"}, {"duration_ms", 5}}, kWait));
}

TEST(BodySchema, NamesTheFieldOfAWrongType) {
  for (json bad : {json("1"), json(nullptr), json(true), json::object(), json(1.5), json(1e300)}) {
    auto e = check_body({{"filter", ".x=1"}, {"duration_ms", bad}}, kWait);
    ASSERT_TRUE(e) << bad.dump();
    EXPECT_EQ(e->field, "duration_ms");
  }
  auto e = check_body({{"filter", 3}, {"duration_ms", 5}}, kWait);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->field, "filter");
}

TEST(BodySchema, RefusesIntegersOutOfRange) {
  for (json bad : {json(0), json(-1), json(10000000000000LL), json(UINT64_MAX)}) {
    auto e = check_body({{"filter", ".x=1"}, {"duration_ms", bad}}, kWait);
    ASSERT_TRUE(e) << bad.dump();
    EXPECT_EQ(e->field, "duration_ms");
  }
}

TEST(BodySchema, RefusesMissingAndUnknownFields) {
  auto missing = check_body({{"filter", ".x=1"}}, kWait);
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->field, "duration_ms");
  auto unknown = check_body({{"filter", ".x=1"}, {"duration_ms", 1}, {"extra", 1}}, kWait);
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->field, "extra");
}

TEST(BodySchema, ChecksTheRoot) {
  EXPECT_TRUE(check_body(json::array(), kWait));
  EXPECT_TRUE(check_body(nullptr, kWait));
  EXPECT_FALSE(check_body(json::array(), BodySchema{BodySchema::Root::kArray}));
  EXPECT_TRUE(check_body(json::object(), BodySchema{BodySchema::Root::kArray}));
  EXPECT_FALSE(check_body(nullptr, BodySchema{}));
  EXPECT_FALSE(check_body(json::object(), BodySchema{}));
  EXPECT_TRUE(check_body({{"a", 1}}, BodySchema{}));
}

TEST(BodySchema, OptionalObjectTakesNoBody) {
  BodySchema s{BodySchema::Root::kObject, {{.name = "filters", .type = Type::kStringArray}}, true};
  EXPECT_FALSE(check_body(nullptr, s));
  EXPECT_FALSE(check_body({{"filters", {"a", "b"}}}, s));
  EXPECT_TRUE(check_body({{"filters", {"a", 1}}}, s));
  EXPECT_TRUE(check_body({{"filters", "a"}}, s));
}

}  // namespace
}  // namespace vigil::agent
