#include "agent/keys/keyring_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/temp_dir.h"

namespace vigil::agent {
namespace {

namespace fs = std::filesystem;

constexpr const char* kHex1 = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
constexpr const char* kHex2 = "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";
constexpr const char* kHex3 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

using vigil::testing::TempDir;

// Saving `keyring` to `path` throws std::runtime_error naming the path and
// `reason` (a strerror text).
void expect_save_fails(const fs::path& path, const StoredKeyring& keyring,
                       const std::string& reason) {
  try {
    save_keyring_file(path, keyring);
    ADD_FAILURE() << "no exception";
  } catch (const std::runtime_error& e) {
    const std::string what = e.what();
    EXPECT_EQ(what.rfind(path.string() + ": ", 0), 0u) << what;
    EXPECT_NE(what.find(reason), std::string::npos) << what;
  }
}

StoredKeyring keyring_1_2() {
  return {2, {{1, crypto::parse_secret_hex(kHex1)}, {2, crypto::parse_secret_hex(kHex2)}}};
}

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::vector<std::string> entries(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

void expect_same(const StoredKeyring& a, const StoredKeyring& b) {
  EXPECT_EQ(a.current, b.current);
  EXPECT_EQ(a.secrets, b.secrets);
}

TEST(KeyringFile, MissingFileIsNullopt) {
  TempDir dir("keyring-test");
  EXPECT_EQ(load_keyring_file(dir.path() / "keyring.json"), std::nullopt);
}

TEST(KeyringFile, SaveThenLoadRoundTrips) {
  TempDir dir("keyring-test");
  const fs::path path = dir.path() / "keyring.json";
  save_keyring_file(path, keyring_1_2());

  const auto loaded = load_keyring_file(path);
  ASSERT_TRUE(loaded.has_value());
  expect_same(*loaded, keyring_1_2());

  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(entries(dir.path()), std::vector<std::string>{"keyring.json"});
  EXPECT_EQ(read_text(path), std::string(R"({"current":2,"secrets":{"1":")") + kHex1 +
                                 R"(","2":")" + kHex2 + "\"}}\n");
}

TEST(KeyringFile, SaveSetsMode0600OverAStaleTempFile) {
  TempDir dir("keyring-test");
  const fs::path path = dir.path() / "keyring.json";
  const fs::path stale = path.string() + ".tmp." + std::to_string(::getpid());
  write_text(stale, "stale");
  fs::permissions(stale, fs::perms::all);
  save_keyring_file(path, keyring_1_2());
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(entries(dir.path()), std::vector<std::string>{"keyring.json"});
}

TEST(KeyringFile, SaveReplacesExistingFileAtomically) {
  TempDir dir("keyring-test");
  const fs::path path = dir.path() / "keyring.json";
  const std::string old_text(10000, 'x');
  write_text(path, old_text);
  // A hard link keeps the old inode: a rename leaves it intact, an in-place
  // rewrite would not.
  const fs::path old_link = dir.path() / "old";
  fs::create_hard_link(path, old_link);

  const StoredKeyring next{3, {{3, crypto::parse_secret_hex(kHex3)}}};
  save_keyring_file(path, next);

  expect_same(*load_keyring_file(path), next);
  EXPECT_EQ(read_text(old_link), old_text);
  EXPECT_LT(fs::file_size(path), 200u);
  EXPECT_EQ(entries(dir.path()), (std::vector<std::string>{"keyring.json", "old"}));
}

std::string doc(const std::string& current, const std::string& secrets) {
  return R"({"current":)" + current + R"(,"secrets":)" + secrets + "}";
}

std::string one(const std::string& version, const std::string& hex) {
  return "{\"" + version + "\":\"" + hex + "\"}";
}

// A malformed file's text and the reason its error must give.
struct Malformed {
  std::string text;
  std::string reason;
};

class MalformedKeyringFile : public ::testing::TestWithParam<Malformed> {};

TEST_P(MalformedKeyringFile, ThrowsNamingThePathAndTheReason) {
  TempDir dir("keyring-test");
  const fs::path path = dir.path() / "keyring.json";
  write_text(path, GetParam().text);
  try {
    load_keyring_file(path);
    FAIL() << "no exception for " << GetParam().text;
  } catch (const std::runtime_error& e) {
    const std::string what = e.what();
    EXPECT_EQ(what.rfind(path.string() + ": ", 0), 0u) << what;
    EXPECT_NE(what.find(GetParam().reason), std::string::npos) << what;
  }
}

INSTANTIATE_TEST_SUITE_P(
    KeyringFile, MalformedKeyringFile,
    ::testing::Values(
        Malformed{"", "not valid JSON"}, Malformed{"not json", "not valid JSON"},
        Malformed{doc("1", one("1", kHex1)).substr(5), "not valid JSON"},
        Malformed{"[1, 2]", "not a JSON object"},
        Malformed{doc("1", "[]"), "'secrets' must be an object"},
        Malformed{doc("1", "\"" + std::string(kHex1) + "\""), "'secrets' must be an object"},
        Malformed{R"({"current":1})", "'secrets' is missing"},
        Malformed{doc("1", one("0", kHex1)), "version '0' is not a number >= 1"},
        Malformed{doc("1", one("x", kHex1)), "version 'x' is not a number >= 1"},
        Malformed{doc("1", one("-1", kHex1)), "version '-1' is not a number >= 1"},
        Malformed{doc("1", one("01", kHex1)), "version '01' is not a number >= 1"},
        Malformed{doc("1", one("4294967296", kHex1)), "version '4294967296' is not a number"},
        Malformed{doc("0", one("1", kHex1)), "'current' must be a version number >= 1"},
        Malformed{doc("\"1\"", one("1", kHex1)), "'current' must be a version number >= 1"},
        Malformed{doc("-1", one("1", kHex1)), "'current' must be a version number >= 1"},
        Malformed{doc("1.5", one("1", kHex1)), "'current' must be a version number >= 1"},
        Malformed{doc("4294967296", one("1", kHex1)), "'current' must be a version number >= 1"},
        Malformed{R"({"secrets":)" + one("1", kHex1) + "}", "'current' is missing"},
        Malformed{doc("1", one("1", std::string(kHex1).substr(2))),
                  "secret version 1: cluster secret must be 64 hexadecimal characters"},
        Malformed{doc("1", one("1", kHex1 + std::string("00"))),
                  "secret version 1: cluster secret must be 64 hexadecimal characters"},
        Malformed{doc("1", one("1", "zz" + std::string(kHex1).substr(2))),
                  "secret version 1: cluster secret has a non-hexadecimal character"},
        Malformed{doc("1", R"({"1":7})"), "secret version 1: must be a string"},
        Malformed{doc("2", one("1", kHex1)), "current version 2 is not among the secrets"},
        Malformed{doc("1", "{}"), "no secrets"},
        Malformed{R"({"current":1,"secrets":)" + one("1", kHex1) + R"(,"extra":true})",
                  "unexpected key 'extra'"}));

TEST(KeyringFile, LoadRefusesAKeyringThatIsNotARegularFileOrTooLarge) {
  TempDir dir("keyring-test");
  const fs::path path = dir.path() / "keyring.json";
  auto expect_load_fails = [&](const std::string& reason) {
    try {
      load_keyring_file(path);
      ADD_FAILURE() << "no exception for " << reason;
    } catch (const std::runtime_error& e) {
      EXPECT_EQ(std::string(e.what()), path.string() + ": " + reason);
    }
  };
  fs::create_directory(path);
  expect_load_fails("not a regular file (a directory)");
  fs::remove(path);
  ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
  expect_load_fails("not a regular file (a FIFO)");  // at once: nobody writes to it
  fs::remove(path);
  write_text(path, std::string((1 << 20) + 1, ' '));
  expect_load_fails("larger than 1048576 bytes");
}

TEST(KeyringFile, LoadAcceptsTheLargestVersion) {
  TempDir dir("keyring-test");
  const fs::path path = dir.path() / "keyring.json";
  write_text(path, doc("4294967295", one("4294967295", kHex1)));
  const auto loaded = load_keyring_file(path);
  ASSERT_TRUE(loaded.has_value());
  EXPECT_EQ(loaded->current, 4294967295u);
}

TEST(KeyringFile, LoadErrorDoesNotQuoteSecretMaterial) {
  TempDir dir("keyring-test");
  const fs::path path = dir.path() / "keyring.json";
  // An unterminated string: the JSON parser's own message would quote it.
  write_text(path, R"({"current":1,"secrets":{"1":")" + std::string(kHex1));
  try {
    load_keyring_file(path);
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("not valid JSON"), std::string::npos) << what;
    EXPECT_EQ(what.find(std::string(kHex1).substr(0, 8)), std::string::npos) << what;
  }
}

TEST(KeyringFile, SaveOfInvalidKeyringThrowsAndWritesNothing) {
  TempDir dir("keyring-test");
  const fs::path path = dir.path() / "keyring.json";
  const StoredKeyring not_held{3, {{1, crypto::parse_secret_hex(kHex1)}}};
  const StoredKeyring empty{1, {}};
  const StoredKeyring version_0{0, {{0, crypto::parse_secret_hex(kHex1)}}};
  for (const auto& k : {not_held, empty, version_0}) {
    EXPECT_THROW(save_keyring_file(path, k), std::invalid_argument);
  }
  EXPECT_TRUE(entries(dir.path()).empty());

  save_keyring_file(path, keyring_1_2());
  const std::string before = read_text(path);
  EXPECT_THROW(save_keyring_file(path, not_held), std::invalid_argument);
  EXPECT_EQ(read_text(path), before);
  EXPECT_EQ(entries(dir.path()), std::vector<std::string>{"keyring.json"});
}

TEST(KeyringFile, SaveIntoMissingDirectoryThrowsNamingThePath) {
  TempDir dir("keyring-test");
  const fs::path path = dir.path() / "absent" / "keyring.json";
  try {
    save_keyring_file(path, keyring_1_2());
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    const std::string what = e.what();
    EXPECT_EQ(what.rfind(path.string() + ": ", 0), 0u) << what;
    EXPECT_NE(what.find("No such file or directory"), std::string::npos) << what;
  }
  EXPECT_TRUE(entries(dir.path()).empty());
}

// Root ignores file permissions (CAP_DAC_OVERRIDE). As root, a test that needs
// a permission to be refused hands the directory to an unprivileged user and
// takes that user's effective uid while it runs; the destructor takes root
// back. Not root, it does nothing. failed() says why it could not switch.
class UnprivilegedWhileRoot {
 public:
  static constexpr uid_t kUid = 65534;  // "nobody"; need not exist in /etc/passwd

  explicit UnprivilegedWhileRoot(const fs::path& dir) {
    if (::geteuid() != 0) return;
    if (::chown(dir.c_str(), kUid, static_cast<gid_t>(-1)) != 0) {
      why_ = "chown " + dir.string() + ": " + std::strerror(errno);
    } else if (::seteuid(kUid) != 0) {
      why_ = "seteuid(" + std::to_string(kUid) + "): " + std::strerror(errno);
    } else {
      switched_ = true;
    }
  }
  ~UnprivilegedWhileRoot() {
    if (switched_ && ::seteuid(0) != 0) std::abort();  // the other tests need root back
  }
  UnprivilegedWhileRoot(const UnprivilegedWhileRoot&) = delete;
  UnprivilegedWhileRoot& operator=(const UnprivilegedWhileRoot&) = delete;

  const std::string& failed() const { return why_; }

 private:
  bool switched_ = false;
  std::string why_;
};

TEST(KeyringFile, SaveIntoReadOnlyDirectoryFailsAndKeepsTheOldFile) {
  TempDir dir("keyring-test");
  const fs::path path = dir.path() / "keyring.json";
  save_keyring_file(path, keyring_1_2());
  const std::string before = read_text(path);
  fs::permissions(dir.path(), fs::perms::owner_read | fs::perms::owner_exec);
  const StoredKeyring next{3, {{3, crypto::parse_secret_hex(kHex3)}}};
  {
    // Owned by the saving user, who may list and enter it but not write.
    UnprivilegedWhileRoot unprivileged(dir.path());
    if (!unprivileged.failed().empty()) {
      GTEST_SKIP() << "root, and cannot act as an unprivileged user: " << unprivileged.failed();
    }
    expect_save_fails(path, next, "Permission denied");
  }
  EXPECT_EQ(read_text(path), before);
  expect_same(*load_keyring_file(path), keyring_1_2());
  EXPECT_EQ(entries(dir.path()), std::vector<std::string>{"keyring.json"});
}

TEST(KeyringFile, SaveUnderARegularFileFailsAndKeepsTheFile) {
  // Refused to root as well: a path through a regular file (ENOTDIR).
  TempDir dir("keyring-test");
  const fs::path file = dir.path() / "var";
  write_text(file, "not a directory");
  const fs::path path = file / "keyring.json";
  expect_save_fails(path, keyring_1_2(), "Not a directory");
  EXPECT_EQ(read_text(file), "not a directory");
  EXPECT_EQ(entries(dir.path()), std::vector<std::string>{"var"});
}

// A tmpfs mounted on a directory for the duration of a test.
class TinyTmpfs {
 public:
  explicit TinyTmpfs(const fs::path& dir) : dir_(dir) {
    fs::create_directory(dir_);
    const std::string cmd = "mount -t tmpfs -o size=64k tmpfs '" + dir_.string() + "' 2>/dev/null";
    mounted_ = std::system(cmd.c_str()) == 0;
  }
  ~TinyTmpfs() {
    if (mounted_) std::system(("umount '" + dir_.string() + "'").c_str());
  }
  bool mounted() const { return mounted_; }

 private:
  fs::path dir_;
  bool mounted_ = false;
};

// Writes to a new file in `dir` until the disk is full; returns the errno of
// the failed write.
int fill(const fs::path& dir) {
  const int fd = ::open((dir / "filler").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return errno;
  const std::string block(4096, 'f');
  int err = 0;
  while (err == 0) {
    if (::write(fd, block.data(), block.size()) < 0 && errno != EINTR) err = errno;
  }
  ::close(fd);
  return err;
}

TEST(KeyringFile, FullDiskLeavesThePreviousFile) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to mount a tmpfs";
  TempDir dir("keyring-test");
  TinyTmpfs tmpfs(dir.path() / "mnt");
  if (!tmpfs.mounted()) GTEST_SKIP() << "mount -t tmpfs failed (no CAP_SYS_ADMIN here?)";
  const fs::path path = dir.path() / "mnt" / "keyring.json";
  save_keyring_file(path, keyring_1_2());
  ASSERT_EQ(fill(dir.path() / "mnt"), ENOSPC);

  const StoredKeyring next{
      3, {{2, crypto::parse_secret_hex(kHex2)}, {3, crypto::parse_secret_hex(kHex3)}}};
  expect_save_fails(path, next, "No space left on device");
  expect_same(*load_keyring_file(path), keyring_1_2());
  EXPECT_EQ(entries(dir.path() / "mnt"), (std::vector<std::string>{"filler", "keyring.json"}));
}

}  // namespace
}  // namespace vigil::agent
