// Client side of the daemon API (HTTP/1.1 over the Unix socket), used by the
// CLI. Synchronous to its caller; every call is bounded by a timeout or a
// deadline.
#ifndef VIGIL_AGENT_CLI_API_CLIENT_H_
#define VIGIL_AGENT_CLI_API_CLIENT_H_

#include <chrono>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace vigil::agent {

/// The daemon cannot be reached: no socket, connection refused, or it closed
/// the connection before answering.
class ApiUnavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Ends ApiClient::stream() from another thread: after request_stop(), the
/// stream running with this object (or the next one started with it)
/// returns kStopped at once. Thread-safe; stopping is final.
class StreamStop {
 public:
  void request_stop();
  bool stop_requested() const;

 private:
  friend class ApiClient;
  mutable std::mutex mutex_;
  bool stopped_ = false;
  std::function<void()> on_stop_;  // set while a stream runs with this object
};

class ApiClient {
 public:
  using Clock = std::chrono::steady_clock;

  explicit ApiClient(std::filesystem::path socket) : socket_(std::move(socket)) {}

  struct Response {
    int status = 0;    // HTTP status code
    std::string body;  // JSON text
    /// The headers request() received (Location, X-Pending...), in order.
    std::vector<std::pair<std::string, std::string>> headers;
    /// The value of header `name` (case-insensitive), "" when absent.
    std::string header(const std::string& name) const;
  };

  /// One request/response. `timeout` bounds the whole exchange; when it runs
  /// out throws ApiUnavailable("timeout ..."). Throws ApiUnavailable when the
  /// socket cannot be reached.
  Response request(const std::string& method, const std::string& target, const std::string& body,
                   std::chrono::milliseconds timeout);

  enum class StreamEnd { kStopped, kDeadline, kClosed };
  /// Opens an SSE stream (POST `target` with `body`) and calls `on_event`
  /// with each event's kind and data until it returns false (kStopped), the
  /// deadline passes (kDeadline), or the daemon closes the stream (kClosed).
  /// A non-200 answer returns its status and body via `error` and kClosed.
  /// `stop`, when given, ends the stream from another thread (kStopped).
  StreamEnd stream(
      const std::string& target, const std::string& body, std::optional<Clock::time_point> deadline,
      const std::function<bool(const std::string& kind, const std::string& data)>& on_event,
      std::optional<Response>& error, StreamStop* stop = nullptr);

 private:
  std::filesystem::path socket_;
};

}  // namespace vigil::agent

#endif  // VIGIL_AGENT_CLI_API_CLIENT_H_
