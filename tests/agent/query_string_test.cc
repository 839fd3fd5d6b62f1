#include "agent/api/query_string.h"

#include <gtest/gtest.h>

namespace vigil::agent {
namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;

TEST(QueryString, NoQueryIsNoPairs) {
  EXPECT_TRUE(parse_query("/v1/events").empty());
  EXPECT_TRUE(parse_query("/v1/events?").empty());
  EXPECT_TRUE(parse_query("/v1/events?&&").empty());
}

TEST(QueryString, DecodesPercentEscapesAndPlus) {
  EXPECT_EQ(parse_query("/v1/events?filter=NodeStale%2Cnode%3Dn2&filter=a+b%20c"),
            (Pairs{{"filter", "NodeStale,node=n2"}, {"filter", "a b c"}}));
  // What encodeURIComponent makes of a data condition with quotes and '>'.
  EXPECT_EQ(parse_query("/x?filter=.gen%3E%3D3%2C.v%3D%22a%2Bb%22"),
            (Pairs{{"filter", ".gen>=3,.v=\"a+b\""}}));
  EXPECT_EQ(parse_query("/x?a&b=&=c&d=e=f"),
            (Pairs{{"a", ""}, {"b", ""}, {"", "c"}, {"d", "e=f"}}));
  EXPECT_EQ(parse_query("/x?%C3%A9t%C3%A9=1"), (Pairs{{"\xC3\xA9t\xC3\xA9", "1"}}));
  EXPECT_EQ(parse_query("/x?a=1#frag"), (Pairs{{"a", "1"}}));
}

TEST(QueryString, BadEscapesNulAndTooManyPairsAreRefused) {
  EXPECT_THROW(parse_query("/x?a=%"), QueryError);
  EXPECT_THROW(parse_query("/x?a=%4"), QueryError);
  EXPECT_THROW(parse_query("/x?a=%G1"), QueryError);
  EXPECT_THROW(parse_query("/x?a=%00"), QueryError);
  try {
    parse_query("/x?a=%zz");
    ADD_FAILURE() << "accepted";
  } catch (const QueryError& e) {
    EXPECT_STREQ(e.what(), "query: bad percent escape '%zz'");
  }
  std::string many = "/x?";
  for (int i = 0; i < 65; ++i) many += "a=1&";
  EXPECT_THROW(parse_query(many), QueryError);
  EXPECT_EQ(parse_query(many, 100).size(), 65u);
}

}  // namespace
}  // namespace vigil::agent
