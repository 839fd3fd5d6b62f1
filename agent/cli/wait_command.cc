#include "agent/cli/wait_command.h"

#include <algorithm>
#include <iostream>

#include "agent/events/dataset_condition.h"

namespace vigil::agent {

using json = nlohmann::json;

int cmd_node_wait(const CliOptions& o) {
  if (o.filters.empty()) throw ExitError(kExitUsage, "node wait needs a --filter");
  for (const auto& f : o.filters) {
    try {
      parse_dataset_condition(f);
    } catch (const std::exception& e) {
      throw ExitError(kExitUsage, e.what());
    }
  }
  // The daemon holds one wait for at most a day: a longer one, or one
  // without a duration, is a chain of waits. A zero duration checks once.
  using std::chrono::milliseconds;
  constexpr milliseconds kLongestWait = std::chrono::hours(24);
  const auto duration = duration_option(o);
  if (duration && duration->count() < 0) throw ExitError(kExitUsage, "--duration is negative");
  ApiClient client(load(o).api_socket());
  const auto start = ApiClient::Clock::now();
  for (;;) {
    const auto elapsed = std::chrono::duration_cast<milliseconds>(ApiClient::Clock::now() - start);
    const milliseconds chunk =
        duration ? std::clamp(*duration - elapsed, milliseconds(1), kLongestWait) : kLongestWait;
    const json body = {{"filters", o.filters}, {"duration_ms", chunk.count()}};
    ApiClient::Response res;
    try {
      res = client.request("POST", "/v1/wait", body.dump(), chunk + std::chrono::seconds(5));
    } catch (const ApiUnavailable& e) {
      throw ExitError(kExitUnreachable, e.what());
    }
    if (res.status == 200) {
      if (o.json()) print_json({{"ok", true}});
      return kExitOk;
    }
    if (res.status != 408) refused(res);
    if (duration && ApiClient::Clock::now() - start >= *duration) {
      const json answer = json::parse(res.body, nullptr, false);
      std::string failed;
      if (answer.is_object() && answer.contains("failed") && answer["failed"].is_string())
        failed = answer["failed"].get<std::string>();
      if (o.json()) print_json({{"ok", false}, {"error", "timeout"}, {"failed", failed}});
      std::cerr << "timeout" << (failed.empty() ? "" : ": " + failed) << std::endl;
      return kExitFailed;
    }
  }
}

}  // namespace vigil::agent
