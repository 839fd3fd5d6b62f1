// A private temporary directory for one test, removed with everything in it
// when the object goes.
#ifndef VIGIL_TESTS_SUPPORT_TEMP_DIR_H_
#define VIGIL_TESTS_SUPPORT_TEMP_DIR_H_

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <system_error>

namespace vigil::testing {

class TempDir {
 public:
  /// Creates <tmp>/vigil-<name>-<random>, mode 0700. Throws
  /// std::runtime_error when it cannot.
  explicit TempDir(const std::string& name) {
    // mkdtemp(3) replaces the six trailing X with random characters.
    std::string pattern =
        (std::filesystem::temp_directory_path() / ("vigil-" + name + "-XXXXXX")).string();
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp " + pattern);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;  // a test may have made it read-only
    std::filesystem::permissions(path_, std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::add, ec);
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  /// Writes `text` to the file `rel` (relative to the directory).
  void write(const std::filesystem::path& rel, const std::string& text) const {
    std::ofstream(path_ / rel, std::ios::binary | std::ios::trunc) << text;
  }

 private:
  std::filesystem::path path_;
};

}  // namespace vigil::testing

#endif  // VIGIL_TESTS_SUPPORT_TEMP_DIR_H_
