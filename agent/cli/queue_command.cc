#include "agent/cli/queue_command.h"

#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <string_view>
#include <thread>

namespace vigil::agent {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::chrono::milliseconds kRequestTimeout{10000};
constexpr std::chrono::milliseconds kFirstPoll{200}, kLongestPoll{1000};
constexpr std::string_view kQueuePrefix = "/v1/queue/";

// The daemon's ids: 32 lowercase hex digits (api/operations.h).
bool valid_id(const std::string& id) {
  return id.size() == 32 && std::all_of(id.begin(), id.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

ApiClient::Response get(ApiClient& client, const std::string& target) {
  try {
    return client.request("GET", target, "", kRequestTimeout);
  } catch (const ApiUnavailable& e) {
    throw ExitError(kExitUnreachable, e.what());
  }
}

// j[key] when j is an object and it is a string, else `fallback`: the
// daemon's answers are read without trusting their shape.
std::string string_of(const json& j, const char* key, const std::string& fallback = "") {
  return j.is_object() && j.contains(key) && j[key].is_string() ? j[key].get<std::string>()
                                                                : fallback;
}

std::string error_of(const json& j, const std::string& fallback) {
  return string_of(j, "error", fallback);
}

// A Location the daemon gave: one of its own queue paths, nothing else.
std::string checked_location(const std::string& location) {
  if (location.rfind(kQueuePrefix, 0) != 0)
    throw ExitError(kExitFailed,
                    "the daemon answered an unexpected Location '" + location.substr(0, 200) + "'");
  return location;
}

// Follows `location` (a 202's) until the operation ends; its own answer.
ApiClient::Response follow(ApiClient& client, const std::string& location,
                           Clock::time_point deadline, std::chrono::milliseconds bound) {
  const bool tty = ::isatty(STDERR_FILENO) == 1;
  std::string shown;
  auto wait = kFirstPoll;
  const std::string id = location.substr(kQueuePrefix.size());
  for (;;) {
    ApiClient::Response res = get(client, location);
    json body = json::parse(res.body, nullptr, false);
    if (res.status == 200 && res.header("X-Pending") == "true") {
      const std::string progress = string_of(body, "op") + ": " + string_of(body, "progress");
      if (tty && progress != ": " && progress != shown) {
        std::cerr << "vigil: " << progress << std::endl;
        shown = progress;
      }
      if (Clock::now() + wait > deadline)
        throw ExitError(kExitFailed, "timeout: operation " + id + " still running after " +
                                         std::to_string(bound.count()) +
                                         "ms; see `vigil queue show " + id + "`");
      std::this_thread::sleep_for(wait);
      wait = std::min(kLongestPoll, wait + wait / 2);
      continue;
    }
    if (res.status == 303) return get(client, checked_location(res.header("Location")));
    if (res.status == 500 && body.is_object() && body.contains("status") &&
        body["status"].is_number_integer()) {
      // The operation failed: its own answer, as the synchronous route gave it.
      json result = body.value("result", json::object());
      if (!result.is_object() || !result.contains("error"))
        result = {{"error", error_of(body, "operation " + id + " failed")}};
      return {body["status"].get<int>(), result.dump(), {}};
    }
    if (res.status == 404)
      throw ExitError(kExitFailed, "operation " + id + " is gone: " + error_of(body, res.body));
    return res;  // a 500 of the daemon itself, or anything unexpected: as is
  }
}

std::string text_of(const json& j, const char* key) {
  if (!j.contains(key)) return "";
  const json& v = j[key];
  return v.is_string() ? v.get<std::string>()
                       : v.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace

std::optional<ApiClient::Response> run_operation(const CliOptions& o, const std::string& target,
                                                 const json& body,
                                                 std::chrono::milliseconds bound) {
  const auto deadline = Clock::now() + bound;
  ApiClient client(load(o).api_socket());
  ApiClient::Response res;
  try {
    res = client.request("POST", target, body.is_null() ? "" : body.dump(),
                         std::min(bound, kRequestTimeout));
  } catch (const ApiUnavailable& e) {
    throw ExitError(kExitUnreachable, e.what());
  }
  if (res.status != 202) return res;  // refused at once (400...), or a synchronous answer
  const std::string location = checked_location(res.header("Location"));
  if (o.async) {
    const std::string id = location.substr(kQueuePrefix.size());
    if (o.json())
      print_json({{"id", id}, {"location", location}});
    else
      std::cout << id << " " << location << std::endl;
    return std::nullopt;
  }
  return follow(client, location, deadline, bound);
}

int cmd_queue_show(const CliOptions& o) {
  const std::string& id = o.operation;
  if (!valid_id(id))
    throw ExitError(kExitUsage, "ID '" + id.substr(0, 64) +
                                    "': expected the 32 lowercase hex digits that an --async "
                                    "command printed");
  ApiClient client(load(o).api_socket());
  ApiClient::Response res = get(client, std::string(kQueuePrefix) + id);
  json record = json::parse(res.body, nullptr, false);
  if (res.status == 404) throw ExitError(kExitUsage, error_of(record, "no operation " + id));
  if ((res.status != 200 && res.status != 303 && res.status != 500) || !record.is_object() ||
      !record.contains("state"))
    refused(res);
  if (res.status == 303) {
    ApiClient::Response result = get(client, checked_location(res.header("Location")));
    record["result"] = json::parse(result.body, nullptr, false);
    if (record["result"].is_discarded()) record["result"] = result.body;
  }
  if (o.json()) {
    print_json(record);
  } else {
    const char* rows[][2] = {{"ID", "id"},
                             {"OP", "op"},
                             {"STATE", "state"},
                             {"STARTED", "started_at"},
                             {"ENDED", "ended_at"},
                             {"ELAPSED MS", "elapsed_ms"},
                             {"PROGRESS", "progress"},
                             {"STATUS", "status"},
                             {"ERROR", "error"},
                             {"RESULT", "result"}};
    for (const auto& [label, key] : rows) {
      const std::string text = text_of(record, key);
      if (!text.empty())
        std::cout << label << std::string(12 - std::string(label).size(), ' ') << text << "\n";
    }
  }
  return string_of(record, "state") == "failed" ? kExitFailed : kExitOk;
}

}  // namespace vigil::agent
