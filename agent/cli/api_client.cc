#include "agent/cli/api_client.h"

#include <boost/algorithm/string/predicate.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

namespace vigil::agent {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using stream = asio::local::stream_protocol;

namespace {

http::request<http::string_body> make_request(const std::string& method, const std::string& target,
                                              const std::string& body) {
  http::request<http::string_body> req{http::string_to_verb(method), target, 11};
  req.set(http::field::host, "vigil");
  req.set(http::field::user_agent, "vigil-cli");
  if (!body.empty()) req.set(http::field::content_type, "application/json");
  req.body() = body;
  req.prepare_payload();
  return req;
}

void connect(stream::socket& socket, const std::filesystem::path& path) {
  boost::system::error_code ec;
  socket.connect(stream::endpoint(path.string()), ec);
  if (ec)
    throw ApiUnavailable("cannot reach the daemon at " + path.string() + ": " + ec.message() +
                         " (is `vigil daemon run` started with this config?)");
}

}  // namespace

void StreamStop::request_stop() {
  std::lock_guard lock(mutex_);
  stopped_ = true;
  if (on_stop_) on_stop_();
}

bool StreamStop::stop_requested() const {
  std::lock_guard lock(mutex_);
  return stopped_;
}

ApiClient::Response ApiClient::request(const std::string& method, const std::string& target,
                                       const std::string& body, std::chrono::milliseconds timeout) {
  asio::io_context io;
  stream::socket socket(io);
  connect(socket, socket_);
  auto req = make_request(method, target, body);
  boost::beast::flat_buffer buffer;
  http::response<http::string_body> res;
  boost::system::error_code result = asio::error::timed_out;
  asio::steady_timer timer(io, timeout);
  timer.async_wait([&](boost::system::error_code ec) {
    if (!ec) socket.close();
  });
  http::async_write(socket, req, [&](boost::system::error_code ec, std::size_t) {
    if (ec) {
      result = ec;
      timer.cancel();
      return;
    }
    http::async_read(socket, buffer, res, [&](boost::system::error_code ec, std::size_t) {
      result = ec;
      timer.cancel();
    });
  });
  io.run();
  if (result == asio::error::operation_aborted || result == asio::error::bad_descriptor ||
      result == asio::error::timed_out)
    throw ApiUnavailable("no answer from the daemon within " + std::to_string(timeout.count()) +
                         "ms");
  if (result) throw ApiUnavailable("daemon connection failed: " + result.message());
  Response out{static_cast<int>(res.result_int()), res.body(), {}};
  for (const auto& field : res)
    out.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  return out;
}

std::string ApiClient::Response::header(const std::string& name) const {
  for (const auto& [k, v] : headers)
    if (boost::iequals(k, name)) return v;
  return "";
}

ApiClient::StreamEnd ApiClient::stream(
    const std::string& target, const std::string& body, std::optional<Clock::time_point> deadline,
    const std::function<bool(const std::string&, const std::string&)>& on_event,
    std::optional<Response>& error, StreamStop* stopper) {
  asio::io_context io;
  stream::socket socket(io);
  connect(socket, socket_);
  auto req = make_request("POST", target, body);
  boost::beast::flat_buffer buffer;
  http::response_parser<http::buffer_body> parser;
  parser.body_limit(boost::none);
  StreamEnd end = StreamEnd::kClosed;
  bool finished = false;
  asio::steady_timer timer(io);
  if (deadline) {
    timer.expires_at(*deadline);
    timer.async_wait([&](boost::system::error_code ec) {
      if (ec || finished) return;
      end = StreamEnd::kDeadline;
      finished = true;
      socket.close();
    });
  }
  std::string pending;  // SSE text not yet split into events
  char chunk[8192];
  auto stop = [&](StreamEnd why) {
    if (finished) return;
    end = why;
    finished = true;
    timer.cancel();
    socket.close();
  };
  // Splits complete "...\n\n" SSE records out of `pending`.
  auto dispatch = [&] {
    std::size_t pos;
    while (!finished && (pos = pending.find("\n\n")) != std::string::npos) {
      std::string record = pending.substr(0, pos);
      pending.erase(0, pos + 2);
      std::string kind, data;
      std::size_t start = 0;
      while (start <= record.size()) {
        auto nl = record.find('\n', start);
        std::string line = record.substr(start, nl == std::string::npos ? nl : nl - start);
        if (line.rfind("event: ", 0) == 0) kind = line.substr(7);
        if (line.rfind("data: ", 0) == 0) data += line.substr(6);
        if (nl == std::string::npos) break;
        start = nl + 1;
      }
      if (!data.empty() && !on_event(kind, data)) stop(StreamEnd::kStopped);
    }
  };
  std::function<void()> read_body = [&] {
    parser.get().body().data = chunk;
    parser.get().body().size = sizeof chunk;
    http::async_read_some(socket, buffer, parser, [&](boost::system::error_code ec, std::size_t) {
      if (finished) return;
      std::size_t got = sizeof chunk - parser.get().body().size;
      pending.append(chunk, got);
      dispatch();
      if (ec == http::error::need_buffer) ec = {};
      if (ec || parser.is_done()) return stop(StreamEnd::kClosed);
      read_body();
    });
  };
  // A non-200 answer carries a small JSON error body: read it whole.
  Response err;
  std::function<void()> read_err = [&] {
    parser.get().body().data = chunk;
    parser.get().body().size = sizeof chunk;
    http::async_read_some(socket, buffer, parser, [&](boost::system::error_code ec, std::size_t) {
      err.body.append(chunk, sizeof chunk - parser.get().body().size);
      if (ec == http::error::need_buffer && !parser.is_done()) return read_err();
      error = err;
      stop(StreamEnd::kClosed);
    });
  };
  // A stop requested from another thread runs stop() on this io_context.
  // The guard unregisters before the io_context and the socket go.
  struct StopRegistration {
    StreamStop* stopper;
    ~StopRegistration() {
      if (!stopper) return;
      std::lock_guard lock(stopper->mutex_);
      stopper->on_stop_ = nullptr;
    }
  } registration{stopper};
  if (stopper) {
    std::lock_guard lock(stopper->mutex_);
    if (stopper->stopped_) return StreamEnd::kStopped;
    stopper->on_stop_ = [&io, &stop] { asio::post(io, [&stop] { stop(StreamEnd::kStopped); }); };
  }
  http::async_write(socket, req, [&](boost::system::error_code ec, std::size_t) {
    if (ec) return stop(StreamEnd::kClosed);
    http::async_read_header(socket, buffer, parser, [&](boost::system::error_code ec, std::size_t) {
      if (ec) return stop(StreamEnd::kClosed);
      if (parser.get().result_int() != 200) {
        err.status = static_cast<int>(parser.get().result_int());
        return read_err();
      }
      read_body();
    });
  });
  io.run();
  return end;
}

}  // namespace vigil::agent
