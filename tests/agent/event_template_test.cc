#include "agent/cli/event_template.h"

#include <stdexcept>

#include <gtest/gtest.h>

namespace vigil::agent {
namespace {

using json = nlohmann::json;

json stale_event() {
  return json::parse(R"({"kind": "HeartbeatStale", "id": 7, "at": "2026-11-30T10:00:00.000Z",
      "labels": {"node": "n2", "from": "peer"},
      "data": {"hb": "hb#1.rx", "timeout_ms": 2000, "ratio": 0.5, "up": true,
               "paths": ["a", "b"], "none": null, "text": "<a & b>"}})");
}

TEST(EventTemplate, TheSeedsExampleRendersKindLabelAndData) {
  EventTemplate t("{{kind}} {{labels.node}} {{data.hb}}");
  EXPECT_EQ(t.render(stale_event()), "HeartbeatStale n2 hb#1.rx");
}

TEST(EventTemplate, NumbersPrintAsJsonAndTextIsNotEscaped) {
  EventTemplate t("{{id}} {{data.timeout_ms}} {{data.ratio}} {{data.text}} {{{data.text}}}");
  EXPECT_EQ(t.render(stale_event()), "7 2000 0.5 <a & b> <a & b>");
}

TEST(EventTemplate, MissingNamesAndNullPrintNothing) {
  EventTemplate t("[{{data.nope}}][{{none.at.all}}][{{data.none}}]");
  EXPECT_EQ(t.render(stale_event()), "[][][]");
}

TEST(EventTemplate, SectionsIterateArraysAndSwitchOnBooleans) {
  EventTemplate t(
      "{{#data.paths}}<{{.}}>{{/data.paths}}{{#data.up}} up{{/data.up}}"
      "{{^data.none}} no-none{{/data.none}}");
  EXPECT_EQ(t.render(stale_event()), "<a><b> up no-none");
}

TEST(EventTemplate, ABadTemplateIsRefusedWithTheReason) {
  for (const char* bad : {"{{kind", "{{#labels}}x", "{{#a}}x{{/b}}", "{{=<% %>"}) {
    try {
      EventTemplate t(bad);
      FAIL() << "accepted: " << bad;
    } catch (const std::invalid_argument& e) {
      EXPECT_EQ(std::string(e.what()).rfind("template: ", 0), 0u) << e.what();
      EXPECT_GT(std::string(e.what()).size(), std::string("template: ").size()) << bad;
    }
  }
}

}  // namespace
}  // namespace vigil::agent
