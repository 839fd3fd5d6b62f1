#include "agent/config/http_table.h"

#include <arpa/inet.h>

#include <string>

namespace vigil::agent {

namespace fs = std::filesystem;

namespace {

// The same bound as the [api] keys (api_table.cc): RFC 7518 section 3.2.
constexpr std::size_t kMinHttpKeyBytes = 32;

}  // namespace

bool is_loopback_host(const std::string& host) {
  in_addr a4{};
  if (inet_pton(AF_INET, host.c_str(), &a4) == 1) return (ntohl(a4.s_addr) >> 24) == 127;
  in6_addr a6{};
  if (inet_pton(AF_INET6, host.c_str(), &a6) != 1) return false;
  if (IN6_IS_ADDR_LOOPBACK(&a6)) return true;
  return IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127;
}

void read_http_table(const TomlReader& r, const toml::table& t, const fs::path& base_dir,
                     const ApiConfig& api, HttpConfig& http) {
  r.check_keys(t, "http", {"listen", "tls_cert", "tls_key", "user_key"});
  http.listen = parse_endpoint(kDefaultHttpListen);
  if (const toml::node* listen = t.get("listen"))
    http.listen = r.endpoint_at(*listen, "http.listen");
  const auto cert = r.string_at(t, "tls_cert", "http.tls_cert", false);
  const auto key = r.string_at(t, "tls_key", "http.tls_key", false);
  http.user_key = r.string_at(t, "user_key", "http.user_key", false);

  if (http.user_key && http.user_key->size() < kMinHttpKeyBytes)
    r.fail("http.user_key", "too short: " + std::to_string(http.user_key->size()) +
                                " bytes, use at least " + std::to_string(kMinHttpKeyBytes) +
                                " (RFC 7518 section 3.2)");
  if (http.user_key && api.admin_key && *http.user_key == *api.admin_key)
    r.fail("http.user_key", "must differ from api.admin_key (a user could sign admin tokens)");

  // TLS and the token go together: a token is only sent over TLS, and a TLS
  // listener, which may face a network, always asks for one.
  const bool tls = cert || key || http.user_key;
  if (tls) {
    const char* const missing = !cert            ? "http.tls_cert"
                                : !key           ? "http.tls_key"
                                : !http.user_key ? "http.user_key"
                                                 : nullptr;
    if (missing)
      r.fail(missing,
             "required key missing (http.tls_cert, http.tls_key and http.user_key go together: "
             "over TLS every request needs a user token)");
    http.tls_cert = resolve(base_dir, *cert);
    http.tls_key = resolve(base_dir, *key);
  } else if (!is_loopback_host(http.listen.host)) {
    r.fail("http.listen", "http.listen " + http.listen.text() +
                              ": a non-loopback address needs http.tls_cert, http.tls_key and "
                              "http.user_key");
  }
  if (api.listen && *api.listen == http.listen)
    r.fail("http.listen", "address already used by api.listen");
}

}  // namespace vigil::agent
