// The [api] table of the config: the TCP listener (TLS, JWT keys) and the
// limits of both listeners (config.h, ApiLimits). Internal to agent/config.
#ifndef VIGIL_AGENT_CONFIG_API_TABLE_H_
#define VIGIL_AGENT_CONFIG_API_TABLE_H_

#include <filesystem>

#include <toml++/toml.h>

#include "agent/config/config.h"
#include "agent/config/toml_reader.h"

namespace vigil::agent {

/// Reads `t` into `api`; relative tls_cert and tls_key paths are taken from
/// `base_dir`. Throws ConfigError (through `r`) naming the key: an unknown
/// key, a limit out of range, an HS256 key shorter than 32 bytes (RFC 7518
/// §3.2), equal admin and user keys, or listener keys without `listen`.
void read_api_table(const TomlReader& r, const toml::table& t,
                    const std::filesystem::path& base_dir, ApiConfig& api);

}  // namespace vigil::agent

#endif  // VIGIL_AGENT_CONFIG_API_TABLE_H_
