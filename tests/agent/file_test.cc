#include "agent/base/file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "tests/support/temp_dir.h"

namespace vigil::agent {
namespace {

namespace fs = std::filesystem;
using vigil::testing::TempDir;

// Runs read_regular_file expecting a FileError; returns it.
FileError expect_refused(const fs::path& path, std::size_t max_bytes) {
  try {
    read_regular_file(path, max_bytes);
  } catch (const FileError& e) {
    return e;
  }
  ADD_FAILURE() << path << " was read";
  return FileError(path, "<read>", -1);
}

TEST(ReadRegularFile, ReadsTheWholeFileAndItsMode) {
  TempDir dir("file-test");
  dir.write("a", "hello\n");
  ::chmod((dir.path() / "a").c_str(), 0640);
  const FileContents f = read_regular_file(dir.path() / "a", 64);
  EXPECT_EQ(f.text, "hello\n");
  EXPECT_TRUE(S_ISREG(f.mode));
  EXPECT_EQ(f.mode & 07777, 0640u);
  EXPECT_EQ(read_regular_file(dir.path() / "a", 6).text, "hello\n");  // exactly the bound
  dir.write("empty", "");
  EXPECT_EQ(read_regular_file(dir.path() / "empty", 0).text, "");
}

TEST(ReadRegularFile, FollowsASymbolicLinkToARegularFile) {
  TempDir dir("file-test");
  dir.write("target", "x");
  fs::create_symlink(dir.path() / "target", dir.path() / "link");
  EXPECT_EQ(read_regular_file(dir.path() / "link", 64).text, "x");
}

TEST(ReadRegularFile, AMissingFileGivesTheErrno) {
  TempDir dir("file-test");
  const FileError e = expect_refused(dir.path() / "absent", 64);
  EXPECT_EQ(e.error_code(), ENOENT);
  EXPECT_EQ(std::string(e.what()),
            (dir.path() / "absent").string() + ": No such file or directory");
  EXPECT_EQ(e.reason(), "No such file or directory");
}

TEST(ReadRegularFile, RefusesADirectory) {
  TempDir dir("file-test");
  const FileError e = expect_refused(dir.path(), 64);
  EXPECT_EQ(e.error_code(), 0);
  EXPECT_EQ(e.reason(), "not a regular file (a directory)");
}

TEST(ReadRegularFile, RefusesAFifoWithoutBlocking) {
  TempDir dir("file-test");
  const fs::path fifo = dir.path() / "fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  // Nobody writes to it: a blocking open or read would never return.
  EXPECT_EQ(expect_refused(fifo, 64).reason(), "not a regular file (a FIFO)");
}

TEST(ReadRegularFile, RefusesADeviceThatNeverEnds) {
  if (::access("/dev/zero", R_OK) != 0) GTEST_SKIP() << "no readable /dev/zero";
  EXPECT_EQ(expect_refused("/dev/zero", 4096).reason(), "not a regular file (a character device)");
}

TEST(ReadRegularFile, RefusesAFileLargerThanTheBound) {
  TempDir dir("file-test");
  dir.write("big", std::string(4097, 'a'));
  const FileError e = expect_refused(dir.path() / "big", 4096);
  EXPECT_EQ(e.error_code(), 0);
  EXPECT_EQ(e.reason(), "larger than 4096 bytes");
  EXPECT_EQ(std::string(e.what()), (dir.path() / "big").string() + ": larger than 4096 bytes");
}

TEST(ReadRegularFile, BoundsAFileThatReportsNoSize) {
  // /proc files are regular files whose size reads as 0: the bound holds on
  // what is actually read.
  const fs::path status = "/proc/self/status";
  if (::access(status.c_str(), R_OK) != 0) GTEST_SKIP() << "no " << status;
  EXPECT_EQ(expect_refused(status, 16).reason(), "larger than 16 bytes");
  EXPECT_GT(read_regular_file(status, 1 << 20).text.size(), 16u);
}

TEST(SecretModeProblem, RefusesAnyAccessByGroupOrOthers) {
  EXPECT_EQ(secret_mode_problem(S_IFREG | 0600), "");
  EXPECT_EQ(secret_mode_problem(S_IFREG | 0400), "");
  EXPECT_EQ(secret_mode_problem(S_IFREG | 0644),
            "group or others have access to it (mode 0644); chmod 600 it");
  EXPECT_NE(secret_mode_problem(S_IFREG | 0640), "");
  EXPECT_NE(secret_mode_problem(S_IFREG | 0602), "");
  EXPECT_EQ(mode_text(S_IFDIR | 0755), "0755");
}

}  // namespace
}  // namespace vigil::agent
