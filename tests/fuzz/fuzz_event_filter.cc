// libFuzzer target for the event filter grammar (vigil::agent::EventFilter,
// agent/events/event_filter.h): `vigil node events --filter`, SSE
// subscriptions and hook selection parse operator text with it.
//
// Input: the filter expression, as is. It is parsed, then matched against a
// few fixed events (a node event with labels and nested data, a heartbeat
// event with an array, an event with empty labels and data, one with a deep
// data document).
//
// What is checked, beyond the sanitizers (address, undefined behaviour):
//  - EventFilter::parse throws nothing but FilterError (an
//    std::invalid_argument), whose message starts "invalid filter '";
//  - a parsed filter keeps the text, and lists no empty kind or label key;
//  - matches() throws nothing and gives the same answer twice, through an
//    EventFilterSet of the one filter too;
//  - the parts agree with the whole: an event matches exactly when its kind
//    is listed (or none is), every label matches and every data condition
//    holds;
//  - re-parsing text() gives a filter that matches the same events.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent/events/event.h"
#include "agent/events/event_filter.h"
#include "agent/events/json_condition.h"

namespace {

using nlohmann::json;
using vigil::agent::Event;
using vigil::agent::EventFilter;
using vigil::agent::EventFilterSet;
using vigil::agent::FilterError;

[[noreturn]] void fail(const char* what, const std::string& detail = {}) {
  std::fprintf(stderr, "fuzz_event_filter: %s%s%s\n", what, detail.empty() ? "" : ": ",
               detail.c_str());
  std::abort();
}

void check(bool ok, const char* what, const std::string& detail = {}) {
  if (!ok) fail(what, detail);
}

// {"a": {"a": ... {"a": 1}}} nested `depth` levels, built without recursion.
json nested(int depth) {
  json v = 1;
  for (int i = 0; i < depth; ++i) v = json{{"a", std::move(v)}};
  return v;
}

std::vector<Event> fixed_events() {
  std::vector<Event> out;
  Event stale;
  stale.kind = "NodeStale";
  stale.id = 7;
  stale.at = "2026-11-22T14:26:00.123Z";
  stale.labels = {{"node", "n1"}, {"from", "peer"}, {"path", "svc1"}};
  stale.data = json::parse(R"({
    "node": {"n1": {"labels": {"rack": "r1", "zone": "z.1"}, "frozen": false, "gen": 42}},
    "peers": {"n2": {"state": "alive", "lag_ms": 12.5}, "n3": {"state": "stale"}},
    "instance_status": {"resources": {"fs#1": {"avail": "up"}}},
    "a": {"b.c": [1, 2], "x": 3, "s": "1"},
    "x": 5, "t": true, "n": null, "e": "", "big": 18446744073709551615, "neg": -9223372036854775808
  })");
  out.push_back(std::move(stale));

  Event hb;
  hb.kind = "HeartbeatStale";
  hb.id = 8;
  hb.labels = {{"node", "n2"}, {"hb", "lan"}};
  hb.data = json::parse(R"({"paths": [{"id": "lan", "state": "stale"}, {"id": "v6"}],
                            "list": [0, 1, 2, "3", [4], {"5": 5}]})");
  out.push_back(std::move(hb));

  Event empty;
  empty.kind = "NodeAlive";
  out.push_back(std::move(empty));

  Event deep;
  deep.kind = "DatasetUpdated";
  deep.labels = {{"node", "n1"}};
  deep.data = nested(2000);
  out.push_back(std::move(deep));
  return out;
}

bool matches_checked(const EventFilter& f, const Event& e) {
  try {
    return f.matches(e);
  } catch (const std::exception& ex) {
    fail("EventFilter::matches threw", ex.what());
  } catch (...) {
    fail("EventFilter::matches threw a non-std exception");
  }
}

// The same answer, from the parts the filter lists.
bool matches_by_parts(const EventFilter& f, const Event& e) {
  const auto& kinds = f.kinds();
  if (!kinds.empty() && std::find(kinds.begin(), kinds.end(), e.kind) == kinds.end()) return false;
  for (const auto& [key, value] : f.labels()) {
    const auto it = e.labels.find(key);
    if (it == e.labels.end() || it->second != value) return false;
  }
  for (const auto& c : f.conditions()) {
    if (!c.evaluate(e.data)) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  static const std::vector<Event> events = fixed_events();
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  std::optional<EventFilter> parsed;
  try {
    parsed = EventFilter::parse(text);
  } catch (const FilterError& e) {
    check(std::string_view(e.what()).starts_with("invalid filter '"),
          "FilterError message without the 'invalid filter' prefix", e.what());
    return 0;
  } catch (const std::invalid_argument& e) {
    // Allowed by the contract of the grammar's helpers; still a refusal.
    return 0;
  } catch (const std::exception& e) {
    fail("EventFilter::parse threw an exception other than FilterError", e.what());
  } catch (...) {
    fail("EventFilter::parse threw a non-std exception");
  }
  const EventFilter& f = *parsed;
  check(f.text() == text, "text() is not the expression given");
  for (const auto& k : f.kinds()) check(!k.empty(), "an empty kind was listed");
  for (const auto& [key, value] : f.labels()) {
    check(!key.empty(), "an empty label key was listed");
  }

  EventFilterSet set;
  set.add(f);
  std::optional<EventFilter> again;
  try {
    again = EventFilter::parse(f.text());
  } catch (const std::exception& e) {
    fail("re-parsing text() failed", e.what());
  }

  for (const Event& e : events) {
    const bool m = matches_checked(f, e);
    check(matches_checked(f, e) == m, "matches() is not deterministic", e.kind);
    bool by_set = false;
    try {
      by_set = set.matches(e);
    } catch (const std::exception& ex) {
      fail("EventFilterSet::matches threw", ex.what());
    }
    check(by_set == m, "a one-filter set disagrees with its filter", e.kind);
    check(matches_by_parts(f, e) == m, "matches() disagrees with its parts", e.kind);
    check(matches_checked(*again, e) == m, "the re-parsed filter disagrees", e.kind);
  }
  return 0;
}
