#include "agent/events/dataset_condition.h"

#include <string>

#include <gtest/gtest.h>

namespace vigil::agent {
namespace {

std::string refusal(const char* text) {
  try {
    parse_dataset_condition(text);
  } catch (const FilterError& e) {
    return e.what();
  }
  return "";
}

TEST(DatasetCondition, EventFiltersAreRefusedWithAHint) {
  for (const char* text :
       {"NodeStale", "NodeStale,node=n2", " NodeAlive ", "NodeDataUpdated.x=1"}) {
    const std::string why = refusal(text);
    EXPECT_NE(why.find("is an event kind"), std::string::npos) << text << ": " << why;
    EXPECT_NE(why.find("node events --filter"), std::string::npos) << text;
  }
}

TEST(DatasetCondition, PathsOutsideTheDatasetAreRefused) {
  for (const char* text : {".x=1", "x", ".", ".labels.rack=r7", ".nodes.n1.frozen=true"})
    EXPECT_NE(refusal(text).find("the dataset has .cluster, .node and .peers"), std::string::npos)
        << text;
}

TEST(DatasetCondition, DatasetConditionsParse) {
  for (const char* text : {".peers.*.state=alive", "peers.n1.hb.u1=alive", ".cluster.name=itest",
                           ".node.n1.labels.rack=r7", ".node.n3.frozen", ".peers.n2.gen>=3"})
    EXPECT_EQ(refusal(text), "") << text;
  EXPECT_NE(refusal(".peers..state=1").find("invalid filter"), std::string::npos);
}

}  // namespace
}  // namespace vigil::agent
