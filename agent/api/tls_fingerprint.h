// The SHA-256 fingerprint of a TLS certificate, as a join token's cnf
// carries it (RFC 8705 section 3.1, "x5t#S256"): the base64url (unpadded)
// SHA-256 of the certificate's DER encoding.
#ifndef VIGIL_AGENT_API_TLS_FINGERPRINT_H_
#define VIGIL_AGENT_API_TLS_FINGERPRINT_H_

#include <string>
#include <string_view>

namespace vigil::agent {

/// The fingerprint of the first certificate of `pem` (PEM text, e.g. the
/// [api] tls_cert file). Throws std::invalid_argument when it holds no
/// certificate.
std::string certificate_sha256_pem(std::string_view pem);

/// The fingerprint of a DER-encoded certificate (what a TLS peer presents).
std::string certificate_sha256_der(std::string_view der);

}  // namespace vigil::agent

#endif  // VIGIL_AGENT_API_TLS_FINGERPRINT_H_
