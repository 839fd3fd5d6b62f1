// Unicast UDP heartbeat path: one socket bound to `listen`, datagrams sent to
// every configured peer address. Runs on the caller's io_context thread; not
// thread-safe.
#ifndef VIGIL_HEARTBEAT_UNICAST_PATH_H_
#define VIGIL_HEARTBEAT_UNICAST_PATH_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>

namespace vigil::heartbeat {

/// Traffic of one path since start: datagram counts and UDP payload bytes.
struct PathCounters {
  uint64_t sent_datagrams = 0, sent_bytes = 0;  // one per (datagram, peer) sent
  uint64_t received_datagrams = 0, received_bytes = 0;
  uint64_t send_errors = 0;     // sends that failed (incl. would-block, socket closed)
  uint64_t receive_errors = 0;  // receive completions with an error other than a close
};

class UnicastPath {
 public:
  using Endpoint = boost::asio::ip::udp::endpoint;
  /// Called on the io_context thread for every datagram received; the span
  /// is valid only during the call. The handler may call stop() but must not
  /// destroy the path.
  using Handler = std::function<void(const std::string& path_id, std::span<const uint8_t> datagram,
                                     const Endpoint& from)>;

  /// `peers`: node name -> address. Does not open the socket yet. The path
  /// must outlive any run of `io` that may still complete its receive.
  UnicastPath(boost::asio::io_context& io, std::string id, Endpoint listen,
              std::map<std::string, Endpoint> peers, Handler on_datagram);
  ~UnicastPath();

  /// Opens and binds the socket (SO_REUSEADDR off, non-blocking) and starts
  /// receiving into a 65536-byte buffer. Throws boost::system::system_error
  /// when the address cannot be bound (the socket is then left closed), and
  /// std::logic_error when already started.
  void start();
  /// Closes the socket; pending handlers complete with operation_aborted and
  /// no datagram is handed to the handler afterwards. Idempotent.
  void stop();
  bool running() const { return socket_.is_open(); }

  /// The bound address (with the actual port when `listen` had port 0).
  /// Throws boost::system::system_error when the path is not started.
  Endpoint local_endpoint() const;

  /// Sends every datagram to every peer with a synchronous send on the
  /// non-blocking socket (best effort: errors, including a full socket
  /// buffer or a stopped path, are counted and logged at most once per
  /// second, never thrown).
  void send_all(const std::vector<std::vector<uint8_t>>& datagrams);
  /// Sends to one peer by node name; unknown names are ignored.
  void send_to(const std::string& peer, const std::vector<std::vector<uint8_t>>& datagrams);

  /// Replaces the peer set (join, leave, config reload).
  void set_peers(std::map<std::string, Endpoint> peers) { peers_ = std::move(peers); }

  const std::string& id() const { return id_; }
  const PathCounters& counters() const { return counters_; }
  const std::map<std::string, Endpoint>& peers() const { return peers_; }

 private:
  void receive();
  void send(const Endpoint& to, const std::vector<std::vector<uint8_t>>& datagrams);
  void warn(const char* what, const Endpoint* to, const boost::system::error_code& ec);
  boost::asio::io_context& io_;
  std::string id_;
  Endpoint listen_;
  std::map<std::string, Endpoint> peers_;
  Handler on_datagram_;
  boost::asio::ip::udp::socket socket_;
  Endpoint from_;
  std::vector<uint8_t> buffer_;
  PathCounters counters_;
  // Receive completions hold a weak reference: once the path is gone they
  // return without touching it.
  std::shared_ptr<char> alive_ = std::make_shared<char>(0);
  std::chrono::steady_clock::time_point last_warning_{};
  uint64_t suppressed_warnings_ = 0;
};

}  // namespace vigil::heartbeat

#endif  // VIGIL_HEARTBEAT_UNICAST_PATH_H_
