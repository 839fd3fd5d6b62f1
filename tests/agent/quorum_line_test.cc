#include "agent/daemon/quorum_line.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace vigil::agent {
namespace {

using json = nlohmann::json;

TEST(QuorumLine, HeldLostAndNotEnforced) {
  json q = json::parse(R"({"enabled": true, "split_action": "reboot", "has_quorum": true,
                           "votes": {"total": 3, "present": 2, "needed": 2},
                           "arbitrators": {"a1": {"reachable": true, "error": null}}})");
  EXPECT_EQ(quorum_line(q),
            "quorum: held, 2 of 3 votes (needed 2); split action reboot; arbitrator a1 reachable");
  q["has_quorum"] = false;
  EXPECT_EQ(quorum_line(q).rfind("quorum: LOST, 2 of 3", 0), 0u);
  q["enabled"] = false;
  EXPECT_EQ(quorum_line(q).rfind("quorum: not enforced, 2 of 3", 0), 0u);
}

TEST(QuorumLine, NotAnObjectAndOddTypes) {
  EXPECT_EQ(quorum_line(json()), "");
  EXPECT_EQ(quorum_line(json::array()), "");
  json odd = json::parse(R"({"enabled": "yes", "split_action": 7, "votes": [],
                             "arbitrators": {"a": {"reachable": 1, "error": 2}}})");
  std::string line;
  ASSERT_NO_THROW(line = quorum_line(odd));
  EXPECT_EQ(line,
            "quorum: not enforced, - of - votes (needed -); split action ?; arbitrator a "
            "unreachable (2)");
}

}  // namespace
}  // namespace vigil::agent
