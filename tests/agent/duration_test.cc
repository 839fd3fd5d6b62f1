#include "agent/config/duration.h"

#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

namespace vigil::agent {
namespace {

using std::chrono::milliseconds;

TEST(ParseDuration, ReadsEachUnit) {
  EXPECT_EQ(parse_duration("500ms"), milliseconds(500));
  EXPECT_EQ(parse_duration("2s"), milliseconds(2000));
  EXPECT_EQ(parse_duration("1m"), milliseconds(60'000));
  EXPECT_EQ(parse_duration("1h"), milliseconds(3'600'000));
  EXPECT_EQ(parse_duration("0s"), milliseconds(0));
}

TEST(ParseDuration, ReadsFractionsDownToTheMillisecond) {
  EXPECT_EQ(parse_duration("1.5s"), milliseconds(1500));
  EXPECT_EQ(parse_duration("0.25m"), milliseconds(15'000));
  EXPECT_EQ(parse_duration("1.001s"), milliseconds(1001));
}

TEST(ParseDuration, SumsSequencesOfTerms) {
  EXPECT_EQ(parse_duration("1m30s"), milliseconds(90'000));
  EXPECT_EQ(parse_duration("1h0.25s"), milliseconds(3'600'250));
  EXPECT_EQ(parse_duration("1s500ms"), milliseconds(1500));
}

TEST(ParseDuration, RejectsOtherUnitsBareNumbersAndJunkWithTheContractMessage) {
  for (const char* bad :
       {"250us", "10", "", "s", "1.s", ".s", "-1s", " 1s", "1s ", "1 s", "1d", "1sx", "1.5"}) {
    try {
      parse_duration(bad);
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const std::invalid_argument& e) {
      EXPECT_EQ(std::string(e.what()), std::string("invalid duration '") + bad +
                                           "': expected a number followed by ms, s, m or h");
    }
  }
}

TEST(ParseDuration, RejectsSubMillisecondPrecisionAndOverflow) {
  EXPECT_THROW(parse_duration("0.5ms"), std::invalid_argument);
  EXPECT_THROW(parse_duration("1.0001s"), std::invalid_argument);
  EXPECT_THROW(parse_duration("99999999999999999999h"), std::invalid_argument);
  EXPECT_THROW(parse_duration("9999999999999999h"), std::invalid_argument);
}

TEST(FormatDuration, WritesTheShortestReadableForm) {
  EXPECT_EQ(format_duration(milliseconds(0)), "0s");
  EXPECT_EQ(format_duration(milliseconds(500)), "500ms");
  EXPECT_EQ(format_duration(milliseconds(2000)), "2s");
  EXPECT_EQ(format_duration(milliseconds(1500)), "1.5s");
  EXPECT_EQ(format_duration(milliseconds(90'000)), "1m30s");
  EXPECT_EQ(format_duration(milliseconds(3'600'000)), "1h");
  EXPECT_EQ(format_duration(milliseconds(3'600'250)), "1h0.25s");
  EXPECT_EQ(format_duration(milliseconds(-500)), "-500ms");
}

TEST(FormatDuration, RoundTripsThroughParse) {
  for (int64_t ms : {1, 999, 1000, 1001, 59'999, 60'000, 61'500, 3'599'999, 7'384'005}) {
    EXPECT_EQ(parse_duration(format_duration(milliseconds(ms))), milliseconds(ms)) << ms;
  }
}

}  // namespace
}  // namespace vigil::agent
