#include "agent/config/daemon_files.h"

#include <sys/stat.h>

#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "agent/base/file.h"
#include "tests/support/temp_dir.h"

namespace vigil::agent {
namespace {

namespace fs = std::filesystem;
using vigil::testing::TempDir;

// A config of one node, loaded from `dir`/n1.toml (never written), with
// var_dir `var_dir` and no TCP listener.
Config config_in(const TempDir& dir, const fs::path& var_dir) {
  Config c = parse_config(R"(
[cluster]
name = "demo"
nodes = ["n1"]
secret = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
[node]
name = "n1"
var_dir = "state"
)",
                          dir.path() / "n1.toml");
  c.var_dir = var_dir;
  return c;
}

mode_t mode_of(const fs::path& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

// prepare_daemon_files() expecting a ConfigError; returns it.
ConfigError expect_refused(const Config& c) {
  try {
    prepare_daemon_files(c);
  } catch (const ConfigError& e) {
    return e;
  }
  ADD_FAILURE() << "accepted";
  return ConfigError(c.source, "<none>", "<accepted>");
}

TEST(DaemonFiles, VarDirIsCreatedWithMode0700AndItsParents) {
  TempDir dir("daemon-files");
  const fs::path var_dir = dir.path() / "a" / "b" / "state";
  const mode_t old = ::umask(0);  // not left to the umask
  const auto warnings = prepare_daemon_files(config_in(dir, var_dir));
  ::umask(old);
  EXPECT_TRUE(warnings.empty());
  EXPECT_TRUE(fs::is_directory(var_dir));
  EXPECT_EQ(mode_of(var_dir), 0700u);
  // Once more: it exists, private, and is used as is.
  EXPECT_TRUE(prepare_daemon_files(config_in(dir, var_dir)).empty());
}

TEST(DaemonFiles, AVarDirOthersCanWriteIsRefused) {
  TempDir dir("daemon-files");
  const fs::path var_dir = dir.path() / "state";
  fs::create_directory(var_dir);
  for (const mode_t mode : {0777, 0770, 0702}) {
    ::chmod(var_dir.c_str(), mode);
    const ConfigError e = expect_refused(config_in(dir, var_dir));
    EXPECT_EQ(e.key(), "node.var_dir");
    EXPECT_EQ(e.reason(), var_dir.string() + ": group or others can write it (mode " +
                              mode_text(mode) + "); chmod 700 it");
  }
}

TEST(DaemonFiles, AVarDirOthersCanReadIsUsedWithAWarning) {
  TempDir dir("daemon-files");
  const fs::path var_dir = dir.path() / "state";
  fs::create_directory(var_dir);
  ::chmod(var_dir.c_str(), 0755);
  const auto warnings = prepare_daemon_files(config_in(dir, var_dir));
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0], "node.var_dir " + var_dir.string() +
                             ": group or others have access to it (mode 0755); chmod 700 it");
  EXPECT_EQ(mode_of(var_dir), 0755u);  // left as the operator made it
}

TEST(DaemonFiles, AVarDirThatCannotBeCreatedSaysSo) {
  TempDir dir("daemon-files");
  dir.write("plain", "x");
  // Under a regular file: refused even to root.
  const fs::path var_dir = dir.path() / "plain" / "state";
  const ConfigError e = expect_refused(config_in(dir, var_dir));
  EXPECT_EQ(e.key(), "node.var_dir");
  EXPECT_EQ(std::string(e.what()), (dir.path() / "n1.toml").string() + ": key 'node.var_dir': " +
                                       var_dir.string() + ": cannot create: Not a directory");
  // Missing parents under a regular file.
  EXPECT_EQ(expect_refused(config_in(dir, dir.path() / "plain" / "a" / "state")).key(),
            "node.var_dir");
  // A regular file where the directory should be.
  EXPECT_EQ(expect_refused(config_in(dir, dir.path() / "plain")).reason(),
            (dir.path() / "plain").string() + ": not a directory");
}

// A config with a TCP listener whose TLS files are `cert` and `key`.
Config with_tls(const TempDir& dir, const fs::path& cert, const fs::path& key) {
  Config c = config_in(dir, dir.path() / "state");
  c.api.listen = Endpoint{"127.0.0.1", 1215};
  c.api.tls_cert = cert;
  c.api.tls_key = key;
  return c;
}

TEST(DaemonFiles, TlsFilesAreCheckedNamingTheirKey) {
  TempDir dir("daemon-files");
  const fs::path cert = dir.path() / "api.crt", key = dir.path() / "api.key";
  dir.write("api.crt", "-----BEGIN CERTIFICATE-----\n");
  dir.write("api.key", "-----BEGIN PRIVATE KEY-----\n");
  ::chmod(cert.c_str(), 0644);  // a certificate is public
  ::chmod(key.c_str(), 0600);
  EXPECT_TRUE(prepare_daemon_files(with_tls(dir, cert, key)).empty());

  ConfigError e = expect_refused(with_tls(dir, dir.path() / "absent.crt", key));
  EXPECT_EQ(e.key(), "api.tls_cert");
  EXPECT_EQ(e.reason(), (dir.path() / "absent.crt").string() + ": No such file or directory");
  e = expect_refused(with_tls(dir, cert, dir.path() / "absent.key"));
  EXPECT_EQ(e.key(), "api.tls_key");
  e = expect_refused(with_tls(dir, dir.path(), key));
  EXPECT_EQ(e.key(), "api.tls_cert");
  EXPECT_EQ(e.reason(), dir.path().string() + ": not a regular file (a directory)");
  dir.write("big.crt", std::string(kMaxTlsFileBytes + 1, 'c'));
  e = expect_refused(with_tls(dir, dir.path() / "big.crt", key));
  EXPECT_EQ(e.reason(), (dir.path() / "big.crt").string() + ": larger than 1048576 bytes");

  ::chmod(key.c_str(), 0640);
  e = expect_refused(with_tls(dir, cert, key));
  EXPECT_EQ(e.key(), "api.tls_key");
  EXPECT_EQ(e.reason(),
            key.string() + ": group or others have access to it (mode 0640); chmod 600 it");
}

TEST(DaemonFiles, WithoutAListenerTheTlsFilesAreNotRead) {
  TempDir dir("daemon-files");
  Config c = with_tls(dir, dir.path() / "absent.crt", dir.path() / "absent.key");
  c.api.listen.reset();
  EXPECT_NO_THROW(prepare_daemon_files(c));
}

}  // namespace
}  // namespace vigil::agent
