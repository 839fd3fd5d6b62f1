#include "agent/webhooks/webhook_url.h"

#include <algorithm>
#include <cctype>

#include <boost/asio/ip/address.hpp>

namespace vigil::agent {
namespace {

bool printable_no_space(char c) { return c > 0x20 && c < 0x7f; }

bool ascii_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/// Untrusted text quoted in an error: at most 64 characters, then "...".
std::string quoted(std::string_view text) {
  constexpr std::size_t kMax = 64;
  return "'" + std::string(text.substr(0, kMax)) + (text.size() > kMax ? "...'" : "'");
}

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool starts_with_nocase(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (lower(text[i]) != prefix[i]) return false;
  }
  return true;
}

/// The host part, checked: returns it lowercased, sets `is_ip`.
std::string parse_host(std::string_view host, bool& is_ip) {
  if (host.empty()) throw WebhookUrlError("host is missing");
  if (host.front() == '[') {
    if (host.back() != ']') throw WebhookUrlError("IPv6 address must end with ']'");
    const std::string inner(host.substr(1, host.size() - 2));
    // A zone ("fe80::1%25eth0", RFC 6874) names an interface of one host:
    // meaningless in a cluster-wide set, and resolved loosely by the parser.
    if (inner.find('%') != std::string::npos) {
      throw WebhookUrlError("IPv6 zone identifiers ('%') are not supported");
    }
    boost::system::error_code ec;
    const auto address = boost::asio::ip::make_address_v6(inner, ec);
    if (ec || inner.empty()) throw WebhookUrlError(quoted(inner) + " is not an IPv6 address");
    is_ip = true;
    return address.to_string();
  }
  if (host.size() > 253) throw WebhookUrlError("host name longer than 253 characters");
  std::string out;
  out.reserve(host.size());
  bool digits_and_dots = true;
  std::size_t label = 0;
  for (const char c : host) {
    if (c == '.') {
      if (label == 0) throw WebhookUrlError("host name has an empty label");
      label = 0;
    } else if (ascii_alnum(c) || c == '-') {
      if (++label > 63) throw WebhookUrlError("host name label longer than 63 characters");
    } else {
      throw WebhookUrlError("host name may hold only letters, digits, '-' and '.'");
    }
    if (!(c == '.' || (c >= '0' && c <= '9'))) digits_and_dots = false;
    out += lower(c);
  }
  if (label == 0 && out.size() > 1) {
    out.pop_back();  // one trailing dot: the root, "example.com."
  } else if (label == 0) {
    throw WebhookUrlError("host name has an empty label");
  }
  if (digits_and_dots) {
    boost::system::error_code ec;
    const auto address = boost::asio::ip::make_address_v4(out, ec);
    // inet_pton takes exactly four decimal parts: "1.2.3" or "010.0.0.1"
    // are refused rather than read the way a browser might.
    if (ec) throw WebhookUrlError(quoted(out) + " is not an IPv4 address");
    is_ip = true;
    return address.to_string();
  }
  return out;
}

uint16_t parse_port(std::string_view port) {
  if (port.empty()) throw WebhookUrlError("port is empty");
  if (port.size() > 5 ||
      !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    throw WebhookUrlError("port must be a number from 1 to 65535");
  }
  const int value = std::stoi(std::string(port));
  if (value < 1 || value > 65535) throw WebhookUrlError("port must be a number from 1 to 65535");
  return static_cast<uint16_t>(value);
}

}  // namespace

std::string WebhookUrl::host_header() const {
  const std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  const uint16_t default_port = tls ? 443 : 80;
  return port == default_port ? h : h + ":" + std::to_string(port);
}

std::string WebhookUrl::authority() const {
  const std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return h + ":" + std::to_string(port);
}

WebhookUrl parse_webhook_url(std::string_view text) {
  if (text.empty()) throw WebhookUrlError("empty");
  if (text.size() > kMaxWebhookUrlBytes) {
    throw WebhookUrlError("longer than " + std::to_string(kMaxWebhookUrlBytes) + " bytes");
  }
  if (!std::all_of(text.begin(), text.end(), printable_no_space)) {
    throw WebhookUrlError(
        "only printable ASCII without spaces is allowed (percent-encode the rest)");
  }
  WebhookUrl url;
  url.text = std::string(text);
  std::string_view rest;
  if (starts_with_nocase(text, "https://")) {
    url.tls = true;
    rest = text.substr(8);
  } else if (starts_with_nocase(text, "http://")) {
    rest = text.substr(7);
  } else {
    throw WebhookUrlError("scheme must be http or https");
  }

  // The authority ends at the first '/', '?' or '#' (RFC 3986 section 3.2).
  const std::size_t end = rest.find_first_of("/?#");
  const std::string_view authority = rest.substr(0, end);
  std::string_view tail = end == std::string_view::npos ? std::string_view() : rest.substr(end);
  if (authority.find('@') != std::string_view::npos) {
    throw WebhookUrlError(
        "user and password in the URL are not supported (use a bearer token or a secret)");
  }

  std::string_view host = authority;
  std::string_view port;
  bool has_port = false;
  if (!authority.empty() && authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) throw WebhookUrlError("IPv6 address must end with ']'");
    host = authority.substr(0, close + 1);
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') throw WebhookUrlError("unexpected text after the IPv6 address");
      port = after.substr(1);
      has_port = true;
    }
  } else if (const std::size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
    has_port = true;
  }
  url.host = parse_host(host, url.host_is_ip);
  url.port = has_port ? parse_port(port) : (url.tls ? 443 : 80);

  if (const std::size_t hash = tail.find('#'); hash != std::string_view::npos) {
    tail = tail.substr(0, hash);
  }
  url.target = tail.empty() || tail.front() != '/' ? "/" + std::string(tail) : std::string(tail);
  return url;
}

}  // namespace vigil::agent
