#include "agent/events/event.h"
#include "agent/base/clock.h"

#include <regex>
#include <stdexcept>

#include <gtest/gtest.h>

namespace vigil::agent {
namespace {

using nlohmann::json;

TEST(EventJson, HasTheFiveKeysOfTheEventShape) {
  Event e;
  e.kind = "NodeStale";
  e.id = 7;
  e.at = "2026-11-22T14:26:00.123Z";
  e.labels = {{"node", "n2"}, {"from", "peer"}};
  e.data = {{"paths", json::array({"lan"})}};
  const json j = to_json(e);
  EXPECT_EQ(j, json::parse(R"({"kind":"NodeStale","id":7,"at":"2026-11-22T14:26:00.123Z",
                               "labels":{"node":"n2","from":"peer"},"data":{"paths":["lan"]}})"));
}

TEST(EventJson, ASharedValueIsWrittenAtDataValue) {
  Event e;
  e.kind = "NodeDataUpdated";
  e.data = {{"node", "n2"}, {"gen", 3}};
  e.value = std::make_shared<const json>(json{{"data", {{"x", 1}}}});
  const json j = to_json(e);
  EXPECT_EQ(j["data"], json::parse(R"({"node":"n2","gen":3,"value":{"data":{"x":1}}})"));
  EXPECT_FALSE(e.data.contains("value"));  // the event itself is unchanged
  // Read back, the value is a member of data like any other.
  EXPECT_EQ(event_from_json(j).data, j["data"]);
}

TEST(EventJson, RoundTripsThroughTextUnchanged) {
  Event e;
  e.kind = "ClientSubscribed";
  e.id = 18446744073709551615ull;
  e.at = "2026-01-02T03:04:05.006Z";
  e.labels = {{"node", "n1"}, {"subscriber", "cli:1234"}};
  e.data = {{"name", "cli:1234"}, {"filters", json::array({"NodeStale,node=n2"})}};
  const Event back = event_from_json(json::parse(to_json(e).dump()));
  EXPECT_EQ(back.kind, e.kind);
  EXPECT_EQ(back.id, e.id);
  EXPECT_EQ(back.at, e.at);
  EXPECT_EQ(back.labels, e.labels);
  EXPECT_EQ(back.data, e.data);
}

TEST(EventJson, OptionalKeysDefaultAndUnknownKeysAreIgnored) {
  const Event e = event_from_json(json{{"kind", "NodeAlive"}, {"node", "n1"}, {"data", nullptr}});
  EXPECT_EQ(e.kind, "NodeAlive");
  EXPECT_EQ(e.id, 0u);
  EXPECT_TRUE(e.at.empty());
  EXPECT_TRUE(e.labels.empty());
  EXPECT_EQ(e.data, json::object());
  EXPECT_EQ(event_from_json(json{{"kind", "X"}, {"id", 3}}).id, 3u);
}

TEST(EventJson, BadShapesThrowInvalidArgument) {
  for (const char* bad :
       {R"([])", R"({})", R"({"kind":""})", R"({"kind":1})", R"({"kind":"A","id":-1})",
        R"({"kind":"A","id":"1"})", R"({"kind":"A","at":1})", R"({"kind":"A","labels":[]})",
        R"({"kind":"A","labels":{"node":1}})", R"({"kind":"A","data":[1]})"}) {
    EXPECT_THROW(event_from_json(json::parse(bad)), std::invalid_argument) << bad;
  }
}

TEST(EventTime, FormatsRfc3339UtcWithMilliseconds) {
  using namespace std::chrono;
  const system_clock::time_point t{milliseconds(1'795'357'560'123)};
  EXPECT_EQ(format_rfc3339(t), "2026-11-22T14:26:00.123Z");
  EXPECT_EQ(format_rfc3339(system_clock::time_point{}), "1970-01-01T00:00:00.000Z");
  EXPECT_TRUE(
      std::regex_match(now_rfc3339(), std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")));
}

}  // namespace
}  // namespace vigil::agent
