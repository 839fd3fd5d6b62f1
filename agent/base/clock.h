// Wall-clock helpers of the daemon. Protocol code takes steady time as an
// argument (ARCHITECTURE.md, Threading); wall time is only for the datagram
// send timestamp (the skew check) and for timestamps people read.
#ifndef VIGIL_AGENT_BASE_CLOCK_H_
#define VIGIL_AGENT_BASE_CLOCK_H_

#include <chrono>
#include <cstdint>
#include <string>

namespace vigil::agent {

/// Milliseconds since the Unix epoch, from the system clock.
int64_t wall_ms();

/// Formats a wall-clock time as RFC 3339 UTC with milliseconds, truncating:
/// "2026-11-22T14:26:00.123Z".
std::string format_rfc3339(std::chrono::system_clock::time_point t);

/// format_rfc3339(std::chrono::system_clock::now()).
std::string now_rfc3339();

}  // namespace vigil::agent

#endif  // VIGIL_AGENT_BASE_CLOCK_H_
