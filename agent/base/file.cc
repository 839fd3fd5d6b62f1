#include "agent/base/file.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <system_error>
#include <utility>

namespace vigil::agent {

namespace {

// The reason a file of this type is not read; "" for a regular file.
std::string type_problem(mode_t mode) {
  if (S_ISREG(mode)) return "";
  const char* kind = S_ISDIR(mode)    ? "a directory"
                     : S_ISFIFO(mode) ? "a FIFO"
                     : S_ISCHR(mode)  ? "a character device"
                     : S_ISBLK(mode)  ? "a block device"
                     : S_ISSOCK(mode) ? "a socket"
                                      : "an unknown file type";
  return std::string("not a regular file (") + kind + ")";
}

std::string too_large(std::size_t max_bytes) {
  return "larger than " + std::to_string(max_bytes) + " bytes";
}

// Closes the descriptor and wipes the buffer unless released.
struct Reading {
  int fd = -1;
  std::string* out = nullptr;
  ~Reading() {
    if (fd >= 0) ::close(fd);
    if (out != nullptr) ::explicit_bzero(out->data(), out->size());
  }
};

}  // namespace

FileError::FileError(const std::filesystem::path& path, std::string reason, int error_code)
    : std::runtime_error(path.string() + ": " + reason),
      path_(path),
      reason_(std::move(reason)),
      error_code_(error_code) {}

std::string mode_text(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

std::string secret_mode_problem(mode_t mode) {
  if ((mode & 077) == 0) return "";
  return "group or others have access to it (mode " + mode_text(mode) + "); chmod 600 it";
}

WipeOnExit::~WipeOnExit() { ::explicit_bzero(text_.data(), text_.size()); }

FileContents read_regular_file(const std::filesystem::path& path, std::size_t max_bytes) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw FileError(path, std::strerror(errno), errno);
  if (auto problem = type_problem(st.st_mode); !problem.empty()) throw FileError(path, problem, 0);
  if (static_cast<uint64_t>(st.st_size) > max_bytes) throw FileError(path, too_large(max_bytes), 0);

  FileContents file;
  Reading reading;
  reading.fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (reading.fd < 0) throw FileError(path, std::strerror(errno), errno);
  // The path may name another file now.
  if (::fstat(reading.fd, &st) != 0) throw FileError(path, std::strerror(errno), errno);
  if (auto problem = type_problem(st.st_mode); !problem.empty()) throw FileError(path, problem, 0);
  if (static_cast<uint64_t>(st.st_size) > max_bytes) throw FileError(path, too_large(max_bytes), 0);
  file.mode = st.st_mode;

  std::string& out = file.text;
  reading.out = &out;
  // One byte more than the size, to see the end (or a file that grew)
  // without reallocating.
  out.assign(static_cast<std::size_t>(st.st_size) + 1, '\0');
  std::size_t done = 0;
  char more[4096];  // past the size fstat gave (a file that grew, /proc)
  for (;;) {
    const bool in_place = done < out.size();
    const ssize_t n = in_place
                          ? ::read(reading.fd, out.data() + done, out.size() - done)
                          : ::read(reading.fd, more, std::min(sizeof more, max_bytes + 1 - done));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw FileError(path, std::strerror(errno), errno);
    }
    if (n == 0) break;
    if (!in_place) out.append(more, static_cast<std::size_t>(n));
    done += static_cast<std::size_t>(n);
    if (done > max_bytes) {
      ::explicit_bzero(more, sizeof more);
      throw FileError(path, too_large(max_bytes), 0);
    }
  }
  ::explicit_bzero(more, sizeof more);
  out.resize(done);
  reading.out = nullptr;
  return file;
}

namespace {

[[noreturn]] void fail_write(const std::filesystem::path& path, std::string_view operation,
                             int err) {
  throw std::runtime_error(path.string() + ": " + std::string(operation) + ": " +
                           std::system_category().message(err));
}

// The temporary file of a write: closed and removed at scope exit unless it
// was renamed into place.
struct TempFile {
  std::filesystem::path path;
  int fd = -1;
  bool renamed = false;

  ~TempFile() {
    if (fd >= 0) ::close(fd);
    if (!renamed) ::unlink(path.c_str());
  }
};

}  // namespace

void write_file_atomically(const std::filesystem::path& path, std::string_view text, mode_t mode) {
  TempFile tmp{std::filesystem::path(path.string() + ".tmp." + std::to_string(::getpid()))};
  tmp.fd = ::open(tmp.path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (tmp.fd < 0) fail_write(path, "create temporary file", errno);
  // The mode given to open() is filtered by the umask, and O_TRUNC keeps the
  // mode of a stale temporary file.
  if (::fchmod(tmp.fd, mode) != 0) fail_write(path, "fchmod", errno);
  for (std::size_t done = 0; done < text.size();) {
    const ssize_t n = ::write(tmp.fd, text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail_write(path, "write", errno);
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(tmp.fd) != 0) fail_write(path, "fsync", errno);
  const int fd = std::exchange(tmp.fd, -1);
  if (::close(fd) != 0) fail_write(path, "close", errno);
  if (::rename(tmp.path.c_str(), path.c_str()) != 0) fail_write(path, "rename", errno);
  tmp.renamed = true;

  const std::filesystem::path dir = path.has_parent_path() ? path.parent_path() : ".";
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) fail_write(path, "open directory", errno);
  const int sync_rc = ::fsync(dir_fd);
  const int sync_err = errno;
  ::close(dir_fd);
  if (sync_rc != 0) fail_write(path, "fsync directory", sync_err);
}

}  // namespace vigil::agent
