#include "agent/webhooks/webhook_sender.h"

#include <optional>
#include <stdexcept>
#include <utility>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "agent/base/tls_client.h"
#include "agent/base/version.h"

namespace vigil::agent {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

constexpr std::uint32_t kMaxAnswerHeaderBytes = 16 * 1024;

struct PostRun : WebhookPost, std::enable_shared_from_this<PostRun> {
  PostRun(asio::io_context& io, std::shared_ptr<ssl::context> tls_context, WebhookUrl u,
          std::chrono::milliseconds t, std::function<void(WebhookResult)> d)
      : url(std::move(u)),
        timeout(t),
        done(std::move(d)),
        context(std::move(tls_context)),
        resolver(io),
        timer(io) {
    if (url.tls) {
      tls_stream.emplace(io, *context);
    } else {
      socket.emplace(io);
    }
    parser.header_limit(kMaxAnswerHeaderBytes);
    parser.skip(true);  // the body is not read (see finish())
  }

  const WebhookUrl url;
  const std::chrono::milliseconds timeout;
  std::function<void(WebhookResult)> done;
  std::shared_ptr<ssl::context> context;  // before the stream, which uses it
  tcp::resolver resolver;
  std::optional<tcp::socket> socket;                   // http
  std::optional<ssl::stream<tcp::socket>> tls_stream;  // https
  asio::steady_timer timer;
  boost::beast::flat_buffer buffer;
  http::request<http::string_body> request;
  http::response_parser<http::empty_body> parser;
  const char* stage = "resolving";
  bool finished = false;

  tcp::socket& lowest() { return tls_stream ? tls_stream->next_layer() : *socket; }

  void cancel() override {
    if (finished) return;
    done = nullptr;
    finish({});
  }

  void start() {
    timer.expires_after(timeout);
    timer.async_wait([self = shared_from_this()](error_code ec) {
      if (ec || self->finished) return;
      self->fail("timeout after " + duration_text(self->timeout) + " (" + self->stage + " " +
                 self->url.authority() + ")");
    });
    const auto flags = url.host_is_ip ? tcp::resolver::numeric_host : tcp::resolver::flags();
    resolver.async_resolve(
        url.host, std::to_string(url.port), flags,
        [self = shared_from_this()](error_code ec, tcp::resolver::results_type results) {
          if (self->finished) return;
          if (ec) return self->fail("resolve " + self->url.host + ": " + ec.message());
          self->connect(results);
        });
  }

  void connect(const tcp::resolver::results_type& results) {
    stage = "connecting to";
    asio::async_connect(
        lowest(), results, [self = shared_from_this()](error_code ec, const tcp::endpoint&) {
          if (self->finished) return;
          if (ec) {
            return self->fail("connect " + self->url.authority() + ": " + ec.message());
          }
          if (self->tls_stream) return self->handshake();
          self->send();
        });
  }

  void handshake() {
    stage = "TLS handshake with";
    if (auto why = expect_server(tls_stream->native_handle(), url.host, url.host_is_ip);
        !why.empty())
      return fail(why);
    tls_stream->async_handshake(
        ssl::stream_base::client, [self = shared_from_this()](error_code ec) {
          if (self->finished) return;
          if (ec)
            return self->fail(handshake_error(self->tls_stream->native_handle(), ec.message(),
                                              self->url.authority()));
          self->send();
        });
  }

  void send() {
    stage = "sending to";
    auto on_sent = [self = shared_from_this()](error_code ec, std::size_t) {
      if (self->finished) return;
      if (ec) return self->fail("send to " + self->url.authority() + ": " + ec.message());
      self->receive();
    };
    if (tls_stream) {
      http::async_write(*tls_stream, request, std::move(on_sent));
    } else {
      http::async_write(*socket, request, std::move(on_sent));
    }
  }

  void receive() {
    stage = "waiting for the answer from";
    auto on_header = [self = shared_from_this()](error_code ec, std::size_t) {
      if (self->finished) return;
      if (ec) return self->receive_failed(ec);
      self->answered();
    };
    if (tls_stream) {
      http::async_read_header(*tls_stream, buffer, parser, std::move(on_header));
    } else {
      http::async_read_header(*socket, buffer, parser, std::move(on_header));
    }
  }

  void receive_failed(const error_code& ec) {
    if (ec == http::error::header_limit) {
      return fail("bad answer from " + url.authority() + ": headers above " +
                  std::to_string(kMaxAnswerHeaderBytes) + " bytes");
    }
    if (ec.category() == http::make_error_code(http::error::end_of_stream).category() &&
        ec != http::error::end_of_stream) {
      return fail("bad answer from " + url.authority() + ": " + ec.message());
    }
    fail("no answer from " + url.authority() + ": " + ec.message());
  }

  void answered() {
    const auto& res = parser.get();
    const int status = static_cast<int>(res.result_int());
    if (status >= 200 && status < 300) return finish({.ok = true, .status = status});
    std::string reason(res.reason());
    if (reason.empty()) reason = std::string(http::obsolete_reason(res.result()));
    for (char& c : reason) {
      if (c < 0x20 || c >= 0x7f) c = '?';
    }
    if (reason.size() > 64) reason = reason.substr(0, 64) + "...";
    finish({.ok = false,
            .status = status,
            .error = "HTTP " + std::to_string(status) + (reason.empty() ? "" : " " + reason)});
  }

  void fail(std::string error) { finish({.ok = false, .status = 0, .error = std::move(error)}); }

  /// Stops every pending step (they complete with operation_aborted and see
  /// `finished`) and delivers `result` once. The answer's body is left
  /// unread: the connection closes.
  void finish(WebhookResult result) {
    finished = true;
    error_code ignored;
    timer.cancel();
    resolver.cancel();
    lowest().close(ignored);
    auto callback = std::move(done);
    done = nullptr;
    if (callback) callback(std::move(result));
  }
};

}  // namespace

std::string duration_text(std::chrono::milliseconds d) {
  if (d.count() % 1000 == 0) return std::to_string(d.count() / 1000) + " s";
  return std::to_string(d.count()) + " ms";
}

std::shared_ptr<WebhookPost> post_webhook(
    asio::io_context& io, std::shared_ptr<ssl::context> tls, const WebhookUrl& url,
    const std::vector<std::pair<std::string, std::string>>& headers, std::string body,
    std::chrono::milliseconds timeout, std::function<void(WebhookResult)> done) {
  if (timeout.count() <= 0) throw std::invalid_argument("webhook timeout must be positive");
  if (!done) throw std::invalid_argument("post_webhook needs a done callback");
  if (url.tls && !tls) {
    struct Refused : WebhookPost {
      bool cancelled = false;
      void cancel() override { cancelled = true; }
    };
    auto refused = std::make_shared<Refused>();
    asio::post(io, [refused, done = std::move(done)] {
      if (!refused->cancelled) done({.ok = false, .status = 0, .error = "TLS: no CA store"});
    });
    return refused;
  }
  auto run = std::make_shared<PostRun>(io, std::move(tls), url, timeout, std::move(done));
  auto& req = run->request;
  req.method(http::verb::post);
  req.target(url.target);
  req.version(11);
  req.set(http::field::host, url.host_header());
  req.set(http::field::content_type, "application/json");
  req.set(http::field::user_agent, std::string("vigil/") + kVersion);
  req.set(http::field::connection, "close");
  for (const auto& [name, value] : headers) req.set(name, value);
  req.body() = std::move(body);
  req.prepare_payload();
  run->start();
  return run;
}

}  // namespace vigil::agent
