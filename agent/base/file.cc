#include "agent/base/file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace vigil::agent {

int read_file(const std::filesystem::path& path, std::string& out) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return err;
  }
  out.assign(static_cast<std::size_t>(st.st_size > 0 ? st.st_size : 0), '\0');
  std::size_t done = 0;
  char more[4096];  // past the size fstat gave, if anything
  for (;;) {
    const bool in_place = done < out.size();
    const ssize_t n =
        in_place ? ::read(fd, out.data() + done, out.size() - done) : ::read(fd, more, sizeof more);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      out.resize(done);
      return err;
    }
    if (n == 0) break;
    if (!in_place) out.append(more, static_cast<std::size_t>(n));
    done += static_cast<std::size_t>(n);
  }
  ::close(fd);
  out.resize(done);
  return 0;
}

}  // namespace vigil::agent
