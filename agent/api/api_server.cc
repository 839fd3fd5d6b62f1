#include "agent/api/api_server.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <sstream>
#include <system_error>

#include <spdlog/spdlog.h>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "agent/api/tls_fingerprint.h"
#include "agent/base/file.h"
#include "agent/config/config.h"
#include "heartbeat/endpoint_text.h"

namespace vigil::agent {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using stream = asio::local::stream_protocol;

namespace {

// Request headers larger than this are refused (431), bytes.
constexpr std::uint32_t kMaxHeaderBytes = 16 * 1024;

// Holds one connection slot of a listener while the exchange lives.
class Slot {
 public:
  Slot() = default;
  explicit Slot(std::shared_ptr<std::size_t> count) : count_(std::move(count)) { ++*count_; }
  Slot(const Slot&) = delete;
  Slot& operator=(const Slot&) = delete;
  ~Slot() {
    if (count_) --*count_;
  }

 private:
  std::shared_ptr<std::size_t> count_;
};

// An exchange over `Stream` (a Unix socket, or TLS over TCP).
template <typename Stream>
class StreamExchange : public ApiExchange {
 public:
  StreamExchange(Stream stream, std::shared_ptr<std::size_t> slots, bool remote)
      : stream_(std::move(stream)), timer_(stream_.get_executor()), remote_(remote) {
    if (slots) slot_.emplace(std::move(slots));
    peer_ = describe_peer();
  }

  /// Reads a request within `request_timeout` of the deadline already armed
  /// (the TLS handshake shares it), or of now: the headers, `admit`, then
  /// the body; hands it to `handler`.
  void read(const ApiLimits& limits, const ApiServer::Admit& admit, const Handler& handler) {
    if (!armed_) arm_timer(limits.request_timeout);
    parser_.header_limit(kMaxHeaderBytes);
    parser_.body_limit(limits.max_body_bytes);
    http::async_read_header(
        stream_, buffer_, parser_,
        [self = shared(), admit, handler](boost::system::error_code ec, std::size_t) {
          if (ec) return self->read_failed(ec);
          ApiRequest head = self->head();
          if (admit) {
            if (auto refusal = admit(head, self->issuer_)) {
              self->timer_.cancel();
              return self->reply(refusal->status, refusal->body, refusal->headers);
            }
          }
          http::async_read(self->stream_, self->buffer_, self->parser_,
                           [self, handler, admitted = static_cast<bool>(admit)](
                               boost::system::error_code ec, std::size_t) {
                             if (ec) return self->read_failed(ec);
                             self->timer_.cancel();
                             ApiRequest request = self->head();
                             request.admitted = admitted;
                             request.issuer = self->issuer_;
                             request.body = std::move(self->parser_.get().body());
                             self->received(std::move(request), handler);
                           });
        });
  }

  /// Closes the socket unless the request is read within `timeout` from now.
  void arm_timer(std::chrono::milliseconds timeout) {
    armed_ = true;
    timer_.expires_after(timeout);
    timer_.async_wait([weak = std::weak_ptr<ApiExchange>(shared())](boost::system::error_code ec) {
      auto self = weak.lock();
      if (ec || !self) return;
      std::static_pointer_cast<StreamExchange>(self)->close_transport();
    });
  }

  Stream& stream() { return stream_; }
  /// Marks the requests of this exchange as read-only-listener ones.
  void mark_read_only() { read_only_ = true; }

 private:
  std::shared_ptr<StreamExchange> shared() {
    return std::static_pointer_cast<StreamExchange>(shared_from_this());
  }
  ApiRequest head() const {
    const auto& req = parser_.get();
    ApiRequest r;
    r.method = std::string(req.method_string());
    r.target = std::string(req.target());
    if (auto it = req.find(http::field::authorization); it != req.end())
      r.authorization = std::string(it->value());
    r.remote = remote_;
    r.read_only_listener = read_only_;
    r.peer = peer_;
    return r;
  }
  // Who the client is, as the transport tells: its uid on the Unix socket,
  // its address over TCP.
  std::string describe_peer() {
    boost::system::error_code ec;
    auto& socket = boost::beast::get_lowest_layer(stream_);
    if constexpr (std::is_same_v<Stream, stream::socket>) {
      ucred cred{};
      socklen_t len = sizeof cred;
      if (::getsockopt(socket.native_handle(), SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0)
        return "uid " + std::to_string(cred.uid);
      return "";
    } else {
      const auto endpoint = socket.remote_endpoint(ec);
      if (ec) return "";
      return heartbeat::host_port(endpoint.address().to_string(), endpoint.port());
    }
  }
  void read_failed(boost::system::error_code ec) {
    timer_.cancel();
    if (ec == http::error::end_of_stream || ec == asio::error::eof ||
        ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor)
      return shutdown();
    if (ec == http::error::body_limit)
      return reply(413, {{"error", "request body above the limit"}});
    if (ec == http::error::header_limit)
      return reply(431, {{"error", "request headers above the limit"}});
    reply(400, {{"error", "bad request: " + ec.message()}});
  }
  void write_front(std::function<void(boost::system::error_code)> done) override {
    asio::async_write(stream_, asio::buffer(queue_front()),
                      [self = shared(), done = std::move(done)](boost::system::error_code ec,
                                                                std::size_t) { done(ec); });
  }
  void watch_peer() override {
    // The client sends nothing after its request; a completed read means it
    // closed its side (or broke protocol).
    stream_.async_read_some(asio::buffer(&probe_, 1),
                            [self = shared()](boost::system::error_code ec, std::size_t) {
                              if (!ec) return self->shutdown();  // bytes after the request
                              self->peer_finished(self->peer_gone());
                            });
  }
  // A Unix peer that closed for good shows POLLHUP; a half-closed one
  // (shutdown(SHUT_WR)) does not. Over TCP the two cannot be told apart
  // without writing, so the answer is still sent.
  bool peer_gone() {
    auto& socket = boost::beast::get_lowest_layer(stream_);
    if (!socket.is_open()) return true;
    if constexpr (std::is_same_v<Stream, stream::socket>) {
      pollfd p{socket.native_handle(), 0, 0};
      return ::poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR)) != 0;
    } else {
      return false;
    }
  }
  void close_transport() override {
    timer_.cancel();
    boost::system::error_code ignore;
    auto& socket = boost::beast::get_lowest_layer(stream_);
    socket.shutdown(std::decay_t<decltype(socket)>::shutdown_both, ignore);
    socket.close(ignore);
  }

  Stream stream_;
  asio::steady_timer timer_;
  bool armed_ = false;
  bool remote_;
  bool read_only_ = false;  // ApiRequest::read_only_listener
  std::string peer_;        // ApiRequest::peer
  std::string issuer_;      // set by `admit`
  std::optional<Slot> slot_;
  boost::beast::flat_buffer buffer_;
  http::request_parser<http::string_body> parser_;
};

using UnixExchange = StreamExchange<stream::socket>;
using TlsExchange = StreamExchange<asio::ssl::stream<asio::ip::tcp::socket>>;
using HttpExchange = StreamExchange<asio::ip::tcp::socket>;

// Makes `context` the TLS server of `cert` and `key`: TLS 1.2 or later, with
// forward secrecy and AEAD only. Returns the certificate's PEM text. `what`
// names the listener in errors: "<what> certificate <path>: ...".
std::string configure_tls(asio::ssl::context& context, const std::filesystem::path& cert_path,
                          const std::filesystem::path& key_path, const std::string& what) {
  boost::system::error_code ec;
  context.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                          asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                          asio::ssl::context::no_tlsv1_1,
                      ec);
  // TLS 1.2: forward secrecy and AEAD only (TLS 1.3 suites all qualify).
  SSL_CTX_set_cipher_list(context.native_handle(),
                          "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
                          "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
                          "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305");
  // Read through the one file reader (regular files, bounded), so that what
  // the start checks saw is what OpenSSL gets.
  const FileContents cert = read_regular_file(cert_path, kMaxTlsFileBytes);
  FileContents key = read_regular_file(key_path, kMaxTlsFileBytes);
  const WipeOnExit wipe(key.text);
  context.use_certificate_chain(asio::buffer(cert.text), ec);
  if (ec) throw std::system_error(ec, what + " certificate " + cert_path.string());
  context.use_private_key(asio::buffer(key.text), asio::ssl::context::pem, ec);
  if (ec) throw std::system_error(ec, what + " key " + key_path.string());
  return cert.text;
}

// Opens, binds and listens `acceptor` on `endpoint`; throws
// std::system_error "<what> <host:port>: <reason>".
void listen_tcp(asio::ip::tcp::acceptor& acceptor, const asio::ip::tcp::endpoint& endpoint,
                const std::string& what) {
  boost::system::error_code ec;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    throw std::system_error(
        ec, what + " " + heartbeat::host_port(endpoint.address().to_string(), endpoint.port()));
}

}  // namespace

void ApiExchange::received(ApiRequest request, const Handler& handler) {
  request_ = std::move(request);
  watch_peer();
  handler(shared_from_this());
}

void ApiExchange::peer_finished(bool gone) {
  // A half-closed client still gets its answer; a stream has nothing more
  // to wait for.
  if (gone || streaming_) shutdown();
}

void ApiExchange::reply(int status, const nlohmann::json& body, const Headers& headers) {
  reply_text(status, "application/json",
             body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n", headers);
}

void ApiExchange::reply_text(int status, const std::string& content_type, std::string body,
                             const Headers& headers) {
  if (replied_ || closed_) return;
  replied_ = true;
  if (on_reply_) on_reply_(status);
  http::response<http::string_body> res{static_cast<http::status>(status), 11};
  res.set(http::field::content_type, content_type);
  res.set(http::field::connection, "close");
  for (const auto& [name, value] : headers) res.set(name, value);
  res.body() = std::move(body);
  res.prepare_payload();
  std::ostringstream os;
  os << res;
  write(os.str());
  close();
}

void ApiExchange::start_stream() {
  if (replied_ || closed_) return;
  replied_ = true;
  streaming_ = true;
  if (on_reply_) on_reply_(200);
  write(
      "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
      "Connection: close\r\n\r\n");
}

void ApiExchange::send_event(const std::string& kind, const std::string& json) {
  write("event: " + kind + "\ndata: " + json + "\n\n");
}

void ApiExchange::send_comment(const std::string& text) { write(": " + text + "\n\n"); }

void ApiExchange::write(std::string bytes) {
  if (closed_ || closing_) return;
  queued_bytes_ += bytes.size();
  queue_.push_back(std::move(bytes));
  if (!writing_) write_next();
}

void ApiExchange::write_next() {
  if (queue_.empty()) {
    writing_ = false;
    if (closing_) shutdown();
    return;
  }
  writing_ = true;
  write_front([self = shared_from_this()](boost::system::error_code ec) {
    if (self->closed_) return;
    self->last_progress_ = Clock::now();
    self->queued_bytes_ -= self->queue_.front().size();
    self->queue_.pop_front();
    if (ec) {
      self->shutdown();
      return;
    }
    self->write_next();
  });
}

void ApiExchange::close() {
  if (closed_) return;
  closing_ = true;
  if (!writing_) shutdown();
}

void ApiExchange::shutdown() {
  if (closed_) return;
  closed_ = true;
  close_transport();
  queue_.clear();
  queued_bytes_ = 0;
  if (auto fn = std::move(on_close_)) fn();
}

struct ApiServer::Tls {
  explicit Tls(asio::io_context& io) : context(asio::ssl::context::tls_server), acceptor(io) {}
  asio::ssl::context context;
  asio::ip::tcp::acceptor acceptor;
};

// The read-only HTTP listener: its acceptor, its TLS context when it has
// one, and its accept back-off.
struct ApiServer::Http {
  explicit Http(asio::io_context& io) : acceptor(io), retry(io) {}
  std::optional<asio::ssl::context> tls;
  asio::ip::tcp::acceptor acceptor;
  asio::steady_timer retry;
  std::chrono::milliseconds backoff{0};
};

ApiServer::ApiServer(asio::io_context& io, std::filesystem::path socket_path, ApiLimits limits,
                     Admit admit, Handler handler)
    : io_(io),
      path_(std::move(socket_path)),
      limits_(limits),
      admit_(std::move(admit)),
      handler_(std::move(handler)),
      acceptor_(io),
      unix_retry_(io),
      tls_retry_(io) {}

ApiServer::~ApiServer() { stop(); }

void ApiServer::start_tls(const TlsListener& listener) {
  auto tls = std::make_unique<Tls>(io_);
  const std::string cert = configure_tls(tls->context, listener.cert, listener.key, "API TLS");
  listen_tcp(tls->acceptor, listener.endpoint, "API TCP listener");
  tls_certificate_sha256_ = certificate_sha256_pem(cert);
  tls_ = std::move(tls);
  accept_tls();
}

void ApiServer::start_http(const HttpListener& listener) {
  auto http = std::make_unique<Http>(io_);
  if (!listener.cert.empty()) {
    http->tls.emplace(asio::ssl::context::tls_server);
    configure_tls(*http->tls, listener.cert, listener.key, "HTTP TLS");
  }
  listen_tcp(http->acceptor, listener.endpoint, "HTTP listener");
  http_ = std::move(http);
  accept_http();
}

asio::ip::tcp::endpoint ApiServer::http_endpoint() const {
  boost::system::error_code ec;
  return http_ ? http_->acceptor.local_endpoint(ec) : asio::ip::tcp::endpoint();
}

void ApiServer::accept_http() {
  http_->acceptor.async_accept([this](boost::system::error_code ec, asio::ip::tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !http_ || !http_->acceptor.is_open()) return;
    if (ec)
      return accept_later(http_->retry, http_->backoff, ec, "HTTP", [this] {
        if (http_ && http_->acceptor.is_open()) accept_http();
      });
    http_->backoff = std::chrono::milliseconds(0);
    if (*http_open_ >= limits_.max_connections_tcp) {
      spdlog::debug("HTTP listener: {} connections open, refusing one", *http_open_);
      boost::system::error_code ignore;
      socket.close(ignore);
    } else if (http_->tls) {
      auto ex = std::make_shared<TlsExchange>(
          asio::ssl::stream<asio::ip::tcp::socket>(std::move(socket), *http_->tls), http_open_,
          true);
      ex->mark_read_only();
      // The handshake and the request share one deadline.
      ex->arm_timer(limits_.request_timeout);
      ex->stream().async_handshake(asio::ssl::stream_base::server,
                                   [ex, limits = limits_, admit = admit_,
                                    handler = handler_](boost::system::error_code hec) {
                                     if (hec) {
                                       spdlog::debug("HTTP TLS handshake: {}", hec.message());
                                       return;
                                     }
                                     ex->read(limits, admit, handler);
                                   });
    } else {
      auto ex = std::make_shared<HttpExchange>(std::move(socket), http_open_, false);
      ex->mark_read_only();
      ex->read(limits_, admit_, handler_);
    }
    accept_http();
  });
}

asio::ip::tcp::endpoint ApiServer::tls_endpoint() const {
  boost::system::error_code ec;
  return tls_ ? tls_->acceptor.local_endpoint(ec) : asio::ip::tcp::endpoint();
}

void ApiServer::accept_later(asio::steady_timer& timer, std::chrono::milliseconds& backoff,
                             const boost::system::error_code& ec, const char* listener,
                             std::function<void()> retry) {
  using std::chrono::milliseconds;
  backoff = std::min(milliseconds(1000), std::max(milliseconds(50), backoff * 2));
  spdlog::warn("API {} accept failed: {} (retrying in {} ms)", listener, ec.message(),
               backoff.count());
  timer.expires_after(backoff);
  timer.async_wait([retry = std::move(retry)](boost::system::error_code tec) {
    if (!tec) retry();
  });
}

void ApiServer::accept_tls() {
  tls_->acceptor.async_accept([this](boost::system::error_code ec, asio::ip::tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !tls_ || !tls_->acceptor.is_open()) return;
    if (ec)
      return accept_later(tls_retry_, tls_backoff_, ec, "TCP", [this] {
        if (tls_ && tls_->acceptor.is_open()) accept_tls();
      });
    tls_backoff_ = std::chrono::milliseconds(0);
    if (*tls_open_ >= limits_.max_connections_tcp) {
      spdlog::debug("API TCP: {} connections open, refusing one", *tls_open_);
      boost::system::error_code ignore;
      socket.close(ignore);
    } else {
      auto ex = std::make_shared<TlsExchange>(
          asio::ssl::stream<asio::ip::tcp::socket>(std::move(socket), tls_->context), tls_open_,
          true);
      // The handshake and the request share one deadline.
      ex->arm_timer(limits_.request_timeout);
      ex->stream().async_handshake(asio::ssl::stream_base::server,
                                   [ex, limits = limits_, admit = admit_,
                                    handler = handler_](boost::system::error_code hec) {
                                     if (hec) {
                                       spdlog::debug("API TLS handshake: {}", hec.message());
                                       return;
                                     }
                                     ex->read(limits, admit, handler);
                                   });
    }
    accept_tls();
  });
}

void ApiServer::start() {
  std::error_code fec;
  std::filesystem::create_directories(path_.parent_path(), fec);
  if (std::filesystem::exists(path_)) {
    stream::socket probe(io_);
    boost::system::error_code ec;
    probe.connect(stream::endpoint(path_.string()), ec);
    if (!ec)
      throw std::system_error(std::make_error_code(std::errc::address_in_use),
                              "API socket " + path_.string() + " is served by a running daemon");
    std::filesystem::remove(path_, fec);
  }
  // Create the socket file with mode 0600 from the start.
  mode_t old = ::umask(0077);
  boost::system::error_code ec;
  acceptor_.open(stream(), ec);
  if (!ec) acceptor_.bind(stream::endpoint(path_.string()), ec);
  ::umask(old);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw std::system_error(ec, "API socket " + path_.string());
  ::chmod(path_.c_str(), 0600);
  accept();
}

void ApiServer::stop() {
  unix_retry_.cancel();
  tls_retry_.cancel();
  if (tls_) {
    boost::system::error_code ec;
    tls_->acceptor.close(ec);
  }
  if (http_) {
    http_->retry.cancel();
    boost::system::error_code ec;
    http_->acceptor.close(ec);
  }
  if (!acceptor_.is_open()) return;
  boost::system::error_code ec;
  acceptor_.close(ec);
  std::error_code fec;
  std::filesystem::remove(path_, fec);
}

void ApiServer::accept() {
  acceptor_.async_accept([this](boost::system::error_code ec, stream::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
    if (ec)
      return accept_later(unix_retry_, unix_backoff_, ec, "Unix socket", [this] {
        if (acceptor_.is_open()) accept();
      });
    unix_backoff_ = std::chrono::milliseconds(0);
    if (*unix_open_ >= limits_.max_connections_unix) {
      // Over the cap: a short answer, without reading the request.
      std::make_shared<UnixExchange>(std::move(socket), nullptr, false)
          ->reply(503, {{"error", "too many connections"}});
    } else {
      std::make_shared<UnixExchange>(std::move(socket), unix_open_, false)
          ->read(limits_, admit_, handler_);
    }
    accept();
  });
}

}  // namespace vigil::agent
