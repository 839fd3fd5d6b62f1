// One webhook request: an HTTP/1.1 POST (RFC 9110 section 9.3.3, RFC 9112)
// over TCP or TLS, fully asynchronous on the daemon's io_context: resolve
// (getaddrinfo runs on Asio's resolver thread), connect, TLS handshake,
// write, read the status line and headers; one timer bounds them all. One
// connection per request ("Connection: close").
//
// TLS (https) is always verified, never turned off (seed 000's daemon turns
// verification off on an error; vigil does not): the chain against the CA
// store of the context (make_tls_client_context: the system store, or a
// `ca_file`), the certificate's names against the URL's host (RFC 6125: a
// DNS name, or an IP address SAN for an IP host), with SNI for a name
// (RFC 6066 section 3). TLS 1.2 or newer.
#ifndef VIGIL_AGENT_WEBHOOKS_WEBHOOK_SENDER_H_
#define VIGIL_AGENT_WEBHOOKS_WEBHOOK_SENDER_H_

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>

#include "agent/webhooks/webhook_url.h"

namespace vigil::agent {

/// What one request came to.
struct WebhookResult {
  /// True when the receiver answered 2xx.
  bool ok = false;
  /// The HTTP status when the receiver answered (any status), else 0.
  int status = 0;
  /// "" when ok; else one line for an operator, naming where it failed:
  ///   "resolve example.invalid: Host not found (authoritative)"
  ///   "connect 127.0.0.1:9: Connection refused"
  ///   "TLS: certificate verify failed: self-signed certificate (127.0.0.1:8443)"
  ///   "TLS handshake with 127.0.0.1:8443: ..."
  ///   "timeout after 5 s (waiting for the answer from 127.0.0.1:8080)"
  ///   "HTTP 500 Internal Server Error"
  ///   "bad answer from 127.0.0.1:8080: ..." (not HTTP, headers above 16 KiB)
  std::string error;
};

/// A request in flight.
class WebhookPost {
 public:
  virtual ~WebhookPost() = default;
  /// Abandons the request: the connection closes and `done` never runs.
  virtual void cancel() = 0;
};

/// POSTs `body` to `url` with the headers Host, Content-Type:
/// application/json, Content-Length, User-Agent: vigil/<version>,
/// Connection: close, then `headers` (name, value: printable ASCII, set by
/// the caller). `tls` is required for an https URL (nullptr: fails with
/// "TLS: no CA store"). `timeout` (ms, > 0) bounds the whole request; the
/// answer's body is not read. `done` runs once on `io`'s thread, never from
/// inside post_webhook(), unless cancel() came first; no exception escapes.
std::shared_ptr<WebhookPost> post_webhook(
    boost::asio::io_context& io, std::shared_ptr<boost::asio::ssl::context> tls,
    const WebhookUrl& url, const std::vector<std::pair<std::string, std::string>>& headers,
    std::string body, std::chrono::milliseconds timeout, std::function<void(WebhookResult)> done);

/// "5 s" for whole seconds, else "250 ms": how durations appear in errors.
std::string duration_text(std::chrono::milliseconds d);

}  // namespace vigil::agent

#endif  // VIGIL_AGENT_WEBHOOKS_WEBHOOK_SENDER_H_
