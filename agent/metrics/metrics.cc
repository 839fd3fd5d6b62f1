#include "agent/metrics/metrics.h"

#include <map>
#include <sstream>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <nlohmann/json.hpp>

#include "agent/events/event.h"
#include "agent/metrics/process_metrics.h"
#include "agent/metrics/state_metrics.h"

namespace vigil::agent {

namespace {

// Kinds are a fixed vocabulary (seed 001) but arrive from peers too: past
// this many distinct values a label reads "other", so that a scrape stays
// bounded whatever arrives.
constexpr std::size_t kMaxKinds = 256;
constexpr std::size_t kMaxRoutes = 128;

// Hook durations: 10 ms to 5 min, as hook timeouts go.
const prometheus::Histogram::BucketBoundaries kHookBuckets = {0.01, 0.05, 0.1, 0.25, 0.5, 1,
                                                              2.5,  5,    10,  30,   60,  300};

std::string bounded(std::map<std::string, bool>& seen, const std::string& value, std::size_t max) {
  if (seen.count(value)) return value;
  if (seen.size() >= max) return "other";
  seen.emplace(value, true);
  return value;
}

std::string hook_result(const Event& e) {
  if (e.kind == "ExecSuccess") return "success";
  const auto& d = e.data;
  const auto error =
      d.contains("error") && d["error"].is_string() ? d["error"].get<std::string>() : std::string();
  if (error.rfind("timeout", 0) == 0) return "timeout";
  if (d.value("exit_code", 0) == -1 && !d.contains("pid")) return "not_started";
  return "failure";
}

}  // namespace

struct Metrics::Impl {
  explicit Impl(const std::string& version)
      : registry(std::make_shared<prometheus::Registry>()),
        events(prometheus::BuildCounter()
                   .Name("vigil_events_total")
                   .Help("Events published on this node's bus, by kind (seed 001)")
                   .Register(*registry)),
        hook_runs(prometheus::BuildCounter()
                      .Name("vigil_hook_runs_total")
                      .Help("Hook runs ended, by hook and result (success, failure, timeout, "
                            "not_started)")
                      .Register(*registry)),
        hook_duration(prometheus::BuildHistogram()
                          .Name("vigil_hook_duration_seconds")
                          .Help("Duration of hook runs, by hook")
                          .Register(*registry)),
        api_requests(prometheus::BuildCounter()
                         .Name("vigil_api_requests_total")
                         .Help("API answers, by route and HTTP status")
                         .Register(*registry)) {
    prometheus::BuildGauge()
        .Name("vigil_build_info")
        .Help("The agent's version; always 1")
        .Register(*registry)
        .Add({{"version", version}})
        .Set(1);
  }

  std::shared_ptr<prometheus::Registry> registry;
  prometheus::Family<prometheus::Counter>& events;
  prometheus::Family<prometheus::Counter>& hook_runs;
  prometheus::Family<prometheus::Histogram>& hook_duration;
  prometheus::Family<prometheus::Counter>& api_requests;
  std::map<std::string, bool> kinds, hooks, routes;
  // The counter of each event kind seen, found once: Family::Add hashes
  // and compares a label map on every call, and a busy node publishes an
  // event per applied delta.
  // Hashed, and looked up by string_view: a kind is counted per delta too.
  struct KindHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view kind) const {
      return std::hash<std::string_view>{}(kind);
    }
  };
  std::unordered_map<std::string, prometheus::Counter*, KindHash, std::equal_to<>> event_counters;
};

Metrics::Metrics(const std::string& version) : impl_(std::make_unique<Impl>(version)) {}
Metrics::~Metrics() = default;

void Metrics::count_event(std::string_view kind) {
  auto counter = impl_->event_counters.find(kind);
  if (counter == impl_->event_counters.end()) {
    const std::string k(kind);
    auto& c = impl_->events.Add({{"kind", bounded(impl_->kinds, k, kMaxKinds)}});
    if (impl_->event_counters.size() > kMaxKinds) {  // kinds past the bound count as one
      c.Increment();
      return;
    }
    counter = impl_->event_counters.emplace(k, &c).first;
  }
  counter->second->Increment();
}

void Metrics::hook_run(const Event& e) {
  if (e.kind != "ExecSuccess" && e.kind != "ExecFailed") return;
  auto it = e.labels.find("hook");
  if (it == e.labels.end()) return;
  const std::string hook = bounded(impl_->hooks, it->second, kMaxKinds);
  impl_->hook_runs.Add({{"hook", hook}, {"result", hook_result(e)}}).Increment();
  const auto& ms = e.data.contains("duration_ms") ? e.data["duration_ms"] : nlohmann::json();
  if (ms.is_number() && ms.get<double>() >= 0)
    impl_->hook_duration.Add({{"hook", hook}}, kHookBuckets).Observe(ms.get<double>() / 1000.0);
}

void Metrics::api_request(const std::string& route, int status) {
  impl_->api_requests
      .Add({{"route", bounded(impl_->routes, route, kMaxRoutes)},
            {"status", std::to_string(status)}})
      .Increment();
}

std::string Metrics::expose(const MetricsSnapshot& snapshot) const {
  std::vector<prometheus::MetricFamily> families = impl_->registry->Collect();
  for (auto& f : state_families(snapshot)) families.push_back(std::move(f));
  for (auto& f : process_families()) families.push_back(std::move(f));
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, families);
  return out.str();
}

}  // namespace vigil::agent
