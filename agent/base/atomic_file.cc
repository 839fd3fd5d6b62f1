#include "agent/base/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>

namespace vigil::agent {

namespace fs = std::filesystem;

namespace {

[[noreturn]] void fail(const fs::path& path, std::string_view operation, int err) {
  throw std::runtime_error(path.string() + ": " + std::string(operation) + ": " +
                           std::system_category().message(err));
}

// The temporary file of a write: closed and removed at scope exit unless it
// was renamed over the target.
struct TempFile {
  fs::path path;
  int fd = -1;
  bool renamed = false;

  ~TempFile() {
    if (fd >= 0) ::close(fd);
    if (!renamed) ::unlink(path.c_str());
  }
};

}  // namespace

void write_file_atomic(const fs::path& path, std::string_view text) {
  TempFile tmp{fs::path(path.string() + ".tmp." + std::to_string(::getpid()))};
  tmp.fd = ::open(tmp.path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (tmp.fd < 0) fail(path, "create temporary file", errno);
  // The mode given to open() is filtered by the umask, and O_TRUNC keeps the
  // mode of a stale temporary file.
  if (::fchmod(tmp.fd, 0600) != 0) fail(path, "fchmod", errno);
  for (std::size_t done = 0; done < text.size();) {
    const ssize_t n = ::write(tmp.fd, text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail(path, "write", errno);
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(tmp.fd) != 0) fail(path, "fsync", errno);
  const int fd = std::exchange(tmp.fd, -1);
  if (::close(fd) != 0) fail(path, "close", errno);
  if (::rename(tmp.path.c_str(), path.c_str()) != 0) fail(path, "rename", errno);
  tmp.renamed = true;

  const fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) fail(path, "open directory", errno);
  const int sync_rc = ::fsync(dir_fd);
  const int sync_err = errno;
  ::close(dir_fd);
  if (sync_rc != 0) fail(path, "fsync directory", sync_err);
}

}  // namespace vigil::agent
