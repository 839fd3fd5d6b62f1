// A heartbeat path: one way datagrams travel between the cluster's agents
// (a unicast UDP socket, an IPv4 multicast group). The daemon drives every
// path through the Path interface, whatever its type.
//
// Lifecycle shared by the UDP drivers (SocketPath):
//
//   start() --open ok--> up --fatal send error / unusable socket--> down
//      |                  ^                                           |
//      +--open failed--> down --retry timer (backoff)--> open again --+
//
// A socket error never throws and never stops the daemon or the other paths:
// the path goes down, reports it once (state handler + one error log line),
// and reopens its socket after 1 s, 2 s, 4 s ... up to 30 s between attempts
// until it comes up again or stop() is called.
#ifndef VIGIL_HEARTBEAT_PATH_H_
#define VIGIL_HEARTBEAT_PATH_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/error_code.hpp>

#include "heartbeat/receive_moderation.h"

namespace vigil::heartbeat {

/// Traffic of one path since it was constructed: datagram counts and UDP
/// payload bytes.
struct PathCounters {
  uint64_t sent_datagrams = 0, sent_bytes = 0;  // one per (datagram, destination) sent
  uint64_t received_datagrams = 0, received_bytes = 0;
  uint64_t send_errors = 0;     // sends that failed (incl. would-block, path down)
  uint64_t receive_errors = 0;  // receive completions with an error other than a close
  uint64_t restarts = 0;        // attempts to reopen the socket after the path went down
  /// Datagrams the kernel dropped because the socket's receive buffer was
  /// full (the socket's SO_RXQ_OVFL count, summed over reopens). Seen when
  /// the next datagram is read.
  uint64_t kernel_drops = 0;
};

/// Delay before the first reopen attempt after a path goes down.
inline constexpr std::chrono::milliseconds kDefaultRetryInitial{1000};
/// Longest delay between two reopen attempts; the delay doubles up to it.
inline constexpr std::chrono::milliseconds kDefaultRetryMax{30000};

/// Exponential backoff of reopen attempts: `initial`, then twice the previous
/// delay, capped at `max` (both > 0, initial <= max). The delay starts again
/// from `initial` once the reopened path has sent or received a datagram.
struct RetryPolicy {
  std::chrono::milliseconds initial = kDefaultRetryInitial;
  std::chrono::milliseconds max = kDefaultRetryMax;
};

/// The delay after `previous`: min(2 * previous, policy.max).
std::chrono::milliseconds next_retry_delay(std::chrono::milliseconds previous,
                                           const RetryPolicy& policy);

/// The interface the daemon uses for every heartbeat path. Implementations run
/// on the caller's io_context thread and are not thread-safe.
class Path {
 public:
  using Endpoint = boost::asio::ip::udp::endpoint;
  /// Called on the io_context thread for every datagram received; the span
  /// is valid only during the call. The handler may call stop() but must not
  /// destroy the path. An empty handler ignores what is received.
  using Handler = std::function<void(const std::string& path_id, std::span<const uint8_t> datagram,
                                     const Endpoint& from)>;
  /// Up/down notifications. `up` false carries a human reason, e.g.
  /// "bind 127.0.0.9:10001: Cannot assign requested address"; `up` true an
  /// empty one. Called on every change of state, the outcome of start()'s
  /// first open included (failed reopen attempts of a path already down are
  /// not reported again), synchronously from start(), from the retry timer,
  /// from send_all() when a send error takes the path down, and from the
  /// receive loop. The handler may call stop() but must not destroy the path.
  using StateHandler =
      std::function<void(const std::string& path_id, bool up, const std::string& reason)>;

  virtual ~Path() = default;

  /// Opens the socket(s) and starts receiving. Never throws for socket
  /// errors: on failure the path is down, the state handler is called
  /// (up=false, reason), an error is logged once, and the open is retried
  /// with exponential backoff (kDefaultRetryInitial doubling to
  /// kDefaultRetryMax) until it succeeds (state handler up=true, "") or
  /// stop() is called. Throws std::logic_error when already started.
  virtual void start() = 0;
  /// Closes the socket(s) and cancels any pending retry; no datagram or state
  /// change is reported afterwards. Idempotent. start() may be called again.
  virtual void stop() = 0;
  /// True while the socket is open and receiving.
  virtual bool up() const = 0;

  /// Sends each datagram once to the path's destination(s): every peer for
  /// unicast, the group for multicast. Never throws; failures are counted in
  /// counters().send_errors. A send error meaning the path is unusable
  /// (local address or interface gone) takes the path down and schedules the
  /// reopen.
  virtual void send_all(const std::vector<std::vector<uint8_t>>& datagrams) = 0;
  /// Sends each datagram once to the listed peers only (by node name;
  /// unknown names are ignored): to each of them for unicast, once to the
  /// group for multicast. Never throws; failures as for send_all().
  virtual void send_to_peers(const std::vector<std::string>& peers,
                             const std::vector<std::vector<uint8_t>>& datagrams) = 0;

  /// The configured path id, e.g. "hb#1".
  virtual const std::string& id() const = 0;
  /// "unicast" or "multicast".
  virtual std::string_view type() const = 0;
  /// One line for people, e.g. "listen 127.0.0.1:10001" or
  /// "group 224.3.29.71:10000 on lo ttl 1".
  virtual std::string describe() const = 0;
  virtual const PathCounters& counters() const = 0;
  /// The peers this path reaches: node name -> the address datagrams for it
  /// are sent to (for multicast every cluster peer, address = the group).
  virtual std::map<std::string, Endpoint> peers() const = 0;

  /// Sets the up/down handler; call before start().
  void on_state(StateHandler h) { on_state_ = std::move(h); }

 protected:
  StateHandler on_state_;
};

/// The lifecycle shared by the UDP drivers: one socket, a moderated receive
/// loop (see receive_moderation.h) reading batches with recvmmsg(2), the down
/// state with its backoff retry, counted sends and rate-limited warnings. A
/// driver implements open_socket() (create, configure and bind `socket_`)
/// and the descriptive accessors.
class SocketPath : public Path {
 public:
  ~SocketPath() override;

  void start() final;
  void stop() final;
  bool up() const final { return up_; }
  const std::string& id() const final { return id_; }
  const PathCounters& counters() const final { return counters_; }

  /// Replaces the backoff of reopen attempts (tests use short delays).
  /// Takes effect from the next time the path goes down.
  void set_retry_policy(RetryPolicy policy);
  const RetryPolicy& retry_policy() const { return retry_; }
  /// The last reason the path went down or failed to reopen, "" while up or
  /// before start().
  const std::string& down_reason() const { return down_reason_; }

 protected:
  SocketPath(boost::asio::io_context& io, std::string id, Handler on_datagram);

  /// Opens, configures and binds `socket_`. Returns std::nullopt on success,
  /// or the human reason of the failure, naming the operation and the
  /// address or interface (e.g. "bind 127.0.0.1:10001: Address already in
  /// use"); the socket may be left open on failure, the caller closes it.
  virtual std::optional<std::string> open_socket() = 0;
  /// Whether a received datagram goes to the handler (and the received
  /// counters); false drops it silently. Default: every datagram.
  virtual bool accept_received(std::span<const uint8_t> datagram, const Endpoint& from);
  /// Whether `ec`, returned by a send to `to`, means the socket can no
  /// longer be used and must be reopened: the reason to report, or
  /// std::nullopt for an error that is only counted. Default: EADDRNOTAVAIL,
  /// ENODEV, ENETDOWN, reported as "send to 224.3.29.71:10000: No such
  /// device".
  virtual std::optional<std::string> fatal_send_error(const boost::system::error_code& ec,
                                                      const Endpoint& to) const;

  /// Sends every datagram to `to` with a synchronous send on the
  /// non-blocking socket, counting bytes and errors. Returns false when the
  /// path is down, or a fatal send error took it down (the remaining
  /// datagrams are counted as send errors).
  bool send_datagrams(const Endpoint& to, const std::vector<std::vector<uint8_t>>& datagrams);
  /// Logs a warning about `what` (and `to`), at most once per second; the
  /// others are counted and summarized in the next one.
  void warn(const char* what, const Endpoint* to, const boost::system::error_code& ec);

  boost::asio::io_context& io_;

 private:
  // socket_ belongs to this io_context, which is never run, so that the
  // socket is not registered with io_'s epoll: a registered socket wakes the
  // loop for every datagram, even while polling. Its readiness is watched
  // through ready_, on io_, only while waiting.
  boost::asio::io_context socket_io_;

 protected:
  /// Opened and bound by open_socket(); sends are synchronous (non-blocking).
  boost::asio::ip::udp::socket socket_;
  PathCounters counters_;

 private:
  void attempt_open();
  void go_down(const std::string& reason);
  void schedule_retry();
  /// Waits for the socket to become readable, then runs read_pass().
  void wait_readable();
  /// Reads what is queued, then lets moderation_ choose how the next pass
  /// starts: readiness, at once (posted), or after the poll interval.
  void read_pass(uint64_t generation);
  /// Handles one received datagram (or receive error); false when the path
  /// went down or was stopped or reopened by the handler.
  bool handle_received(const boost::system::error_code& ec, std::span<const uint8_t> datagram,
                       const Endpoint& from, uint64_t generation);
  /// Reads what is queued with recvmmsg(2), kBatch datagrams per call, at
  /// most kBatchCalls calls (so timers and the API still run under a
  /// flood). Adds the datagrams read to `read`; sets `capped` when it
  /// stopped at the limit. Returns false when a handler took the path down.
  bool drain(uint64_t generation, std::size_t& read, bool& capped);
  /// Adds the growth of the socket's kernel drop count (SO_RXQ_OVFL, a
  /// wrapping 32-bit count) to counters_.kernel_drops; warns at most once a
  /// second while it grows.
  void note_kernel_drops(uint32_t socket_drops);
  static constexpr std::size_t kBatch = 32;
  static constexpr std::size_t kBatchCalls = 8;
  /// Receive buffer asked for, bytes: SO_RCVBUFFORCE when privileged, else
  /// SO_RCVBUF (capped by net.core.rmem_max).
  static constexpr int kSocketBufferBytes = 4 << 20;
  struct Batch;  // recvmmsg buffers, allocated on first use
  std::unique_ptr<Batch> batch_;
  ReceiveModeration moderation_;
  /// A duplicate of socket_'s descriptor: registered with io_ (assigned to
  /// ready_) while waiting for readiness, released while polling.
  boost::asio::posix::stream_descriptor ready_;
  int ready_fd_ = -1;
  /// Stops watching readiness (polling from now on).
  void unwatch_readable();
  boost::asio::steady_timer poll_timer_;
  uint32_t socket_drops_ = 0;  // the open socket's last SO_RXQ_OVFL count
  std::chrono::steady_clock::time_point last_drop_warning_{};
  void close_socket();
  void mark_proven();

  std::string id_;
  Handler on_datagram_;
  boost::asio::steady_timer retry_timer_;
  RetryPolicy retry_;
  // The delay before the next reopen attempt. It goes back to the policy's
  // initial delay only once a send or receive succeeds after an open, so a
  // path that opens but cannot send (interface down) flaps no faster than
  // the backoff.
  std::chrono::milliseconds next_delay_ = kDefaultRetryInitial;
  bool proven_ = false;  // a send or receive succeeded since the last open
  bool started_ = false;
  bool up_ = false;
  bool reported_down_ = false;  // the state handler was told about the current down period
  std::string down_reason_;
  // Bumped on every close (socket) and every schedule or cancel (retry): a
  // completion queued for an earlier socket or schedule sees a different
  // value and is ignored.
  uint64_t socket_generation_ = 0;
  uint64_t retry_generation_ = 0;
  // Completions hold a weak reference: once the path is gone they return
  // without touching it.
  std::shared_ptr<char> alive_ = std::make_shared<char>(0);
  std::chrono::steady_clock::time_point last_warning_{};
  uint64_t suppressed_warnings_ = 0;
};

/// "address:port", e.g. "127.0.0.1:10001".
std::string to_text(const Path::Endpoint& ep);

}  // namespace vigil::heartbeat

#endif  // VIGIL_HEARTBEAT_PATH_H_
