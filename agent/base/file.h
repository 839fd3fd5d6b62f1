// Reading a whole small file (a config, a secret, a TLS file, the keyring)
// with POSIX calls. Every file vigil reads goes through read_regular_file():
// only a regular file of bounded size is read, so that a directory, a device
// (/dev/zero), a FIFO or a huge file given by mistake gives an error at once
// instead of an abort, an endless read or a hang.
#ifndef VIGIL_AGENT_BASE_FILE_H_
#define VIGIL_AGENT_BASE_FILE_H_

#include <sys/types.h>

#include <cstddef>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>

namespace vigil::agent {

/// Why read_regular_file() refused or could not read a file. what() is
/// "<path>: <reason>", with reason() one of:
///   - the strerror() text of a failed stat, open or read ("No such file or
///     directory", "Permission denied"); error_code() is that errno value;
///   - "not a regular file (a directory)", "... (a FIFO)", "... (a character
///     device)", "... (a block device)", "... (a socket)"; error_code() is 0;
///   - "larger than <max> bytes"; error_code() is 0.
class FileError : public std::runtime_error {
 public:
  FileError(const std::filesystem::path& path, std::string reason, int error_code);
  const std::filesystem::path& path() const noexcept { return path_; }
  const std::string& reason() const noexcept { return reason_; }
  /// The errno value of a failed system call; 0 for a refused file.
  int error_code() const noexcept { return error_code_; }

 private:
  std::filesystem::path path_;
  std::string reason_;
  int error_code_;
};

/// A whole file, as read by read_regular_file().
struct FileContents {
  std::string text;  // every byte of the file, at most the max_bytes asked for
  mode_t mode = 0;   // st_mode of the file read: S_IFREG and the permission bits
};

/// Reads the whole of `path`, a regular file (a symbolic link to one is
/// followed) of at most `max_bytes` bytes. The type is checked with stat()
/// before the file is opened, so that a device or a FIFO is never opened for
/// reading, and again with fstat() on the descriptor, which is opened with
/// O_NONBLOCK (a FIFO swapped in between cannot block). A file that grows
/// past `max_bytes` while it is read is refused too. The text buffer is sized
/// from fstat() first, so a file is read without reallocating (no stray copy
/// of a secret is left in freed memory); on failure, what was read is wiped.
/// Throws FileError.
FileContents read_regular_file(const std::filesystem::path& path, std::size_t max_bytes);

/// Replaces `path` with `text` so that a crash or a failed write (ENOSPC)
/// leaves either the old file or the new one, never a mix: a temporary file
/// "<path>.tmp.<pid>" in the same directory, created with `mode` (whatever
/// the umask), written, fsync'ed, renamed over `path`, then the directory
/// fsync'ed. Blocking: call it off the io_context thread. Throws
/// std::runtime_error("<path>: <operation>: <strerror>") after removing the
/// temporary file; `path` is then unchanged, except when only the last step
/// (the directory fsync) failed: the new file is in place but may not
/// survive a power loss.
void write_file_atomically(const std::filesystem::path& path, std::string_view text,
                           mode_t mode = 0600);

/// "0644": the permission bits of `mode` in octal, as chmod takes them.
std::string mode_text(mode_t mode);

/// Why a file of `mode` that holds secrets is refused, or "" when it is not:
/// "group or others have access to it (mode 0644); chmod 600 it" when
/// mode & 077 is not 0 (the rule ssh applies to a private key).
std::string secret_mode_problem(mode_t mode);

/// Wipes a string that held secret material when the scope ends, on return
/// or on exception.
class WipeOnExit {
 public:
  explicit WipeOnExit(std::string& text) : text_(text) {}
  ~WipeOnExit();
  WipeOnExit(const WipeOnExit&) = delete;
  WipeOnExit& operator=(const WipeOnExit&) = delete;

 private:
  std::string& text_;
};

}  // namespace vigil::agent

#endif  // VIGIL_AGENT_BASE_FILE_H_
