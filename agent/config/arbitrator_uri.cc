#include "agent/config/arbitrator_uri.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>

#include "heartbeat/endpoint_text.h"

namespace vigil::agent {

namespace {

[[noreturn]] void fail(const std::string& reason) { throw std::invalid_argument(reason); }

bool is_digits(std::string_view s) {
  return !s.empty() &&
         std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

bool is_ipv4(const std::string& s) {
  in_addr addr;
  return inet_pton(AF_INET, s.c_str(), &addr) == 1;
}

bool is_ipv6(const std::string& s) {
  in6_addr addr;
  return inet_pton(AF_INET6, s.c_str(), &addr) == 1;
}

// RFC 1123 host name: dot-separated labels of 1-63 letters, digits and '-',
// not starting or ending with '-'; at most 253 characters.
bool is_dns_name(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = s.find('.', start);
    const std::string_view label =
        s.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-')
      return false;
    for (unsigned char c : label)
      if (!std::isalnum(c) && c != '-') return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

uint16_t parse_port(std::string_view s) {
  if (s.empty()) fail("empty port");
  if (!is_digits(s)) fail("port '" + std::string(s) + "' is not a number");
  // More than five digits cannot be in range, and must not overflow below.
  if (s.size() > 5) fail("port out of range (1-65535)");
  unsigned value = 0;
  for (char c : s) value = value * 10 + static_cast<unsigned>(c - '0');
  if (value < 1 || value > 65535) fail("port out of range (1-65535)");
  return static_cast<uint16_t>(value);
}

// Splits "HOST[:PORT]" (HOST possibly "[v6]") into `out.host` and `out.port`;
// returns whether a port was given.
bool parse_authority(std::string_view authority, ArbitratorUri& out) {
  if (authority.empty()) fail("missing host");
  if (authority.find('@') != std::string_view::npos) fail("user info ('@') not supported");
  std::string_view rest;
  if (authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) fail("missing ']' after IPv6 address");
    out.host = std::string(authority.substr(1, close - 1));
    if (out.host.empty()) fail("missing host");
    if (!is_ipv6(out.host)) fail("invalid IPv6 address '" + out.host + "'");
    rest = authority.substr(close + 1);
    if (!rest.empty() && rest.front() != ':')
      fail("unexpected '" + std::string(rest) + "' after ']'");
  } else {
    const std::size_t colon = authority.find(':');
    if (colon != std::string_view::npos && authority.find(':', colon + 1) != std::string_view::npos)
      fail("IPv6 address needs brackets, e.g. [::1]");
    out.host = std::string(authority.substr(0, colon));
    if (out.host.empty()) fail("missing host");
    const bool numeric = std::all_of(out.host.begin(), out.host.end(),
                                     [](unsigned char c) { return std::isdigit(c) || c == '.'; });
    if (numeric ? !is_ipv4(out.host) : !is_dns_name(out.host))
      fail("invalid host '" + out.host + "'");
    if (colon != std::string_view::npos) rest = authority.substr(colon);
  }
  if (rest.empty()) return false;
  out.port = parse_port(rest.substr(1));
  return true;
}

}  // namespace

std::string ArbitratorUri::text() const {
  std::string out = scheme == Scheme::kTcp ? "tcp://" : "http://";
  out += heartbeat::host_port(host, port);
  if (scheme == Scheme::kHttp) out += target;
  return out;
}

ArbitratorUri parse_arbitrator_uri(std::string_view uri) {
  if (uri.empty()) fail("empty uri");
  for (unsigned char c : uri)
    if (c <= 0x20 || c == 0x7f) fail("whitespace or control character");

  ArbitratorUri out;
  const std::size_t sep = uri.find("://");
  if (sep == std::string_view::npos) fail("missing scheme (tcp:// or http://)");
  std::string scheme(uri.substr(0, sep));
  std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  if (scheme == "tcp") {
    out.scheme = ArbitratorUri::Scheme::kTcp;
  } else if (scheme == "http") {
    out.scheme = ArbitratorUri::Scheme::kHttp;
  } else {
    fail("unknown scheme '" + std::string(uri.substr(0, sep)) + "' (tcp:// or http://)");
  }

  const std::string_view rest = uri.substr(sep + 3);
  const std::size_t path_start = rest.find_first_of("/?#");
  const bool has_port = parse_authority(rest.substr(0, path_start), out);
  const std::string_view path =
      path_start == std::string_view::npos ? std::string_view() : rest.substr(path_start);

  if (out.scheme == ArbitratorUri::Scheme::kTcp) {
    if (!has_port) fail("missing port (tcp://HOST:PORT)");
    if (!path.empty()) fail("tcp:// takes no path");
    return out;
  }
  if (!has_port) out.port = 80;
  if (path.find('?') != std::string_view::npos) fail("query not supported");
  if (path.find('#') != std::string_view::npos) fail("fragment not supported");
  out.target = path.empty() ? "/" : std::string(path);
  return out;
}

}  // namespace vigil::agent
