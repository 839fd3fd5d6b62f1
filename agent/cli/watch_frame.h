// One frame of `vigil daemon status --watch` (README, "Command line"), as
// text: the title, the status table of status_table.h (or why the daemon
// cannot be reached), and the last events under it. Pure functions: no
// terminal, no clock, no socket; status_watch.h draws what they return.
#ifndef VIGIL_AGENT_CLI_WATCH_FRAME_H_
#define VIGIL_AGENT_CLI_WATCH_FRAME_H_

#include <cstddef>
#include <deque>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace vigil::agent {

/// The colours a frame uses (SGR foreground colours, and bold).
enum class Colour { kGreen, kRed, kYellow, kBlue, kBold };

/// A coloured byte range [begin, end) of a line's text.
struct Span {
  std::size_t begin = 0, end = 0;
  Colour colour = Colour::kBold;
};

/// One line of a frame: plain text (UTF-8, no escape sequence, no newline)
/// and the ranges to colour when colour is on.
struct FrameLine {
  std::string text;
  std::vector<Span> spans;
};

/// One line of the event list: the kind ("" for a note of the monitor
/// itself, e.g. the event stream closed) and the line shown.
struct WatchEvent {
  std::string kind;
  std::string line;
};

/// The last events seen, oldest first, at most kMax of them.
class RecentEvents {
 public:
  static constexpr std::size_t kMax = 10;
  /// An event of the stream (its JSON, as `node events --format json`
  /// prints it), shown as `node events` shows it (render_event_line).
  void add_event(const nlohmann::json& event);
  /// A note of the monitor: "<at> -- <text>" (`at`: RFC 3339 time). A note
  /// equal to the last note is not added again.
  void add_note(const std::string& at, const std::string& text);
  const std::deque<WatchEvent>& items() const { return items_; }
  /// Events and notes added in all, shown or not.
  std::size_t seen() const { return seen_; }

 private:
  void push(WatchEvent e);
  std::deque<WatchEvent> items_;
  std::string last_note_;
  std::size_t seen_ = 0;
};

/// What one frame shows.
struct WatchView {
  std::string node;                      // this node's name (the config's node.name)
  std::string at;                        // the frame's time, RFC 3339 UTC
  bool keys = false;                     // keys are read: the title says "q: quit"
  nlohmann::json dataset;                // the GET /v1/status answer; null when none
  std::string unreachable;               // why there is no dataset ("" when there is one)
  const RecentEvents* events = nullptr;  // nullptr: no event list
};

/// The frame, top to bottom:
///   "vigil daemon status --watch  <node>  <at>  (q: quit)"   (bold)
///   ""
///   the status table of render_status_table(dataset, node), its STATE,
///   FROZEN and HB:* cells coloured (alive green, stale red, unknown
///   yellow, frozen blue) and the quorum's "held" green, "LOST" red; or
///   "daemon unreachable: <reason>; retrying every second" (red)
///   ""
///   "EVENTS (last 10 of <seen>)" or "EVENTS (none since the monitor started)"
///   the events, oldest first; the kind of a stale, error or split action
///   event red, of an alive, rejoin or success event green, a note yellow.
/// A dataset the table cannot show is reported in the place of the table.
std::vector<FrameLine> compose_watch_frame(const WatchView& view);

/// The frame fitted in `columns` x `rows` (each >= 1): each line cut to at
/// most `columns` code points (at a code point boundary, its spans
/// clipped); when the frame has more lines than `rows`, its first rows-1
/// lines and "... <n> more lines: enlarge the terminal" (cut too).
std::vector<FrameLine> fit_frame(std::vector<FrameLine> lines, std::size_t columns,
                                 std::size_t rows);

/// The line's text, with SGR sequences around its spans when `colour`
/// (each span closed by "\x1b[0m"); the text alone otherwise.
std::string line_text(const FrameLine& line, bool colour);

/// Code points in `text` (UTF-8; a stray byte counts as one), the width
/// this frame assumes for a line.
std::size_t text_columns(const std::string& text);

}  // namespace vigil::agent

#endif  // VIGIL_AGENT_CLI_WATCH_FRAME_H_
