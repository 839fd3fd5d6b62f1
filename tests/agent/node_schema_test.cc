#include "agent/engine/node_schema.h"

#include <gtest/gtest.h>

namespace vigil::agent {
namespace {

using json = nlohmann::json;

json valid() {
  return {{"labels", {{"zone", "a"}}},         {"data", json::object()}, {"version", "0.1.0"},
          {"boot_at", "2026-11-30T00:00:00Z"}, {"frozen", false},        {"frozen_at", nullptr}};
}

TEST(NodeSchema, AValidDocumentPasses) {
  EXPECT_EQ(node_document_error(valid()), std::nullopt);
  json frozen = valid();
  frozen["frozen"] = true;
  frozen["frozen_at"] = "2026-11-30T00:00:01Z";
  EXPECT_EQ(node_document_error(frozen), std::nullopt);
}

TEST(NodeSchema, EachBrokenFieldIsNamed) {
  auto with = [](const char* key, json value) {
    json d = valid();
    d[key] = std::move(value);
    return node_document_error(d).value_or("");
  };
  EXPECT_EQ(node_document_error(json(5)).value_or(""), "/: the document must be an object");
  EXPECT_EQ(with("labels", {{"a", 1}}), "/labels/a: label values are strings");
  EXPECT_EQ(with("labels", json::array()), "/labels: must be an object of strings");
  EXPECT_EQ(with("data", "x"), "/data: must be an object");
  EXPECT_EQ(with("frozen", "yes"), "/frozen: wrong type");
  EXPECT_EQ(with("frozen_at", 5), "/frozen_at: wrong type");
  EXPECT_EQ(with("version", 1), "/version: wrong type");
  EXPECT_EQ(with("extra", 1), "/extra: not a field of the node document");
  json missing = valid();
  missing.erase("boot_at");
  EXPECT_EQ(node_document_error(missing).value_or(""),
            "/: a field of the node document is missing");
}

TEST(NodeSchema, OnlyDeltasThatCannotBreakTheSchemaSkipTheCheck) {
  auto keeps = [](const char* ops) { return delta_keeps_schema(json::parse(ops)); };
  EXPECT_TRUE(keeps(R"([{"op":"add","path":"/data/a/b","value":[1,{"x":null}]}])"));
  EXPECT_TRUE(keeps(R"([{"op":"remove","path":"/data/a"}])"));
  EXPECT_TRUE(keeps(R"([{"op":"add","path":"/labels/zone","value":"b"}])"));
  EXPECT_TRUE(keeps(R"([{"op":"remove","path":"/labels/zone"}])"));
  EXPECT_TRUE(keeps(R"([{"op":"replace","path":"/frozen","value":true},
                        {"op":"replace","path":"/frozen_at","value":"2026-11-30T00:00:00Z"}])"));
  EXPECT_TRUE(keeps(R"([{"op":"move","from":"/data/a","path":"/data/b"}])"));
  EXPECT_TRUE(keeps(R"([{"op":"test","path":"/frozen","value":false}])"));
  EXPECT_FALSE(keeps(R"([{"op":"add","path":"/labels/zone","value":1}])"));
  EXPECT_FALSE(keeps(R"([{"op":"add","path":"/labels/zone/x","value":"a"}])"));
  EXPECT_FALSE(keeps(R"([{"op":"replace","path":"/data","value":5}])"));
  EXPECT_FALSE(keeps(R"([{"op":"replace","path":"/frozen","value":"yes"}])"));
  EXPECT_FALSE(keeps(R"([{"op":"replace","path":"","value":5}])"));
  EXPECT_FALSE(keeps(R"([{"op":"add","path":"/extra","value":5}])"));
  EXPECT_FALSE(keeps(R"([{"op":"remove","path":"/frozen"}])"));
  EXPECT_FALSE(keeps(R"([{"op":"copy","from":"/data/a","path":"/labels/b"}])"));
  EXPECT_FALSE(keeps(R"([{"op":"move","from":"/labels/a","path":"/data/b"}])"));
  EXPECT_FALSE(keeps(R"({"op":"add"})"));
}

}  // namespace
}  // namespace vigil::agent
