// Human-written durations used in the TOML config and on the command line:
// "500ms", "2s", "1.5s", "1m", "1h", and sequences such as "1m30s".
#ifndef VIGIL_AGENT_CONFIG_DURATION_H_
#define VIGIL_AGENT_CONFIG_DURATION_H_

#include <chrono>
#include <string>
#include <string_view>

namespace vigil::agent {

/// Parses a duration written as one or more `<number><unit>` terms with no
/// spaces, e.g. "500ms", "2s", "1.5s", "1m", "1h", "1m30s". The number is a
/// non-negative decimal (digits, optional fractional part); the unit is one of
/// `ms`, `s`, `m`, `h`. Terms are summed. The resolution is one millisecond.
///
/// Throws std::invalid_argument with the message
/// "invalid duration '<text>': expected a number followed by ms, s, m or h"
/// for an empty text, a bare number, a sign, spaces or another unit ("250us"),
/// and "invalid duration '<text>': <reason>" when the value is finer than a
/// millisecond ("0.5ms") or does not fit in std::chrono::milliseconds.
std::chrono::milliseconds parse_duration(std::string_view text);

/// Formats a duration in the form parse_duration() reads back exactly:
/// "0s", "250ms", "2s", "1.5s", "1m30s", "2h5m", "1h0.25s" (zero terms are
/// skipped). Below one second the unit is `ms`;
/// otherwise hours, minutes and seconds, with the milliseconds as a fraction
/// of the seconds term. A negative duration is prefixed with '-'.
std::string format_duration(std::chrono::milliseconds d);

}  // namespace vigil::agent

#endif  // VIGIL_AGENT_CONFIG_DURATION_H_
