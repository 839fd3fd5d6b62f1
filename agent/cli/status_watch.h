// `vigil daemon status --watch`: the live terminal monitor, like OpenSVC's
// `om mon -w` (README, "Command line").
#ifndef VIGIL_AGENT_CLI_STATUS_WATCH_H_
#define VIGIL_AGENT_CLI_STATUS_WATCH_H_

#include "agent/cli/command.h"

namespace vigil::agent {

/// Runs the monitor until it is told to quit. Each frame is
/// compose_watch_frame() (watch_frame.h) over a fresh GET /v1/status and the
/// last 10 events of a /v1/events stream opened at the start. A frame is
/// drawn every second and after every event (at most one per 100 ms).
///
/// Output:
///   - stdout a terminal (and TERM not "dumb"): full screen. The alternate
///     screen, cursor hidden, each frame drawn over the last in place and
///     fitted to the terminal's size, read again at every frame and redrawn
///     at once on SIGWINCH. Colour unless NO_COLOR is set to a non-empty
///     value. Keys, when stdin is a terminal too: `q`, `Q` or Ctrl-C quit,
///     Ctrl-L repaints the whole screen.
///   - otherwise: frames printed one after another, each followed by an
///     empty line, with no escape sequence, no colour and no width limit;
///     a frame is printed only when it differs from the last one printed
///     (its title line, which holds the time, aside).
///
/// The daemon unreachable (stopped, restarting, socket gone, no answer
/// within 2 s): the frame says "daemon unreachable: <reason>; retrying every
/// second" in place of the table, keeps the events seen so far, and the
/// monitor goes on; the event stream is opened again each second and a
/// note in the event list says that events may be missing.
///
/// Returns 0 on `q`, Ctrl-C, SIGINT, SIGTERM, SIGHUP or SIGQUIT, and when
/// stdout is a pipe whose reader went away. ExitError 2 with --format json
/// or a config that does not load, before anything is drawn; 1 with the
/// reason on stderr when the monitor itself fails (stdout cannot be
/// written, no pipe or thread). The terminal (termios, cursor, autowrap,
/// main screen) is restored on every return, and before the reason is
/// printed.
int run_status_watch(const CliOptions& o);

}  // namespace vigil::agent

#endif  // VIGIL_AGENT_CLI_STATUS_WATCH_H_
