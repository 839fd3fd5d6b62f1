#include "agent/nats/nats_client.h"

#include <openssl/rand.h>

#include <array>
#include <cstdlib>
#include <deque>
#include <map>
#include <optional>
#include <stdexcept>
#include <utility>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include "agent/base/tls_client.h"

namespace vigil::agent::nats {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

std::string random_token() {
  std::array<unsigned char, 12> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    for (auto& b : bytes) b = static_cast<unsigned char>(std::rand());
  }
  static constexpr char kDigits[] = "0123456789ABCDEFGHIJKLMNOPQRSTUV";
  std::string out;
  for (unsigned char b : bytes) {
    out += kDigits[b >> 3];
  }
  return out;
}

bool is_ip(const std::string& host) {
  error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

}  // namespace

struct Client::Impl {
  explicit Impl(asio::io_context& io) : resolver(io), socket(io), setup_timer(io), ping_timer(io) {}
  tcp::resolver resolver;
  tcp::socket socket;
  std::optional<ssl::stream<tcp::socket>> tls;
  asio::steady_timer setup_timer;
  asio::steady_timer ping_timer;
  std::array<char, 64 * 1024> read_buffer{};
  std::string writing;     // the bytes of the write in progress
  bool upgrading = false;  // the TLS handshake runs: the plain read loop stops
  // What each PING written awaits, oldest first: 0 the set-up PING, -1 a
  // keepalive, n > 0 flush n.
  std::deque<int64_t> pongs;
  struct Pending {
    std::function<void(RequestResult)> done;
    std::unique_ptr<asio::steady_timer> timer;
  };
  std::map<std::string, Pending> requests;  // by the inbox's last token

  tcp::socket& lowest() { return tls ? tls->next_layer() : socket; }
};

std::shared_ptr<Client> Client::start(asio::io_context& io, Options options, Handlers handlers) {
  std::shared_ptr<Client> c(new Client(io, std::move(options), std::move(handlers)));
  asio::post(io, [weak = std::weak_ptr<Client>(c)] {
    if (auto self = weak.lock()) self->begin();
  });
  return c;
}

Client::Client(asio::io_context& io, Options options, Handlers handlers)
    : io_(io),
      options_(std::move(options)),
      handlers_(std::move(handlers)),
      impl_(std::make_unique<Impl>(io)),
      parser_(options_.limits),
      inbox_("_INBOX." + random_token()) {}

Client::~Client() {
  finished_ = true;
  error_code ignored;
  impl_->lowest().close(ignored);
}

void Client::begin() {
  if (finished_) return;
  const std::string where = options_.host + ":" + std::to_string(options_.port);
  impl_->setup_timer.expires_after(options_.connect_timeout);
  impl_->setup_timer.async_wait([weak = weak_from_this(), where](error_code ec) {
    auto self = weak.lock();
    if (ec || !self || self->finished_ || self->connected_) return;
    self->fail("timeout after " + std::to_string(self->options_.connect_timeout.count()) +
               " ms connecting to " + where);
  });
  const auto flags = is_ip(options_.host) ? tcp::resolver::numeric_host : tcp::resolver::flags();
  impl_->resolver.async_resolve(
      options_.host, std::to_string(options_.port), flags,
      [weak = weak_from_this(), where](error_code ec, tcp::resolver::results_type results) {
        auto self = weak.lock();
        if (!self || self->finished_) return;
        if (ec) return self->fail("resolve " + self->options_.host + ": " + ec.message());
        asio::async_connect(self->impl_->socket, results,
                            [weak, where](error_code ec2, const tcp::endpoint&) {
                              auto s = weak.lock();
                              if (!s || s->finished_) return;
                              if (ec2) return s->fail("connect " + where + ": " + ec2.message());
                              error_code ignored;
                              s->impl_->socket.set_option(tcp::no_delay(true), ignored);
                              s->read();
                            });
      });
}

void Client::read() {
  auto on_read = [weak = weak_from_this()](error_code ec, std::size_t n) {
    auto self = weak.lock();
    if (!self || self->finished_) return;
    if (ec) {
      if (!self->got_info_ && ec == asio::error::eof)
        return self->fail("connection closed by the server before INFO");
      return self->fail("connection lost: " + ec.message());
    }
    std::vector<ServerOp> ops;
    const std::string error =
        self->parser_.feed(std::string_view(self->impl_->read_buffer.data(), n), ops);
    // A TLS upgrade starts right after INFO (on_info): the server sends
    // nothing else in plain text, and the next read goes through TLS.
    self->on_ops(ops);
    if (self->finished_) return;
    if (!error.empty()) return self->fail(error);
    if (!self->impl_->upgrading) self->read();
  };
  if (impl_->tls) {
    impl_->tls->async_read_some(asio::buffer(impl_->read_buffer), std::move(on_read));
  } else {
    impl_->socket.async_read_some(asio::buffer(impl_->read_buffer), std::move(on_read));
  }
}

void Client::on_ops(std::vector<ServerOp>& ops) {
  for (auto& op : ops) {
    if (finished_) return;
    switch (op.kind) {
      case ServerOp::Kind::kInfo:
        if (!got_info_) {
          got_info_ = true;
          info_ = op.info;
          on_info(info_);
        } else {
          info_ = op.info;  // an update (cluster changes); the connection stays
        }
        break;
      case ServerOp::Kind::kPing:
        if (got_info_) write(encode_pong());
        break;
      case ServerOp::Kind::kPong: {
        if (impl_->pongs.empty()) break;
        const int64_t what = impl_->pongs.front();
        impl_->pongs.pop_front();
        if (what == 0) {
          connected_ = true;
          impl_->setup_timer.cancel();
          keepalive();
          if (handlers_.connected) handlers_.connected(info_);
        } else if (what < 0) {
          pings_out_ = 0;
        } else if (handlers_.flushed) {
          handlers_.flushed(static_cast<uint64_t>(what));
        }
        break;
      }
      case ServerOp::Kind::kOk:
        break;
      case ServerOp::Kind::kErr:
        if (!connected_) return fail("server error: " + op.error);
        if (handlers_.server_error) handlers_.server_error(op.error);
        break;
      case ServerOp::Kind::kMsg: {
        const std::string& s = op.message.subject;
        if (!s.starts_with(inbox_ + ".")) break;
        auto it = impl_->requests.find(s.substr(inbox_.size() + 1));
        if (it == impl_->requests.end()) break;  // a late answer
        auto done = std::move(it->second.done);
        impl_->requests.erase(it);
        RequestResult r;
        r.answered = true;
        r.reply = std::move(op.message);
        if (done) done(std::move(r));
        break;
      }
    }
  }
}

void Client::on_info(const ServerInfo& info) {
  const bool want_tls = options_.tls || info.tls_required;
  if (!want_tls) return after_tls();
  if (options_.tls && !info.tls_required && !info.tls_available) {
    return fail("TLS: the URL is tls:// but the server does not offer TLS");
  }
  if (!options_.tls_context) return fail("TLS: no CA store");
  // The plain socket moves into the TLS stream: from here on, every read and
  // write goes through TLS.
  impl_->upgrading = true;
  impl_->tls.emplace(std::move(impl_->socket), *options_.tls_context);
  if (auto why = expect_server(impl_->tls->native_handle(), options_.host, is_ip(options_.host));
      !why.empty())
    return fail(why);
  impl_->tls->async_handshake(ssl::stream_base::client, [weak = weak_from_this()](error_code ec) {
    auto self = weak.lock();
    if (!self || self->finished_) return;
    if (ec) {
      return self->fail(
          handshake_error(self->impl_->tls->native_handle(), ec.message(),
                          self->options_.host + ":" + std::to_string(self->options_.port)));
    }
    self->impl_->upgrading = false;
    self->after_tls();
    self->read();
  });
}

void Client::after_tls() {
  ConnectOptions c = options_.connect;
  c.tls_required = static_cast<bool>(impl_->tls);
  c.headers = true;
  std::string bytes = encode_connect(c);
  bytes += encode_sub(inbox_ + ".*", "1");
  bytes += encode_ping();
  impl_->pongs.push_back(0);
  write(std::move(bytes));
}

void Client::write(std::string bytes) {
  if (finished_) return;
  out_ += bytes;
  if (writing_bytes_ == 0) write_more();
}

void Client::write_more() {
  if (finished_ || out_.empty()) return;
  impl_->writing.swap(out_);
  out_.clear();
  writing_bytes_ = impl_->writing.size();
  auto on_written = [weak = weak_from_this()](error_code ec, std::size_t) {
    auto self = weak.lock();
    if (!self || self->finished_) return;
    self->writing_bytes_ = 0;
    self->impl_->writing.clear();
    if (ec) return self->fail("connection lost: " + ec.message());
    self->write_more();
  };
  if (impl_->tls) {
    asio::async_write(*impl_->tls, asio::buffer(impl_->writing), std::move(on_written));
  } else {
    asio::async_write(impl_->socket, asio::buffer(impl_->writing), std::move(on_written));
  }
}

void Client::keepalive() {
  impl_->ping_timer.expires_after(options_.ping_interval);
  impl_->ping_timer.async_wait([weak = weak_from_this()](error_code ec) {
    auto self = weak.lock();
    if (ec || !self || self->finished_) return;
    if (self->pings_out_ >= self->options_.max_pings_out) {
      return self->fail("stale connection (" + std::to_string(self->pings_out_) +
                        " pings unanswered)");
    }
    ++self->pings_out_;
    self->impl_->pongs.push_back(-1);
    self->write(encode_ping());
    self->keepalive();
  });
}

void Client::publish(const std::string& subject, const std::string& payload,
                     const std::string& headers) {
  if (!connected_) return;
  write(headers.empty() ? encode_pub(subject, "", payload)
                        : encode_hpub(subject, "", headers, payload));
}

uint64_t Client::flush() {
  const uint64_t n = next_flush_++;
  if (!connected_) return n;
  impl_->pongs.push_back(static_cast<int64_t>(n));
  write(encode_ping());
  return n;
}

void Client::request(const std::string& subject, const std::string& payload,
                     const std::string& headers, std::chrono::milliseconds timeout,
                     std::function<void(RequestResult)> done) {
  if (!connected_) {
    asio::post(io_, [done = std::move(done)] {
      done({.answered = false, .reply = {}, .error = "not connected"});
    });
    return;
  }
  const std::string token = std::to_string(next_request_++);
  const std::string reply = inbox_ + "." + token;
  write(headers.empty() ? encode_pub(subject, reply, payload)
                        : encode_hpub(subject, reply, headers, payload));
  auto timer = std::make_unique<asio::steady_timer>(io_, timeout);
  timer->async_wait([weak = weak_from_this(), token, timeout](error_code ec) {
    auto self = weak.lock();
    if (ec || !self || self->finished_) return;
    auto it = self->impl_->requests.find(token);
    if (it == self->impl_->requests.end()) return;
    auto d = std::move(it->second.done);
    self->impl_->requests.erase(it);
    if (d) {
      d({.answered = false,
         .reply = {},
         .error = "no answer within " + std::to_string(timeout.count()) + " ms"});
    }
  });
  impl_->requests[token] = Impl::Pending{std::move(done), std::move(timer)};
}

void Client::close() {
  if (finished_) return;
  finished_ = true;
  connected_ = false;
  error_code ignored;
  impl_->setup_timer.cancel();
  impl_->ping_timer.cancel();
  impl_->resolver.cancel();
  impl_->lowest().close(ignored);
  impl_->requests.clear();
}

void Client::fail(std::string error) {
  if (finished_) return;
  auto requests = std::move(impl_->requests);
  impl_->requests.clear();
  close();
  for (auto& [token, p] : requests) {
    if (p.done) p.done({.answered = false, .reply = {}, .error = "connection closed: " + error});
  }
  if (handlers_.closed) handlers_.closed(error);
}

}  // namespace vigil::agent::nats
