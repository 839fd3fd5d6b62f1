#include "agent/cli/webhook_command.h"

#include <chrono>
#include <iostream>

#include <nlohmann/json.hpp>

#include "agent/cli/queue_command.h"
#include "agent/cli/status_table.h"

namespace vigil::agent {

using json = nlohmann::json;

namespace {

// The daemon waits up to 10 s for the members to sync; the socket wait
// allows a margin.
constexpr std::chrono::seconds kWebhookTimeout{20};

json auth_of(const CliOptions& o) {
  if (int(o.bearer_token.has_value()) + int(o.webhook_secret.has_value()) + int(o.no_auth) > 1)
    throw ExitError(kExitUsage, "--bearer-token, --secret and --no-auth exclude each other");
  if (o.no_auth) return {{"auth", "none"}};
  if (o.bearer_token) return {{"auth", "bearer"}, {"credential", *o.bearer_token}};
  if (o.webhook_secret) return {{"auth", "jwt"}, {"credential", *o.webhook_secret}};
  return json::object();
}

json answer_of(const ApiClient::Response& res) {
  if (res.status == 404) {  // mod or del of an unknown URL: a refused change
    json body = json::parse(res.body, nullptr, false);
    throw ExitError(kExitUsage,
                    body.is_object() && body.contains("error") && body["error"].is_string()
                        ? body["error"].get<std::string>()
                        : "no such webhook");
  }
  if (res.status / 100 != 2) refused(res);
  json answer = json::parse(res.body, nullptr, false);
  if (!answer.is_object()) throw ExitError(kExitFailed, "the daemon's answer is not JSON");
  return answer;
}

}  // namespace

int cmd_webhook(const CliOptions& o, const std::string& action) {
  if (action == "list") {
    json answer = call(o, "GET", "/v1/webhooks");
    if (o.json())
      print_json(answer);
    else
      std::cout << render_webhook_list(answer);
    return kExitOk;
  }
  json body = auth_of(o);
  body["url"] = o.url;
  std::string target = "/v1/webhooks";
  if (action == "add" || action == "mod") {
    body["mode"] = action;
    if (action == "add" && !body.contains("auth")) body["auth"] = "none";
    if (action == "add" || !o.filters.empty()) body["filters"] = o.filters;
  } else if (action == "del") {
    body = {{"url", o.url}};
    target = "/v1/webhooks/delete";
  } else {
    target = "/v1/webhooks/test";
  }
  json answer;
  if (action == "test") {  // an operation of the daemon (seed 003)
    auto res = run_operation(o, target, body, kWebhookTimeout);
    if (!res) return kExitOk;  // --async
    answer = answer_of(*res);
  } else {
    answer = answer_of(call_raw(o, "POST", target, body, kWebhookTimeout));
  }
  if (o.json())
    print_json(answer);
  else if (action == "test")
    std::cout << render_webhook_test_table(answer);
  else
    std::cout << render_webhook_sync_table(answer);
  const json nodes = answer.value("nodes", json::array());
  for (const auto& n : nodes) {
    const bool up = n.value("state", "") == "alive";
    if (action == "test" ? !n.value("ok", false) : (up && !n.value("in_sync", false)))
      return kExitFailed;
  }
  return kExitOk;
}

}  // namespace vigil::agent
