// The [http] table of the config: the read-only HTTP listener of the status
// page, /metrics, GET /v1/status, GET /v1/hb and the SSE /v1/events
// (agent/api/router.h, kReadOnlyListenerRoutes). Internal to agent/config.
#ifndef VIGIL_AGENT_CONFIG_HTTP_TABLE_H_
#define VIGIL_AGENT_CONFIG_HTTP_TABLE_H_

#include <filesystem>

#include <toml++/toml.h>

#include "agent/config/config.h"
#include "agent/config/toml_reader.h"

namespace vigil::agent {

/// Reads `t` into `http` (listen defaults to kDefaultHttpListen); relative
/// tls_cert and tls_key paths are taken from `base_dir`. `api` is the
/// [api] table read before, for the checks across both. Throws ConfigError
/// (through `r`) naming the key: an unknown key, a bad address, tls_cert,
/// tls_key and user_key not all three or none, a user_key shorter than 32
/// bytes or equal to api.admin_key, a non-loopback address without TLS, or
/// the address of api.listen.
void read_http_table(const TomlReader& r, const toml::table& t,
                     const std::filesystem::path& base_dir, const ApiConfig& api, HttpConfig& http);

/// True for an address of the loopback interface: 127.0.0.0/8, ::1, or
/// ::ffff:127.0.0.0/104.
bool is_loopback_host(const std::string& host);

}  // namespace vigil::agent

#endif  // VIGIL_AGENT_CONFIG_HTTP_TABLE_H_
