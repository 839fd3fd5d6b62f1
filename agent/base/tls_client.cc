#include "agent/base/tls_client.h"

#include <cstdlib>
#include <stdexcept>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <boost/asio/ssl/context.hpp>

namespace vigil::agent {
namespace {

// The OpenSSL error queue's first entry, or "".
std::string openssl_error() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "";
  char text[256];
  ERR_error_string_n(code, text, sizeof(text));
  return text;
}

}  // namespace

std::shared_ptr<boost::asio::ssl::context> make_tls_client_context(const std::string& ca_file) {
  auto context = std::make_shared<boost::asio::ssl::context>(boost::asio::ssl::context::tls_client);
  SSL_CTX* ctx = context->native_handle();
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  std::string file = ca_file;
  if (file.empty()) {
    const char* env = std::getenv(X509_get_default_cert_file_env());
    file = env != nullptr && *env != '\0' ? env : X509_get_default_cert_file();
  }
  ERR_clear_error();
  if (SSL_CTX_load_verify_locations(ctx, file.c_str(), nullptr) != 1) {
    std::string reason = openssl_error();
    if (reason.empty()) reason = "no certificate could be read";
    throw std::runtime_error("TLS: cannot load CA file " + file + ": " + reason);
  }
  return context;
}

std::string expect_server(ssl_st* ssl, const std::string& host, bool host_is_ip) {
  ERR_clear_error();
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  const bool named = host_is_ip ? X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str()) == 1
                                : X509_VERIFY_PARAM_set1_host(param, host.c_str(), 0) == 1;
  if (!named) return "TLS: cannot set the host to verify: " + openssl_error();
  if (!host_is_ip && SSL_set_tlsext_host_name(ssl, host.c_str()) != 1)
    return "TLS: cannot set SNI: " + openssl_error();
  SSL_set_verify(ssl, SSL_VERIFY_PEER, nullptr);
  return "";
}

std::string handshake_error(const ssl_st* ssl, const std::string& error, const std::string& where) {
  const long verify = SSL_get_verify_result(ssl);
  if (verify != X509_V_OK) {
    return std::string("TLS: certificate verify failed: ") + X509_verify_cert_error_string(verify) +
           " (" + where + ")";
  }
  return "TLS handshake with " + where + ": " + error;
}

}  // namespace vigil::agent
