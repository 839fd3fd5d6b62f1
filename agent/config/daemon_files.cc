#include "agent/config/daemon_files.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include "agent/base/file.h"

namespace vigil::agent {

namespace fs = std::filesystem;

namespace {

constexpr const char* kVarDirKey = "node.var_dir";

// Creates `dir` with mode 0700, and its missing parents; "" or the reason.
std::string create_private_dir(const fs::path& dir) {
  if (::mkdir(dir.c_str(), 0700) == 0) return "";
  const int err = errno;
  if (err != ENOENT || !dir.has_parent_path()) return std::strerror(err);
  std::error_code ec;
  fs::create_directories(dir.parent_path(), ec);
  if (ec) return ec.message();
  if (::mkdir(dir.c_str(), 0700) == 0) return "";
  return std::strerror(errno);
}

// Returns a warning, or "".
std::string prepare_var_dir(const Config& config) {
  const fs::path& dir = config.var_dir;
  auto fail = [&](const std::string& reason) {
    throw ConfigError(config.source, kVarDirKey, dir.string() + ": " + reason);
  };
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) {  // mkdir() tells why: ENOENT, ENOTDIR, EACCES...
    if (auto why = create_private_dir(dir); !why.empty()) fail("cannot create: " + why);
    // The umask may have taken more than group and others.
    if (::chmod(dir.c_str(), 0700) != 0) fail(std::string("chmod 700: ") + std::strerror(errno));
    return "";
  }
  if (!S_ISDIR(st.st_mode)) fail("not a directory");
  if ((st.st_mode & 022) != 0)
    fail("group or others can write it (mode " + mode_text(st.st_mode) + "); chmod 700 it");
  if ((st.st_mode & 077) != 0)
    return std::string(kVarDirKey) + " " + dir.string() +
           ": group or others have access to it (mode " + mode_text(st.st_mode) + "); chmod 700 it";
  return "";
}

void check_tls_file(const Config& config, const char* key, const fs::path& path, bool secret) {
  FileContents file;
  try {
    file = read_regular_file(path, kMaxTlsFileBytes);
  } catch (const FileError& e) {
    throw ConfigError(config.source, key, e.what());
  }
  const WipeOnExit wipe{file.text};
  if (!secret) return;
  if (const auto problem = secret_mode_problem(file.mode); !problem.empty())
    throw ConfigError(config.source, key, path.string() + ": " + problem);
}

}  // namespace

std::vector<std::string> prepare_daemon_files(const Config& config) {
  std::vector<std::string> warnings;
  if (auto warning = prepare_var_dir(config); !warning.empty()) warnings.push_back(warning);
  if (config.api.listen) {
    check_tls_file(config, "api.tls_cert", config.api.tls_cert, false);
    check_tls_file(config, "api.tls_key", config.api.tls_key, true);
  }
  if (config.http && config.http->tls()) {
    check_tls_file(config, "http.tls_cert", config.http->tls_cert, false);
    check_tls_file(config, "http.tls_key", config.http->tls_key, true);
  }
  return warnings;
}

}  // namespace vigil::agent
