#include "agent/engine/local_document.h"

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

namespace vigil::agent {
namespace {

using json = nlohmann::json;
using Kind = NodeChange::Kind;

class LocalDocumentTest : public ::testing::Test {
 protected:
  LocalDocumentTest()
      : doc_(io_,
             {{"labels", json::object()},
              {"frozen", false},
              {"frozen_at", nullptr},
              {"boot_at", "2026-11-30T00:00:00.000Z"},
              {"version", "0.1.0"},
              {"data", json::object()}},
             std::chrono::milliseconds(1),
             [this](const json&, const json& ops) { last_ops_ = ops; }) {}

  // The message of the refusal of `change`, or "" when it was taken.
  std::string refusal(const NodeChange& change) {
    try {
      doc_.change(change, nullptr);
    } catch (const std::exception& e) {
      return e.what();
    }
    return "";
  }

  boost::asio::io_context io_;
  LocalDocument doc_;
  json last_ops_;
};

TEST_F(LocalDocumentTest, LabelsAndDataAreWritten) {
  EXPECT_EQ(refusal({.kind = Kind::kSet, .path = ".labels.rack", .value = "r7"}), "");
  EXPECT_EQ(refusal({.kind = Kind::kSet, .path = ".data.disks", .value = {{"sda", 1}}}), "");
  EXPECT_EQ(refusal({.kind = Kind::kPatch,
                     .ops = json::parse(R"([{"op":"add","path":"/data/x","value":[1,2]}])")}),
            "");
  EXPECT_EQ(doc_.document().staging()["labels"]["rack"], "r7");
  EXPECT_EQ(doc_.document().staging()["data"]["x"], json({1, 2}));
}

TEST_F(LocalDocumentTest, TheDaemonsFieldsAreRefusedWithTheirPath) {
  for (const char* field : {"frozen", "frozen_at", "version", "boot_at"}) {
    const std::string why =
        refusal({.kind = Kind::kSet, .path = std::string(".") + field, .value = "yes"});
    EXPECT_EQ(why.rfind(std::string("/") + field + ":", 0), 0u) << why;
  }
  EXPECT_EQ(
      refusal({.kind = Kind::kPatch, .ops = json::parse(R"([{"op":"remove","path":"/version"}])")})
          .rfind("/version:", 0),
      0u);
  EXPECT_EQ(doc_.document().staging()["frozen"], false);
}

TEST_F(LocalDocumentTest, TheRootCannotBeReplaced) {
  const std::string why = refusal(
      {.kind = Kind::kPatch, .ops = json::parse(R"([{"op":"replace","path":"","value":5}])")});
  EXPECT_EQ(why.rfind("/:", 0), 0u) << why;
  EXPECT_TRUE(doc_.document().staging().is_object());
}

TEST_F(LocalDocumentTest, LabelsAreStringsAndDataIsAnObject) {
  EXPECT_EQ(refusal({.kind = Kind::kSet, .path = ".labels.n", .value = 5}).rfind("/labels/n:", 0),
            0u);
  EXPECT_EQ(refusal({.kind = Kind::kSet, .path = ".labels", .value = "x"}).rfind("/labels:", 0),
            0u);
  EXPECT_EQ(refusal({.kind = Kind::kSet, .path = ".data", .value = 5}).rfind("/data:", 0), 0u);
}

TEST_F(LocalDocumentTest, FreezeWritesTheFrozenFields) {
  EXPECT_EQ(refusal({.kind = Kind::kFreeze}), "");
  EXPECT_EQ(doc_.document().staging()["frozen"], true);
  EXPECT_TRUE(doc_.document().staging()["frozen_at"].is_string());
  EXPECT_EQ(refusal({.kind = Kind::kUnfreeze}), "");
  EXPECT_EQ(doc_.document().staging()["frozen"], false);
}

TEST_F(LocalDocumentTest, DeepPathsAndValuesAreRefused) {
  std::string path;
  for (int i = 0; i < 100; ++i) path += ".a";
  EXPECT_NE(refusal({.kind = Kind::kSet, .path = path, .value = 1}), "");
  json deep = 1;
  for (int i = 0; i < 60; ++i) deep = json::array({deep});
  EXPECT_NE(refusal({.kind = Kind::kSet, .path = ".data.x", .value = deep}), "");
}

TEST_F(LocalDocumentTest, AChangeIsCommittedAtTheNextTick) {
  std::optional<uint64_t> gen;
  doc_.change({.kind = Kind::kSet, .path = ".labels.a", .value = "b"},
              [&](uint64_t g) { gen = g; });
  for (int i = 0; i < 1000 && !gen; ++i) io_.run_one_for(std::chrono::milliseconds(10));
  ASSERT_TRUE(gen);
  EXPECT_EQ(*gen, 2u);
  EXPECT_EQ(doc_.document().committed()["labels"]["a"], "b");
  ASSERT_TRUE(last_ops_.is_array());
  EXPECT_FALSE(last_ops_.empty());
}

}  // namespace
}  // namespace vigil::agent
