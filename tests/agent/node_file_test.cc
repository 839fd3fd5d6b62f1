#include "agent/engine/node_file.h"

#include <sys/stat.h>

#include <filesystem>
#include <stdexcept>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "agent/engine/local_document.h"
#include "tests/support/temp_dir.h"

namespace vigil::agent {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using vigil::testing::TempDir;

json a_document() {
  return {{"labels", {{"rack", "r7"}}},
          {"frozen", true},
          {"frozen_at", "2026-11-30T14:00:00.000Z"},
          {"boot_at", "2026-11-30T13:00:00.000Z"},
          {"version", "0.1.0"},
          {"data", {{"weight", {{"cpu", 4}}}}}};
}

// The reason load_node_file() gives for refusing `text`.
std::string refusal(const std::string& text) {
  TempDir dir("node-file-test");
  dir.write("node.json", text);
  const fs::path p = node_file_path(dir.path());
  try {
    load_node_file(p);
  } catch (const std::runtime_error& e) {
    const std::string what = e.what();
    EXPECT_EQ(what.rfind(p.string() + ": ", 0), 0u) << "names the file: " << what;
    return what.substr(p.string().size() + 2);
  }
  ADD_FAILURE() << "accepted: " << text.substr(0, 200);
  return "";
}

TEST(NodeFile, SavedDocumentLoadsBackWithMode0600) {
  TempDir dir("node-file-test");
  const fs::path p = node_file_path(dir.path());
  EXPECT_EQ(p, dir.path() / "node.json");
  EXPECT_FALSE(load_node_file(p).has_value()) << "no file yet: a first start";
  save_node_file(p, a_document());
  struct stat st {};
  ASSERT_EQ(::stat(p.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  const auto back = load_node_file(p);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, a_document());
}

TEST(NodeFile, RefusesWhatIsNotANodeDocument) {
  EXPECT_EQ(refusal("{"), "not valid JSON");
  EXPECT_EQ(refusal(""), "not valid JSON");
  EXPECT_EQ(refusal("[]"), "/: the document must be an object");
  json d = a_document();
  d["labels"]["rack"] = 7;
  EXPECT_EQ(refusal(d.dump()), "/labels/rack: label values are strings");
  d = a_document();
  d["frozen"] = "yes";
  EXPECT_EQ(refusal(d.dump()), "/frozen: wrong type");
  d = a_document();
  d.erase("data");
  EXPECT_EQ(refusal(d.dump()), "/: a field of the node document is missing");
  d = a_document();
  d["extra"] = 1;
  EXPECT_EQ(refusal(d.dump()), "/extra: not a field of the node document");
}

TEST(NodeFile, RefusesADocumentOverTheLimits) {
  json d = a_document();
  json* at = &d["data"];
  for (int i = 0; i < LocalDocument::kMaxDepth + 5; ++i) at = &((*at)["x"] = json::object());
  EXPECT_NE(refusal(d.dump()).find("deeper than"), std::string::npos);
  d = a_document();
  d["data"]["big"] = std::string(LocalDocument::kMaxBytes, 'x');
  EXPECT_NE(refusal(d.dump()).find("-byte limit"), std::string::npos);
  // The file itself is bounded before it is parsed.
  EXPECT_EQ(refusal(std::string(kMaxNodeFileBytes + 1, ' ')), "larger than 1048576 bytes");
}

TEST(NodeFile, RefusesWhatIsNotARegularFile) {
  TempDir dir("node-file-test");
  const fs::path p = node_file_path(dir.path());
  fs::create_directory(p);
  try {
    load_node_file(p);
    FAIL() << "a directory was read";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), p.string() + ": not a regular file (a directory)");
  }
}

TEST(NodeFile, SaveRefusesADocumentTheNextStartWouldRefuse) {
  TempDir dir("node-file-test");
  const fs::path p = node_file_path(dir.path());
  json d = a_document();
  d["labels"]["n"] = 1;
  EXPECT_THROW(save_node_file(p, d), std::invalid_argument);
  EXPECT_FALSE(fs::exists(p));
}

}  // namespace
}  // namespace vigil::agent
