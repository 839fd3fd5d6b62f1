#include "agent/cli/daemon_log.h"

#include <cstdlib>
#include <ctime>
#include <regex>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/ostream_sink.h>

namespace vigil::agent {
namespace {

TEST(DaemonLog, LinesHaveUtcTimeWithZNodeAndConfigLevelNames) {
  // A zone far from UTC, so that local time would show.
  ::setenv("TZ", "Asia/Kathmandu", 1);
  ::tzset();
  std::ostringstream out;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
  spdlog::logger logger("test", sink);
  logger.set_formatter(make_log_formatter("n1"));
  logger.set_level(spdlog::level::trace);
  logger.trace("t");
  logger.debug("d");
  logger.info("i");
  logger.warn("w");
  logger.error("e");
  logger.critical("c");
  const std::string text = out.str();
  const std::regex line(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z n1 (\w+) (\w)\n)");
  std::string levels;
  for (std::sregex_iterator it(text.begin(), text.end(), line), end; it != end; ++it)
    levels += (*it)[1].str() + "=" + (*it)[2].str() + " ";
  EXPECT_EQ(levels, "trace=t debug=d info=i warn=w error=e critical=c ") << text;
  // The date and hour are UTC's (a line written at a turn of the hour may
  // show the previous one).
  char now[32], before[32];
  const std::time_t t = std::time(nullptr), t0 = t - 5;
  std::strftime(now, sizeof now, "%Y-%m-%dT%H", std::gmtime(&t));
  std::strftime(before, sizeof before, "%Y-%m-%dT%H", std::gmtime(&t0));
  const std::string hour = text.substr(0, 13);
  EXPECT_TRUE(hour == now || hour == before) << text << " vs UTC " << now;
  ::unsetenv("TZ");
  ::tzset();
}

TEST(DaemonLog, LevelNamesAreTheConfigValues) {
  // node.log_level accepts trace | debug | info | warn | error, and spdlog
  // reads each back to the level it names.
  for (const char* name : {"trace", "debug", "info", "warn", "error"})
    EXPECT_EQ(log_level_name(spdlog::level::from_str(name)), name);
}

}  // namespace
}  // namespace vigil::agent
