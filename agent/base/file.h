// Reading a whole small file (a config, a secret, the keyring) with POSIX
// calls, reporting errno rather than throwing, so that each caller words its
// own error with the file's role.
#ifndef VIGIL_AGENT_BASE_FILE_H_
#define VIGIL_AGENT_BASE_FILE_H_

#include <filesystem>
#include <string>

namespace vigil::agent {

/// Reads the whole of `path` into `out`; returns 0, or an errno value (then
/// `out` holds what was read, if anything). `out` is sized from fstat()
/// first, so that a regular file is read without reallocating (no stray
/// copy of a secret is left in freed memory); a file that reports no size
/// (a pipe, /proc) is read until its end all the same.
int read_file(const std::filesystem::path& path, std::string& out);

}  // namespace vigil::agent

#endif  // VIGIL_AGENT_BASE_FILE_H_
