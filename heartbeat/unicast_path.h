// Unicast UDP heartbeat path: one socket bound to `listen`, datagrams sent to
// every configured peer address. Runs on the caller's io_context thread.
#ifndef VIGIL_HEARTBEAT_UNICAST_PATH_H_
#define VIGIL_HEARTBEAT_UNICAST_PATH_H_

#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>

namespace vigil::heartbeat {

struct PathCounters {
  uint64_t sent_datagrams = 0, sent_bytes = 0;
  uint64_t received_datagrams = 0, received_bytes = 0;
  uint64_t send_errors = 0;
};

class UnicastPath {
 public:
  using Endpoint = boost::asio::ip::udp::endpoint;
  /// Called on the io_context thread for every datagram received.
  using Handler = std::function<void(const std::string& path_id, std::span<const uint8_t> datagram,
                                     const Endpoint& from)>;

  /// `peers`: node name -> address. Does not open the socket yet.
  UnicastPath(boost::asio::io_context& io, std::string id, Endpoint listen,
              std::map<std::string, Endpoint> peers, Handler on_datagram);
  ~UnicastPath();

  /// Opens and binds the socket (SO_REUSEADDR off) and starts receiving.
  /// Throws boost::system::system_error when the address cannot be bound.
  void start();
  /// Closes the socket; pending handlers complete with operation_aborted.
  void stop();

  /// Sends every datagram to every peer (best effort: errors are counted and
  /// logged, never thrown).
  void send_all(const std::vector<std::vector<uint8_t>>& datagrams);
  /// Sends to one peer by node name; unknown names are ignored.
  void send_to(const std::string& peer, const std::vector<std::vector<uint8_t>>& datagrams);

  const std::string& id() const { return id_; }
  const PathCounters& counters() const { return counters_; }
  const std::map<std::string, Endpoint>& peers() const { return peers_; }

 private:
  void receive();
  boost::asio::io_context& io_;
  std::string id_;
  Endpoint listen_;
  std::map<std::string, Endpoint> peers_;
  Handler on_datagram_;
  boost::asio::ip::udp::socket socket_;
  Endpoint from_;
  std::vector<uint8_t> buffer_;
  PathCounters counters_;
};

}  // namespace vigil::heartbeat

#endif  // VIGIL_HEARTBEAT_UNICAST_PATH_H_
