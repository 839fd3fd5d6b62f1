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

json call(const CliOptions& o, const std::string& method, const std::string& target,
          const json& body) {
  ApiClient client(load(o).api_socket());
  ApiClient::Response res;
  try {
    res = client.request(method, target, body.is_null() ? "" : body.dump(), kRequestTimeout);
  } catch (const ApiUnavailable& e) {
    throw ExitError(kExitUnreachable, e.what());
  }
  if (res.status / 100 != 2) refused(res);
  return json::parse(res.body, nullptr, false);
}

void print_json(const json& doc) {
  std::cout << doc.dump(-1, ' ', false, json::error_handler_t::replace) << std::endl;
}

}  // namespace vigil::agent
