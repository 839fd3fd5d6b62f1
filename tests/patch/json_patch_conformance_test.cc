// The public RFC 6902 conformance suite (json-patch-tests: tests.json and
// spec_tests.json), one test case per record.
//
// A record is {doc, patch, expected | error, comment, disabled}:
//   "expected": the patch applies and yields it;
//   "error": apply_patch throws PatchError and leaves the document unchanged;
//   neither: the patch applies without error;
//   "disabled": true: skipped; only "comment": a note, skipped.
#include <cctype>
#include <fstream>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "patch/json_patch.h"

#ifndef VIGIL_JSON_PATCH_TESTS_DIR
#error "VIGIL_JSON_PATCH_TESTS_DIR must name the json-patch-tests directory"
#endif

namespace vigil::patch {
namespace {

using nlohmann::json;

constexpr const char* kSuiteFiles[] = {"tests.json", "spec_tests.json"};

struct Record {
  std::string file;
  std::size_t index = 0;
  json body;
  std::string load_error;  // set when the suite file could not be read
};

// Shown by gtest for a failing case instead of the record's bytes.
void PrintTo(const Record& r, std::ostream* os) {
  *os << r.file << " record " << r.index;
  if (!r.load_error.empty()) *os << " (" << r.load_error << ")";
}

std::string suite_path(const std::string& file) {
  return std::string(VIGIL_JSON_PATCH_TESTS_DIR) + "/" + file;
}

// Reads every record; a missing or malformed file becomes one record carrying
// the error, so the test fails (rather than the suite silently shrinking).
std::vector<Record> load_records() {
  std::vector<Record> records;
  for (const char* file : kSuiteFiles) {
    std::ifstream in(suite_path(file));
    if (!in) {
      records.push_back({file, 0, {}, "cannot open " + suite_path(file)});
      continue;
    }
    json suite;
    try {
      in >> suite;
    } catch (const json::exception& e) {
      records.push_back({file, 0, {}, "cannot parse " + suite_path(file) + ": " + e.what()});
      continue;
    }
    if (!suite.is_array() || suite.empty()) {
      records.push_back({file, 0, {}, suite_path(file) + " is not a non-empty array"});
      continue;
    }
    for (std::size_t i = 0; i < suite.size(); ++i) records.push_back({file, i, suite[i], {}});
  }
  return records;
}

std::string comment_of(const Record& r) {
  if (r.body.is_object() && r.body.contains("comment") && r.body["comment"].is_string()) {
    return r.body["comment"].get<std::string>();
  }
  return {};
}

// "tests_18" or "spec_tests_4_1_add_with_missing_object": gtest names allow
// only alphanumerics and underscores.
std::string record_name(const ::testing::TestParamInfo<Record>& info) {
  const Record& r = info.param;
  std::string raw = r.file.substr(0, r.file.find('.')) + "_" + std::to_string(r.index);
  if (!r.load_error.empty()) raw += "_load_error";
  const std::string comment = comment_of(r);
  if (!comment.empty()) raw += "_" + comment.substr(0, 60);
  std::string name;
  for (char c : raw) {
    const bool keep = std::isalnum(static_cast<unsigned char>(c)) != 0;
    if (keep) {
      name += c;
    } else if (!name.empty() && name.back() != '_') {
      name += '_';
    }
  }
  while (!name.empty() && name.back() == '_') name.pop_back();
  return name;
}

class JsonPatchConformance : public ::testing::TestWithParam<Record> {};

TEST_P(JsonPatchConformance, Record) {
  const Record& r = GetParam();
  ASSERT_TRUE(r.load_error.empty()) << r.load_error;
  const json& rec = r.body;
  ASSERT_TRUE(rec.is_object()) << r.file << " record " << r.index << " is not an object";
  SCOPED_TRACE(r.file + " record " + std::to_string(r.index) + ": " + rec.dump());
  if (rec.value("disabled", false)) {
    GTEST_SKIP() << "disabled in the suite";
  }
  if (!rec.contains("doc") && !rec.contains("patch")) {
    GTEST_SKIP() << "note: " << comment_of(r);
  }
  ASSERT_TRUE(rec.contains("doc")) << "record has no doc";
  ASSERT_TRUE(rec.contains("patch")) << "record has no patch";

  json doc = rec["doc"];
  if (rec.contains("error")) {
    EXPECT_THROW(apply_patch(doc, rec["patch"]), PatchError)
        << "expected error: " << rec["error"].dump();
    EXPECT_EQ(doc, rec["doc"]) << "document changed by a rejected patch";
    return;
  }
  try {
    apply_patch(doc, rec["patch"]);
  } catch (const PatchError& e) {
    FAIL() << "unexpected PatchError: " << e.what();
  }
  if (rec.contains("expected")) {
    EXPECT_EQ(doc, rec["expected"]);
  }
}

INSTANTIATE_TEST_SUITE_P(Suite, JsonPatchConformance, ::testing::ValuesIn(load_records()),
                         record_name);

TEST(JsonPatchConformanceFiles, BothSuiteFilesArePresentAndNonEmpty) {
  for (const char* file : kSuiteFiles) {
    std::ifstream in(suite_path(file));
    ASSERT_TRUE(in) << "missing conformance file " << suite_path(file);
    json suite;
    ASSERT_NO_THROW(in >> suite) << suite_path(file);
    EXPECT_TRUE(suite.is_array() && !suite.empty()) << suite_path(file);
  }
}

}  // namespace
}  // namespace vigil::patch
