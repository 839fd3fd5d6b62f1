#include "agent/config/endpoint.h"

#include <arpa/inet.h>

#include <algorithm>
#include <stdexcept>

#include "heartbeat/endpoint_text.h"

namespace vigil::agent {

std::string Endpoint::text() const { return heartbeat::host_port(host, port); }

Endpoint parse_endpoint(std::string_view text) {
  auto fail = [&](const std::string& reason) {
    throw std::invalid_argument("invalid address '" + std::string(text) + "': " + reason);
  };
  Endpoint ep;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos) fail("missing ']' after the IPv6 address");
    ep.host = std::string(text.substr(1, close - 1));
    in6_addr a6{};
    if (inet_pton(AF_INET6, ep.host.c_str(), &a6) != 1) fail("not an IPv6 address in brackets");
    if (close + 1 >= text.size() || text[close + 1] != ':') fail("expected [v6]:port");
    port = text.substr(close + 2);
  } else {
    const std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) fail("expected host:port");
    ep.host = std::string(text.substr(0, colon));
    if (ep.host.find(':') != std::string::npos) fail("write an IPv6 address as [addr]:port");
    if (ep.host.empty()) fail("missing host");
    in_addr a4{};
    if (inet_pton(AF_INET, ep.host.c_str(), &a4) != 1) {
      fail("host must be an IPv4 address or a bracketed IPv6 address");
    }
    port = text.substr(colon + 1);
  }
  if (port.empty() || port.size() > 5 ||
      !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    fail("port must be a number from 1 to 65535");
  }
  const unsigned long value = std::stoul(std::string(port));
  if (value == 0 || value > 65535) fail("port must be a number from 1 to 65535");
  ep.port = static_cast<uint16_t>(value);
  return ep;
}

}  // namespace vigil::agent
