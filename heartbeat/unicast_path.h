// Unicast UDP heartbeat path: one socket bound to `listen`, every datagram
// sent to every configured peer address. Runs on the caller's io_context
// thread; not thread-safe.
#ifndef VIGIL_HEARTBEAT_UNICAST_PATH_H_
#define VIGIL_HEARTBEAT_UNICAST_PATH_H_

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "heartbeat/path.h"

namespace vigil::heartbeat {

class UnicastPath : public SocketPath {
 public:
  /// `listen`: the local address and port to bind (port 0 picks a free one).
  /// `peers`: node name -> address. Does not open the socket yet. The path
  /// must outlive any run of `io` that may still complete its receive.
  UnicastPath(boost::asio::io_context& io, std::string id, Endpoint listen,
              std::map<std::string, Endpoint> peers, Handler on_datagram);
  ~UnicastPath() override;

  // start() (SocketPath) opens a socket of the address family of `listen`,
  // with SO_REUSEADDR off so two agents cannot share a listen address, and
  // binds it. A failed bind, e.g. "bind 127.0.0.1:10001: Address already in
  // use" or "bind 127.0.0.9:10001: Cannot assign requested address" (the
  // address is not local), leaves the path down and retried.

  /// The bound address (with the actual port when `listen` had port 0).
  /// Throws boost::system::system_error when the path is not up.
  Endpoint local_endpoint() const;

  /// Sends every datagram to every peer with a synchronous send on the
  /// non-blocking socket (best effort: errors, including a full socket
  /// buffer or a path that is down, are counted and logged at most once per
  /// second, never thrown). EADDRNOTAVAIL, ENODEV or ENETDOWN take the path
  /// down. ENETUNREACH takes it down only when the bound address is no
  /// longer assigned to this host (Linux reports a vanished source address
  /// that way; checked by binding a probe socket to it); otherwise, like
  /// EHOSTUNREACH, it concerns one peer and is only counted.
  void send_all(const std::vector<std::vector<uint8_t>>& datagrams) override;
  /// Sends to one peer by node name; unknown names are ignored.
  void send_to(const std::string& peer, const std::vector<std::vector<uint8_t>>& datagrams);
  void send_to_peers(const std::vector<std::string>& peers,
                     const std::vector<std::vector<uint8_t>>& datagrams) override;

  /// Replaces the peer set (join, leave, config reload).
  void set_peers(std::map<std::string, Endpoint> peers) { peers_ = std::move(peers); }

  std::string_view type() const override { return "unicast"; }
  /// "listen 127.0.0.1:10001" (the bound port when `listen` had port 0 and
  /// the path is up).
  std::string describe() const override;
  std::map<std::string, Endpoint> peers() const override { return peers_; }

 protected:
  std::optional<std::string> open_socket() override;
  std::optional<std::string> fatal_send_error(const boost::system::error_code& ec,
                                              const Endpoint& to) const override;

 private:
  Endpoint listen_;
  std::map<std::string, Endpoint> peers_;
};

}  // namespace vigil::heartbeat

#endif  // VIGIL_HEARTBEAT_UNICAST_PATH_H_
