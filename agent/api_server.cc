#include "agent/api_server.h"

#include <sys/stat.h>

#include <system_error>

#include <spdlog/spdlog.h>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

namespace vigil::agent {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using stream = asio::local::stream_protocol;

namespace {

// Reads one HTTP request from `stream` into an ApiRequest, then calls
// done(ec, request).
template <typename Stream, typename Done>
void read_http_request(Stream& stream, Done done) {
  struct State {
    boost::beast::flat_buffer buffer;
    http::request_parser<http::string_body> parser;
  };
  auto st = std::make_shared<State>();
  st->parser.body_limit(ApiServer::kMaxBodyBytes);
  http::async_read(stream, st->buffer, st->parser,
                   [st, done = std::move(done)](boost::system::error_code ec, std::size_t) {
                     ApiRequest r;
                     if (!ec) {
                       auto& req = st->parser.get();
                       r.method = std::string(req.method_string());
                       r.target = std::string(req.target());
                       r.body = std::move(req.body());
                       if (auto it = req.find(http::field::authorization); it != req.end())
                         r.authorization = std::string(it->value());
                     }
                     done(ec, std::move(r));
                   });
}

// An exchange over `Stream` (a Unix socket, or TLS over TCP).
template <typename Stream>
class StreamExchange : public ApiExchange {
 public:
  explicit StreamExchange(Stream stream) : stream_(std::move(stream)) {}

  void read(const Handler& handler, bool remote) {
    read_http_request(stream_, [self = shared(), handler, remote](boost::system::error_code ec,
                                                                  ApiRequest request) {
      if (ec) {
        if (ec != http::error::end_of_stream)
          self->reply(400, {{"error", "bad request: " + ec.message()}});
        else
          self->shutdown();
        return;
      }
      request.remote = remote;
      self->received(std::move(request), handler);
    });
  }

  Stream& stream() { return stream_; }

 private:
  std::shared_ptr<StreamExchange> shared() {
    return std::static_pointer_cast<StreamExchange>(shared_from_this());
  }
  void write_front(std::function<void(boost::system::error_code)> done) override {
    asio::async_write(stream_, asio::buffer(queue_front()),
                      [self = shared(), done = std::move(done)](boost::system::error_code ec,
                                                                std::size_t) { done(ec); });
  }
  void watch_peer() override {
    // The client sends nothing after its request; a completed read means it
    // closed the connection (or broke protocol): either way the exchange ends.
    stream_.async_read_some(
        asio::buffer(&probe_, 1),
        [self = shared()](boost::system::error_code, std::size_t) { self->shutdown(); });
  }
  void close_transport() override {
    boost::system::error_code ignore;
    auto& socket = boost::beast::get_lowest_layer(stream_);
    socket.shutdown(std::decay_t<decltype(socket)>::shutdown_both, ignore);
    socket.close(ignore);
  }

  Stream stream_;
};

using UnixExchange = StreamExchange<stream::socket>;
using TlsExchange = StreamExchange<asio::ssl::stream<asio::ip::tcp::socket>>;

}  // namespace

void ApiExchange::received(ApiRequest request, const Handler& handler) {
  request_ = std::move(request);
  watch_peer();
  handler(shared_from_this());
}

void ApiExchange::reply(int status, const nlohmann::json& body) {
  if (replied_ || closed_) return;
  replied_ = true;
  http::response<http::string_body> res{static_cast<http::status>(status), 11};
  res.set(http::field::content_type, "application/json");
  res.set(http::field::connection, "close");
  res.body() = body.dump() + "\n";
  res.prepare_payload();
  std::ostringstream os;
  os << res;
  write(os.str());
  close();
}

void ApiExchange::start_stream() {
  if (replied_ || closed_) return;
  replied_ = true;
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

// How long a remote client has for the TLS handshake and its request.
constexpr std::chrono::seconds kRequestTimeout{10};

struct ApiServer::Tls {
  explicit Tls(asio::io_context& io) : context(asio::ssl::context::tls_server), acceptor(io) {}
  asio::ssl::context context;
  asio::ip::tcp::acceptor acceptor;
};

ApiServer::ApiServer(asio::io_context& io, std::filesystem::path socket_path, Handler handler)
    : io_(io), path_(std::move(socket_path)), handler_(std::move(handler)), acceptor_(io) {}

ApiServer::~ApiServer() { stop(); }

void ApiServer::start_tls(const TlsListener& listener) {
  auto tls = std::make_unique<Tls>(io_);
  boost::system::error_code ec;
  tls->context.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                               asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                               asio::ssl::context::no_tlsv1_1,
                           ec);
  tls->context.use_certificate_chain_file(listener.cert.string(), ec);
  if (ec) throw std::system_error(ec, "API TLS certificate " + listener.cert.string());
  tls->context.use_private_key_file(listener.key.string(), asio::ssl::context::pem, ec);
  if (ec) throw std::system_error(ec, "API TLS key " + listener.key.string());
  const std::string where = "API TCP listener " + listener.endpoint.address().to_string() + ":" +
                            std::to_string(listener.endpoint.port());
  tls->acceptor.open(listener.endpoint.protocol(), ec);
  if (!ec) tls->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) tls->acceptor.bind(listener.endpoint, ec);
  if (!ec) tls->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw std::system_error(ec, where);
  tls_ = std::move(tls);
  accept_tls();
}

asio::ip::tcp::endpoint ApiServer::tls_endpoint() const {
  boost::system::error_code ec;
  return tls_ ? tls_->acceptor.local_endpoint(ec) : asio::ip::tcp::endpoint();
}

void ApiServer::accept_tls() {
  tls_->acceptor.async_accept([this](boost::system::error_code ec, asio::ip::tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !tls_) return;
    if (!ec) {
      auto ex = std::make_shared<TlsExchange>(
          asio::ssl::stream<asio::ip::tcp::socket>(std::move(socket), tls_->context));
      // A remote client gets kRequestTimeout for the handshake and its
      // request; a stalled one is disconnected.
      auto timer = std::make_shared<asio::steady_timer>(io_, kRequestTimeout);
      timer->async_wait([weak = std::weak_ptr<TlsExchange>(ex)](boost::system::error_code tec) {
        auto ex = weak.lock();
        if (tec || !ex) return;
        boost::system::error_code ignore;
        boost::beast::get_lowest_layer(ex->stream()).close(ignore);
      });
      ex->stream().async_handshake(asio::ssl::stream_base::server,
                                   [ex, timer, handler = handler_](boost::system::error_code hec) {
                                     if (hec) {
                                       spdlog::debug("API TLS handshake: {}", hec.message());
                                       return;
                                     }
                                     ex->read(
                                         [timer, handler](std::shared_ptr<ApiExchange> e) {
                                           timer->cancel();
                                           handler(std::move(e));
                                         },
                                         true);
                                   });
    }
    if (tls_->acceptor.is_open()) accept_tls();
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
  if (tls_) {
    boost::system::error_code ec;
    tls_->acceptor.close(ec);
  }
  if (!acceptor_.is_open()) return;
  boost::system::error_code ec;
  acceptor_.close(ec);
  std::error_code fec;
  std::filesystem::remove(path_, fec);
}

void ApiServer::accept() {
  acceptor_.async_accept([this](boost::system::error_code ec, stream::socket socket) {
    if (ec == asio::error::operation_aborted) return;
    if (!ec) std::make_shared<UnixExchange>(std::move(socket))->read(handler_, false);
    if (acceptor_.is_open()) accept();
  });
}

}  // namespace vigil::agent
