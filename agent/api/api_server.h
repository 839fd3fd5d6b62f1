// The daemon API transport: HTTP/1.1, one request per connection
// (Connection: close), with Server-Sent Events (text/event-stream) for
// streams, on up to three listeners:
//   - a Unix stream socket, mode 0600: local clients (the CLI), trusted;
//   - optionally a TCP socket with TLS, for remote clients, which send a
//     JWT (api/jwt.h) that the router checks;
//   - optionally the read-only HTTP listener ([http]): plain HTTP on
//     loopback, or TLS with a user JWT; its requests are marked
//     (ApiRequest::read_only_listener) and the router admits only its
//     allowlist (router.h, kReadOnlyListenerRoutes).
// Each request is read in two steps: the headers, which the `admit` callback
// may refuse at once (a bad token is refused before its body is read), then
// the body. Routing and authorization live in api/router.h; this file only
// moves bytes and enforces the limits of ApiLimits (config/config.h): body
// size, connections per listener, and the time to send a request. Runs on the
// io_context thread that owns the daemon.
#ifndef VIGIL_AGENT_API_API_SERVER_H_
#define VIGIL_AGENT_API_API_SERVER_H_

#include <chrono>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>

#include "agent/config/config.h"

namespace vigil::agent {

struct ApiRequest {
  std::string method;         // "GET", "POST"
  std::string target;         // path and query, e.g. "/v1/status"
  std::string body;           // at most ApiLimits::max_body_bytes
  std::string authorization;  // the Authorization header, "" when absent
  bool remote = false;        // came over TLS: authenticate it (the router)
  bool admitted = false;      // the listener's Admit passed its headers
  /// Came over the read-only [http] listener: the router admits only
  /// kReadOnlyListenerRoutes (router.h), whatever the route table holds.
  bool read_only_listener = false;
  /// The transport's word on the client: "uid 1000" on the Unix socket (the
  /// peer's SO_PEERCRED), the address "192.0.2.7:41234" over TCP; "" when
  /// unknown.
  std::string peer;
  /// The `iss` claim of the JWT that admitted a remote request ("admin",
  /// "user"), or "join" on a route that checks a join token itself; ""
  /// before it is checked, and on the Unix socket.
  std::string issuer;
  /// The path of `target`, without the query string.
  std::string path() const { return target.substr(0, target.find('?')); }
  /// Who asks, for the logs: "uid 1000", "iss admin from 192.0.2.7:41234",
  /// or "a join token from 192.0.2.7:41234".
  std::string caller() const {
    if (!remote) return peer.empty() ? std::string("unknown local client") : peer;
    if (issuer == "join") return "a join token from " + (peer.empty() ? std::string("?") : peer);
    return "iss " + (issuer.empty() ? std::string("?") : issuer) + " from " +
           (peer.empty() ? std::string("?") : peer);
  }
};

/// An answer given without running a handler: status, JSON body, headers.
struct ApiRefusal {
  int status = 400;
  nlohmann::json body;
  std::vector<std::pair<std::string, std::string>> headers;
};

/// One request and the means to answer it, possibly later (long polls) or
/// as a stream of SSE events. The transport (Unix socket, TLS) is a
/// subclass private to api_server.cc.
class ApiExchange : public std::enable_shared_from_this<ApiExchange> {
 public:
  using Clock = std::chrono::steady_clock;
  using Headers = std::vector<std::pair<std::string, std::string>>;
  virtual ~ApiExchange() = default;

  const ApiRequest& request() const { return request_; }

  /// Sends a complete JSON response (status: HTTP code) and closes. Only the
  /// first reply() or start_stream() of an exchange counts.
  void reply(int status, const nlohmann::json& body, const Headers& headers = {});
  /// Sends a complete response of another type ("text/plain; version=0.0.4"
  /// for metrics, "text/html; charset=utf-8" for a page) and closes; the same
  /// first-answer-counts rule as reply().
  void reply_text(int status, const std::string& content_type, std::string body,
                  const Headers& headers = {});
  /// Sends 200 with Content-Type text/event-stream; then use send_event().
  void start_stream();
  /// Queues one SSE event: "event: <kind>\ndata: <json>\n\n".
  void send_event(const std::string& kind, const std::string& json);
  /// Queues an SSE comment line (keeps idle streams open).
  void send_comment(const std::string& text);
  /// Bytes queued and not yet written (for back-pressure decisions).
  std::size_t queued_bytes() const { return queued_bytes_; }
  /// When a write last completed, or the exchange started: a client that
  /// reads nothing leaves this behind.
  Clock::time_point last_progress() const { return last_progress_; }
  /// Flushes what is queued, then closes.
  void close();
  bool closed() const { return closed_; }
  /// Called once when the client goes away or the exchange closes.
  void on_close(std::function<void()> fn) { on_close_ = std::move(fn); }
  /// Called once with the status of the first answer: reply(),
  /// reply_text(), or 200 for start_stream() (metrics count it).
  void on_reply(std::function<void(int status)> fn) { on_reply_ = std::move(fn); }
  /// Records the JWT issuer that admitted the request (ApiRequest::issuer).
  void set_issuer(std::string issuer) { request_.issuer = std::move(issuer); }

 protected:
  using Handler = std::function<void(std::shared_ptr<ApiExchange>)>;
  const std::string& queue_front() const { return queue_.front(); }
  /// Writes queue_.front() whole, then calls done(ec).
  virtual void write_front(std::function<void(boost::system::error_code)> done) = 0;
  /// Closes the connection at once.
  virtual void close_transport() = 0;
  /// The request was read: records it, watches for the peer going away,
  /// hands the exchange to `handler`.
  void received(ApiRequest request, const Handler& handler);
  /// Starts the one read that ends when the client closes its side.
  virtual void watch_peer() = 0;
  /// The client closed its sending side: closes the exchange when the
  /// client is gone for good, or when nothing is left to answer.
  void peer_finished(bool gone);
  void shutdown();

  ApiRequest request_;
  char probe_ = 0;

 private:
  void write(std::string bytes);
  void write_next();

  std::deque<std::string> queue_;
  std::size_t queued_bytes_ = 0;
  Clock::time_point last_progress_ = Clock::now();
  bool writing_ = false, closing_ = false, closed_ = false, replied_ = false, streaming_ = false;
  std::function<void()> on_close_;
  std::function<void(int)> on_reply_;
};

class ApiServer {
 public:
  using Handler = std::function<void(std::shared_ptr<ApiExchange>)>;
  /// Looks at a request whose headers are read and whose body is not:
  /// returns a refusal to answer at once, or nothing to go on; sets
  /// `issuer` to the JWT issuer it admitted a remote request with.
  using Admit =
      std::function<std::optional<ApiRefusal>(const ApiRequest& head, std::string& issuer)>;

  /// The TCP listener with TLS: address, and PEM certificate chain and
  /// private key files.
  struct TlsListener {
    boost::asio::ip::tcp::endpoint endpoint;
    std::filesystem::path cert, key;
  };

  ApiServer(boost::asio::io_context& io, std::filesystem::path socket_path, ApiLimits limits,
            Admit admit, Handler handler);
  ~ApiServer();

  /// Removes a stale socket file, binds, sets mode 0600, listens.
  /// Throws std::system_error (e.g. another daemon holds the socket).
  void start();
  /// Also listens on TCP with TLS (call after start()). Throws
  /// std::system_error when the address cannot be bound, or the certificate
  /// or key cannot be used ("API TLS certificate /etc/...: ..."); FileError
  /// (agent/base/file.h) when either is not a regular file of at most
  /// kMaxTlsFileBytes.
  void start_tls(const TlsListener& listener);
  /// The TCP listener's address (port 0 in the config: the one chosen).
  boost::asio::ip::tcp::endpoint tls_endpoint() const;

  /// The read-only HTTP listener: address, and PEM certificate chain and
  /// private key files, both empty for plain HTTP.
  struct HttpListener {
    boost::asio::ip::tcp::endpoint endpoint;
    std::filesystem::path cert, key;
  };
  /// Also listens on the read-only HTTP listener (call after start()): its
  /// requests carry ApiRequest::read_only_listener, and `remote` when over
  /// TLS. Connections are capped by ApiLimits::max_connections_tcp, counted
  /// apart from the TLS API's. Throws as start_tls() does ("HTTP listener
  /// 127.0.0.1:9464: Address already in use").
  void start_http(const HttpListener& listener);
  /// The read-only HTTP listener's address; unspecified before start_http().
  boost::asio::ip::tcp::endpoint http_endpoint() const;
  /// The SHA-256 fingerprint of the TLS certificate served (RFC 8705
  /// x5t#S256, tls_fingerprint.h); "" before start_tls().
  const std::string& tls_certificate_sha256() const { return tls_certificate_sha256_; }
  /// Stops accepting and removes the socket file.
  void stop();
  /// A config reload: the limits of the connections accepted from now on
  /// (an open connection keeps the ones it was accepted with). The
  /// connection caps count every open connection.
  void set_limits(const ApiLimits& limits) { limits_ = limits; }

 private:
  struct Tls;
  struct Http;
  void accept();
  void accept_tls();
  void accept_http();
  /// After an accept error (EMFILE, ENFILE, ENOBUFS...): logs it and retries
  /// after a growing delay, 50 ms up to 1 s, so the loop never spins.
  void accept_later(boost::asio::steady_timer& timer, std::chrono::milliseconds& backoff,
                    const boost::system::error_code& ec, const char* listener,
                    std::function<void()> retry);

  boost::asio::io_context& io_;
  std::filesystem::path path_;
  ApiLimits limits_;
  Admit admit_;
  Handler handler_;
  boost::asio::local::stream_protocol::acceptor acceptor_;
  std::unique_ptr<Tls> tls_;
  std::unique_ptr<Http> http_;
  std::string tls_certificate_sha256_;
  boost::asio::steady_timer unix_retry_, tls_retry_;
  std::chrono::milliseconds unix_backoff_{0}, tls_backoff_{0};
  // Shared with the exchanges, which count themselves out when they end.
  std::shared_ptr<std::size_t> unix_open_ = std::make_shared<std::size_t>(0);
  std::shared_ptr<std::size_t> tls_open_ = std::make_shared<std::size_t>(0);
  std::shared_ptr<std::size_t> http_open_ = std::make_shared<std::size_t>(0);
};

}  // namespace vigil::agent

#endif  // VIGIL_AGENT_API_API_SERVER_H_
