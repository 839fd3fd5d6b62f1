// The terminal of a full-screen CLI command (`daemon status --watch`): its
// size, its modes and their restoration, and the bytes that redraw a screen
// in place without a full clear. VT100/xterm control sequences (ECMA-48
// CSI, xterm's private modes 1049, 25 and 7).
#ifndef VIGIL_AGENT_CLI_TERMINAL_H_
#define VIGIL_AGENT_CLI_TERMINAL_H_

#include <termios.h>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vigil::agent {

/// A terminal's size in character cells.
struct TerminalSize {
  std::size_t rows = 0, columns = 0;
};

/// The size of the terminal on `fd` (TIOCGWINSZ), read anew at each call;
/// nullopt when `fd` is not a terminal or reports a zero size.
std::optional<TerminalSize> terminal_size(int fd);

/// True when `fd` is a terminal that understands cursor movement: isatty,
/// and TERM is not "dumb".
bool is_screen(int fd);

/// The bytes that draw `lines` (already fitted to the screen: at most its
/// rows, each narrower than its width) over the previous frame: cursor home
/// (CSI H), each line followed by erase to end of line (CSI K) and CRLF but
/// the last, then erase to end of screen (CSI J). No full clear, so nothing
/// flickers.
std::string redraw_in_place(const std::vector<std::string>& lines);

/// Writes all of `text` to `fd`, through short writes and EINTR. False with
/// errno set when a write fails.
bool write_all(int fd, std::string_view text);

/// The terminal in full-screen mode for the life of this object (enter()
/// at construction).
///   - `keys_fd` (a terminal, or -1): non-canonical input without echo, and
///     without the signal keys, so that Ctrl-C arrives as byte 0x03 and
///     Ctrl-Z as 0x1a, for the program to quit or suspend itself in order.
///   - `screen_fd` (a terminal): the alternate screen buffer (mode 1049),
///     the cursor hidden (mode 25), no autowrap (mode 7).
/// restore() (and the destructor) put back the termios saved by enter(),
/// autowrap, the cursor and the main screen; enter() again (after a
/// suspend) saves the termios anew and takes the screen back. Both are
/// idempotent and never throw; restore() makes only async-signal-safe calls.
class FullScreen {
 public:
  FullScreen(int keys_fd, int screen_fd);
  ~FullScreen();
  FullScreen(const FullScreen&) = delete;
  FullScreen& operator=(const FullScreen&) = delete;

  void enter() noexcept;
  void restore() noexcept;

 private:
  int keys_fd_ = -1, screen_fd_ = -1;
  bool termios_saved_ = false, screen_entered_ = false;
  struct termios saved_ {};
};

}  // namespace vigil::agent

#endif  // VIGIL_AGENT_CLI_TERMINAL_H_
