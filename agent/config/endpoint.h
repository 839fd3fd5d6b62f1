// A UDP or TCP address as the config writes it: "a.b.c.d:port" or
// "[v6]:port", port 1-65535. Host names are not resolved.
#ifndef VIGIL_AGENT_CONFIG_ENDPOINT_H_
#define VIGIL_AGENT_CONFIG_ENDPOINT_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace vigil::agent {

/// An address: IPv4 dotted quad or IPv6 literal, and a port.
struct Endpoint {
  std::string host;  // "127.0.0.1" or "::1" (no brackets)
  uint16_t port = 0;
  /// "127.0.0.1:10001" or "[::1]:10001" (heartbeat/endpoint_text.h).
  std::string text() const;
  bool operator==(const Endpoint&) const = default;
};

/// Parses "a.b.c.d:port" or "[v6]:port" (port 1-65535; host names are not
/// resolved). Throws std::invalid_argument naming the reason.
Endpoint parse_endpoint(std::string_view text);

}  // namespace vigil::agent

#endif  // VIGIL_AGENT_CONFIG_ENDPOINT_H_
