// The daemon API transport: HTTP/1.1 over a Unix stream socket (mode 0600),
// one request per connection (Connection: close), with Server-Sent Events
// (text/event-stream) for streams. Routing lives with the daemon; this file
// only moves bytes. Runs on the io_context thread that owns the daemon.
#ifndef VIGIL_AGENT_API_SERVER_H_
#define VIGIL_AGENT_API_SERVER_H_

#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <nlohmann/json_fwd.hpp>

namespace vigil::agent {

struct ApiRequest {
  std::string method;  // "GET", "POST"
  std::string target;  // path, e.g. "/v1/status"
  std::string body;    // at most kMaxBodyBytes
};

/// One request and the means to answer it, possibly later (long polls) or
/// as a stream of SSE events.
class ApiExchange : public std::enable_shared_from_this<ApiExchange> {
 public:
  using Socket = boost::asio::local::stream_protocol::socket;
  explicit ApiExchange(Socket socket);

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

 private:
  friend class ApiServer;
  void read_request(std::function<void(std::shared_ptr<ApiExchange>)> handler);
  void watch_peer();
  void write(std::string bytes);
  void write_next();
  void shutdown();

  Socket socket_;
  ApiRequest request_;
  std::deque<std::string> queue_;
  std::size_t queued_bytes_ = 0;
  bool writing_ = false, closing_ = false, closed_ = false, replied_ = false;
  std::function<void()> on_close_;
  char probe_ = 0;
};

class ApiServer {
 public:
  static constexpr std::size_t kMaxBodyBytes = 1 << 20;
  using Handler = std::function<void(std::shared_ptr<ApiExchange>)>;

  ApiServer(boost::asio::io_context& io, std::filesystem::path socket_path, Handler handler);
  ~ApiServer();

  /// Removes a stale socket file, binds, sets mode 0600, listens.
  /// Throws std::system_error (e.g. another daemon holds the socket).
  void start();
  /// Stops accepting and removes the socket file.
  void stop();

 private:
  void accept();
  boost::asio::io_context& io_;
  std::filesystem::path path_;
  Handler handler_;
  boost::asio::local::stream_protocol::acceptor acceptor_;
};

}  // namespace vigil::agent

#endif  // VIGIL_AGENT_API_SERVER_H_
