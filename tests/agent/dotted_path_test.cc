#include "agent/events/dotted_path.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace vigil::agent {
namespace {

using Segments = std::vector<std::string>;

TEST(DottedPath, SplitsOnDotsWithOrWithoutLeadingDot) {
  EXPECT_EQ(split_dotted_path(".labels.rack"), (Segments{"labels", "rack"}));
  EXPECT_EQ(split_dotted_path("labels.rack"), (Segments{"labels", "rack"}));
  EXPECT_EQ(split_dotted_path("."), Segments{});
  EXPECT_EQ(split_dotted_path(""), Segments{});
}

TEST(DottedPath, QuotedSegmentsKeepDotsAndPunctuation) {
  EXPECT_EQ(split_dotted_path(R"(.resources."fs#1".avail)"),
            (Segments{"resources", "fs#1", "avail"}));
  EXPECT_EQ(split_dotted_path(R"(."a.b"."q\"x")"), (Segments{"a.b", "q\"x"}));
}

TEST(DottedPath, MalformedPathsThrowNamingThePath) {
  for (const char* bad : {".a..b", ".a.", R"(."open)", R"(."a"b)"}) {
    try {
      split_dotted_path(bad);
      ADD_FAILURE() << bad << " was accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(bad), std::string::npos) << e.what();
    }
  }
}

TEST(DottedPath, PointerEscapesPerRfc6901) {
  EXPECT_EQ(dotted_to_pointer(".labels.rack").to_string(), "/labels/rack");
  EXPECT_EQ(dotted_to_pointer(R"(.data."a/b~c")").to_string(), "/data/a~1b~0c");
  EXPECT_TRUE(dotted_to_pointer(".").empty());
}

}  // namespace
}  // namespace vigil::agent
