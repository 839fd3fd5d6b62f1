#include "agent/base/tls_client.h"

#include <cstdio>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>

#include <gtest/gtest.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <boost/asio/ssl/context.hpp>

namespace vigil::agent {
namespace {

// One connection of a client context that trusts nothing: enough to check
// what expect_server() sets, with no handshake.
struct Connection {
  boost::asio::ssl::context context{boost::asio::ssl::context::tls_client};
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl{SSL_new(context.native_handle()), &SSL_free};
};

std::string load_error(const std::string& ca_file) {
  try {
    make_tls_client_context(ca_file);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

TEST(TlsClient, ACaFileThatCannotBeReadIsRefusedWithItsPath) {
  EXPECT_EQ(
      load_error("/nonexistent/ca.pem").rfind("TLS: cannot load CA file /nonexistent/ca.pem: ", 0),
      0u);
  const std::string garbage = ::testing::TempDir() + "tls_client_test_garbage.pem";
  std::ofstream(garbage) << "not a certificate\n";
  EXPECT_EQ(load_error(garbage).rfind("TLS: cannot load CA file " + garbage + ": ", 0), 0u);
  std::remove(garbage.c_str());
}

TEST(TlsClient, ANameIsVerifiedAndSentAsSni) {
  Connection c;
  ASSERT_TRUE(c.ssl);
  EXPECT_EQ(expect_server(c.ssl.get(), "nats.example.test", false), "");
  const char* sni = SSL_get_servername(c.ssl.get(), TLSEXT_NAMETYPE_host_name);
  ASSERT_NE(sni, nullptr);
  EXPECT_STREQ(sni, "nats.example.test");
  EXPECT_STREQ(X509_VERIFY_PARAM_get0_host(SSL_get0_param(c.ssl.get()), 0), "nats.example.test");
  EXPECT_EQ(SSL_get_verify_mode(c.ssl.get()) & SSL_VERIFY_PEER, SSL_VERIFY_PEER);
}

TEST(TlsClient, AnAddressIsVerifiedAsAnAddressWithoutSni) {
  Connection c;
  ASSERT_TRUE(c.ssl);
  EXPECT_EQ(expect_server(c.ssl.get(), "127.0.0.2", true), "");
  EXPECT_EQ(SSL_get_servername(c.ssl.get(), TLSEXT_NAMETYPE_host_name), nullptr);
  char* ip = X509_VERIFY_PARAM_get1_ip_asc(SSL_get0_param(c.ssl.get()));
  ASSERT_NE(ip, nullptr);
  EXPECT_STREQ(ip, "127.0.0.2");
  OPENSSL_free(ip);
  EXPECT_EQ(X509_VERIFY_PARAM_get0_host(SSL_get0_param(c.ssl.get()), 0), nullptr);
}

TEST(TlsClient, AnAddressThatIsNoneIsRefused) {
  Connection c;
  ASSERT_TRUE(c.ssl);
  EXPECT_EQ(expect_server(c.ssl.get(), "not-an-address", true)
                .rfind("TLS: cannot set the host to verify: ", 0),
            0u);
}

TEST(TlsClient, AHandshakeErrorSaysWhenTheCertificateWasRefused) {
  Connection c;
  ASSERT_TRUE(c.ssl);
  EXPECT_EQ(handshake_error(c.ssl.get(), "stream truncated", "h.test:4222"),
            "TLS handshake with h.test:4222: stream truncated");
  SSL_set_verify_result(c.ssl.get(), X509_V_ERR_CERT_HAS_EXPIRED);
  EXPECT_EQ(handshake_error(c.ssl.get(), "handshake failure", "h.test:4222"),
            "TLS: certificate verify failed: certificate has expired (h.test:4222)");
}

}  // namespace
}  // namespace vigil::agent
