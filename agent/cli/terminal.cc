#include "agent/cli/terminal.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace vigil::agent {

namespace {

// Alternate screen (saving the cursor), cursor hidden, autowrap off; and
// the reverse, in the reverse order.
constexpr std::string_view kEnter = "\x1b[?1049h\x1b[?25l\x1b[?7l";
constexpr std::string_view kLeave = "\x1b[?7h\x1b[?25h\x1b[?1049l";

}  // namespace

std::optional<TerminalSize> terminal_size(int fd) {
  struct winsize ws {};
  if (::ioctl(fd, TIOCGWINSZ, &ws) != 0 || ws.ws_row == 0 || ws.ws_col == 0) return std::nullopt;
  return TerminalSize{ws.ws_row, ws.ws_col};
}

bool is_screen(int fd) {
  if (::isatty(fd) != 1) return false;
  const char* term = std::getenv("TERM");
  return !(term && std::strcmp(term, "dumb") == 0);
}

std::string redraw_in_place(const std::vector<std::string>& lines) {
  std::string out = "\x1b[H";
  for (std::size_t i = 0; i < lines.size(); ++i) {
    out += lines[i];
    out += "\x1b[K";
    if (i + 1 < lines.size()) out += "\r\n";
  }
  out += "\x1b[J";
  return out;
}

bool write_all(int fd, std::string_view text) {
  while (!text.empty()) {
    const ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    text.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

FullScreen::FullScreen(int keys_fd, int screen_fd) : keys_fd_(keys_fd), screen_fd_(screen_fd) {
  enter();
}

void FullScreen::enter() noexcept {
  if (termios_saved_ || screen_entered_) return;
  if (keys_fd_ >= 0 && ::tcgetattr(keys_fd_, &saved_) == 0) {
    struct termios raw = saved_;
    raw.c_lflag &= ~static_cast<tcflag_t>(ICANON | ECHO | ISIG | IEXTEN);
    raw.c_iflag &= ~static_cast<tcflag_t>(IXON);  // Ctrl-S would freeze the screen
    raw.c_cc[VMIN] = 1;
    raw.c_cc[VTIME] = 0;
    termios_saved_ = ::tcsetattr(keys_fd_, TCSAFLUSH, &raw) == 0;
  }
  if (screen_fd_ >= 0) {
    screen_entered_ = true;  // left at restore() even after a partial write
    write_all(screen_fd_, kEnter);
  }
}

FullScreen::~FullScreen() { restore(); }

void FullScreen::restore() noexcept {
  if (screen_entered_) {
    write_all(screen_fd_, kLeave);
    screen_entered_ = false;
  }
  if (termios_saved_) {
    ::tcsetattr(keys_fd_, TCSAFLUSH, &saved_);
    termios_saved_ = false;
  }
}

}  // namespace vigil::agent
