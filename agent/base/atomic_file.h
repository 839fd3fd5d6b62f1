// Replacing a small file so that a crash or a full disk never leaves it half
// written: the text goes to a temporary file in the same directory, which is
// synced and renamed over the target, and then the directory is synced.
#ifndef VIGIL_AGENT_BASE_ATOMIC_FILE_H_
#define VIGIL_AGENT_BASE_ATOMIC_FILE_H_

#include <filesystem>
#include <string_view>

namespace vigil::agent {

/// Writes `text` to `path` atomically, with mode 0600 whatever the umask: a
/// temporary file "<path>.tmp.<pid>" in the same directory (created or
/// truncated), written whole, fsync, rename over `path`, fsync of the
/// directory. Blocking: call it off the io_context thread
/// (agent/base/blocking_worker.h). Throws std::runtime_error("<path>:
/// <operation>: <strerror>") on any failure (ENOSPC, EACCES...), after
/// removing the temporary file; `path` is then unchanged, except when only
/// the last step (the directory fsync) failed: the new file is in place but
/// may not survive a power loss.
void write_file_atomic(const std::filesystem::path& path, std::string_view text);

}  // namespace vigil::agent

#endif  // VIGIL_AGENT_BASE_ATOMIC_FILE_H_
