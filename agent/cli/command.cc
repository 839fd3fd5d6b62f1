#include "agent/cli/command.h"

#include <cstdlib>
#include <iostream>

#include "agent/config/duration.h"

namespace vigil::agent {

using json = nlohmann::json;

namespace {
constexpr std::chrono::milliseconds kRequestTimeout{10000};
}  // namespace

std::string default_config() {
  const char* env = std::getenv("VIGIL_CONFIG");
  return env ? std::string(env) : std::string();
}

Config load(const CliOptions& o) {
  if (o.config.empty())
    throw ExitError(kExitUsage, "no config: pass --config FILE or set VIGIL_CONFIG");
  try {
    return load_config(o.config);
  } catch (const ConfigError& e) {
    throw ExitError(kExitUsage, e.what());
  }
}

std::optional<std::chrono::milliseconds> duration_option(const CliOptions& o) {
  if (o.duration.empty()) return std::nullopt;
  try {
    return parse_duration(o.duration);
  } catch (const std::exception& e) {
    throw ExitError(kExitUsage, std::string("--duration: ") + e.what());
  }
}

void refused(const ApiClient::Response& res) {
  json answer = json::parse(res.body, nullptr, false);
  std::string why = answer.is_object() && answer.contains("error") && answer["error"].is_string()
                        ? answer["error"].get<std::string>()
                        : res.body;
  throw ExitError(res.status == 400 || res.status == 409 ? kExitUsage : kExitFailed, why);
}

ApiClient::Response call_raw(const CliOptions& o, const std::string& method,
                             const std::string& target, const json& body,
                             std::chrono::milliseconds timeout) {
  ApiClient client(load(o).api_socket());
  try {
    return client.request(method, target, body.is_null() ? "" : body.dump(), timeout);
  } catch (const ApiUnavailable& e) {
    throw ExitError(kExitUnreachable, e.what());
  }
}

std::chrono::milliseconds timeout_option(const CliOptions& o, std::chrono::milliseconds fallback) {
  if (o.timeout.empty()) return fallback;
  std::chrono::milliseconds t{};
  try {
    t = parse_duration(o.timeout);
  } catch (const std::exception& e) {
    throw ExitError(kExitUsage, "--timeout " + o.timeout + ": " + e.what());
  }
  if (t < std::chrono::milliseconds(100) || t > std::chrono::hours(1))
    throw ExitError(kExitUsage, "--timeout " + o.timeout + ": expected 100ms to 1h");
  return t;
}

json call(const CliOptions& o, const std::string& method, const std::string& target,
          const json& body) {
  auto res = call_raw(o, method, target, body, kRequestTimeout);
  if (res.status / 100 != 2) refused(res);
  return json::parse(res.body, nullptr, false);
}

void print_json(const json& doc) {
  std::cout << doc.dump(-1, ' ', false, json::error_handler_t::replace) << std::endl;
}

}  // namespace vigil::agent
