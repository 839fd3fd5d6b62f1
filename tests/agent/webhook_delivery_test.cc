// The delivery engine against in-process receivers on 127.0.0.1 (Beast
// servers on the test's io_context, ephemeral ports), with short timings.
#include "agent/webhooks/webhook_deliveries.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <numeric>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "agent/api/jws.h"
#include "agent/base/blocking_worker.h"
#include "agent/base/clock.h"
#include "agent/webhooks/webhook_delivery.h"
#include "tests/support/temp_dir.h"

namespace vigil::agent {
namespace {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using std::chrono::milliseconds;
using ::testing::HasSubstr;
using ::testing::StartsWith;

/// A self-signed certificate for the IP address 127.0.0.1 (subjectAltName),
/// EC P-256, in PEM.
struct TestCert {
  std::string cert_pem, key_pem;
};

TestCert make_cert() {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"), &EVP_PKEY_free);
  std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), &X509_free);
  if (!key || !cert) throw std::runtime_error("OpenSSL: cannot make a key or a certificate");
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("vigil-test-receiver"), -1, -1,
                             0);
  X509_set_issuer_name(cert.get(), name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
  X509_EXTENSION* san = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, "IP:127.0.0.1");
  X509_EXTENSION* bc =
      X509V3_EXT_conf_nid(nullptr, &ctx, NID_basic_constraints, "critical,CA:TRUE");
  if (!san || !bc) throw std::runtime_error("OpenSSL: cannot make the extensions");
  X509_add_ext(cert.get(), san, -1);
  X509_add_ext(cert.get(), bc, -1);
  X509_EXTENSION_free(san);
  X509_EXTENSION_free(bc);
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) <= 0)
    throw std::runtime_error("OpenSSL: cannot sign the certificate");
  auto pem = [](const std::function<int(BIO*)>& write) {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
    if (!bio || write(bio.get()) != 1) throw std::runtime_error("OpenSSL: cannot write PEM");
    char* data = nullptr;
    const long size = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(size));
  };
  TestCert out;
  out.cert_pem = pem([&](BIO* b) { return PEM_write_bio_X509(b, cert.get()); });
  out.key_pem = pem([&](BIO* b) {
    return PEM_write_bio_PrivateKey(b, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  });
  return out;
}

/// A request as the receiver read it.
struct Seen {
  std::string target, host, content_type, event, delivery, authorization, body;
  nlohmann::json json;
};

/// An HTTP (or HTTPS) receiver on 127.0.0.1, port 0. `answer(request
/// number)` gives the status to answer (0: hang: read the request and say
/// nothing).
class Receiver {
 public:
  Receiver(asio::io_context& io, const TestCert* cert = nullptr)
      : io_(io), acceptor_(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    if (cert != nullptr) {
      tls_.emplace(ssl::context::tls_server);
      tls_->use_certificate_chain(asio::buffer(cert->cert_pem));
      tls_->use_private_key(asio::buffer(cert->key_pem), ssl::context::pem);
    }
    port_ = acceptor_.local_endpoint().port();
    accept();
  }
  ~Receiver() { stop(); }

  uint16_t port() const { return port_; }
  std::string url(const std::string& path = "/hook") const {
    return std::string(tls_ ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_) + path;
  }
  std::function<int(std::size_t)> answer = [](std::size_t) { return 200; };
  const std::vector<Seen>& seen() const { return seen_; }
  int handshake_failures() const { return handshake_failures_; }

  void stop() {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    for (auto& c : conns_) c.lowest().close(ignored);
  }

 private:
  struct Conn {
    Conn(asio::io_context& io, ssl::context* ctx) {
      if (ctx != nullptr) {
        tls.emplace(io, *ctx);
      } else {
        plain.emplace(io);
      }
    }
    tcp::socket& lowest() { return tls ? tls->next_layer() : *plain; }
    std::optional<tcp::socket> plain;
    std::optional<ssl::stream<tcp::socket>> tls;
    boost::beast::flat_buffer buffer;
    http::request<http::string_body> request;
    std::string response;
  };

  void accept() {
    auto& c = conns_.emplace_back(io_, tls_ ? &*tls_ : nullptr);
    acceptor_.async_accept(c.lowest(), [this, &c](boost::system::error_code ec) {
      if (ec) return;
      if (c.tls) {
        c.tls->async_handshake(ssl::stream_base::server, [this, &c](boost::system::error_code ec) {
          if (ec) {
            ++handshake_failures_;
            return;
          }
          read(c);
        });
      } else {
        read(c);
      }
      accept();
    });
  }

  void read(Conn& c) {
    auto on_read = [this, &c](boost::system::error_code ec, std::size_t) {
      if (ec) return;
      handle(c);
    };
    if (c.tls) {
      http::async_read(*c.tls, c.buffer, c.request, on_read);
    } else {
      http::async_read(*c.plain, c.buffer, c.request, on_read);
    }
  }

  void handle(Conn& c) {
    const auto& req = c.request;
    auto field = [&](const char* name) {
      return std::string(req[boost::beast::string_view(name)]);
    };
    Seen s{.target = std::string(req.target()),
           .host = field("Host"),
           .content_type = field("Content-Type"),
           .event = field("X-Vigil-Event"),
           .delivery = field("X-Vigil-Delivery"),
           .authorization = field("Authorization"),
           .body = req.body()};
    s.json = nlohmann::json::parse(s.body, nullptr, false);
    const int status = answer(seen_.size());
    seen_.push_back(std::move(s));
    if (status == 0) return;  // hang
    c.response = "HTTP/1.1 " + std::to_string(status) + " " +
                 std::string(http::obsolete_reason(static_cast<http::status>(status))) +
                 "\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
    auto on_written = [&c](boost::system::error_code, std::size_t) {
      boost::system::error_code ignored;
      c.lowest().close(ignored);
    };
    if (c.tls) {
      asio::async_write(*c.tls, asio::buffer(c.response), on_written);
    } else {
      asio::async_write(*c.plain, asio::buffer(c.response), on_written);
    }
  }

  asio::io_context& io_;
  std::optional<ssl::context> tls_;
  tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::list<Conn> conns_;
  std::vector<Seen> seen_;
  int handshake_failures_ = 0;
};

/// The distinct deliveries a receiver saw, in the order first seen.
std::vector<std::string> distinct(const std::vector<Seen>& seen) {
  std::vector<std::string> out;
  for (const auto& s : seen) {
    if (std::find(out.begin(), out.end(), s.delivery) == out.end()) out.push_back(s.delivery);
  }
  return out;
}

Event event(const std::string& kind, int n, std::map<std::string, std::string> labels = {}) {
  Event e;
  e.kind = kind;
  e.id = static_cast<uint64_t>(n);
  e.at = "2026-11-30T12:00:00.000Z";
  e.labels = std::move(labels);
  e.labels.emplace("node", "n1");
  e.data = {{"n", n}};
  return e;
}

class WebhookDeliveryTest : public ::testing::Test {
 protected:
  void RunUntil(const std::function<bool()>& pred, milliseconds limit = milliseconds(15'000)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!pred() && std::chrono::steady_clock::now() < deadline) {
      io_.restart();
      io_.run_one_for(milliseconds(10));
    }
    ASSERT_TRUE(pred()) << "condition not met within " << limit.count() << " ms";
  }

  /// Short timings: requests time out after 1 s, retries come after 20-80 ms.
  static WebhookDeliveries::Options FastOptions() {
    WebhookDeliveries::Options o;
    o.delivery.request_timeout = milliseconds(1000);
    o.delivery.backoff_min = milliseconds(20);
    o.delivery.backoff_max = milliseconds(80);
    return o;
  }

  std::unique_ptr<WebhookDeliveries> Make(WebhookDeliveries::Options o = FastOptions()) {
    return std::make_unique<WebhookDeliveries>(io_, worker_, tmp_.path(), "n1", "prod", o,
                                               [this](Event e) { published_.push_back(e); });
  }

  /// status() of the webhook with `url`.
  static nlohmann::json StatusOf(const WebhookDeliveries& w, const std::string& url) {
    for (const auto& s : w.status()) {
      if (s["url"] == url) return s;
    }
    return nullptr;
  }

  void Stop(WebhookDeliveries& w) {
    bool stopped = false;
    w.stop([&] { stopped = true; });
    RunUntil([&] { return stopped; });
  }

  WebhookDeliveries::TestResult Test(WebhookDeliveries& w, const Webhook& hook) {
    std::optional<WebhookDeliveries::TestResult> result;
    w.test(hook, [&](WebhookDeliveries::TestResult r) { result = r; });
    EXPECT_FALSE(result.has_value()) << "test() answered from inside the call";
    RunUntil([&] { return result.has_value(); });
    return result.value_or(WebhookDeliveries::TestResult{});
  }

  testing::TempDir tmp_{"webhooks"};
  asio::io_context io_;
  BlockingWorker worker_{io_};
  std::vector<Event> published_;
};

TEST_F(WebhookDeliveryTest, DeliversWithHeadersAndBody) {
  Receiver rx(io_);
  auto hooks = Make();
  hooks->apply({make_webhook(rx.url("/hook?x=1"), WebhookAuth::kBearer, "tok-123", {})});
  hooks->offer(event("NodeStale", 7, {{"node", "n2"}}));
  RunUntil([&] { return rx.seen().size() == 1; });
  const Seen& s = rx.seen()[0];
  EXPECT_EQ(s.target, "/hook?x=1");
  EXPECT_EQ(s.host, "127.0.0.1:" + std::to_string(rx.port()));
  EXPECT_EQ(s.content_type, "application/json");
  EXPECT_EQ(s.event, "NodeStale");
  EXPECT_THAT(s.delivery, StartsWith("n1-"));
  EXPECT_EQ(s.authorization, "Bearer tok-123");
  ASSERT_TRUE(s.json.is_object()) << s.body;
  EXPECT_EQ(s.json["kind"], "NodeStale");
  EXPECT_EQ(s.json["id"], 7);
  EXPECT_EQ(s.json["labels"]["node"], "n2");
  EXPECT_EQ(s.json["data"]["n"], 7);
  EXPECT_EQ(s.json["node"], "n1");
  EXPECT_EQ(s.json["cluster"], "prod");
  RunUntil([&] { return StatusOf(*hooks, rx.url("/hook?x=1"))["delivered"] == 1; });
  const auto st = StatusOf(*hooks, rx.url("/hook?x=1"));
  EXPECT_EQ(st["queued"], 0);
  EXPECT_EQ(st["failed"], 0);
  EXPECT_EQ(st["dropped"], 0);
  EXPECT_TRUE(st["last_error"].is_null());
  EXPECT_TRUE(st["last_success_at"].is_string());
  Stop(*hooks);
}

TEST_F(WebhookDeliveryTest, ASecretSignsAFreshJwtThatVerifies) {
  Receiver rx(io_);
  auto hooks = Make();
  hooks->apply({make_webhook(rx.url(), WebhookAuth::kSecret, "s3cret", {})});
  const int64_t before = wall_ms() / 1000;
  hooks->offer(event("NodeAlive", 1));
  RunUntil([&] { return rx.seen().size() == 1; });
  const int64_t after = wall_ms() / 1000;
  const std::string auth = rx.seen()[0].authorization;
  ASSERT_THAT(auth, StartsWith("Bearer "));
  const jws::Parsed p = jws::parse(std::string_view(auth).substr(7));
  EXPECT_TRUE(jws::verify(p, "s3cret"));
  EXPECT_FALSE(jws::verify(p, "other"));
  EXPECT_EQ(p.header["alg"], "HS256");
  EXPECT_EQ(p.claims["iss"], "vigil");
  EXPECT_EQ(p.claims["sub"], "NodeAlive");
  const int64_t iat = p.claims["iat"].get<int64_t>();
  EXPECT_GE(iat, before);
  EXPECT_LE(iat, after);
  EXPECT_EQ(p.claims["exp"].get<int64_t>(), iat + 60);
  Stop(*hooks);
}

TEST_F(WebhookDeliveryTest, AFailureIsRetriedWithTheSameDeliveryIdThenDelivered) {
  Receiver rx(io_);
  rx.answer = [](std::size_t n) { return n < 2 ? 500 : 204; };
  auto hooks = Make();
  hooks->apply({make_webhook(rx.url(), WebhookAuth::kNone, "", {})});
  hooks->offer(event("NodeStale", 1));
  RunUntil([&] { return StatusOf(*hooks, rx.url())["delivered"] == 1; });
  ASSERT_EQ(rx.seen().size(), 3u);
  EXPECT_EQ(rx.seen()[0].delivery, rx.seen()[1].delivery);
  EXPECT_EQ(rx.seen()[1].delivery, rx.seen()[2].delivery);
  const auto st = StatusOf(*hooks, rx.url());
  EXPECT_EQ(st["failed"], 2);
  EXPECT_EQ(st["last_error"], "HTTP 500 Internal Server Error");
  EXPECT_TRUE(st["last_error_at"].is_string());
  EXPECT_EQ(st["queued"], 0);
  Stop(*hooks);
}

TEST_F(WebhookDeliveryTest, OrderIsKeptAcrossFailures) {
  Receiver rx(io_);
  std::mt19937 rng(42);
  rx.answer = [&](std::size_t) { return rng() % 3 == 0 ? 503 : 200; };
  auto hooks = Make();
  hooks->apply({make_webhook(rx.url(), WebhookAuth::kNone, "", {})});
  for (int i = 1; i <= 20; ++i) hooks->offer(event("NodeDataUpdated", i));
  RunUntil([&] { return StatusOf(*hooks, rx.url())["delivered"] == 20; });
  std::vector<int> order;
  std::vector<std::string> ids;
  for (const auto& s : rx.seen()) {
    if (!ids.empty() && ids.back() == s.delivery) continue;  // a retry
    ids.push_back(s.delivery);
    order.push_back(s.json["data"]["n"].get<int>());
  }
  std::vector<int> expected(20);
  std::iota(expected.begin(), expected.end(), 1);
  EXPECT_EQ(order, expected);
  EXPECT_EQ(distinct(rx.seen()).size(), 20u);
  EXPECT_GT(StatusOf(*hooks, rx.url())["failed"].get<int>(), 0);
  Stop(*hooks);
}

TEST_F(WebhookDeliveryTest, AHangingReceiverTimesOutWhileAnotherKeepsDelivering) {
  Receiver hung(io_);
  hung.answer = [](std::size_t) { return 0; };
  Receiver ok(io_);
  auto o = FastOptions();
  o.delivery.request_timeout = milliseconds(1500);
  auto hooks = Make(o);
  hooks->apply({make_webhook(hung.url(), WebhookAuth::kNone, "", {}),
                make_webhook(ok.url(), WebhookAuth::kNone, "", {})});
  for (int i = 1; i <= 5; ++i) hooks->offer(event("NodeStale", i));
  RunUntil([&] { return ok.seen().size() == 5 && !hung.seen().empty(); });
  // The healthy receiver got everything while the first request to the
  // hanging one was still waiting for its answer.
  EXPECT_EQ(StatusOf(*hooks, hung.url())["failed"], 0);
  EXPECT_EQ(hung.seen().size(), 1u);
  RunUntil([&] { return StatusOf(*hooks, hung.url())["failed"].get<int>() >= 2; });
  const auto st = StatusOf(*hooks, hung.url());
  EXPECT_THAT(st["last_error"].get<std::string>(),
              HasSubstr("timeout after 1500 ms (waiting for the answer from 127.0.0.1:"));
  EXPECT_EQ(st["queued"], 5);
  EXPECT_EQ(st["delivered"], 0);
  Stop(*hooks);
}

TEST_F(WebhookDeliveryTest, QueuedDeliveriesSurviveARestart) {
  Receiver rx(io_);
  bool up = false;
  rx.answer = [&](std::size_t) { return up ? 200 : 503; };
  const Webhook hook = make_webhook(rx.url(), WebhookAuth::kNone, "", {});
  std::vector<std::string> first_ids;
  {
    auto hooks = Make();
    hooks->apply({hook});
    for (int i = 1; i <= 3; ++i) hooks->offer(event("NodeStale", i));
    RunUntil([&] { return !rx.seen().empty(); });
    EXPECT_EQ(StatusOf(*hooks, rx.url())["queued"], 3);
    Stop(*hooks);
  }
  first_ids = {rx.seen()[0].delivery};
  up = true;
  auto hooks = Make();
  hooks->apply({hook});
  RunUntil([&] { return StatusOf(*hooks, rx.url())["delivered"] == 3; });
  std::vector<int> order;  // each delivery once, in the order first seen
  for (const auto& id : distinct(rx.seen())) {
    for (const auto& s : rx.seen()) {
      if (s.delivery == id) {
        order.push_back(s.json["data"]["n"].get<int>());
        break;
      }
    }
  }
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
  // The delivery id is the one of the first attempt, before the restart.
  EXPECT_EQ(distinct(rx.seen()).front(), first_ids.front());
  EXPECT_EQ(distinct(rx.seen()).size(), 3u);
  Stop(*hooks);
}

// A clean stop does not wait for a hanging request, and loses neither it
// nor the events offered just before: all are delivered after the restart,
// the one that was in flight with its id.
TEST_F(WebhookDeliveryTest, AStopAbandonsTheRequestInFlightAndKeepsEveryEvent) {
  Receiver rx(io_);
  bool up = false;
  rx.answer = [&](std::size_t) { return up ? 200 : 0; };  // hang, then answer
  auto o = FastOptions();
  o.delivery.request_timeout = milliseconds(60'000);
  const Webhook hook = make_webhook(rx.url(), WebhookAuth::kNone, "", {});
  std::string in_flight;
  {
    auto hooks = Make(o);
    hooks->apply({hook});
    hooks->offer(event("NodeStale", 1));
    RunUntil([&] { return rx.seen().size() == 1; });
    in_flight = rx.seen()[0].delivery;
    hooks->offer(event("NodeStale", 2));
    hooks->offer(event("NodeStale", 3));  // no write finished for these yet
    const auto start = std::chrono::steady_clock::now();
    Stop(*hooks);
    EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(10'000));
  }
  up = true;
  auto hooks = Make(o);
  hooks->apply({hook});
  RunUntil([&] { return StatusOf(*hooks, rx.url())["delivered"] == 3; });
  ASSERT_EQ(rx.seen().size(), 4u);
  EXPECT_EQ(rx.seen()[1].delivery, in_flight);
  EXPECT_EQ(rx.seen()[1].json["data"]["n"], 1);
  EXPECT_EQ(rx.seen()[2].json["data"]["n"], 2);
  EXPECT_EQ(rx.seen()[3].json["data"]["n"], 3);
  Stop(*hooks);
}

TEST_F(WebhookDeliveryTest, PeerEventsAreNotDeliveredAndFiltersApply) {
  Receiver rx(io_);
  auto hooks = Make();
  hooks->apply(
      {make_webhook(rx.url(), WebhookAuth::kNone, "", {"NodeStale", "NodeAlive,node=n3"})});
  // The bus asks this before it builds an event (EventBus::KindInterest).
  EXPECT_TRUE(hooks->wants("NodeStale"));
  EXPECT_TRUE(hooks->wants("NodeAlive"));
  EXPECT_FALSE(hooks->wants("NodeDataUpdated"));
  hooks->offer(event("NodeStale", 1, {{"from", "peer"}}));  // a peer publishes it
  hooks->offer(event("NodeDataUpdated", 2));                // not in the filters
  hooks->offer(event("NodeAlive", 3, {{"node", "n2"}}));    // label does not match
  hooks->offer(event("NodeAlive", 4, {{"node", "n3"}}));
  hooks->offer(event("NodeStale", 5));
  RunUntil([&] { return StatusOf(*hooks, rx.url())["delivered"] == 2; });
  ASSERT_EQ(rx.seen().size(), 2u);
  EXPECT_EQ(rx.seen()[0].json["data"]["n"], 4);
  EXPECT_EQ(rx.seen()[1].json["data"]["n"], 5);
  Stop(*hooks);
}

TEST_F(WebhookDeliveryTest, AnOverflowIsCountedAndPublishedOncePerEpisode) {
  Receiver rx(io_);
  bool up = false;
  rx.answer = [&](std::size_t) { return up ? 200 : 503; };
  auto o = FastOptions();
  o.queue_max = 4;
  auto hooks = Make(o);
  hooks->apply({make_webhook(rx.url(), WebhookAuth::kNone, "", {})});
  for (int i = 1; i <= 7; ++i) hooks->offer(event("NodeStale", i));
  auto st = StatusOf(*hooks, rx.url());
  EXPECT_EQ(st["queued"], 4);
  EXPECT_EQ(st["dropped"], 3);
  ASSERT_EQ(published_.size(), 1u);
  EXPECT_EQ(published_[0].kind, "SubscriptionQueueThreshold");
  EXPECT_EQ(published_[0].labels.at("subscriber"), "webhook " + rx.url());
  EXPECT_EQ(published_[0].data["name"], "webhook " + rx.url());
  EXPECT_EQ(published_[0].data["dropped"], 1);
  EXPECT_EQ(published_[0].data["max"], 4);
  // Our own overflow event is not queued to the webhook it is about.
  hooks->offer(published_[0]);
  EXPECT_EQ(StatusOf(*hooks, rx.url())["dropped"], 3);
  // The receiver comes back: the queue drains, and a new overflow is a new episode.
  up = true;
  RunUntil([&] { return StatusOf(*hooks, rx.url())["delivered"] == 4; });
  up = false;
  rx.answer = [](std::size_t) { return 503; };
  for (int i = 8; i <= 13; ++i) hooks->offer(event("NodeStale", i));
  EXPECT_EQ(StatusOf(*hooks, rx.url())["dropped"], 5);
  EXPECT_EQ(published_.size(), 2u);
  Stop(*hooks);
}

TEST_F(WebhookDeliveryTest, ARemovedWebhookLosesItsQueueAndAnUpdateKeepsIt) {
  Receiver rx(io_);
  rx.answer = [](std::size_t) { return 503; };
  auto hooks = Make();
  const std::string url = rx.url();
  hooks->apply({make_webhook(url, WebhookAuth::kNone, "", {})});
  hooks->offer(event("NodeStale", 1));
  const auto dir = tmp_.path() / "webhooks" / webhook_id(url);
  RunUntil([&] { return std::filesystem::exists(dir / "queue.log"); });
  // A new auth: same queue, next attempt with the token.
  hooks->apply({make_webhook(url, WebhookAuth::kBearer, "new", {})});
  EXPECT_EQ(StatusOf(*hooks, url)["queued"], 1);
  RunUntil([&] { return !rx.seen().empty() && rx.seen().back().authorization == "Bearer new"; });
  hooks->apply({});
  EXPECT_EQ(hooks->size(), 0u);
  EXPECT_TRUE(hooks->status().empty());
  RunUntil([&] { return !std::filesystem::exists(dir); });
  Stop(*hooks);
}

TEST_F(WebhookDeliveryTest, PruneDeletesTheQueuesOfWebhooksNoLongerInTheSet) {
  const std::string kept_url = "http://127.0.0.1:9/kept";
  const std::string gone_url = "http://127.0.0.1:9/gone";
  {
    auto hooks = Make();
    hooks->apply({make_webhook(kept_url, WebhookAuth::kNone, "", {}),
                  make_webhook(gone_url, WebhookAuth::kNone, "", {})});
    Stop(*hooks);
  }
  const auto root = tmp_.path() / "webhooks";
  ASSERT_TRUE(std::filesystem::exists(root / webhook_id(gone_url)));
  std::filesystem::create_directories(root / "not-a-queue");
  // The node restarts after gone_url was deleted elsewhere.
  auto hooks = Make();
  hooks->apply({make_webhook(kept_url, WebhookAuth::kNone, "", {})});
  std::optional<std::size_t> deleted;
  hooks->prune_queues([&](std::size_t n, const std::string& error) {
    EXPECT_EQ(error, "");
    deleted = n;
  });
  RunUntil([&] { return deleted.has_value(); });
  EXPECT_EQ(*deleted, 1u);
  EXPECT_FALSE(std::filesystem::exists(root / webhook_id(gone_url)));
  EXPECT_TRUE(std::filesystem::exists(root / webhook_id(kept_url)));
  EXPECT_TRUE(std::filesystem::exists(root / "not-a-queue"));
  Stop(*hooks);
}

TEST_F(WebhookDeliveryTest, TestPostsOnceAndReports) {
  Receiver rx(io_);
  rx.answer = [](std::size_t n) { return n == 0 ? 200 : 500; };
  auto hooks = Make();
  const Webhook hook = make_webhook(rx.url(), WebhookAuth::kSecret, "k", {"NodeStale"});
  auto r = Test(*hooks, hook);
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.error, "");
  ASSERT_EQ(rx.seen().size(), 1u);
  EXPECT_EQ(rx.seen()[0].event, "Log");
  EXPECT_EQ(rx.seen()[0].json["data"], nlohmann::json({{"test", true}}));
  EXPECT_EQ(rx.seen()[0].json["node"], "n1");
  EXPECT_THAT(rx.seen()[0].delivery, HasSubstr("-test-"));
  EXPECT_TRUE(jws::verify(jws::parse(rx.seen()[0].authorization.substr(7)), "k"));

  r = Test(*hooks, hook);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.error, "HTTP 500 Internal Server Error");
  EXPECT_EQ(rx.seen().size(), 2u);  // not retried, not queued
  EXPECT_EQ(hooks->size(), 0u);

  const uint16_t port = rx.port();
  rx.stop();
  r = Test(*hooks, make_webhook("http://127.0.0.1:" + std::to_string(port) + "/",
                                WebhookAuth::kNone, "", {}));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.error, "connect 127.0.0.1:" + std::to_string(port) + ": Connection refused");
  Stop(*hooks);
}

TEST_F(WebhookDeliveryTest, HttpsIsVerifiedAgainstTheSystemStoreOrTheCaFile) {
  const TestCert cert = make_cert();
  Receiver rx(io_, &cert);
  const Webhook hook = make_webhook(rx.url(), WebhookAuth::kNone, "", {});
  {
    auto hooks = Make();  // the system store: a self-signed certificate fails
    const auto r = Test(*hooks, hook);
    EXPECT_FALSE(r.ok);
    EXPECT_THAT(r.error, StartsWith("TLS: certificate verify failed: self-signed certificate"));
    EXPECT_TRUE(rx.seen().empty());
    Stop(*hooks);
  }
  tmp_.write("ca.pem", cert.cert_pem);
  auto o = FastOptions();
  o.ca_file = (tmp_.path() / "ca.pem").string();
  auto hooks = Make(o);
  const auto r = Test(*hooks, hook);
  EXPECT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.status, 200);
  hooks->apply({hook});
  hooks->offer(event("NodeStale", 1));
  RunUntil([&] { return StatusOf(*hooks, rx.url())["delivered"] == 1; });
  // The certificate names 127.0.0.1 only: another name for the same
  // receiver fails the host check.
  const auto wrong =
      Test(*hooks, make_webhook("https://localhost:" + std::to_string(rx.port()) + "/",
                                WebhookAuth::kNone, "", {}));
  EXPECT_FALSE(wrong.ok);
  EXPECT_THAT(wrong.error, HasSubstr("TLS: certificate verify failed"));
  Stop(*hooks);
}

TEST_F(WebhookDeliveryTest, AMissingCaFileIsReportedPerAttempt) {
  auto o = FastOptions();
  o.ca_file = (tmp_.path() / "missing.pem").string();
  auto hooks = Make(o);
  const auto r = Test(*hooks, make_webhook("https://127.0.0.1:9/", WebhookAuth::kNone, "", {}));
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.error, StartsWith("TLS: cannot load CA file " + o.ca_file));
  Stop(*hooks);
}

TEST(WebhookBackoff, StaysWithinFloorAndGrowingCeiling) {
  std::mt19937_64 rng(1);
  for (int failures = 1; failures <= 30; ++failures) {
    const int64_t ceiling = std::min<int64_t>(300'000, int64_t{1000} << std::min(failures, 20));
    for (int i = 0; i < 50; ++i) {
      const auto d = webhook_backoff(failures, milliseconds(1000), milliseconds(300'000), rng);
      EXPECT_GE(d.count(), 1000);
      EXPECT_LE(d.count(), ceiling);
    }
  }
  // Full jitter: at the ceiling, delays spread over the range.
  int64_t lo = 300'000, hi = 0;
  for (int i = 0; i < 200; ++i) {
    const auto d = webhook_backoff(20, milliseconds(1000), milliseconds(300'000), rng).count();
    lo = std::min(lo, d);
    hi = std::max(hi, d);
  }
  EXPECT_LT(lo, 60'000);
  EXPECT_GT(hi, 240'000);
}

}  // namespace
}  // namespace vigil::agent
