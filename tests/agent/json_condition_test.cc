#include "agent/events/json_condition.h"

#include <string>

#include <gtest/gtest.h>

namespace vigil::agent {
namespace {

using nlohmann::json;

bool eval(std::string_view cond, const json& root) {
  return JsonCondition::parse(cond).evaluate(root);
}

const json kDoc = json::parse(R"({
  "status": {"avail": "up", "count": 3, "ratio": 0.5, "frozen_at": "0001-01-01T00:00:00Z",
             "provisioned": true, "rev": "7", "nothing": null},
  "resources": {"fs#1": {"avail": "up"}, "ip.0": {"avail": "down"}},
  "nodes": {"n1": {"frozen": 1, "gen": 4}, "n2": {"frozen": 1, "gen": 9}},
  "list": [10, 20, 30],
  "empty_obj": {}, "empty_list": [], "zero": 0, "blank": "", "no": false
})");

TEST(JsonCondition, OperatorsThatDoNotExistAreRefused) {
  for (const char* text : {".a<>1", ".a=~1", ".a=<1", ".a!1", ".a>>1", ".a=>1"})
    EXPECT_THROW(JsonCondition::parse(text), FilterError) << text;
  EXPECT_NO_THROW(JsonCondition::parse(".a=\"~1\""));
  EXPECT_NO_THROW(JsonCondition::parse(".a>=1"));
  EXPECT_NO_THROW(JsonCondition::parse(".a != 1"));
}

TEST(JsonCondition, EqualsComparesJsonValues) {
  EXPECT_TRUE(eval(".status.avail=\"up\"", kDoc));
  EXPECT_TRUE(eval(".status.avail=up", kDoc));  // unparsable VALUE is a string
  EXPECT_FALSE(eval(".status.avail=down", kDoc));
  EXPECT_TRUE(eval(".status.count=3", kDoc));
  EXPECT_TRUE(eval(".status.count=3.0", kDoc));
  EXPECT_TRUE(eval(".status.provisioned=true", kDoc));
  EXPECT_TRUE(eval(".status.nothing=null", kDoc));
  EXPECT_TRUE(eval(".nodes.n1={\"frozen\":1,\"gen\":4}", kDoc));
  EXPECT_TRUE(eval(".list=[10,20,30]", kDoc));
}

TEST(JsonCondition, NotEqualsIsTheNegationOfEquals) {
  EXPECT_TRUE(eval(".status.avail!=down", kDoc));
  EXPECT_FALSE(eval(".status.avail!=up", kDoc));
  EXPECT_FALSE(eval(".status.count!=3", kDoc));
  EXPECT_TRUE(eval(".status.count!=\"x\"", kDoc));
}

TEST(JsonCondition, OrderingComparesNumbersNumerically) {
  EXPECT_TRUE(eval(".status.count>2", kDoc));
  EXPECT_FALSE(eval(".status.count>3", kDoc));
  EXPECT_TRUE(eval(".status.count>=3", kDoc));
  EXPECT_TRUE(eval(".status.count<10", kDoc));  // numeric, not "3" < "10" as text
  EXPECT_TRUE(eval(".status.count<=3", kDoc));
  EXPECT_FALSE(eval(".status.count<3", kDoc));
  EXPECT_TRUE(eval(".status.ratio<1", kDoc));
  EXPECT_TRUE(eval(".status.ratio>0.25", kDoc));
  EXPECT_TRUE(eval(".list.1>=20", kDoc));  // array index segment
}

TEST(JsonCondition, OrderingComparesStringsLexicographically) {
  EXPECT_TRUE(eval(".status.frozen_at=\"0001-01-01T00:00:00Z\"", kDoc));
  EXPECT_FALSE(eval(".status.frozen_at>\"0001-01-01T00:00:00Z\"", kDoc));
  EXPECT_TRUE(eval(".status.frozen_at<\"2026-01-01T00:00:00Z\"", kDoc));
  EXPECT_TRUE(eval(".status.avail>=up", kDoc));
  EXPECT_TRUE(eval(".status.avail<=uq", kDoc));
}

TEST(JsonCondition, MixedTypesNeverOrder) {
  EXPECT_FALSE(eval(".status.rev>1", kDoc));  // string vs number
  EXPECT_FALSE(eval(".status.rev<100", kDoc));
  EXPECT_FALSE(eval(".status.provisioned>0", kDoc));  // bool vs number
  EXPECT_FALSE(eval(".status.count>\"1\"", kDoc));
}

TEST(JsonCondition, StringEqualsNonStringValueByTextForm) {
  EXPECT_TRUE(eval(".status.rev=7", kDoc));  // "7" = 7
  EXPECT_FALSE(eval(".status.rev!=7", kDoc));
  EXPECT_FALSE(eval(".status.rev=8", kDoc));
  EXPECT_TRUE(eval(".s=true", json{{"s", "true"}}));
  EXPECT_TRUE(eval(".s=null", json{{"s", "null"}}));
  // A number compared with a quoted string stays a JSON comparison.
  EXPECT_FALSE(eval(".status.count=\"3\"", kDoc));
}

TEST(JsonCondition, QuotedSegmentsHoldDotsAndHashes) {
  EXPECT_TRUE(eval(".resources.\"fs#1\".avail=\"up\"", kDoc));
  EXPECT_TRUE(eval(".resources.\"ip.0\".avail=down", kDoc));
  EXPECT_FALSE(eval(".resources.ip.0.avail=down", kDoc));  // unquoted: two segments
  EXPECT_TRUE(eval(".\"odd \\\"key\\\"\"=1", json{{"odd \"key\"", 1}}));
}

TEST(JsonCondition, WildcardRequiresEveryMatchToPass) {
  EXPECT_TRUE(eval(".nodes.*.frozen=1", kDoc));
  EXPECT_FALSE(eval(".nodes.*.gen>5", kDoc));  // n1 has 4
  EXPECT_TRUE(eval(".nodes.*.gen>3", kDoc));
  EXPECT_TRUE(eval(".list.*>=10", kDoc));
  EXPECT_FALSE(eval(".list.*>10", kDoc));
  EXPECT_TRUE(eval(".resources.*.avail", kDoc));
  EXPECT_TRUE(JsonCondition::parse(".nodes.*.frozen").has_wildcard());
}

TEST(JsonCondition, WildcardWithZeroMatchesIsFalse) {
  EXPECT_FALSE(eval(".empty_obj.*=1", kDoc));
  EXPECT_FALSE(eval(".empty_list.*!=1", kDoc));
  EXPECT_FALSE(eval(".missing.*!=1", kDoc));
  EXPECT_FALSE(eval(".status.count.*!=1", kDoc));  // a scalar has no members
}

TEST(JsonCondition, MissingPathFailsEverythingButNotEquals) {
  EXPECT_FALSE(eval(".status.missing=1", kDoc));
  EXPECT_TRUE(eval(".status.missing!=1", kDoc));
  EXPECT_FALSE(eval(".status.missing>1", kDoc));
  EXPECT_FALSE(eval(".status.missing<1", kDoc));
  EXPECT_FALSE(eval(".status.missing>=1", kDoc));
  EXPECT_FALSE(eval(".status.missing<=1", kDoc));
  EXPECT_FALSE(eval(".status.missing", kDoc));
  EXPECT_FALSE(eval(".status.avail.deeper=1", kDoc));  // through a scalar
  EXPECT_TRUE(eval(".list.7!=1", kDoc));               // index out of range
  // With a wildcard, a member lacking the path counts as missing.
  const json partial = json::parse(R"({"n":{"a":{"x":1},"b":{}}})");
  EXPECT_FALSE(eval(".n.*.x=1", partial));
  EXPECT_TRUE(eval(".n.*.x!=2", partial));
}

TEST(JsonCondition, BarePathMeansExistsAndTruthy) {
  EXPECT_TRUE(eval(".status.provisioned", kDoc));
  EXPECT_TRUE(eval(".status.count", kDoc));
  EXPECT_TRUE(eval(".nodes", kDoc));
  EXPECT_FALSE(eval(".status.nothing", kDoc));
  EXPECT_FALSE(eval(".zero", kDoc));
  EXPECT_FALSE(eval(".blank", kDoc));
  EXPECT_FALSE(eval(".no", kDoc));
  EXPECT_FALSE(eval(".empty_obj", kDoc));
  EXPECT_FALSE(eval(".empty_list", kDoc));
  EXPECT_EQ(JsonCondition::parse(".x").op(), JsonCondition::Op::kTruthy);
}

TEST(JsonCondition, AcceptsSeed002PathsWithoutLeadingDot) {
  const json dataset = json::parse(R"({"monitor":{"nuc-cva":{"frozen":0}}})");
  EXPECT_TRUE(eval("monitor.nuc-cva.frozen=0", dataset));
  EXPECT_FALSE(eval("monitor.nuc-cva.frozen", dataset));  // 0 is not truthy: `node wait` times out
  const json frozen = json::parse(R"({"monitor":{"nuc-cva":{"frozen":1700000000}}})");
  EXPECT_TRUE(eval("monitor.nuc-cva.frozen", frozen));
}

TEST(JsonCondition, AllowsSpacesAroundTheOperatorAndKeepsTheText) {
  const auto c = JsonCondition::parse(" .status.count >= 3 ");
  EXPECT_TRUE(c.evaluate(kDoc));
  EXPECT_EQ(c.text, " .status.count >= 3 ");
  EXPECT_EQ(c.op(), JsonCondition::Op::kGe);
  EXPECT_EQ(c.value(), json(3));
  EXPECT_TRUE(eval(".status.avail = up", kDoc));
  EXPECT_TRUE(eval(".=1", json(1)));  // "." is the root
}

TEST(JsonCondition, BadExpressionsThrowFilterErrorNamingTheText) {
  for (const char* bad : {"", "   ", ".a..b", ".a.", ".a.\"b", ".a==1", ".a=", ".a >", ".a!1",
                          ".a b", "=1", ".a.\"b\"c=1", ".a ~ 1"}) {
    try {
      JsonCondition::parse(bad);
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const FilterError& e) {
      const std::string what = e.what();
      EXPECT_EQ(what.rfind(std::string("invalid filter '") + bad + "': ", 0), 0u) << what;
      EXPECT_FALSE(e.reason().empty());
    }
  }
}

TEST(JsonCondition, WhyNotNamesTheFirstFailingMatch) {
  const json ds = json::parse(R"({"peers": {"n1": {"state": "alive"}, "n2": {"state": "alive"},
                                            "n3": {"state": "stale"}},
                                  "node": {"n1": {"labels": {"rack": "r1"}, "count": 3}}})");
  EXPECT_EQ(JsonCondition::parse(".peers.*.state=alive").why_not(ds),
            R"(.peers.n3.state is "stale", wanted "alive")");
  EXPECT_EQ(JsonCondition::parse(".peers.*.state=alive").why_not(ds).value_or(""),
            JsonCondition::parse(".peers.n3.state=alive").why_not(ds).value_or("-"));
  EXPECT_EQ(JsonCondition::parse(".node.n1.labels.zone=z1").why_not(ds),
            R"(.node.n1.labels.zone is missing, wanted "z1")");
  EXPECT_EQ(JsonCondition::parse(".node.n1.count>5").why_not(ds),
            ".node.n1.count is 3, wanted > 5");
  EXPECT_EQ(JsonCondition::parse(".node.n1.count!=3").why_not(ds),
            ".node.n1.count is 3, wanted != 3");
  EXPECT_EQ(JsonCondition::parse(".node.n2").why_not(ds),
            ".node.n2 is missing, wanted a true value");
  EXPECT_EQ(JsonCondition::parse(".nodes.*.state=alive").why_not(ds),
            ".nodes.*.state matches nothing");
  EXPECT_EQ(JsonCondition::parse(R"(.node."a.b"=1)").why_not(ds),
            R"(.node."a.b" is missing, wanted 1)");
  EXPECT_EQ(JsonCondition::parse(".node.n1.labels.rack=r1").why_not(ds), std::nullopt);
  EXPECT_EQ(JsonCondition::parse(".peers.*.state!=gone").why_not(ds), std::nullopt);
}

TEST(JsonCondition, WhyNotAgreesWithEvaluate) {
  for (const char* text :
       {".status.avail=up", ".status.count>2", ".nodes.*.frozen=1", ".nodes.*.gen>5", ".list.*>=20",
        ".missing", ".status.nothing", ".empty_list.*=1", ".status.avail!=up"})
    EXPECT_EQ(JsonCondition::parse(text).evaluate(kDoc),
              !JsonCondition::parse(text).why_not(kDoc).has_value())
        << text;
  EXPECT_EQ(JsonCondition::parse(".list.*>=20").why_not(kDoc), ".list.0 is 10, wanted >= 20");
}

TEST(JsonCondition, WhyNotNamesADeepValueInsteadOfPrintingIt) {
  json deep = 1;
  for (int i = 0; i < 100000; ++i) deep = json::array({std::move(deep)});
  const json doc = {{"a", std::move(deep)}};
  EXPECT_EQ(JsonCondition::parse(".a=1").why_not(doc),
            ".a is an array of 1 nested deeper than 16 levels, wanted 1");
  EXPECT_EQ(JsonCondition::parse(".a.0=[[1]]").why_not(json{{"a", {{{1, 2}}}}}),
            ".a.0 is [[1,2]], wanted [[1]]");
  // A path segment that is not UTF-8 is printed with replacement characters.
  EXPECT_EQ(JsonCondition::parse(".x#\xff=1").why_not(json::object()),
            ".\"x#\xef\xbf\xbd\" is missing, wanted 1");
}

}  // namespace
}  // namespace vigil::agent
