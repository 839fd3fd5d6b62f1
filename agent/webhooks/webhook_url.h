// The URL of a webhook receiver (`vigil webhook add URL`), parsed and checked
// where it enters: the CLI, the API and the replicated webhook set all go
// through parse_webhook_url(). The subset of RFC 3986 section 3 that an HTTP
// POST needs (RFC 9110 section 4.2):
//
//   http://HOST[:PORT][/PATH][?QUERY][#FRAGMENT]
//   https://HOST[:PORT][/PATH][?QUERY][#FRAGMENT]
//
// HOST is a DNS name, an IPv4 dotted quad or an IPv6 literal in brackets.
// The fragment is never sent (RFC 9110 section 7.1) and is dropped.
#ifndef VIGIL_AGENT_WEBHOOKS_WEBHOOK_URL_H_
#define VIGIL_AGENT_WEBHOOKS_WEBHOOK_URL_H_

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace vigil::agent {

/// The longest URL accepted, bytes.
inline constexpr std::size_t kMaxWebhookUrlBytes = 2048;

/// Why a URL was refused. what() is "webhook url: <reason>", for example
/// "webhook url: scheme must be http or https"; a part of the URL quoted in
/// it is cut at 64 characters ("'1.2.3.4.5' is not an IPv4 address").
class WebhookUrlError : public std::invalid_argument {
 public:
  explicit WebhookUrlError(const std::string& reason)
      : std::invalid_argument("webhook url: " + reason) {}
};

/// A parsed receiver URL.
struct WebhookUrl {
  /// The URL as given (fragment included): the webhook's name everywhere.
  std::string text;
  /// True for https.
  bool tls = false;
  /// "example.com" (lowercased), "192.0.2.1" or "::1" (no brackets).
  std::string host;
  /// True when `host` is an IPv4 or IPv6 address, not a name.
  bool host_is_ip = false;
  /// 1-65535; 80 for http and 443 for https when the URL names none.
  uint16_t port = 0;
  /// The request target (origin-form): "/" when the URL has no path, then
  /// the query if any: "/hooks/vigil?x=1".
  std::string target;

  /// The Host header (RFC 9110 section 7.2): "example.com", "[::1]:8080";
  /// the port only when it is not the scheme's default.
  std::string host_header() const;
  /// "example.com:443", "[::1]:8080": where errors say the request went.
  std::string authority() const;
};

/// Parses `text`. The scheme is http or https (any case); there is no
/// user-info ("user:pass@" is refused: use a bearer token or a secret);
/// the host is a name of letters, digits, '-' and '.' (labels of 1-63
/// characters, 253 at most), an IPv4 address (a name made only of digits
/// and dots must be one), or "[IPv6]" (without a zone: no '%'); the port
/// is 1-65535. Path, query
/// and fragment are printable ASCII without spaces (percent-encode the
/// rest). At most kMaxWebhookUrlBytes. Throws WebhookUrlError.
WebhookUrl parse_webhook_url(std::string_view text);

}  // namespace vigil::agent

#endif  // VIGIL_AGENT_WEBHOOKS_WEBHOOK_URL_H_
