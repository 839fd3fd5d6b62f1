// One connection to a NATS server (NATS client protocol,
// https://docs.nats.io/reference/reference-protocols/nats-protocol), fully
// asynchronous on the daemon's io_context thread; nothing blocks it:
//  1. resolve (Asio's resolver thread) and connect over TCP; one timer
//     bounds the whole connection set-up (connect_timeout);
//  2. read the server's INFO; upgrade to TLS when the URL is tls:// or INFO
//     says tls_required: boost::asio::ssl over OpenSSL, the chain verified
//     against the given context's CAs (the system store or a ca_file), the
//     host name checked (RFC 6125; an IP address SAN for an IP host), SNI
//     sent for a name (RFC 6066 section 3). A tls:// URL whose server does
//     not offer TLS is an error: TLS is never dropped silently;
//  3. CONNECT (verbose false, headers true, no_responders true, a token or
//     user/password), SUB to this connection's reply inbox
//     "_INBOX.<random>.*", then PING: the PONG makes the connection
//     "connected" (a refused CONNECT is an -ERR before that PONG, e.g.
//     "Authorization Violation", and the server then closes);
//  4. then: PUB/HPUB, flush() (a PING whose PONG proves that every
//     operation written before it was processed by the server), request()
//     (a PUB with a reply subject in the inbox, answered by a MSG/HMSG
//     there: how a JetStream publish gets its ack), the server's PINGs
//     answered, and a PING every ping_interval: max_pings_out of them
//     unanswered close the connection ("stale connection").
// Any failure closes the connection and calls `closed` once with a
// one-line reason; no exception escapes a handler.
#ifndef VIGIL_AGENT_NATS_NATS_CLIENT_H_
#define VIGIL_AGENT_NATS_NATS_CLIENT_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>

#include "agent/nats/nats_protocol.h"

namespace vigil::agent::nats {

/// What a request came to.
struct RequestResult {
  bool answered = false;  // a reply came; else `error` says why not
  Message reply;          // the reply (its status 503: no responders)
  std::string error;      // "timeout after 5000 ms", "connection closed: ..."
};

class Client : public std::enable_shared_from_this<Client> {
 public:
  struct Options {
    bool tls = false;  // tls:// URL: TLS is required
    std::string host;  // name or IP address
    uint16_t port = 4222;
    ConnectOptions connect;
    /// Required for TLS (a tls:// URL, or a server that requires it); a
    /// server requiring TLS with no context here fails with "TLS: no CA store".
    std::shared_ptr<boost::asio::ssl::context> tls_context;
    std::chrono::milliseconds connect_timeout{5000};  // resolve to the first PONG
    std::chrono::milliseconds ping_interval{5000};
    int max_pings_out = 2;
    /// Bytes of one server operation (Parser::Limits).
    Parser::Limits limits;
  };
  struct Handlers {
    /// The connection is ready (the first PONG came back).
    std::function<void(const ServerInfo&)> connected;
    /// The PONG of flush() number `n` (1, 2, ...).
    std::function<void(uint64_t n)> flushed;
    /// The connection ended (after connected or not): `error` names why,
    /// "connect 127.0.0.1:4222: Connection refused", "server error:
    /// Authorization Violation", "TLS: certificate verify failed: ...",
    /// "connection lost: End of file", "stale connection (2 pings
    /// unanswered)". Not called after close().
    std::function<void(const std::string& error)> closed;
    /// An -ERR the server sent while the connection stays up (e.g. a
    /// permissions violation).
    std::function<void(const std::string& error)> server_error;
  };

  /// Starts connecting; the handlers run on `io`'s thread, never from
  /// inside start().
  static std::shared_ptr<Client> start(boost::asio::io_context& io, Options options,
                                       Handlers handlers);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  /// True between `connected` and the end of the connection.
  bool is_connected() const { return connected_; }
  /// The server's INFO (valid once connected).
  const ServerInfo& server() const { return info_; }
  /// Bytes written to the socket's queue and not yet sent.
  std::size_t pending_write_bytes() const { return out_.size() + writing_bytes_; }

  /// Queues a PUB (HPUB when `headers` is not ""); only while connected.
  /// Throws std::invalid_argument for a bad subject (nats_protocol.h).
  void publish(const std::string& subject, const std::string& payload,
               const std::string& headers = "");
  /// Queues a PING and returns its number n; `flushed(n)` when its PONG
  /// comes. Only while connected.
  uint64_t flush();
  /// Publishes `payload` to `subject` with a reply subject in the inbox;
  /// `done` runs once: with the reply, or on timeout (`timeout`, ms), or
  /// when the connection ends. Only while connected.
  void request(const std::string& subject, const std::string& payload, const std::string& headers,
               std::chrono::milliseconds timeout, std::function<void(RequestResult)> done);

  /// Closes the connection; no handler runs afterwards and pending
  /// requests are dropped without their `done`.
  void close();

 private:
  struct Impl;
  Client(boost::asio::io_context& io, Options options, Handlers handlers);
  void begin();
  void on_info(const ServerInfo& info);
  void after_tls();
  void read();
  void on_ops(std::vector<ServerOp>& ops);
  void write(std::string bytes);
  void write_more();
  void keepalive();
  void fail(std::string error);

  boost::asio::io_context& io_;
  Options options_;
  Handlers handlers_;
  std::unique_ptr<Impl> impl_;
  Parser parser_;
  ServerInfo info_;
  bool got_info_ = false;
  bool connected_ = false;
  bool finished_ = false;
  std::string out_;
  std::size_t writing_bytes_ = 0;
  std::string inbox_;
  uint64_t next_request_ = 1;
  uint64_t next_flush_ = 1;
  int pings_out_ = 0;
};

}  // namespace vigil::agent::nats

#endif  // VIGIL_AGENT_NATS_NATS_CLIENT_H_
