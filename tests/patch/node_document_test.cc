// NodeDocument: staging edits, set() with parent creation, commit() deltas.
#include "patch/node_document.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "patch/json_patch.h"

namespace vigil::patch {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

json initial() {
  return json{
      {"agent", "0.1.0"}, {"frozen", false}, {"labels", {{"zone", "a"}}}, {"data", json::object()}};
}

TEST(NodeDocument, InitialDocumentIsGenOneAndCommittedEqualsStaging) {
  NodeDocument doc(initial());
  EXPECT_EQ(doc.gen(), 1u);
  EXPECT_EQ(doc.committed(), initial());
  EXPECT_EQ(doc.staging(), initial());
}

TEST(NodeDocument, CommitWithoutChangesReturnsNulloptAndKeepsGen) {
  NodeDocument doc(initial());
  EXPECT_FALSE(doc.commit().has_value());
  EXPECT_EQ(doc.gen(), 1u);
  EXPECT_EQ(doc.journal().size(), 0u);
}

TEST(NodeDocument, ApplyChangesOnlyStaging) {
  NodeDocument doc(initial());
  doc.apply(json::parse(R"([{"op":"replace","path":"/frozen","value":true}])"));
  EXPECT_EQ(doc.staging()["frozen"], true);
  EXPECT_EQ(doc.committed()["frozen"], false);
}

TEST(NodeDocument, FailedApplyLeavesStagingUnchanged) {
  NodeDocument doc(initial());
  const json ops = json::parse(
      R"([{"op":"replace","path":"/frozen","value":true},{"op":"remove","path":"/missing"}])");
  EXPECT_THROW(doc.apply(ops), PatchError);
  EXPECT_EQ(doc.staging(), initial());
}

TEST(NodeDocument, SetCreatesMissingParentObjects) {
  NodeDocument doc(initial());
  doc.set(json::json_pointer("/data/app/db/role"), "primary");
  EXPECT_EQ(doc.staging()["data"]["app"]["db"]["role"], "primary");
  EXPECT_EQ(doc.staging()["labels"], initial()["labels"]);
}

TEST(NodeDocument, SetReplacesAnExistingValue) {
  NodeDocument doc(initial());
  doc.set(json::json_pointer("/labels/zone"), "b");
  EXPECT_EQ(doc.staging()["labels"]["zone"], "b");
}

TEST(NodeDocument, SetWithEmptyPointerReplacesTheWholeStagingCopy) {
  NodeDocument doc(initial());
  doc.set(json::json_pointer(""), json{{"x", 1}});
  EXPECT_EQ(doc.staging(), (json{{"x", 1}}));
}

TEST(NodeDocument, SetThroughANonObjectParentThrowsAndLeavesStagingUnchanged) {
  NodeDocument doc(initial());
  try {
    doc.set(json::json_pointer("/agent/version/major"), 1);
    FAIL() << "expected PatchError";
  } catch (const PatchError& e) {
    EXPECT_THAT(e.what(), HasSubstr("parent /agent is a string, not an object"));
  }
  EXPECT_EQ(doc.staging(), initial());
}

TEST(NodeDocument, SetThroughAnArrayParentThrows) {
  NodeDocument doc(json{{"list", {1, 2}}});
  EXPECT_THROW(doc.set(json::json_pointer("/list/0"), 5), PatchError);
  EXPECT_EQ(doc.staging(), (json{{"list", {1, 2}}}));
}

TEST(NodeDocument, CommitRecordsTheDiffAsTheNextGen) {
  NodeDocument doc(initial());
  doc.set(json::json_pointer("/labels/rack"), "r1");
  doc.set(json::json_pointer("/frozen"), true);
  const auto ops = doc.commit();
  ASSERT_TRUE(ops.has_value());
  EXPECT_EQ(doc.gen(), 2u);
  EXPECT_EQ(doc.committed(), doc.staging());
  const auto entries = doc.journal().since(1);
  ASSERT_TRUE(entries.has_value());
  ASSERT_EQ(entries->size(), 1u);
  EXPECT_EQ((*entries)[0].gen, 2u);
  EXPECT_EQ(*(*entries)[0].ops, *ops);
}

TEST(NodeDocument, CommittedDeltasReplayedOnAPeerCopyReproduceTheDocument) {
  NodeDocument doc(initial());
  json peer_copy = initial();
  doc.set(json::json_pointer("/data/a~1b"), json::array({1, 2, 3}));
  doc.set(json::json_pointer("/labels/m~0n"), "tilde");
  ASSERT_TRUE(doc.commit().has_value());
  doc.apply(json::parse(R"([{"op":"remove","path":"/data/a~1b/0"},
                            {"op":"remove","path":"/labels/zone"},
                            {"op":"add","path":"/data/a~1b/-","value":9}])"));
  ASSERT_TRUE(doc.commit().has_value());
  EXPECT_EQ(doc.gen(), 3u);
  const auto entries = doc.journal().since(1);
  ASSERT_TRUE(entries.has_value());
  for (const auto& entry : *entries) apply_patch(peer_copy, *entry.ops);
  EXPECT_EQ(peer_copy, doc.committed());
}

TEST(NodeDocument, JournalEntriesBoundIsPassedToTheJournal) {
  NodeDocument doc(initial(), 2);
  for (int i = 0; i < 5; ++i) {
    doc.set(json::json_pointer("/data/n"), i);
    ASSERT_TRUE(doc.commit().has_value());
  }
  EXPECT_EQ(doc.gen(), 6u);
  EXPECT_EQ(doc.journal().size(), 2u);
  EXPECT_FALSE(doc.journal().since(1).has_value());
}

}  // namespace
}  // namespace vigil::patch
