// The daemon API transport: HTTP/1.1, one request per connection
// (Connection: close), with Server-Sent Events (text/event-stream) for
// streams, on two listeners:
//   - a Unix stream socket, mode 0600: local clients (the CLI), trusted;
//   - optionally a TCP socket with TLS, for remote clients, which send a
//     JWT (agent/jwt.h) that the daemon checks.
// Routing and authorization live with the daemon; this file only moves
// bytes. Runs on the io_context thread that owns the daemon.
#ifndef VIGIL_AGENT_API_SERVER_H_
#define VIGIL_AGENT_API_SERVER_H_

#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <nlohmann/json_fwd.hpp>

namespace vigil::agent {

struct ApiRequest {
  std::string method;         // "GET", "POST"
  std::string target;         // path, e.g. "/v1/status"
  std::string body;           // at most kMaxBodyBytes
  std::string authorization;  // the Authorization header, "" when absent
  bool remote = false;        // came over the TCP listener (authenticate it)
};

/// One request and the means to answer it, possibly later (long polls) or
/// as a stream of SSE events. The transport (Unix socket, TLS) is a
/// subclass private to api_server.cc.
class ApiExchange : public std::enable_shared_from_this<ApiExchange> {
 public:
  virtual ~ApiExchange() = default;

  const ApiRequest& request() const { return request_; }

  /// Sends a complete JSON response (status: HTTP code) and closes.
  void reply(int status, const nlohmann::json& body);
  /// Sends 200 with Content-Type text/event-stream; then use send_event().
  void start_stream();
  /// Queues one SSE event: "event: <kind>\ndata: <json>\n\n".
  void send_event(const std::string& kind, const std::string& json);
  /// Queues an SSE comment line (keeps idle streams open).
  void send_comment(const std::string& text);
  /// Bytes queued and not yet written (for back-pressure decisions).
  std::size_t queued_bytes() const { return queued_bytes_; }
  /// Flushes what is queued, then closes.
  void close();
  bool closed() const { return closed_; }
  /// Called once when the client goes away or the exchange closes.
  void on_close(std::function<void()> fn) { on_close_ = std::move(fn); }

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
  void shutdown();

  ApiRequest request_;
  char probe_ = 0;

 private:
  void write(std::string bytes);
  void write_next();

  std::deque<std::string> queue_;
  std::size_t queued_bytes_ = 0;
  bool writing_ = false, closing_ = false, closed_ = false, replied_ = false;
  std::function<void()> on_close_;
};

class ApiServer {
 public:
  static constexpr std::size_t kMaxBodyBytes = 1 << 20;
  using Handler = std::function<void(std::shared_ptr<ApiExchange>)>;

  /// The TCP listener with TLS: address, and PEM certificate chain and
  /// private key files.
  struct TlsListener {
    boost::asio::ip::tcp::endpoint endpoint;
    std::filesystem::path cert, key;
  };

  ApiServer(boost::asio::io_context& io, std::filesystem::path socket_path, Handler handler);
  ~ApiServer();

  /// Removes a stale socket file, binds, sets mode 0600, listens.
  /// Throws std::system_error (e.g. another daemon holds the socket).
  void start();
  /// Also listens on TCP with TLS (call after start()). Throws
  /// std::system_error when the address cannot be bound, or the certificate
  /// or key cannot be loaded ("API TLS certificate /etc/...: ...").
  void start_tls(const TlsListener& listener);
  /// The TCP listener's address (port 0 in the config: the one chosen).
  boost::asio::ip::tcp::endpoint tls_endpoint() const;
  /// Stops accepting and removes the socket file.
  void stop();

 private:
  struct Tls;
  void accept();
  void accept_tls();
  boost::asio::io_context& io_;
  std::filesystem::path path_;
  Handler handler_;
  boost::asio::local::stream_protocol::acceptor acceptor_;
  std::unique_ptr<Tls> tls_;
};

}  // namespace vigil::agent

#endif  // VIGIL_AGENT_API_SERVER_H_
