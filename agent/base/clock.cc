#include "agent/base/clock.h"

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
  const std::time_t tt = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(millis));
  return buf;
}

std::string now_rfc3339() { return format_rfc3339(std::chrono::system_clock::now()); }

}  // namespace vigil::agent
