#include "agent/cli/watch_frame.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "agent/cli/terminal.h"

namespace vigil::agent {
namespace {

using json = nlohmann::json;

json dataset() {
  return json::parse(R"({
    "cluster": {"name": "demo", "nodes": ["n1", "n2", "n3"],
                "quorum": {"enabled": true, "has_quorum": true, "split_action": "disabled",
                           "votes": {"present": 2, "total": 3, "needed": 2}}},
    "node": {"n1": {"labels": {}, "frozen": true}, "n2": {"labels": {}, "frozen": false},
             "n3": {"labels": {}, "frozen": false}},
    "peers": {"n1": {"state": "alive", "gen": 4, "hb": {}},
              "n2": {"state": "alive", "gen": 2, "hb": {"u1": "alive"}},
              "n3": {"state": "stale", "gen": 2, "hb": {"u1": "stale"}}}})");
}

std::vector<std::string> texts(const std::vector<FrameLine>& lines) {
  std::vector<std::string> out;
  for (const auto& l : lines) out.push_back(l.text);
  return out;
}

// The words a line's spans cover, in order.
std::vector<std::string> coloured(const FrameLine& line) {
  std::vector<std::string> out;
  for (const auto& s : line.spans) out.push_back(line.text.substr(s.begin, s.end - s.begin));
  return out;
}

TEST(WatchFrame, TitleTableThenEventsOldestFirst) {
  RecentEvents events;
  events.add_event({{"at", "2026-12-01T04:00:00.000Z"},
                    {"kind", "NodeAlive"},
                    {"labels", {{"node", "n3"}}},
                    {"data", json::object()}});
  events.add_event({{"at", "2026-12-01T04:00:05.000Z"},
                    {"kind", "NodeStale"},
                    {"labels", {{"node", "n3"}}},
                    {"data", json::object()}});
  WatchView view{"n1", "2026-12-01T04:00:06.000Z", true, dataset(), "", &events};
  const auto lines = texts(compose_watch_frame(view));
  ASSERT_GE(lines.size(), 12u);
  EXPECT_EQ(lines[0], "vigil daemon status --watch  n1  2026-12-01T04:00:06.000Z  (q: quit)");
  EXPECT_EQ(lines[1], "");
  EXPECT_EQ(lines[2], "cluster demo");
  EXPECT_EQ(lines[3].rfind("NODE", 0), 0u);
  EXPECT_EQ(lines[4].rfind("n1 (local)", 0), 0u);
  EXPECT_EQ(lines[7].rfind("quorum: held", 0), 0u);
  EXPECT_EQ(lines[8], "");
  EXPECT_EQ(lines[9], "EVENTS: the last 2 of 2 since the monitor started");
  EXPECT_EQ(lines[10], "2026-12-01T04:00:00.000Z NodeAlive node=n3 {}");
  EXPECT_EQ(lines[11], "2026-12-01T04:00:05.000Z NodeStale node=n3 {}");
}

TEST(WatchFrame, ColoursStatesQuorumAndEventKinds) {
  RecentEvents events;
  events.add_event({{"at", "t"}, {"kind", "NodeStale"}, {"labels", json::object()}});
  events.add_event({{"at", "t"}, {"kind", "NodeDataUpdated"}, {"labels", json::object()}});
  const auto lines = compose_watch_frame({"n1", "t", false, dataset(), "", &events});
  EXPECT_EQ(coloured(lines[0]), std::vector<std::string>{lines[0].text});        // bold title
  EXPECT_EQ(coloured(lines[4]), (std::vector<std::string>{"alive", "frozen"}));  // n1: n/a cell
  EXPECT_EQ(coloured(lines[5]), (std::vector<std::string>{"alive", "alive"}));
  EXPECT_EQ(coloured(lines[6]), (std::vector<std::string>{"stale", "stale"}));
  EXPECT_EQ(coloured(lines[7]), std::vector<std::string>{"held"});
  EXPECT_EQ(lines[7].spans[0].colour, Colour::kGreen);
  EXPECT_EQ(coloured(lines[10]), std::vector<std::string>{"NodeStale"});
  EXPECT_EQ(lines[10].spans[0].colour, Colour::kRed);
  EXPECT_TRUE(lines[11].spans.empty());
  EXPECT_EQ(line_text(lines[7], true), "quorum: \x1b[32mheld\x1b[0m" + lines[7].text.substr(12));
  EXPECT_EQ(line_text(lines[7], false), lines[7].text);
}

TEST(WatchFrame, KeepsTheLastTenEventsAndCountsThemAll) {
  RecentEvents events;
  for (int i = 0; i < 25; ++i)
    events.add_event({{"at", std::to_string(i)}, {"kind", "Log"}, {"labels", json::object()}});
  ASSERT_EQ(events.items().size(), RecentEvents::kMax);
  EXPECT_EQ(events.items().front().line.rfind("15 Log", 0), 0u);
  EXPECT_EQ(events.items().back().line.rfind("24 Log", 0), 0u);
  EXPECT_EQ(events.seen(), 25u);
}

TEST(WatchFrame, UnreachableDaemonInPlaceOfTheTableAndNotesOnce) {
  RecentEvents events;
  events.add_note("t1", "event stream closed by the daemon");
  events.add_note("t2", "event stream closed by the daemon");  // the same: not again
  const auto lines =
      texts(compose_watch_frame({"n1", "t", false, nullptr, "connection refused", &events}));
  ASSERT_EQ(lines.size(), 6u);
  EXPECT_EQ(lines[2], "daemon unreachable: connection refused; retrying every second");
  EXPECT_EQ(lines[4], "EVENTS: the last 1 of 1 since the monitor started");
  EXPECT_EQ(lines[5], "t1 -- event stream closed by the daemon");
}

TEST(WatchFrame, OddDatasetAndOddEventAreShownNotThrown) {
  RecentEvents events;
  events.add_event(json::parse(R"({"at": 12, "kind": ["x"]})"));
  events.add_event(json::array());
  auto lines = texts(compose_watch_frame({"n1", "t", false, json{{"peers", 3}}, "", &events}));
  EXPECT_EQ(lines[2].rfind("the daemon's status answer cannot be shown: ", 0), 0u) << lines[2];
  EXPECT_EQ(events.items().size(), 2u);
  EXPECT_EQ(events.items()[0].line, R"({"at":12,"kind":["x"]})");
}

TEST(WatchFrame, ControlCharactersNeverReachTheTerminal) {
  json ds = dataset();
  ds["node"]["n2"]["labels"]["evil"] =
      "\x1b[2J\xc2\x9b"
      "1m";
  const auto lines = compose_watch_frame({"n1", "t", false, ds, "", nullptr});
  for (const auto& l : lines) {
    EXPECT_EQ(l.text.find('\x1b'), std::string::npos) << l.text;
    EXPECT_EQ(l.text.find("\xc2\x9b"), std::string::npos) << l.text;
  }
  EXPECT_EQ(coloured(lines[5]), (std::vector<std::string>{"alive", "alive"}));  // still aligned
}

TEST(WatchFrame, FitCutsEachLineToTheWidthAndTheFrameToTheHeight) {
  const auto lines = compose_watch_frame({"n1", "t", true, dataset(), "", nullptr});
  const auto fitted = fit_frame(lines, 20, 5);
  ASSERT_EQ(fitted.size(), 5u);
  for (const auto& l : fitted) {
    EXPECT_LE(text_columns(l.text), 20u) << l.text;
    for (const auto& s : l.spans) EXPECT_LE(s.end, l.text.size());
  }
  const std::string more =
      "... " + std::to_string(lines.size() - 4) + " more lines: enlarge the terminal";
  EXPECT_EQ(fitted[4].text, more.substr(0, 20));
  // Code points, not bytes: "é" is one column, and never cut in half.
  const auto wide = fit_frame({{"\xc3\xa9\xc3\xa9\xc3\xa9", {{0, 6, Colour::kRed}}}}, 2, 1);
  EXPECT_EQ(wide[0].text, "\xc3\xa9\xc3\xa9");
  EXPECT_EQ(wide[0].spans[0].end, 4u);
}

TEST(Terminal, RedrawOverwritesInPlaceWithoutAFullClear) {
  const std::string out = redraw_in_place({"a", "bb"});
  EXPECT_EQ(out, "\x1b[Ha\x1b[K\r\nbb\x1b[K\x1b[J");
  EXPECT_EQ(out.find("\x1b[2J"), std::string::npos);
}

}  // namespace
}  // namespace vigil::agent
