#include "agent/config/api_table.h"

#include <string>
#include <utility>

namespace vigil::agent {

namespace fs = std::filesystem;

namespace {

// HS256 keys of the API: at least the size of the SHA-256 output (RFC 7518
// section 3.2); agent/api/jwt.h kMinJwtKeyBytes, which check_jwt enforces too.
constexpr std::size_t kMinApiKeyBytes = 32;

void read_api_limits(const TomlReader& r, const toml::table& t, ApiLimits& l) {
  using std::chrono::milliseconds;
  constexpr int64_t kKiB = 1024, kMiB = 1024 * kKiB;
  constexpr int64_t kMaxCount = 65536;
  l.max_body_bytes =
      static_cast<std::size_t>(r.integer_at(t, "max_body_bytes", "api.max_body_bytes", kKiB,
                                            64 * kMiB, static_cast<int64_t>(l.max_body_bytes)));
  l.max_depth =
      static_cast<int>(r.integer_at(t, "max_depth", "api.max_depth", 8, 1024, l.max_depth));
  for (const auto& [name, field] :
       {std::pair{"max_connections_tcp", &l.max_connections_tcp},
        std::pair{"max_connections_unix", &l.max_connections_unix},
        std::pair{"max_waits", &l.max_waits}, std::pair{"max_subscribers", &l.max_subscribers}}) {
    *field = static_cast<std::size_t>(
        r.integer_at(t, name, join("api", name), 1, kMaxCount, static_cast<int64_t>(*field)));
  }
  r.bounded_duration_at(t, "request_timeout", "api.request_timeout", milliseconds(100),
                        std::chrono::minutes(10), l.request_timeout);
  r.bounded_duration_at(t, "max_token_lifetime", "api.max_token_lifetime", std::chrono::seconds(1),
                        std::chrono::hours(24), l.max_token_lifetime);
}

}  // namespace

void read_api_table(const TomlReader& r, const toml::table& t, const fs::path& base_dir,
                    ApiConfig& api) {
  r.check_keys(t, "api",
               {"listen", "tls_cert", "tls_key", "admin_key", "user_key", "max_body_bytes",
                "max_depth", "max_connections_tcp", "max_connections_unix", "max_waits",
                "max_subscribers", "request_timeout", "max_token_lifetime"});
  read_api_limits(r, t, api.limits);

  if (const toml::node* listen = t.get("listen")) api.listen = r.endpoint_at(*listen, "api.listen");
  auto cert = r.string_at(t, "tls_cert", "api.tls_cert", false);
  auto key = r.string_at(t, "tls_key", "api.tls_key", false);
  api.admin_key = r.string_at(t, "admin_key", "api.admin_key", false);
  api.user_key = r.string_at(t, "user_key", "api.user_key", false);
  // RFC 7518 section 3.2: an HS256 key is at least as long as the hash.
  for (const auto& [k, v] :
       {std::pair{"api.admin_key", &api.admin_key}, std::pair{"api.user_key", &api.user_key}}) {
    if (*v && (*v)->size() < kMinApiKeyBytes) {
      r.fail(k, "too short: " + std::to_string((*v)->size()) + " bytes, use at least " +
                    std::to_string(kMinApiKeyBytes) + " (RFC 7518 section 3.2)");
    }
  }
  if (api.admin_key && api.user_key && *api.admin_key == *api.user_key) {
    r.fail("api.user_key", "must differ from api.admin_key (a user could sign admin tokens)");
  }
  if (!api.listen) {
    // The limits also govern the Unix socket; the other keys configure the
    // TCP listener only.
    if (cert || key || api.admin_key || api.user_key)
      r.fail("api.listen",
             "required key missing (tls_cert, tls_key, admin_key and user_key configure the "
             "TCP listener)");
    return;
  }
  if (!cert) r.fail("api.tls_cert", "required key missing (the TCP listener always uses TLS)");
  if (!key) r.fail("api.tls_key", "required key missing (the TCP listener always uses TLS)");
  if (!api.admin_key && !api.user_key)
    r.fail("api.admin_key", "required key missing (set admin_key, user_key or both)");
  api.tls_cert = resolve(base_dir, *cert);
  api.tls_key = resolve(base_dir, *key);
}

}  // namespace vigil::agent
