#include "agent/base/clock.h"

#include <cstdint>
#include <cstdio>
#include <ctime>

namespace vigil::agent {

int64_t wall_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::string format_rfc3339(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  const auto ms_since_epoch = floor<milliseconds>(t.time_since_epoch()).count();
  // floor division so times before 1970 keep a non-negative millisecond part.
  int64_t secs = ms_since_epoch / 1000;
  int64_t millis = ms_since_epoch % 1000;
  if (millis < 0) {
    millis += 1000;
    secs -= 1;
  }
  // The date and time up to the second change once a second: formatted
  // then, and kept (per thread) for the events of that second.
  thread_local int64_t cached_secs = INT64_MIN;
  thread_local char prefix[32];
  thread_local int prefix_len = 0;
  if (secs != cached_secs) {
    const std::time_t tt = static_cast<std::time_t>(secs);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    prefix_len =
        std::snprintf(prefix, sizeof prefix, "%04d-%02d-%02dT%02d:%02d:%02d.", tm.tm_year + 1900,
                      tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    cached_secs = secs;
  }
  std::string out(prefix, static_cast<std::size_t>(prefix_len));
  out += static_cast<char>('0' + millis / 100);
  out += static_cast<char>('0' + millis / 10 % 10);
  out += static_cast<char>('0' + millis % 10);
  out += 'Z';
  return out;
}

std::string now_rfc3339() { return format_rfc3339(std::chrono::system_clock::now()); }

}  // namespace vigil::agent
