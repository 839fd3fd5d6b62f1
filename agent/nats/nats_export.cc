#include "agent/nats/nats_export.h"

#include <algorithm>
#include <utility>

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>

#include "agent/base/clock.h"
#include "agent/base/tls_client.h"
#include "agent/base/version.h"

namespace vigil::agent::nats {

namespace asio = boost::asio;
using json = nlohmann::json;
using std::chrono::milliseconds;

namespace {

constexpr const char* kOverflowKind = "SubscriptionQueueThreshold";
constexpr const char* kName = "nats";
// A connection that lasted this long resets the reconnect backoff.
constexpr milliseconds kStableConnection{10000};

std::string token_of(const std::string& name) {
  if (name.empty()) return "_";
  std::string out = name;
  for (char& c : out) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-';
    if (!ok) c = '_';
  }
  return out;
}

json text_or_null(const std::string& s) { return s.empty() ? json(nullptr) : json(s); }

// The reason a JetStream answer refuses a publish, or "" for an ack
// ({"stream": "S", "seq": n}). `subject`: the subject published to.
std::string jetstream_refusal(const Message& reply, const std::string& subject) {
  if (reply.status == 503) return "no JetStream stream for subject " + subject;
  if (reply.status != 0 && (reply.status < 200 || reply.status >= 300)) {
    return "JetStream answered status " + std::to_string(reply.status) + " for subject " + subject;
  }
  json j = json::parse(reply.payload, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return "JetStream answer is not JSON (subject " + subject + ")";
  }
  if (auto e = j.find("error"); e != j.end()) {
    std::string description = "error";
    int code = 0;
    if (e->is_object()) {
      if (auto d = e->find("description"); d != e->end() && d->is_string()) description = *d;
      if (auto c = e->find("code"); c != e->end() && c->is_number_integer()) code = *c;
    }
    if (description.size() > 200) description = description.substr(0, 200) + "...";
    if (code == 503) return "no JetStream stream for subject " + subject + " (" + description + ")";
    return "JetStream refused subject " + subject + ": " + description +
           (code ? " (" + std::to_string(code) + ")" : "");
  }
  if (!j.contains("stream") || !j.contains("seq")) {
    return "JetStream answer without stream and seq (subject " + subject + ")";
  }
  return "";
}

}  // namespace

std::string export_subject(const std::string& prefix, const std::string& cluster,
                           const std::string& node, const std::string& kind) {
  return prefix + "." + token_of(cluster) + "." + token_of(node) + "." + token_of(kind);
}

Exporter::Exporter(asio::io_context& io, const NatsExportConfig& config, std::string node,
                   std::string cluster, Publish publish, Options options)
    : io_(io),
      config_(config),
      node_(std::move(node)),
      cluster_(std::move(cluster)),
      publish_(std::move(publish)),
      options_(options),
      boot_(std::to_string(wall_ms())),
      filters_(EventFilterSet::parse(config.filters)),
      worker_(io),
      retry_timer_(io),
      stop_timer_(io),
      backoff_(options.backoff_min),
      rng_(std::random_device{}()) {
  const std::string ca = config_.ca_file.string();
  auto tls = std::make_shared<std::shared_ptr<asio::ssl::context>>();
  worker_.submit([tls, ca] { *tls = make_tls_client_context(ca); },
                 [this, tls, alive = alive_](const std::string& err) {
                   if (!*alive) return;
                   tls_loaded_ = true;
                   tls_ = *tls;
                   if (!err.empty()) {
                     // A nats:// server may still be reached in plain text;
                     // a tls:// one may not.
                     error(err);
                     if (config_.tls) return;
                   }
                   if (!stopping_) connect();
                 });
}

Exporter::~Exporter() {
  *alive_ = false;
  if (client_) client_->close();
}

bool Exporter::wants(std::string_view kind) const { return !stopping_ && filters_.may_match(kind); }

void Exporter::offer(const Event& e) {
  if (stopping_) return;
  if (auto from = e.labels.find("from"); from != e.labels.end() && from->second == "peer") return;
  if (e.kind == kOverflowKind && overflowing_) {
    if (auto s = e.labels.find("subscriber"); s != e.labels.end() && s->second == kName) return;
  }
  if (!filters_.empty() && !filters_.matches(e)) return;
  if (overflowing_ && buffer_.size() <= config_.buffer / 2) overflowing_ = false;
  if (buffer_.size() >= config_.buffer) {
    overflow();
    return;
  }
  json body = to_json(e);
  body["node"] = node_;
  body["cluster"] = cluster_;
  buffer_.push_back({e.id, export_subject(config_.subject_prefix, cluster_, node_, e.kind),
                     body.dump(-1, ' ', false, json::error_handler_t::replace)});
  pump();
}

void Exporter::overflow() {
  ++dropped_;
  ++drops_unlogged_;
  const auto now = std::chrono::steady_clock::now();
  if (!drop_logged_ || now - last_drop_log_ >= options_.drop_log_interval) {
    spdlog::warn(
        "nats export: buffer full ({} events): dropped {} events since the last report, "
        "{} in all",
        config_.buffer, drops_unlogged_, dropped_);
    drop_logged_ = true;
    last_drop_log_ = now;
    drops_unlogged_ = 0;
  }
  if (overflowing_) return;
  overflowing_ = true;
  if (!publish_) return;
  Event e;
  e.kind = kOverflowKind;
  e.labels.emplace("subscriber", kName);
  e.data = {{"name", kName}, {"dropped", dropped_}, {"max", config_.buffer}};
  publish_(std::move(e));
}

void Exporter::connect() {
  if (stopping_ || client_) return;
  Client::Options o;
  o.tls = config_.tls;
  o.host = config_.host;
  o.port = config_.port;
  o.connect.version = kVersion;
  o.connect.auth_token = config_.token;
  o.connect.user = config_.user;
  o.connect.pass = config_.password;
  o.tls_context = tls_;
  o.connect_timeout = options_.connect_timeout;
  o.ping_interval = options_.ping_interval;
  Client::Handlers h;
  auto alive = alive_;
  h.connected = [this, alive](const ServerInfo& info) {
    if (*alive) connected(info);
  };
  h.flushed = [this, alive](uint64_t n) {
    if (*alive) flushed(n);
  };
  h.closed = [this, alive](const std::string& err) {
    if (*alive) closed(err);
  };
  h.server_error = [this, alive](const std::string& err) {
    if (*alive) error("server error: " + err);
  };
  client_ = Client::start(io_, std::move(o), std::move(h));
}

void Exporter::connected(const ServerInfo& info) {
  connected_at_ = std::chrono::steady_clock::now();
  spdlog::info("nats export: connected to {} ({} {}{})", config_.url, info.server_name,
               info.version, info.jetstream ? ", jetstream" : "");
  if (config_.jetstream && !info.jetstream) {
    error("the server at " + config_.url + " does not run JetStream (jetstream = true)");
  }
  in_flight_ = 0;
  js_waiting_ = false;
  pump();
}

void Exporter::closed(const std::string& err) {
  const bool was_connected = client_ && connected_at_ != std::chrono::steady_clock::time_point{};
  client_.reset();
  in_flight_ = 0;  // unproven events stay first in the buffer
  js_waiting_ = false;
  error(err);
  if (was_connected && std::chrono::steady_clock::now() - connected_at_ >= kStableConnection) {
    backoff_ = options_.backoff_min;
  }
  connected_at_ = {};
  if (stopping_) return finish_stop();
  schedule_reconnect();
}

void Exporter::schedule_reconnect() {
  // Full jitter: a delay drawn in [backoff/2, backoff], then the backoff doubles.
  const auto ceiling = backoff_.count();
  std::uniform_int_distribution<int64_t> pick(ceiling / 2, ceiling);
  const milliseconds delay(pick(rng_));
  backoff_ = std::min(backoff_ * 2, options_.backoff_max);
  ++reconnects_;
  retry_timer_.expires_after(delay);
  retry_timer_.async_wait([this, alive = alive_](boost::system::error_code ec) {
    if (ec || !*alive || stopping_) return;
    connect();
  });
}

void Exporter::pump() {
  if (!client_ || !client_->is_connected()) return;
  if (config_.jetstream) {
    if (js_waiting_ || buffer_.empty()) return;
    js_waiting_ = true;
    const Item& item = buffer_.front();
    const std::string headers = "NATS/1.0\r\nNats-Msg-Id: " + node_ + "-" + boot_ + "-" +
                                std::to_string(item.id) + "\r\n\r\n";
    const std::string subject = item.subject;
    try {
      client_->request(item.subject, item.payload, headers, options_.ack_timeout,
                       [this, alive = alive_, client = std::weak_ptr<Client>(client_),
                        subject](RequestResult r) {
                         if (!*alive) return;
                         if (client.lock() != client_) return;  // an old connection
                         js_waiting_ = false;
                         if (!r.answered) {
                           error("JetStream ack for subject " + subject + ": " + r.error);
                           return pump();  // sent again, same Nats-Msg-Id
                         }
                         jetstream_answer(r);
                       });
    } catch (const std::exception& e) {
      // A subject the protocol refuses: the event can never be published.
      error(std::string("dropped an event: ") + e.what());
      buffer_.pop_front();
      ++dropped_;
      js_waiting_ = false;
      return pump();
    }
    return;
  }
  if (in_flight_ > 0) return;  // one PING/PONG round at a time
  const std::size_t n = std::min(buffer_.size(), options_.batch);
  if (n == 0) return;
  std::size_t written = 0;
  for (std::size_t i = 0; i < n; ++i) {
    try {
      client_->publish(buffer_[written].subject, buffer_[written].payload);
      ++written;
    } catch (const std::exception& e) {
      error(std::string("dropped an event: ") + e.what());
      buffer_.erase(buffer_.begin() + static_cast<std::ptrdiff_t>(written));
      ++dropped_;
    }
  }
  if (written == 0) return;
  in_flight_ = written;
  flush_waited_ = client_->flush();
}

void Exporter::flushed(uint64_t n) {
  if (n != flush_waited_ || in_flight_ == 0) return;
  const std::size_t count = std::min(in_flight_, buffer_.size());
  buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(count));
  published_ += count;
  in_flight_ = 0;
  if (stopping_ && buffer_.empty()) return finish_stop();
  pump();
}

void Exporter::jetstream_answer(const RequestResult& r) {
  if (buffer_.empty()) return;
  const std::string refusal = jetstream_refusal(r.reply, buffer_.front().subject);
  if (!refusal.empty()) {
    error(refusal);
    // The event stays first; tried again after the backoff.
    const auto ceiling = backoff_.count();
    std::uniform_int_distribution<int64_t> pick(ceiling / 2, ceiling);
    backoff_ = std::min(backoff_ * 2, options_.backoff_max);
    js_waiting_ = true;  // nothing else goes out meanwhile
    retry_timer_.expires_after(milliseconds(pick(rng_)));
    retry_timer_.async_wait([this, alive = alive_, client = std::weak_ptr<Client>(client_)](
                                boost::system::error_code ec) {
      if (ec || !*alive || client.lock() != client_) return;
      js_waiting_ = false;
      if (stopping_) return finish_stop();
      pump();
    });
    return;
  }
  backoff_ = options_.backoff_min;
  buffer_.pop_front();
  ++published_;
  ++acked_;
  if (stopping_ && buffer_.empty()) return finish_stop();
  pump();
}

void Exporter::error(std::string text) {
  if (text != last_error_) spdlog::warn("nats export: {}", text);
  last_error_ = std::move(text);
  last_error_at_ = now_rfc3339();
}

json Exporter::status() const {
  json server = nullptr;
  const bool up = client_ && client_->is_connected();
  if (up) {
    const ServerInfo& i = client_->server();
    server = {{"name", i.server_name},
              {"id", i.server_id},
              {"version", i.version},
              {"jetstream", i.jetstream}};
  }
  return {{"url", config_.url},
          {"connected", up},
          {"server", server},
          {"buffered", buffer_.size()},
          {"buffer", config_.buffer},
          {"published", published_},
          {"acked", acked_},
          {"dropped", dropped_},
          {"reconnects", reconnects_},
          {"last_error", text_or_null(last_error_)},
          {"last_error_at", text_or_null(last_error_at_)},
          {"jetstream", config_.jetstream},
          {"subject_prefix", config_.subject_prefix}};
}

void Exporter::stop(std::function<void()> done) {
  if (stopping_) {
    asio::post(io_, std::move(done));
    return;
  }
  stopping_ = true;
  stop_done_ = std::move(done);
  retry_timer_.cancel();
  const bool up = client_ && client_->is_connected();
  if (!up || buffer_.empty()) {
    asio::post(io_, [this, alive = alive_] {
      if (*alive) finish_stop();
    });
    return;
  }
  pump();
  stop_timer_.expires_after(options_.stop_flush);
  stop_timer_.async_wait([this, alive = alive_](boost::system::error_code ec) {
    if (ec || !*alive) return;
    finish_stop();
  });
}

void Exporter::finish_stop() {
  if (!stop_done_) return;
  stop_timer_.cancel();
  retry_timer_.cancel();
  if (client_) {
    client_->close();
    client_.reset();
  }
  if (!buffer_.empty()) {
    spdlog::warn("nats export: stopping with {} events unpublished", buffer_.size());
  }
  auto done = std::move(stop_done_);
  stop_done_ = nullptr;
  done();
}

}  // namespace vigil::agent::nats
