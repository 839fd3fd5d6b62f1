#include "agent/api/join_client.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <chrono>
#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "agent/api/tls_fingerprint.h"

namespace vigil::agent {
namespace {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using std::chrono::milliseconds;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using Outcome = JoinReply::Outcome;

// Generous: only a hang should hit it.
constexpr milliseconds kLongTimeout{5000};
const std::string kToken = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJqb2luIn0.c2lnbmF0dXJl";

/// A self-signed certificate with an EC P-256 key, in PEM, and its pin.
struct TestCert {
  std::string cert_pem, key_pem, sha256;
};

TestCert make_cert(const std::string& common_name) {
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
                             reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1,
                             0);
  X509_set_issuer_name(cert.get(), name);
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
  out.sha256 = certificate_sha256_pem(out.cert_pem);
  return out;
}

/// The seed's certificate, and another one: a man in the middle's.
const TestCert& seed_cert() {
  static const TestCert cert = make_cert("vigil-seed");
  return cert;
}
const TestCert& other_cert() {
  static const TestCert cert = make_cert("vigil-mitm");
  return cert;
}

/// A request as the test server read it.
struct SeenRequest {
  std::string method, target, host, authorization, content_type, body;
};

/// A TLS server on 127.0.0.1, port 0, on the test's io_context, with `cert`.
/// kAnswer: handshake, read one request, write `response` (raw bytes), close.
/// kSilentAfterRequest: handshake, read one request, then say nothing.
/// kSilentTcp: accept the TCP connection, then say nothing (no handshake).
class TestSeed {
 public:
  enum class Mode { kAnswer, kSilentAfterRequest, kSilentTcp };

  TestSeed(asio::io_context& io, const TestCert& cert, Mode mode, std::string response = "")
      : io_(io),
        context_(ssl::context::tls_server),
        acceptor_(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
        port_(acceptor_.local_endpoint().port()),
        mode_(mode),
        response_(std::move(response)) {
    context_.use_certificate_chain(asio::buffer(cert.cert_pem));
    context_.use_private_key(asio::buffer(cert.key_pem), ssl::context::pem);
    accept();
  }

  uint16_t port() const { return port_; }
  /// Offers TLS 1.2 at most (before the client connects).
  void max_tls12() { SSL_CTX_set_max_proto_version(context_.native_handle(), TLS1_2_VERSION); }
  int accepted() const { return accepted_; }
  int handshakes() const { return handshakes_; }
  int failed_handshakes() const { return failed_handshakes_; }
  /// The requests read whole: what the request handler was called with.
  const std::vector<SeenRequest>& requests() const { return requests_; }
  /// The server's side of one connection is as far as it goes: accepted
  /// (kSilentTcp), the handshake failed, or a request read.
  bool settled() const {
    if (mode_ == Mode::kSilentTcp) return accepted_ >= 1;
    return failed_handshakes_ >= 1 || !requests_.empty();
  }

  /// Stops accepting and closes every connection: the server then leaves
  /// nothing pending on the io_context.
  void stop() {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    for (auto& conn : connections_) conn.stream.lowest_layer().close(ignored);
  }

 private:
  struct Connection {
    Connection(asio::io_context& io, ssl::context& context) : stream(io, context) {}
    ssl::stream<tcp::socket> stream;
    boost::beast::flat_buffer buffer;
    http::request<http::string_body> request;
  };

  void accept() {
    auto& conn = connections_.emplace_back(io_, context_);
    acceptor_.async_accept(conn.stream.lowest_layer(), [this, &conn](boost::system::error_code ec) {
      if (ec) return;
      ++accepted_;
      if (mode_ != Mode::kSilentTcp) handshake(conn);
      accept();
    });
  }

  void handshake(Connection& conn) {
    conn.stream.async_handshake(ssl::stream_base::server,
                                [this, &conn](boost::system::error_code ec) {
                                  if (ec) {
                                    ++failed_handshakes_;
                                    return;
                                  }
                                  ++handshakes_;
                                  read(conn);
                                });
  }

  void read(Connection& conn) {
    http::async_read(conn.stream, conn.buffer, conn.request,
                     [this, &conn](boost::system::error_code ec, std::size_t) {
                       if (ec) return;
                       handle(conn);
                     });
  }

  void handle(Connection& conn) {
    const auto& req = conn.request;
    auto field = [&](http::field f) { return std::string(req[f]); };
    requests_.push_back({.method = std::string(req.method_string()),
                         .target = std::string(req.target()),
                         .host = field(http::field::host),
                         .authorization = field(http::field::authorization),
                         .content_type = field(http::field::content_type),
                         .body = req.body()});
    if (mode_ != Mode::kAnswer) return;
    asio::async_write(conn.stream, asio::buffer(response_),
                      [&conn](boost::system::error_code, std::size_t) {
                        boost::system::error_code ignored;
                        conn.stream.lowest_layer().close(ignored);
                      });
  }

  asio::io_context& io_;
  ssl::context context_;
  tcp::acceptor acceptor_;
  uint16_t port_;
  Mode mode_;
  std::string response_;
  std::list<Connection> connections_;  // stable addresses for the handlers
  std::vector<SeenRequest> requests_;
  int accepted_ = 0, handshakes_ = 0, failed_handshakes_ = 0;
};

/// A raw HTTP/1.1 answer with `body`.
std::string answer(const std::string& status_line, const std::string& body,
                   const std::string& content_type = "application/json") {
  return "HTTP/1.1 " + status_line + "\r\nContent-Type: " + content_type +
         "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" +
         body;
}

const nlohmann::json kJoinBody = {{"name", "n4"}, {"paths", {{"lan", "192.0.2.4:1215"}}}};

class JoinClientTest : public ::testing::Test {
 protected:
  /// Runs the io_context until `pred` holds or `limit` passes.
  void RunUntil(const std::function<bool()>& pred, milliseconds limit = milliseconds(10'000)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!pred() && std::chrono::steady_clock::now() < deadline) {
      io_.restart();
      io_.run_one_for(milliseconds(10));
    }
  }

  /// Runs the io_context until nothing is left to run, or `limit` passes;
  /// true when it ran dry. From then on no callback can come.
  bool RunUntilIdle(milliseconds limit = milliseconds(10'000)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    do {
      io_.restart();
      io_.run_for(milliseconds(10));
    } while (!io_.stopped() && std::chrono::steady_clock::now() < deadline);
    return io_.stopped();
  }

  /// One post_join() to 127.0.0.1:`port`, run to its outcome. Checks that
  /// `done` did not run inside post_join(), ran on this (the io_context's)
  /// thread, and exactly once: `server` (if any) is stopped after the
  /// outcome so the io_context can run dry, by when a second call would
  /// have come.
  JoinReply PostOnce(uint16_t port, const std::string& pin, TestSeed* server,
                     milliseconds timeout = kLongTimeout) {
    std::optional<JoinReply> reply;
    int calls = 0;
    std::thread::id thread;
    const auto started = std::chrono::steady_clock::now();
    post_join(io_, Endpoint{.host = "127.0.0.1", .port = port}, kToken, pin, kJoinBody, timeout,
              [&](JoinReply r) {
                reply = std::move(r);
                thread = std::this_thread::get_id();
                took_ = std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() -
                                                                 started);
                ++calls;
              });
    EXPECT_EQ(calls, 0) << "done ran from inside post_join()";
    RunUntil([&] { return reply.has_value(); });
    EXPECT_EQ(thread, std::this_thread::get_id());
    if (server) {
      // The server's side of a refused handshake may still be under way.
      RunUntil([&] { return server->settled(); });
      server->stop();
    }
    EXPECT_TRUE(RunUntilIdle()) << "the request left work pending";
    EXPECT_EQ(calls, 1);
    return reply.value_or(JoinReply{.outcome = Outcome::kAnswered, .error = "no outcome"});
  }

  std::string Seed(uint16_t port) { return "seed 127.0.0.1:" + std::to_string(port); }

  asio::io_context io_;
  milliseconds took_{0};
};

TEST_F(JoinClientTest, PinnedCertificateGetsTheAnswerAndTheSeedTheRequest) {
  const nlohmann::json answered = {{"cluster", "prod"}, {"members", {"n1", "n2", "n3"}}};
  TestSeed seed(io_, seed_cert(), TestSeed::Mode::kAnswer, answer("201 Created", answered.dump()));
  const JoinReply r = PostOnce(seed.port(), seed_cert().sha256, &seed);
  EXPECT_EQ(r.outcome, Outcome::kAnswered) << r.error;
  EXPECT_EQ(r.status, 201);
  EXPECT_EQ(r.body, answered);
  EXPECT_EQ(r.error, "");
  ASSERT_EQ(seed.requests().size(), 1u);
  const SeenRequest& req = seed.requests()[0];
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.target, "/v1/cluster/join");
  EXPECT_EQ(req.authorization, "Bearer " + kToken);
  EXPECT_EQ(req.content_type, "application/json");
  EXPECT_EQ(req.host, "127.0.0.1:" + std::to_string(seed.port()));
  EXPECT_EQ(nlohmann::json::parse(req.body), kJoinBody);
}

TEST_F(JoinClientTest, ARefusalWithAJsonBodyIsAnAnswer) {
  TestSeed seed(io_, seed_cert(), TestSeed::Mode::kAnswer,
                answer("401 Unauthorized", R"({"error":"token expired"})"));
  const JoinReply r = PostOnce(seed.port(), seed_cert().sha256, &seed);
  EXPECT_EQ(r.outcome, Outcome::kAnswered) << r.error;
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.body, nlohmann::json({{"error", "token expired"}}));
}

TEST_F(JoinClientTest, AnotherCertificateIsRefusedBeforeTheRequestIsSent) {
  TestSeed seed(io_, other_cert(), TestSeed::Mode::kAnswer, answer("200 OK", "{}"));
  const JoinReply r = PostOnce(seed.port(), seed_cert().sha256, &seed);
  EXPECT_EQ(r.outcome, Outcome::kPinMismatch);
  EXPECT_EQ(r.error, Seed(seed.port()) +
                         ": certificate does not match the token (cnf): refusing it as a man in "
                         "the middle");
  EXPECT_EQ(r.status, 0);
  EXPECT_TRUE(r.body.is_null());
  // The client ended the handshake: the server never had a channel to read
  // a request (and the bearer token) from, and its handler never ran.
  EXPECT_EQ(seed.accepted(), 1);
  EXPECT_EQ(seed.failed_handshakes(), 1);
  EXPECT_EQ(seed.handshakes(), 0);
  EXPECT_TRUE(seed.requests().empty());
}

TEST_F(JoinClientTest, ThePinHoldsOverTls12Too) {
  {
    TestSeed seed(io_, seed_cert(), TestSeed::Mode::kAnswer, answer("200 OK", "{}"));
    seed.max_tls12();
    const JoinReply r = PostOnce(seed.port(), seed_cert().sha256, &seed);
    EXPECT_EQ(r.outcome, Outcome::kAnswered) << r.error;
    EXPECT_EQ(seed.requests().size(), 1u);
  }
  TestSeed seed(io_, other_cert(), TestSeed::Mode::kAnswer, answer("200 OK", "{}"));
  seed.max_tls12();
  const JoinReply r = PostOnce(seed.port(), seed_cert().sha256, &seed);
  EXPECT_EQ(r.outcome, Outcome::kPinMismatch) << r.error;
  EXPECT_EQ(seed.failed_handshakes(), 1);
  EXPECT_TRUE(seed.requests().empty());
}

TEST_F(JoinClientTest, NothingListeningIsUnreachable) {
  uint16_t port;
  {
    tcp::acceptor closed(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port = closed.local_endpoint().port();
  }
  const JoinReply r = PostOnce(port, seed_cert().sha256, nullptr);
  EXPECT_EQ(r.outcome, Outcome::kUnreachable);
  EXPECT_THAT(r.error, StartsWith(Seed(port) + ": connect: "));
  EXPECT_THAT(r.error, HasSubstr("Connection refused"));
}

TEST_F(JoinClientTest, ASeedThatNeverStartsTlsTimesOut) {
  TestSeed seed(io_, seed_cert(), TestSeed::Mode::kSilentTcp);
  const JoinReply r = PostOnce(seed.port(), seed_cert().sha256, &seed, milliseconds(300));
  EXPECT_EQ(r.outcome, Outcome::kTimeout) << r.error;
  EXPECT_EQ(r.error, Seed(seed.port()) + ": no answer within 300 ms");
  EXPECT_EQ(seed.accepted(), 1);
  EXPECT_GE(took_, milliseconds(300));
  EXPECT_LT(took_, kLongTimeout);
}

TEST_F(JoinClientTest, ASeedThatReadsTheRequestButNeverAnswersTimesOut) {
  TestSeed seed(io_, seed_cert(), TestSeed::Mode::kSilentAfterRequest);
  const JoinReply r = PostOnce(seed.port(), seed_cert().sha256, &seed, milliseconds(300));
  EXPECT_EQ(r.outcome, Outcome::kTimeout) << r.error;
  EXPECT_EQ(r.error, Seed(seed.port()) + ": no answer within 300 ms");
  EXPECT_EQ(seed.requests().size(), 1u);
  EXPECT_GE(took_, milliseconds(300));
  EXPECT_LT(took_, kLongTimeout);
}

TEST_F(JoinClientTest, AnAnswerThatIsNotJsonIsABadAnswer) {
  TestSeed seed(io_, seed_cert(), TestSeed::Mode::kAnswer,
                answer("502 Bad Gateway", "<html>bad gateway</html>", "text/html"));
  const JoinReply r = PostOnce(seed.port(), seed_cert().sha256, &seed);
  EXPECT_EQ(r.outcome, Outcome::kBadAnswer);
  EXPECT_EQ(r.error,
            Seed(seed.port()) + ": answer is not JSON: HTTP 502, \"<html>bad gateway</html>\"");
  EXPECT_EQ(r.status, 0);
  EXPECT_TRUE(r.body.is_null());
}

TEST_F(JoinClientTest, AJsonAnswerThatIsNotAnObjectIsABadAnswer) {
  TestSeed seed(io_, seed_cert(), TestSeed::Mode::kAnswer, answer("200 OK", "[1,2]"));
  const JoinReply r = PostOnce(seed.port(), seed_cert().sha256, &seed);
  EXPECT_EQ(r.outcome, Outcome::kBadAnswer);
  EXPECT_THAT(r.error, HasSubstr("answer is not a JSON object: HTTP 200"));
}

TEST_F(JoinClientTest, AnAnswerThatIsNotHttpIsABadAnswer) {
  TestSeed seed(io_, seed_cert(), TestSeed::Mode::kAnswer, "SSH-2.0-OpenSSH_9.2\r\n\r\n");
  const JoinReply r = PostOnce(seed.port(), seed_cert().sha256, &seed);
  EXPECT_EQ(r.outcome, Outcome::kBadAnswer) << r.error;
  EXPECT_THAT(r.error, StartsWith(Seed(seed.port()) + ": bad answer: "));
}

TEST_F(JoinClientTest, TheAnswerBodyIsBoundedAtOneMebibyte) {
  // A JSON object padded with blanks to exactly the bound passes.
  std::string body = R"({"ok":true})";
  body.resize(kMaxJoinAnswerBytes, ' ');
  {
    TestSeed seed(io_, seed_cert(), TestSeed::Mode::kAnswer, answer("200 OK", body));
    const JoinReply r = PostOnce(seed.port(), seed_cert().sha256, &seed);
    EXPECT_EQ(r.outcome, Outcome::kAnswered) << r.error;
    EXPECT_EQ(r.body, nlohmann::json({{"ok", true}}));
  }
  // One byte more does not, with a Content-Length...
  body += ' ';
  {
    TestSeed seed(io_, seed_cert(), TestSeed::Mode::kAnswer, answer("200 OK", body));
    const JoinReply r = PostOnce(seed.port(), seed_cert().sha256, &seed);
    EXPECT_EQ(r.outcome, Outcome::kBadAnswer);
    EXPECT_EQ(r.error, Seed(seed.port()) + ": answer body above 1048576 bytes");
  }
  // ... or in chunks.
  std::ostringstream chunked;
  chunked << "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
          << "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
          << std::hex << body.size() << "\r\n"
          << body << "\r\n0\r\n\r\n";
  TestSeed seed(io_, seed_cert(), TestSeed::Mode::kAnswer, chunked.str());
  const JoinReply r = PostOnce(seed.port(), seed_cert().sha256, &seed);
  EXPECT_EQ(r.outcome, Outcome::kBadAnswer);
  EXPECT_EQ(r.error, Seed(seed.port()) + ": answer body above 1048576 bytes");
}

TEST_F(JoinClientTest, DoneIsNeverCalledFromInsidePostJoin) {
  // Even an outcome known at once (an address that is not an IP literal)
  // comes later, from the io_context.
  std::optional<JoinReply> reply;
  post_join(io_, Endpoint{.host = "seed.example", .port = 1215}, kToken, seed_cert().sha256,
            kJoinBody, kLongTimeout, [&](JoinReply r) { reply = std::move(r); });
  EXPECT_FALSE(reply.has_value());
  EXPECT_TRUE(RunUntilIdle());
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->outcome, Outcome::kUnreachable);
  EXPECT_THAT(reply->error, StartsWith("seed seed.example:1215: not an IP address"));

  // And a network outcome: PostOnce checks that done had not run when
  // post_join() returned.
  TestSeed seed(io_, seed_cert(), TestSeed::Mode::kAnswer, answer("200 OK", "{}"));
  EXPECT_EQ(PostOnce(seed.port(), seed_cert().sha256, &seed).outcome, Outcome::kAnswered);
}

TEST_F(JoinClientTest, CallersErrorsThrow) {
  const Endpoint seed{.host = "127.0.0.1", .port = 1215};
  auto ignore = [](JoinReply) {};
  EXPECT_THROW(post_join(io_, seed, kToken, "pin", kJoinBody, milliseconds(0), ignore),
               std::invalid_argument);
  EXPECT_THROW(post_join(io_, seed, "a.b\r\nX-Evil: 1", "pin", kJoinBody, kLongTimeout, ignore),
               std::invalid_argument);
  EXPECT_THROW(post_join(io_, seed, "", "pin", kJoinBody, kLongTimeout, ignore),
               std::invalid_argument);
  EXPECT_THROW(post_join(io_, seed, kToken, "pin", kJoinBody, kLongTimeout, nullptr),
               std::invalid_argument);
  EXPECT_TRUE(RunUntilIdle());  // nothing was started
}

}  // namespace
}  // namespace vigil::agent
