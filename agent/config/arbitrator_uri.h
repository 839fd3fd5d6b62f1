// Where an arbitrator is reached (DESIGN "Membership", split analysis): the
// `uri` of an [arbitrator.<name>] table.
//
//   tcp://HOST:PORT          reachable when a TCP connection is accepted
//   http://HOST:PORT/PATH    reachable when GET PATH is answered 2xx
//   http://HOST/PATH         port 80
//
// HOST is an IPv4 address, a bracketed IPv6 address ("[::1]") or a DNS name.
// PATH defaults to "/". No other scheme, no user info, no query checks.
#ifndef VIGIL_AGENT_CONFIG_ARBITRATOR_URI_H_
#define VIGIL_AGENT_CONFIG_ARBITRATOR_URI_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace vigil::agent {

struct ArbitratorUri {
  enum class Scheme { kTcp, kHttp };
  Scheme scheme = Scheme::kTcp;
  std::string host;          // without brackets: "127.0.0.1", "::1", "arb.example.com"
  uint16_t port = 0;         // 1-65535
  std::string target = "/";  // http only: the request target, starting with '/'
  /// The canonical text, e.g. "tcp://127.0.0.1:1234", "http://[::1]:80/health".
  std::string text() const;
};

/// Parses an arbitrator uri. Throws std::invalid_argument with a reason for
/// people, e.g. "unknown scheme 'udp' (tcp:// or http://)", "missing port",
/// "port out of range (1-65535)".
ArbitratorUri parse_arbitrator_uri(std::string_view uri);

}  // namespace vigil::agent

#endif  // VIGIL_AGENT_CONFIG_ARBITRATOR_URI_H_
