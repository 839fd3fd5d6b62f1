// libFuzzer target for "PATH OP VALUE" conditions (vigil::agent::JsonCondition,
// agent/events/json_condition.h): `vigil node wait --filter` and the data
// elements of event filters parse operator text with it, and evaluate it on
// every dataset change.
//
// Input: the condition text, as is. It is parsed, then evaluated on a fixed
// cluster dataset, on documents nested 10000 levels deep (objects, arrays,
// and both mixed), and on scalars.
//
// What is checked, beyond the sanitizers (address, undefined behaviour):
//  - JsonCondition::parse throws nothing but FilterError (an
//    std::invalid_argument), whose message starts "invalid filter '";
//  - a parsed condition keeps the text; its value nests at most
//    kMaxValueDepth levels; a bare path has no value;
//  - evaluate() throws nothing and gives the same answer twice;
//  - a condition parsed again from its text evaluates the same;
//  - why_not() throws nothing and explains exactly when evaluate() is false.
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

#include "agent/base/bounded_json.h"
#include "agent/events/json_condition.h"

namespace {

using nlohmann::json;
using vigil::agent::FilterError;
using vigil::agent::JsonCondition;

[[noreturn]] void fail(const char* what, const std::string& detail = {}) {
  std::fprintf(stderr, "fuzz_json_condition: %s%s%s\n", what, detail.empty() ? "" : ": ",
               detail.c_str());
  std::abort();
}

void check(bool ok, const char* what, const std::string& detail = {}) {
  if (!ok) fail(what, detail);
}

constexpr int kDeep = 10000;

// Documents the conditions are evaluated on, built once, without recursion.
std::vector<json> documents() {
  std::vector<json> out;
  out.push_back(json::parse(R"({
    "cluster": {"name": "demo", "nodes": ["n1", "n2", "n3"],
                "quorum": {"votes": 3, "of": 3, "has_majority": true}},
    "node": {
      "n1": {"labels": {"rack": "r1", "zone": "z.1"}, "frozen": false, "gen": 42,
             "data": {"a": {"b.c": [1, 2], "x": 3.5, "s": "1", "u": "\u00e9\u0000"}}},
      "n2": {"labels": {"rack": "r7"}, "frozen": true, "gen": 18446744073709551615},
      "n3": {"labels": {}, "frozen": null, "gen": -9223372036854775808}
    },
    "peers": {"n2": {"state": "alive", "paths": {"lan": "alive", "v6": "stale"}},
              "n3": {"state": "stale", "paths": {"lan": "stale"}}},
    "resources": {"fs#1": {"avail": "up"}, "a.b": {"c": 0}, "": {"empty": ""}, "*": 1},
    "list": [0, 1, 2, "3", [4], {"5": 5}, null, true, 1e308, -0.0],
    "x": 5, "t": true, "f": false, "n": null, "e": "", "o": {}, "arr": []
  })"));
  json obj = 1, arr = 1, mixed = "leaf";
  for (int i = 0; i < kDeep; ++i) {
    obj = json{{"a", std::move(obj)}};
    arr = json::array({std::move(arr)});
    mixed = i % 2 == 0 ? json{{"0", std::move(mixed)}} : json::array({std::move(mixed)});
  }
  out.push_back(std::move(obj));
  out.push_back(std::move(arr));
  out.push_back(std::move(mixed));
  for (json scalar : {json(nullptr), json(true), json(0), json(-1), json(2.5), json("x")}) {
    out.push_back(std::move(scalar));
  }
  return out;
}

// The first document split as an event with a shared value is: each member
// in turn taken out of the rest (Event::value), plus a member it lacks.
struct Split {
  json rest;
  std::string key;
  json member;
};
std::vector<Split> splits(const json& doc) {
  std::vector<Split> out;
  for (const auto& [key, member] : doc.items()) {
    json rest = doc;
    rest.erase(key);
    out.push_back({std::move(rest), key, member});
  }
  out.push_back({doc, "value", doc["node"]});
  return out;
}

bool evaluate_checked(const JsonCondition& c, const json& doc) {
  try {
    return c.evaluate(doc);
  } catch (const std::exception& e) {
    fail("JsonCondition::evaluate threw", e.what());
  } catch (...) {
    fail("JsonCondition::evaluate threw a non-std exception");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  static const std::vector<json> docs = documents();
  static const std::vector<Split> split = splits(docs.front());
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  std::optional<JsonCondition> parsed;
  try {
    parsed = JsonCondition::parse(text);
  } catch (const FilterError& e) {
    check(std::string_view(e.what()).starts_with("invalid filter '"),
          "FilterError message without the 'invalid filter' prefix", e.what());
    return 0;
  } catch (const std::invalid_argument&) {
    return 0;  // allowed by the contract of the helpers; still a refusal
  } catch (const std::exception& e) {
    fail("JsonCondition::parse threw an exception other than FilterError", e.what());
  } catch (...) {
    fail("JsonCondition::parse threw a non-std exception");
  }
  const JsonCondition& c = *parsed;
  check(c.text == text, "text is not the condition given");
  check(vigil::agent::json_depth(c.value()) <= JsonCondition::kMaxValueDepth,
        "the value nests deeper than kMaxValueDepth");
  if (c.op() == JsonCondition::Op::kTruthy) {
    check(c.value().is_null(), "a bare path has a value");
  }

  std::optional<JsonCondition> again;
  try {
    again = JsonCondition::parse(c.text);
  } catch (const std::exception& e) {
    fail("re-parsing the text failed", e.what());
  }
  check(again->op() == c.op() && again->value() == c.value() &&
            again->has_wildcard() == c.has_wildcard(),
        "the re-parsed condition differs");

  for (const json& doc : docs) {
    const bool holds = evaluate_checked(c, doc);
    check(evaluate_checked(c, doc) == holds, "evaluate() is not deterministic");
    check(evaluate_checked(*again, doc) == holds, "the re-parsed condition evaluates otherwise");
    std::optional<std::string> why;
    try {
      why = c.why_not(doc);
    } catch (const std::exception& e) {
      fail("JsonCondition::why_not threw", e.what());
    }
    check(why.has_value() == !holds, "why_not() disagrees with evaluate()", why.value_or(""));
  }
  for (const Split& sp : split) {
    json whole = sp.rest;
    whole[sp.key] = sp.member;
    bool holds = false;
    try {
      holds = c.evaluate(sp.rest, sp.key, sp.member);
    } catch (const std::exception& e) {
      fail("JsonCondition::evaluate with a shared member threw", e.what());
    }
    check(holds == evaluate_checked(c, whole),
          "evaluate() with a shared member differs from evaluate() on the whole", sp.key);
  }
  return 0;
}
