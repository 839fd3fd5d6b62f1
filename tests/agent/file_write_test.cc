#include "agent/base/file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

#include "tests/support/temp_dir.h"

namespace vigil::agent {
namespace {

namespace fs = std::filesystem;
using vigil::testing::TempDir;

std::string read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(WriteFileAtomic, ReplacesTheFileWithMode0600WhateverTheUmask) {
  TempDir dir("atomic-test");
  const fs::path p = dir.path() / "f.json";
  dir.write("f.json", "old\n");
  ::chmod(p.c_str(), 0644);
  const mode_t old_umask = ::umask(0);
  write_file_atomically(p, "new\n");
  ::umask(old_umask);
  EXPECT_EQ(read(p), "new\n");
  struct stat st {};
  ASSERT_EQ(::stat(p.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  // No temporary file is left behind.
  int entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir.path())) ++entries;
  EXPECT_EQ(entries, 1);
}

TEST(WriteFileAtomic, AFailureNamesTheFileAndLeavesItAsItWas) {
  TempDir dir("atomic-test");
  const fs::path p = dir.path() / "sub" / "f.json";  // no such directory
  try {
    write_file_atomically(p, "x");
    FAIL() << "written";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()).rfind(p.string() + ": create temporary file: ", 0), 0u)
        << e.what();
  }
  EXPECT_FALSE(fs::exists(p));
}

}  // namespace
}  // namespace vigil::agent
