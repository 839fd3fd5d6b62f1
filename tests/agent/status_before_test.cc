#include "agent/engine/status_before.h"

#include <random>

#include <gtest/gtest.h>

#include "agent/engine/node_schema.h"
#include "patch/json_patch.h"

namespace vigil::agent {
namespace {

using json = nlohmann::json;

json doc(json labels, bool frozen = false) {
  return {{"labels", std::move(labels)},
          {"data", {{"x", "0"}}},
          {"frozen", frozen},
          {"frozen_at", nullptr},
          {"version", "0.1.0"},
          {"boot_at", "2026-12-01T00:00:00.000Z"}};
}

// Records `deltas` against `before` as the engine does, applies nothing:
// the caller passes the document after.
StatusBefore recorded(const json& before, std::initializer_list<const char*> deltas) {
  StatusBefore s;
  for (const char* ops : deltas) s.delta(before, json::parse(ops));
  return s;
}

TEST(StatusBefore, NothingIsKeptWhenNoDeltaWritesTheStatusFields) {
  const json before = doc({{"zone", "a"}});
  auto s = recorded(before, {R"([{"op":"replace","path":"/data/x","value":"1"}])",
                             R"([{"op":"test","path":"/labels/zone","value":"a"}])",
                             R"([{"op":"move","from":"/data/x","path":"/data/y"}])"});
  // What the deltas cannot have done is not looked at.
  EXPECT_FALSE(s.labels_changed(doc({{"zone", "b"}})));
  EXPECT_FALSE(s.frozen_changed(doc({{"zone", "a"}}, true)));
  EXPECT_FALSE(StatusBefore().labels_changed(before));
}

TEST(StatusBefore, OneLabelValueIsComparedWithItsValueBefore) {
  const json before = doc({{"zone", "a"}, {"rack", "r1"}});
  auto s = recorded(before, {R"([{"op":"replace","path":"/labels/zone","value":"b"}])"});
  EXPECT_TRUE(s.labels_changed(doc({{"zone", "b"}, {"rack", "r1"}})));
  // Replaced by the value it had: no change.
  EXPECT_FALSE(s.labels_changed(before));
  EXPECT_FALSE(s.frozen_changed(doc({{"zone", "b"}, {"rack", "r1"}}, true)));

  auto added = recorded(before, {R"([{"op":"add","path":"/labels/new","value":"1"}])"});
  EXPECT_TRUE(added.labels_changed(doc({{"zone", "a"}, {"rack", "r1"}, {"new", "1"}})));
  EXPECT_FALSE(added.labels_changed(before));  // the delta did not apply
  auto removed = recorded(before, {R"([{"op":"remove","path":"/labels/rack"}])"});
  EXPECT_TRUE(removed.labels_changed(doc({{"zone", "a"}})));
}

TEST(StatusBefore, AKeyWrittenByTwoDeltasIsComparedWithTheValueBeforeBoth) {
  const json before = doc({{"zone", "a"}});
  auto s = recorded(before, {R"([{"op":"replace","path":"/labels/zone","value":"b"}])",
                             R"([{"op":"replace","path":"/labels/zone","value":"a"}])"});
  EXPECT_FALSE(s.labels_changed(before));
  EXPECT_TRUE(s.labels_changed(doc({{"zone", "b"}})));  // the second did not apply
}

TEST(StatusBefore, OtherWritesOfTheStatusFieldsKeepThemWhole) {
  const json before = doc({{"zone", "a"}});
  for (const char* ops :
       {R"([{"op":"replace","path":"/labels","value":{"zone":"b"}}])",
        R"([{"op":"move","from":"/labels/zone","path":"/data/zone"}])",
        R"([{"op":"copy","from":"/data/x","path":"/labels/x"}])",
        R"([{"op":"replace","path":"/labels/a~1b","value":"1"}])",
        R"([{"op":"replace","path":"","value":{}}])", R"({"op":"add"})", R"([5])"}) {
    auto s = recorded(before, {ops});
    EXPECT_TRUE(s.labels_changed(doc({{"zone", "b"}}))) << ops;
    EXPECT_FALSE(s.labels_changed(before)) << ops;
    EXPECT_FALSE(s.frozen_changed(before)) << ops;
  }
  auto frozen = recorded(before, {R"([{"op":"replace","path":"/frozen","value":true}])"});
  EXPECT_TRUE(frozen.frozen_changed(doc({{"zone", "a"}}, true)));
  EXPECT_FALSE(frozen.frozen_changed(before));
  EXPECT_FALSE(frozen.labels_changed(before));
  // A label value that is not a string (a refused document) is kept whole.
  const json odd = doc({{"zone", 5}});
  auto s = recorded(odd, {R"([{"op":"replace","path":"/labels/zone","value":"b"}])"});
  EXPECT_FALSE(s.labels_changed(odd));
  EXPECT_TRUE(s.labels_changed(doc({{"zone", "b"}})));
}

TEST(StatusBefore, AFullComparesTheStatusFieldsWhole) {
  const json before = doc({{"zone", "a"}});
  StatusBefore s;
  s.full(before);
  EXPECT_FALSE(s.labels_changed(before));
  EXPECT_TRUE(s.labels_changed(doc({{"zone", "a"}, {"rack", "r1"}})));
  EXPECT_TRUE(s.frozen_changed(doc({{"zone", "a"}}, true)));
  // No document before (the first full): any labels are a change.
  StatusBefore first;
  first.full(json());
  EXPECT_TRUE(first.labels_changed(before));
}

// Random messages of one to three deltas over a few label keys, the frozen
// flag and /data, applied as the replicator does (a delta that fails stops
// the message): StatusBefore says what comparing the whole status fields
// before and after says.
TEST(StatusBefore, AgreesWithComparingTheWholeStatusFields) {
  std::mt19937 rng(1201);
  auto pick = [&](std::initializer_list<const char*> xs) {
    return *(xs.begin() + std::uniform_int_distribution<std::size_t>(0, xs.size() - 1)(rng));
  };
  auto random_op = [&]() -> json {
    const std::string key = pick({"a", "b", "c"});
    const std::string value = pick({"0", "1"});
    switch (std::uniform_int_distribution<int>(0, 7)(rng)) {
      case 0:
        return {{"op", "add"}, {"path", "/labels/" + key}, {"value", value}};
      case 1:
        return {{"op", "replace"}, {"path", "/labels/" + key}, {"value", value}};
      case 2:
        return {{"op", "remove"}, {"path", "/labels/" + key}};
      case 3:
        return {{"op", "replace"}, {"path", "/data/x"}, {"value", value}};
      case 4:
        return {{"op", "replace"}, {"path", "/frozen"}, {"value", value == "1"}};
      case 5:
        return {{"op", "move"}, {"from", "/labels/" + key}, {"path", "/data/" + key}};
      case 6:
        return {{"op", "test"}, {"path", "/labels/" + key}, {"value", value}};
      default:
        return {{"op", "replace"}, {"path", "/labels"}, {"value", {{key, value}}}};
    }
  };
  int label_changes = 0, frozen_changes = 0;
  for (int round = 0; round < 5000; ++round) {
    json labels = json::object();
    for (const char* k : {"a", "b", "c"})
      if (rng() % 2) labels[k] = pick({"0", "1"});
    const json before = doc(labels, rng() % 2 == 0);
    std::vector<json> deltas;
    for (int d = 0, n = 1 + static_cast<int>(rng() % 3); d < n; ++d) {
      json ops = json::array();
      for (int o = 0, m = 1 + static_cast<int>(rng() % 3); o < m; ++o) ops.push_back(random_op());
      deltas.push_back(std::move(ops));
    }
    StatusBefore s;
    for (const auto& ops : deltas) s.delta(before, ops);
    json after = before;
    for (const auto& ops : deltas) {
      try {
        patch::apply_patch(after, ops);
      } catch (const patch::PatchError&) {
        break;
      }
    }
    const json was = status_fields(before), is = status_fields(after);
    const bool labels_changed = was["labels"] != is["labels"];
    const bool frozen_changed = was["frozen"] != is["frozen"];
    ASSERT_EQ(s.labels_changed(after), labels_changed) << json(deltas).dump();
    ASSERT_EQ(s.frozen_changed(after), frozen_changed) << json(deltas).dump();
    label_changes += labels_changed;
    frozen_changes += frozen_changed;
  }
  // The rounds exercised both answers.
  EXPECT_GT(label_changes, 500);
  EXPECT_GT(frozen_changes, 200);
}

}  // namespace
}  // namespace vigil::agent
