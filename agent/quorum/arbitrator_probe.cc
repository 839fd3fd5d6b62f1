#include "agent/quorum/arbitrator_probe.h"

#include <stdexcept>
#include <utility>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "heartbeat/endpoint_text.h"

namespace vigil::agent {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

/// One check in flight: every asynchronous step holds a shared_ptr to it, so
/// completions that arrive after the probe is gone find it alive, see
/// `finished` and return without calling anyone.
struct ArbitratorProbe::Run : std::enable_shared_from_this<Run> {
  Run(asio::io_context& io, const ArbitratorUri& u, std::chrono::milliseconds t)
      : uri(u), timeout(t), resolver(io), socket(io), timer(io) {}

  const ArbitratorUri uri;
  const std::chrono::milliseconds timeout;
  tcp::resolver resolver;
  tcp::socket socket;
  asio::steady_timer timer;
  boost::beast::flat_buffer buffer;
  http::request<http::empty_body> request;
  http::response_parser<http::empty_body> parser;
  std::chrono::steady_clock::time_point started;
  std::vector<Done> waiting;  // the callers of check() that joined this run
  bool finished = false;      // the outcome is known, or the probe was destroyed
  bool cancelled = false;     // the probe was destroyed: call no one

  void start() {
    started = std::chrono::steady_clock::now();
    timer.expires_after(timeout);
    timer.async_wait([self = shared_from_this()](error_code ec) {
      if (ec || self->finished) return;
      self->finish({.reachable = false,
                    .error = "timeout after " + std::to_string(self->timeout.count()) + " ms"});
    });
    resolver.async_resolve(
        uri.host, std::to_string(uri.port), tcp::resolver::numeric_service,
        [self = shared_from_this()](error_code ec, tcp::resolver::results_type r) {
          if (self->finished) return;
          if (ec) return self->fail("resolve " + self->uri.host + ": " + ec.message());
          self->connect(r);
        });
  }

  void connect(const tcp::resolver::results_type& endpoints) {
    asio::async_connect(
        socket, endpoints, [self = shared_from_this()](error_code ec, const tcp::endpoint&) {
          if (self->finished) return;
          if (ec)
            return self->fail("connect " + heartbeat::host_port(self->uri.host, self->uri.port) +
                              ": " + ec.message());
          if (self->uri.scheme == ArbitratorUri::Scheme::kTcp)
            return self->finish({.reachable = true});
          self->send_request();
        });
  }

  void send_request() {
    request = {http::verb::get, uri.target, 11};
    request.set(http::field::host, uri.port == 80 ? heartbeat::bracketed_host(uri.host)
                                                  : heartbeat::host_port(uri.host, uri.port));
    request.set(http::field::user_agent, "vigil");
    request.set(http::field::connection, "close");
    http::async_write(socket, request, [self = shared_from_this()](error_code ec, std::size_t) {
      if (self->finished) return;
      if (ec) return self->fail("GET " + self->uri.target + ": " + ec.message());
      self->read_response();
    });
  }

  void read_response() {
    http::async_read_header(
        socket, buffer, parser, [self = shared_from_this()](error_code ec, std::size_t) {
          if (self->finished) return;
          if (ec) return self->fail("GET " + self->uri.target + ": " + ec.message());
          const unsigned status = self->parser.get().result_int();
          if (status >= 200 && status < 300) return self->finish({.reachable = true});
          self->fail("GET " + self->uri.target + ": status " + std::to_string(status));
        });
  }

  void fail(std::string error) { finish({.reachable = false, .error = std::move(error)}); }

  /// Stops every pending step and delivers `outcome` to the waiting callers.
  void finish(ArbitratorCheck outcome) {
    finished = true;
    stop();
    outcome.took = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - started);
    // A caller may destroy the probe (cancel()) or start a new check from
    // its callback; neither touches this list.
    const std::vector<Done> callers = std::move(waiting);
    for (const Done& done : callers) {
      if (cancelled) break;
      if (done) done(outcome);
    }
  }

  /// The probe is going away: nothing more is reported.
  void cancel() {
    cancelled = finished = true;
    waiting.clear();
    stop();
  }

  /// Makes the pending operations complete soon (with operation_aborted).
  void stop() {
    error_code ignored;
    timer.cancel();
    resolver.cancel();
    socket.close(ignored);
  }
};

ArbitratorProbe::ArbitratorProbe(asio::io_context& io, ArbitratorUri uri,
                                 std::chrono::milliseconds timeout)
    : io_(io), uri_(std::move(uri)), timeout_(timeout) {
  if (timeout_.count() <= 0) throw std::invalid_argument("arbitrator timeout must be positive");
}

ArbitratorProbe::~ArbitratorProbe() {
  if (running_) running_->cancel();
}

void ArbitratorProbe::check(Done done) {
  if (running_ && !running_->finished) {
    running_->waiting.push_back(std::move(done));
    return;
  }
  running_ = std::make_shared<Run>(io_, uri_, timeout_);
  running_->waiting.push_back(std::move(done));
  running_->start();
}

}  // namespace vigil::agent
