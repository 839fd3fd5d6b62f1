#include "agent/api/join_client.h"

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <memory>
#include <stdexcept>
#include <utility>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "agent/api/tls_fingerprint.h"
#include "agent/base/bounded_json.h"

namespace vigil::agent {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using Outcome = JoinReply::Outcome;

namespace {

// The answer's headers are refused above this, bytes.
constexpr std::uint32_t kMaxAnswerHeaderBytes = 16 * 1024;
// How much of a body that is not JSON the error quotes, characters.
constexpr std::size_t kQuotedBytes = 40;

/// The pin form (tls_fingerprint.h) of `cert`; "" when it cannot be encoded.
std::string fingerprint(X509* cert) {
  unsigned char* der = nullptr;
  const int len = cert ? i2d_X509(cert, &der) : -1;
  if (len <= 0) return "";
  std::string out =
      certificate_sha256_der(std::string_view(reinterpret_cast<const char*>(der), len));
  OPENSSL_free(der);
  return out;
}

/// The start of an answer that is not JSON, printable for a log line:
/// `"<html>..."`, or "empty body".
std::string quote(const std::string& body) {
  if (body.empty()) return "empty body";
  std::string out = "\"";
  for (std::size_t i = 0; i < std::min(body.size(), kQuotedBytes); ++i) {
    const char c = body[i];
    out += (c >= 0x20 && c < 0x7f) ? c : '?';
  }
  return out + (body.size() > kQuotedBytes ? "...\"" : "\"");
}

/// One request in flight: every asynchronous step holds a shared_ptr to it,
/// and each completion that comes after the outcome (aborted by finish())
/// sees `finished` and returns.
struct JoinRun : std::enable_shared_from_this<JoinRun> {
  JoinRun(asio::io_context& io, const Endpoint& seed, std::string pin_sha256,
          std::chrono::milliseconds t, std::function<void(JoinReply)> d)
      : where("seed " + seed.text()),
        pin(std::move(pin_sha256)),
        timeout(t),
        done(std::move(d)),
        context(ssl::context::tls_client),
        stream(io, context),
        timer(io) {
    // TLS 1.2 and 1.3 only.
    SSL_CTX_set_min_proto_version(context.native_handle(), TLS1_2_VERSION);
    parser.header_limit(kMaxAnswerHeaderBytes);
    parser.body_limit(kMaxJoinAnswerBytes);
  }

  const std::string where;  // "seed 127.0.0.1:1215", first in every error
  const std::string pin;    // the token's cnf x5t#S256
  const std::chrono::milliseconds timeout;
  std::function<void(JoinReply)> done;
  ssl::context context;  // before `stream`, which uses it
  ssl::stream<tcp::socket> stream;
  asio::steady_timer timer;
  boost::beast::flat_buffer buffer;
  http::request<http::string_body> request;
  http::response_parser<http::string_body> parser;
  bool finished = false;     // the outcome is known (or being delivered)
  bool pin_refused = false;  // the verify callback saw a leaf that is not the pin

  void start(const tcp::endpoint& endpoint) {
    timer.expires_after(timeout);
    timer.async_wait([self = shared_from_this()](error_code ec) {
      if (ec || self->finished) return;
      self->fail(Outcome::kTimeout,
                 "no answer within " + std::to_string(self->timeout.count()) + " ms");
    });
    stream.lowest_layer().async_connect(endpoint, [self = shared_from_this()](error_code ec) {
      if (self->finished) return;
      if (ec) return self->fail(Outcome::kUnreachable, "connect: " + ec.message());
      self->handshake();
    });
  }

  void handshake() {
    // No CA, no host name: the leaf certificate's fingerprint is the whole
    // check. OpenSSL still checks that the peer holds the certificate's key
    // (the handshake signature), so the pin binds the connection.
    stream.set_verify_mode(ssl::verify_peer);
    stream.set_verify_callback(
        [this](bool /*preverified*/, ssl::verify_context& ctx) { return verify(ctx); });
    stream.async_handshake(ssl::stream_base::client, [self = shared_from_this()](error_code ec) {
      if (self->finished) return;
      if (self->pin_refused) return self->refuse_pin();
      if (ec) return self->fail(Outcome::kUnreachable, "TLS handshake: " + ec.message());
      // Again on the certificate the session holds: the request goes out only
      // after this.
      if (!self->peer_is_pinned()) return self->refuse_pin();
      self->send();
    });
  }

  /// OpenSSL's verify callback, once or more per certificate of the chain,
  /// from the top down to the leaf (depth 0). Only the leaf is pinned; the
  /// rest of the chain, and the errors a chain without CA has, are ignored.
  bool verify(ssl::verify_context& ctx) {
    X509_STORE_CTX* store = ctx.native_handle();
    if (X509_STORE_CTX_get_error_depth(store) != 0) return true;
    if (fingerprint(X509_STORE_CTX_get_current_cert(store)) == pin) return true;
    pin_refused = true;  // fails the handshake with a bad_certificate alert
    return false;
  }

  bool peer_is_pinned() {
    X509* peer = SSL_get1_peer_certificate(stream.native_handle());
    const bool pinned = peer != nullptr && fingerprint(peer) == pin;
    X509_free(peer);
    return pinned;
  }

  void refuse_pin() {
    fail(Outcome::kPinMismatch,
         "certificate does not match the token (cnf): refusing it as a man in the middle");
  }

  void send() {
    http::async_write(stream, request, [self = shared_from_this()](error_code ec, std::size_t) {
      if (self->finished) return;
      if (ec) return self->fail(Outcome::kUnreachable, "send: " + ec.message());
      self->receive();
    });
  }

  /// The header first, then the body. Boost 1.74's response parser loses
  /// the body_limit error of a Content-Length when body bytes come in the
  /// same read as the header and the parser is eager, as async_read() makes
  /// it (boostorg/beast#2183): the bound is checked here on the header alone.
  void receive() {
    http::async_read_header(stream, buffer, parser,
                            [self = shared_from_this()](error_code ec, std::size_t) {
                              if (self->finished) return;
                              if (ec) return self->receive_failed(ec);
                              if (self->parser.content_length().value_or(0) > kMaxJoinAnswerBytes)
                                return self->receive_failed(http::error::body_limit);
                              http::async_read(self->stream, self->buffer, self->parser,
                                               [self](error_code ec, std::size_t) {
                                                 if (self->finished) return;
                                                 if (ec) return self->receive_failed(ec);
                                                 self->answered();
                                               });
                            });
  }

  void receive_failed(error_code ec) {
    if (ec == http::error::body_limit)
      return fail(Outcome::kBadAnswer,
                  "answer body above " + std::to_string(kMaxJoinAnswerBytes) + " bytes");
    if (ec == http::error::header_limit)
      return fail(Outcome::kBadAnswer,
                  "answer headers above " + std::to_string(kMaxAnswerHeaderBytes) + " bytes");
    // Not HTTP, cut short, or closed without an answer: the seed spoke, badly.
    if (ec.category() == http::make_error_code(http::error::end_of_stream).category() ||
        ec == ssl::error::stream_truncated)
      return fail(Outcome::kBadAnswer, "bad answer: " + ec.message());
    fail(Outcome::kUnreachable, "read: " + ec.message());
  }

  void answered() {
    const auto& res = parser.get();
    const int status = static_cast<int>(res.result_int());
    const std::string http_status = "HTTP " + std::to_string(status);
    nlohmann::json body;
    try {
      body = parse_json_bounded(res.body(), kMaxJoinAnswerDepth);
    } catch (const JsonTooDeep& e) {
      return fail(Outcome::kBadAnswer, "answer is not JSON: " + http_status + ", " + e.what());
    }
    if (body.is_discarded())
      return fail(Outcome::kBadAnswer,
                  "answer is not JSON: " + http_status + ", " + quote(res.body()));
    if (!body.is_object())
      return fail(Outcome::kBadAnswer,
                  "answer is not a JSON object: " + http_status + ", " + quote(res.body()));
    finish({.outcome = Outcome::kAnswered, .status = status, .body = std::move(body)});
  }

  void fail(Outcome outcome, const std::string& reason) {
    finish({.outcome = outcome, .error = where + ": " + reason});
  }

  /// Stops every pending step (they complete soon with operation_aborted)
  /// and delivers `reply`, once.
  void finish(JoinReply reply) {
    finished = true;
    error_code ignored;
    timer.cancel();
    stream.lowest_layer().close(ignored);
    const auto callback = std::move(done);
    done = nullptr;
    callback(std::move(reply));
  }
};

/// A token goes into a header: printable ASCII without blanks (a JWT is).
bool header_safe(const std::string& token) {
  return !token.empty() &&
         std::all_of(token.begin(), token.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

}  // namespace

void post_join(asio::io_context& io, const Endpoint& seed, std::string token,
               std::string cert_sha256, const nlohmann::json& body,
               std::chrono::milliseconds timeout, std::function<void(JoinReply)> done) {
  if (timeout.count() <= 0) throw std::invalid_argument("join timeout must be positive");
  if (!done) throw std::invalid_argument("post_join needs a done callback");
  if (!header_safe(token))
    throw std::invalid_argument("join token must be printable ASCII without blanks");
  std::string payload = body.dump();  // type_error on invalid UTF-8

  error_code ec;
  const asio::ip::address address = asio::ip::make_address(seed.host, ec);
  if (ec || seed.port == 0) {
    std::string error = "seed " + seed.text() + ": not an IP address and port";
    if (ec) error += ": " + ec.message();
    asio::post(io, [done = std::move(done), error = std::move(error)] {
      done({.outcome = Outcome::kUnreachable, .error = error});
    });
    return;
  }

  auto run = std::make_shared<JoinRun>(io, seed, std::move(cert_sha256), timeout, std::move(done));
  auto& req = run->request;
  req.method(http::verb::post);
  req.target("/v1/cluster/join");
  req.version(11);
  req.set(http::field::host, seed.text());
  req.set(http::field::authorization, "Bearer " + token);
  req.set(http::field::content_type, "application/json");
  req.set(http::field::accept, "application/json");
  req.set(http::field::user_agent, "vigil");
  req.set(http::field::connection, "close");
  req.body() = std::move(payload);
  req.prepare_payload();
  run->start(tcp::endpoint(address, seed.port));
}

}  // namespace vigil::agent
