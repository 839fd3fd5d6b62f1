#include "agent/events/event_filter.h"

#include <string>

#include <gtest/gtest.h>

namespace vigil::agent {
namespace {

using nlohmann::json;

Event make(std::string kind, std::map<std::string, std::string> labels,
           json data = json::object()) {
  Event e;
  e.kind = std::move(kind);
  e.labels = std::move(labels);
  e.data = std::move(data);
  return e;
}

bool match(std::string_view expr, const Event& e) { return EventFilter::parse(expr).matches(e); }

const json kInstance = json::parse(R"({"instance_status": {
  "frozen_at": "0001-01-01T00:00:00Z", "avail": "up",
  "resources": {"fs#1": {"avail": "up"}, "ip#1": {"avail": "down"}}}})");
const Event kSvc1OnN1 =
    make("InstanceStatusUpdated", {{"path", "svc1"}, {"node", "n1"}}, kInstance);

TEST(EventFilter, Seed001ExampleFiltersAllParse) {
  for (const char* expr : {
           "path=svc1,node=n1",
           "InstanceStatusUpdated",
           "InstanceStatusUpdated,ObjectOrchestrationEnd",
           "InstanceStatusUpdated,path=svc1,ObjectOrchestrationEnd",
           "InstanceStatusUpdated,path=svc1,node=n1",
           "InstanceStatusUpdated,path=svc1,node=n1,.instance_status.frozen_at=\"0001-01-01T00:00:"
           "00Z\"",
           "InstanceStatusUpdated,path=svc1,node=n1,.instance_status.frozen_at>\"0001-01-01T00:00:"
           "00Z\"",
           "InstanceStatusUpdated,path=svc1,node=n1,.instance_status.avail=\"up\"",
           "InstanceStatusUpdated,path=svc1,node=n1,.instance_status.resources.\"fs#1\".avail="
           "\"up\"",
       }) {
    EXPECT_NO_THROW(EventFilter::parse(expr)) << expr;
  }
}

TEST(EventFilter, Seed001ExampleFiltersBehave) {
  EXPECT_TRUE(match("path=svc1,node=n1", kSvc1OnN1));
  EXPECT_TRUE(match("InstanceStatusUpdated,path=svc1,node=n1", kSvc1OnN1));
  EXPECT_TRUE(match(
      "InstanceStatusUpdated,path=svc1,node=n1,.instance_status.frozen_at=\"0001-01-01T00:00:00Z\"",
      kSvc1OnN1));
  EXPECT_FALSE(match(
      "InstanceStatusUpdated,path=svc1,node=n1,.instance_status.frozen_at>\"0001-01-01T00:00:00Z\"",
      kSvc1OnN1));
  EXPECT_TRUE(
      match("InstanceStatusUpdated,path=svc1,node=n1,.instance_status.avail=\"up\"", kSvc1OnN1));
  EXPECT_TRUE(match(
      "InstanceStatusUpdated,path=svc1,node=n1,.instance_status.resources.\"fs#1\".avail=\"up\"",
      kSvc1OnN1));
  EXPECT_FALSE(match(
      "InstanceStatusUpdated,path=svc1,node=n1,.instance_status.resources.\"ip#1\".avail=\"up\"",
      kSvc1OnN1));
}

TEST(EventFilter, UnknownKindsAreRefused) {
  EXPECT_THROW(EventFilter::parse("NodeStal"), FilterError);
  EXPECT_THROW(EventFilter::parse("NodeStale,NoSuchEvent"), FilterError);
  EXPECT_NO_THROW(EventFilter::parse("NodeStale,ZoneRecordUpdated"));
}

TEST(EventFilter, KindsAreOred) {
  const auto f = EventFilter::parse("InstanceStatusUpdated,ObjectOrchestrationEnd");
  EXPECT_EQ(f.kinds(),
            (std::vector<std::string>{"InstanceStatusUpdated", "ObjectOrchestrationEnd"}));
  EXPECT_TRUE(f.matches(make("InstanceStatusUpdated", {})));
  EXPECT_TRUE(f.matches(make("ObjectOrchestrationEnd", {})));
  EXPECT_FALSE(f.matches(make("NodeStale", {})));
  // Decided before an event is built, from its kind alone.
  EXPECT_TRUE(f.may_match("ObjectOrchestrationEnd"));
  EXPECT_FALSE(f.may_match("NodeStale"));
}

TEST(EventFilter, NoKindListedMeansEveryKind) {
  const auto f = EventFilter::parse("node=n1");
  EXPECT_TRUE(f.kinds().empty());
  EXPECT_TRUE(f.matches(make("NodeStale", {{"node", "n1"}})));
  EXPECT_TRUE(f.matches(make("HeartbeatAlive", {{"node", "n1"}})));
  EXPECT_TRUE(f.may_match("HeartbeatAlive"));  // the labels decide, on the event
}

TEST(EventFilter, LabelsAreAndedAndMustBePresent) {
  const auto f = EventFilter::parse("InstanceStatusUpdated,path=svc1,node=n1");
  EXPECT_TRUE(f.matches(kSvc1OnN1));
  EXPECT_FALSE(f.matches(make("InstanceStatusUpdated", {{"path", "svc1"}, {"node", "n2"}})));
  EXPECT_FALSE(f.matches(make("InstanceStatusUpdated", {{"path", "svc2"}, {"node", "n1"}})));
  EXPECT_FALSE(f.matches(make("InstanceStatusUpdated", {{"path", "svc1"}})));
  EXPECT_TRUE(f.matches(
      make("InstanceStatusUpdated", {{"path", "svc1"}, {"node", "n1"}, {"from", "peer"}})));
}

TEST(EventFilter, DataAssertionsAreAndedAgainstData) {
  const auto f = EventFilter::parse("NodeStatsUpdated,.load>1,.load<4,.state=up");
  EXPECT_EQ(f.conditions().size(), 3u);
  EXPECT_TRUE(f.matches(make("NodeStatsUpdated", {}, {{"load", 2}, {"state", "up"}})));
  EXPECT_FALSE(f.matches(make("NodeStatsUpdated", {}, {{"load", 5}, {"state", "up"}})));
  EXPECT_FALSE(f.matches(make("NodeStatsUpdated", {}, {{"load", 2}, {"state", "down"}})));
  EXPECT_FALSE(f.matches(make("NodeStatsUpdated", {}, {{"state", "up"}})));
}

TEST(EventFilter, CommasInsideQuotesDoNotSplit) {
  const auto f = EventFilter::parse("NodeDataUpdated,.\"a,b\"=\"x,y\",tag=\"p,q\"");
  ASSERT_EQ(f.conditions().size(), 1u);
  ASSERT_EQ(f.labels().size(), 1u);
  EXPECT_EQ(f.labels()[0], (std::pair<std::string, std::string>{"tag", "p,q"}));
  EXPECT_TRUE(f.matches(make("NodeDataUpdated", {{"tag", "p,q"}}, {{"a,b", "x,y"}})));
  EXPECT_FALSE(f.matches(make("NodeDataUpdated", {{"tag", "p,q"}}, {{"a,b", "x"}})));
}

TEST(EventFilter, ElementsAreTrimmedAndTextIsKept) {
  const auto f = EventFilter::parse(" NodeStale , node=n2 ");
  EXPECT_EQ(f.text(), " NodeStale , node=n2 ");
  EXPECT_TRUE(f.matches(make("NodeStale", {{"node", "n2"}})));
}

TEST(EventFilter, MalformedFiltersThrowFilterErrorNamingTheExpression) {
  for (const char* bad :
       {"", " ", "NodeStale,", ",NodeStale", "NodeStale,,node=n1", "nodestale", "node!=n1",
        "node>n1", "node=", "=n1", "Node Stale", "NodeStale,.a==1", "NodeStale,.a>",
        "NodeStale,.a..b=1", "tag=\"unterminated", "NodeStale,.\"a=1"}) {
    try {
      EventFilter::parse(bad);
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const FilterError& e) {
      const std::string what = e.what();
      EXPECT_EQ(what.rfind(std::string("invalid filter '") + bad + "': ", 0), 0u) << what;
    }
  }
}

TEST(EventFilter, DataAssertionErrorNamesTheElement) {
  try {
    EventFilter::parse("NodeStale,.a==1");
    FAIL() << "accepted";
  } catch (const FilterError& e) {
    EXPECT_NE(std::string(e.what()).find("element '.a==1'"), std::string::npos) << e.what();
  }
}

TEST(EventFilter, ASharedValueIsSeenAtDataValue) {
  Event e = make("NodeDataUpdated", {{"node", "n2"}}, {{"node", "n2"}, {"gen", 4}});
  e.value = std::make_shared<const json>(json{{"labels", {{"rack", "r7"}}}, {"frozen", false}});
  EXPECT_TRUE(match("NodeDataUpdated,.value.labels.rack=r7", e));
  EXPECT_FALSE(match("NodeDataUpdated,.value.labels.rack=r8", e));
  EXPECT_TRUE(match(".value.labels.zone!=a", e));  // missing
  EXPECT_FALSE(match(".value.frozen", e));         // false is not truthy
  EXPECT_TRUE(match(".value", e));
  EXPECT_TRUE(match(".gen=4,.node=n2", e));  // the other members, in data
  EXPECT_FALSE(match(".value.labels.*=r8", e));
  EXPECT_TRUE(match(".value.labels.*=r7", e));
  // A wildcard over data's members sees the value among them.
  EXPECT_TRUE(match(".*.labels.rack!=r8", e));
  EXPECT_FALSE(match(".*.labels.rack!=r7", e));
  EXPECT_TRUE(match(".", e));
  // The shared value hides a "value" left in data.
  e.data["value"] = json{{"labels", {{"rack", "r8"}}}};
  EXPECT_TRUE(match(".value.labels.rack=r7", e));
  // Without it, data.value is read as any member.
  e.value = nullptr;
  EXPECT_TRUE(match(".value.labels.rack=r8", e));
}

TEST(EventFilterSet, EmptySetMatchesEverything) {
  EventFilterSet set;
  EXPECT_TRUE(set.empty());
  EXPECT_TRUE(set.matches(make("AnyKind", {})));
  EXPECT_TRUE(set.may_match("AnyKind"));
}

TEST(EventFilterSet, SeveralFiltersAreOred) {
  auto set = EventFilterSet::parse({"NodeStale,node=n2", "HeartbeatStale"});
  EXPECT_FALSE(set.empty());
  EXPECT_EQ(set.texts(), (std::vector<std::string>{"NodeStale,node=n2", "HeartbeatStale"}));
  EXPECT_TRUE(set.matches(make("NodeStale", {{"node", "n2"}})));
  EXPECT_TRUE(set.matches(make("HeartbeatStale", {{"node", "n3"}})));
  EXPECT_FALSE(set.matches(make("NodeStale", {{"node", "n3"}})));
  EXPECT_FALSE(set.matches(make("NodeAlive", {{"node", "n2"}})));
  EXPECT_TRUE(set.may_match("HeartbeatStale"));
  EXPECT_TRUE(set.may_match("NodeStale"));
  EXPECT_FALSE(set.may_match("NodeAlive"));
  EXPECT_THROW(EventFilterSet::parse({"NodeStale", "bad!"}), FilterError);
}

}  // namespace
}  // namespace vigil::agent
