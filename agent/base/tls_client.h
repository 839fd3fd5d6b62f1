// The client side of TLS for the daemon's outgoing connections (webhooks,
// NATS): one policy for both. TLS 1.2 or newer, and always verified, never
// turned off on an error: the chain against a CA store, the certificate's
// names against the host dialled (RFC 6125: a DNS name, no partial
// wildcard, or an IP address SAN for an IP host), with SNI for a name
// (RFC 6066 section 3).
#ifndef VIGIL_AGENT_BASE_TLS_CLIENT_H_
#define VIGIL_AGENT_BASE_TLS_CLIENT_H_

#include <memory>
#include <string>

namespace boost::asio::ssl {
class context;
}
struct ssl_st;  // OpenSSL's SSL, one connection

namespace vigil::agent {

/// The TLS client context: TLS 1.2 or newer, peer verification on, trusting
/// the CAs of `ca_file` (PEM, one or more certificates) or, when it is "",
/// the system store (OpenSSL's default CA file, which $SSL_CERT_FILE
/// overrides; on Debian /etc/ssl/certs/ca-certificates.crt). The
/// certificates are read here, whole: blocking, so call it on a worker (the
/// handshakes then read nothing from disk). Throws std::runtime_error
/// ("TLS: cannot load CA file <path>: <reason>").
std::shared_ptr<boost::asio::ssl::context> make_tls_client_context(const std::string& ca_file);

/// Sets what the server of connection `ssl` must prove before its handshake:
/// a certificate naming `host` (an IP address when `host_is_ip`, else a DNS
/// name), verified; and SNI for a name. Returns "" or why not ("TLS: cannot
/// set the host to verify: <reason>", "TLS: cannot set SNI: <reason>").
std::string expect_server(ssl_st* ssl, const std::string& host, bool host_is_ip);

/// Why the handshake of `ssl` with `where` ("host:port") failed with
/// `error` (the error code's message): "TLS: certificate verify failed:
/// <reason> (<where>)" when the certificate was refused, else "TLS
/// handshake with <where>: <error>".
std::string handshake_error(const ssl_st* ssl, const std::string& error, const std::string& where);

}  // namespace vigil::agent

#endif  // VIGIL_AGENT_BASE_TLS_CLIENT_H_
