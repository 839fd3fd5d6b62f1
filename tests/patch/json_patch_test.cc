// apply_patch (RFC 6902) strictness, atomicity and error messages; diff.
#include "patch/json_patch.h"

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace vigil::patch {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// Applies `ops` to a copy of `doc`, expects PatchError, checks the copy was
// left unchanged and returns the message.
std::string error_of(const json& doc, const json& ops) {
  json work = doc;
  try {
    apply_patch(work, ops);
  } catch (const PatchError& e) {
    EXPECT_EQ(work, doc) << "document changed by a failed patch";
    return e.what();
  }
  ADD_FAILURE() << "no PatchError for " << ops.dump();
  return {};
}

TEST(ApplyPatch, AppliesOperationsInOrder) {
  json doc = json::parse(R"({"a":{"b":1},"list":[1,2]})");
  apply_patch(doc, json::parse(R"([
    {"op":"add","path":"/a/c","value":2},
    {"op":"replace","path":"/a/b","value":10},
    {"op":"add","path":"/list/1","value":"x"},
    {"op":"copy","from":"/a","path":"/copy"},
    {"op":"move","from":"/list/0","path":"/first"},
    {"op":"remove","path":"/a/c"},
    {"op":"test","path":"/copy/c","value":2}
  ])"));
  EXPECT_EQ(doc, json::parse(R"({"a":{"b":10},"list":["x",2],"copy":{"b":10,"c":2},"first":1})"));
}

TEST(ApplyPatch, FailureInALaterOpLeavesTheDocumentUnchanged) {
  const json doc = json::parse(R"({"a":1})");
  const std::string msg = error_of(doc, json::parse(R"([
    {"op":"replace","path":"/a","value":2},
    {"op":"add","path":"/b","value":3},
    {"op":"remove","path":"/nope"}])"));
  EXPECT_THAT(msg, StartsWith("op 2 (remove /nope): "));
}

TEST(ApplyPatch, ErrorMessageNamesIndexOpPathAndReason) {
  const json doc = json::parse(R"({"a":{"b":1}})");
  EXPECT_EQ(error_of(doc, json::parse(R"([{"op":"replace","path":"/a/x","value":1}])")),
            "op 0 (replace /a/x): path not found: no member 'x' in /a");
}

TEST(ApplyPatch, PatchThatIsNotAnArrayIsRejected) {
  EXPECT_THAT(error_of(json::object(), json::object()), HasSubstr("must be an array"));
}

TEST(ApplyPatch, OperationThatIsNotAnObjectIsRejected) {
  EXPECT_THAT(error_of(json::object(), json::array({1})),
              HasSubstr("op 0 (? ?): operation must be an object"));
}

TEST(ApplyPatch, MissingOrNonStringMembersAreRejected) {
  const json doc = json::parse(R"({"a":1})");
  EXPECT_THAT(error_of(doc, json::parse(R"([{"path":"/a"}])")), HasSubstr("missing 'op' member"));
  EXPECT_THAT(error_of(doc, json::parse(R"([{"op":1,"path":"/a"}])")),
              HasSubstr("'op' must be a string"));
  EXPECT_THAT(error_of(doc, json::parse(R"([{"op":"remove","path":5}])")),
              HasSubstr("'path' must be a string"));
  EXPECT_THAT(error_of(doc, json::parse(R"([{"op":"replace","path":"/a"}])")),
              HasSubstr("missing 'value' member"));
  EXPECT_THAT(error_of(doc, json::parse(R"([{"op":"copy","path":"/b"}])")),
              HasSubstr("missing 'from' member"));
  EXPECT_THAT(error_of(doc, json::parse(R"([{"op":"move","path":"/b","from":null}])")),
              HasSubstr("'from' must be a string"));
}

TEST(ApplyPatch, UnknownOpIsRejected) {
  EXPECT_EQ(error_of(json::object(), json::parse(R"([{"op":"spam","path":"/a"}])")),
            "op 0 (spam /a): unknown op 'spam'");
}

TEST(ApplyPatch, MalformedPointersAreRejected) {
  const json doc = json::parse(R"({"a":1})");
  EXPECT_THAT(error_of(doc, json::parse(R"([{"op":"remove","path":"a"}])")),
              HasSubstr("must be empty or start with '/'"));
  EXPECT_THAT(error_of(doc, json::parse(R"([{"op":"remove","path":"/a~2"}])")),
              HasSubstr("'~' not followed by '0' or '1'"));
}

TEST(ApplyPatch, PointerEscapesAreDecoded) {
  json doc = json::parse(R"({"a/b":1,"m~n":2})");
  apply_patch(doc, json::parse(R"([{"op":"replace","path":"/a~1b","value":10},
                                   {"op":"remove","path":"/m~0n"}])"));
  EXPECT_EQ(doc, json::parse(R"({"a/b":10})"));
}

TEST(ApplyPatch, LeadingZeroArrayIndexIsRejected) {
  EXPECT_THAT(error_of(json::parse(R"({"foo":[1,2]})"),
                       json::parse(R"([{"op":"replace","path":"/foo/01","value":0}])")),
              HasSubstr("'01' is not a valid array index"));
}

TEST(ApplyPatch, DashIndexIsOnlyValidAsAnAddTarget) {
  json doc = json::parse(R"({"foo":[1,2]})");
  apply_patch(doc, json::parse(R"([{"op":"add","path":"/foo/-","value":3}])"));
  EXPECT_EQ(doc, json::parse(R"({"foo":[1,2,3]})"));
  EXPECT_THAT(error_of(doc, json::parse(R"([{"op":"remove","path":"/foo/-"}])")),
              HasSubstr("'-' names no existing element"));
  EXPECT_THAT(error_of(doc, json::parse(R"([{"op":"test","path":"/foo/-","value":3}])")),
              HasSubstr("'-' names no existing element"));
  EXPECT_THAT(error_of(doc, json::parse(R"([{"op":"add","path":"/foo/-/x","value":3}])")),
              HasSubstr("'-' names no existing element"));
}

TEST(ApplyPatch, AddBelowANullParentIsRejected) {
  EXPECT_THAT(error_of(json::parse(R"({"a":null})"),
                       json::parse(R"([{"op":"add","path":"/a/b","value":1}])")),
              HasSubstr("parent /a is a null, not an object or array"));
}

TEST(ApplyPatch, AddBelowAScalarParentIsRejected) {
  EXPECT_THAT(error_of(json::parse(R"({"a":"text"})"),
                       json::parse(R"([{"op":"add","path":"/a/b","value":1}])")),
              HasSubstr("parent /a is a string"));
}

TEST(ApplyPatch, RemoveBelowAScalarIsRejected) {
  EXPECT_THAT(
      error_of(json::parse(R"({"a":"text"})"), json::parse(R"([{"op":"remove","path":"/a/b"}])")),
      HasSubstr("/a is a string, not an object or array"));
}

TEST(ApplyPatch, AddDoesNotCreateMissingParents) {
  EXPECT_THAT(error_of(json::parse(R"({"a":{}})"),
                       json::parse(R"([{"op":"add","path":"/a/b/c","value":1}])")),
              HasSubstr("no member 'b' in /a"));
}

TEST(ApplyPatch, AddPastTheEndOfAnArrayIsRejected) {
  EXPECT_THAT(
      error_of(json::parse(R"([1,2])"), json::parse(R"([{"op":"add","path":"/3","value":1}])")),
      HasSubstr("index 3 is out of range for the document root (size 2)"));
}

TEST(ApplyPatch, RemovingTheRootIsRejected) {
  EXPECT_THAT(error_of(json::parse(R"({"a":1})"), json::parse(R"([{"op":"remove","path":""}])")),
              HasSubstr("cannot remove the document root"));
}

TEST(ApplyPatch, ReplaceAndAddAtTheRootReplaceTheDocument) {
  json doc = json::parse(R"({"a":1})");
  apply_patch(doc, json::parse(R"([{"op":"replace","path":"","value":[1]}])"));
  EXPECT_EQ(doc, json::parse("[1]"));
  apply_patch(doc, json::parse(R"([{"op":"add","path":"","value":{"b":2}}])"));
  EXPECT_EQ(doc, json::parse(R"({"b":2})"));
}

TEST(ApplyPatch, MoveIntoItsOwnChildIsRejected) {
  EXPECT_THAT(error_of(json::parse(R"({"a":{"b":{}}})"),
                       json::parse(R"([{"op":"move","from":"/a","path":"/a/b/c"}])")),
              HasSubstr("proper prefix"));
}

TEST(ApplyPatch, MoveToItselfIsANoOp) {
  json doc = json::parse(R"({"a":{"b":1}})");
  apply_patch(doc, json::parse(R"([{"op":"move","from":"/a","path":"/a"}])"));
  EXPECT_EQ(doc, json::parse(R"({"a":{"b":1}})"));
}

TEST(ApplyPatch, MoveTargetIsCheckedAfterTheRemoval) {
  // After removing /l/0 the array has one element, so index 2 is out of range.
  EXPECT_THAT(error_of(json::parse(R"({"l":[1,2]})"),
                       json::parse(R"([{"op":"move","from":"/l/0","path":"/l/2"}])")),
              HasSubstr("index 2 is out of range"));
  // Before the removal /l/1 is an object; after it, /l/1 is the former /l/2.
  EXPECT_THAT(error_of(json::parse(R"({"l":[{},{},5]})"),
                       json::parse(R"([{"op":"move","from":"/l/0","path":"/l/1/x"}])")),
              HasSubstr("parent /l/1 is a number"));
  json doc = json::parse(R"({"l":[1,2,3]})");
  apply_patch(doc, json::parse(R"([{"op":"move","from":"/l/0","path":"/l/2"}])"));
  EXPECT_EQ(doc, json::parse(R"({"l":[2,3,1]})"));
}

TEST(ApplyPatch, MoveFromAMissingLocationIsRejected) {
  EXPECT_THAT(error_of(json::parse(R"({"a":1})"),
                       json::parse(R"([{"op":"move","from":"/b","path":"/c"}])")),
              HasSubstr("no member 'b'"));
}

TEST(ApplyPatch, TestComparesNumbersByValueAndTypes) {
  json doc = json::parse(R"({"n":1,"s":"1"})");
  apply_patch(doc, json::parse(R"([{"op":"test","path":"/n","value":1.0}])"));
  EXPECT_THAT(error_of(doc, json::parse(R"([{"op":"test","path":"/s","value":1}])")),
              HasSubstr("test failed"));
}

TEST(Diff, ProducesOpsThatTurnFromIntoTo) {
  const json from = json::parse(R"({"a":1,"b":[1,2,3],"c":{"d":"x"},"e/f":1,"g~h":2})");
  const json to = json::parse(R"({"a":2,"b":[1,3],"c":{"d":"x","z":true},"e/f":3})");
  json work = from;
  apply_patch(work, diff(from, to));
  EXPECT_EQ(work, to);
}

TEST(Diff, OfEqualDocumentsIsEmpty) {
  const json doc = json::parse(R"({"a":[1,{"b":2}]})");
  EXPECT_TRUE(diff(doc, doc).empty());
}

}  // namespace
}  // namespace vigil::patch
