#include "agent/api_server.h"

#include <sys/stat.h>

#include <system_error>

#include <spdlog/spdlog.h>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

namespace vigil::agent {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using stream = asio::local::stream_protocol;

ApiExchange::ApiExchange(Socket socket) : socket_(std::move(socket)) {}

void ApiExchange::read_request(std::function<void(std::shared_ptr<ApiExchange>)> handler) {
  struct State {
    boost::beast::flat_buffer buffer;
    http::request_parser<http::string_body> parser;
  };
  auto st = std::make_shared<State>();
  st->parser.body_limit(ApiServer::kMaxBodyBytes);
  http::async_read(socket_, st->buffer, st->parser,
                   [self = shared_from_this(), st, handler = std::move(handler)](
                       boost::system::error_code ec, std::size_t) {
                     if (ec) {
                       if (ec != http::error::end_of_stream)
                         self->reply(400, {{"error", "bad request: " + ec.message()}});
                       else
                         self->shutdown();
                       return;
                     }
                     auto& req = st->parser.get();
                     self->request_.method = std::string(req.method_string());
                     self->request_.target = std::string(req.target());
                     self->request_.body = std::move(req.body());
                     self->watch_peer();
                     handler(self);
                   });
}

void ApiExchange::watch_peer() {
  // The client sends nothing after its request; a completed read means it
  // closed the connection (or broke protocol): either way the exchange ends.
  socket_.async_read_some(
      asio::buffer(&probe_, 1),
      [self = shared_from_this()](boost::system::error_code, std::size_t) { self->shutdown(); });
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
  asio::async_write(socket_, asio::buffer(queue_.front()),
                    [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
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
  boost::system::error_code ignore;
  socket_.shutdown(stream::socket::shutdown_both, ignore);
  socket_.close(ignore);
  queue_.clear();
  queued_bytes_ = 0;
  if (auto fn = std::move(on_close_)) fn();
}

ApiServer::ApiServer(asio::io_context& io, std::filesystem::path socket_path, Handler handler)
    : io_(io), path_(std::move(socket_path)), handler_(std::move(handler)), acceptor_(io) {}

ApiServer::~ApiServer() { stop(); }

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
  if (!acceptor_.is_open()) return;
  boost::system::error_code ec;
  acceptor_.close(ec);
  std::error_code fec;
  std::filesystem::remove(path_, fec);
}

void ApiServer::accept() {
  acceptor_.async_accept([this](boost::system::error_code ec, stream::socket socket) {
    if (ec == asio::error::operation_aborted) return;
    if (!ec) std::make_shared<ApiExchange>(std::move(socket))->read_request(handler_);
    if (acceptor_.is_open()) accept();
  });
}

}  // namespace vigil::agent
