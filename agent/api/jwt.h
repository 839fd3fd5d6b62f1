// JSON Web Token checks for the TCP API, on the Heketi model (seed 003):
// HS256 signatures (RFC 7519, RFC 7515), the issuer naming the role, and a
// `qsh` claim that binds the token to one request.
//
//   header  {"alg": "HS256", "typ": "JWT"}        ("typ" optional)
//   claims  {"iss": "admin" | "user",              the role, and which key signs
//            "iat": <s since epoch>,               issued at; not in the future
//            "exp": <s since epoch>,               expiry; must be in the future,
//                                                  at most max_lifetime after iat
//            "qsh": hex(SHA-256(METHOD "&" PATH))} e.g. SHA-256("GET&/v1/status")
//
// The token travels as "Authorization: Bearer <token>". A new token is made
// for each request, so tokens are short-lived: exp - iat is bounded by
// [api] max_token_lifetime (default 10 minutes).
//
// Keys are at least kMinJwtKeyBytes (32) bytes, the size of the SHA-256
// output (RFC 7518 section 3.2); the config refuses shorter ones, and
// check_jwt treats a shorter key as no key.
#ifndef VIGIL_AGENT_API_JWT_H_
#define VIGIL_AGENT_API_JWT_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace vigil::agent {

enum class ApiRole { kUser, kAdmin };

/// Minimum HS256 key size in bytes (RFC 7518 section 3.2).
inline constexpr std::size_t kMinJwtKeyBytes = 32;

/// Default bound on exp - iat, seconds ([api] max_token_lifetime).
inline constexpr int64_t kDefaultMaxTokenLifetime = 600;

/// The HS256 keys, one per issuer. A role without a key, or whose key is
/// shorter than kMinJwtKeyBytes, is refused.
struct JwtKeys {
  std::optional<std::string> admin;
  std::optional<std::string> user;
};

/// A token that does not authorize the request. what() says why, for the
/// 401 answer: "missing bearer token", "token expired", "qsh does not match
/// GET /v1/status"... The text never tells which issuers have a key: a bad
/// signature, an unknown issuer ("root") and an issuer without a configured
/// key all give kBadSignatureOrIssuer.
class JwtError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The one JwtError text for a wrong signature, an unknown issuer and an
/// issuer without a key.
inline constexpr std::string_view kBadSignatureOrIssuer = "bad signature or unknown issuer";

/// Checks an Authorization header value ("Bearer <token>") for a request of
/// `method` on `path` (without the query string) at `now` (seconds since
/// the epoch). `max_lifetime`: the largest exp - iat accepted, seconds.
/// `leeway`: clock skew tolerated on iat and exp, seconds.
/// Returns the issuer's role; throws JwtError otherwise. Checks, in order:
/// the "Bearer " prefix, three base64url parts (no padding), the header
/// (alg must be HS256), the claims (iss, iat, exp, qsh present and typed),
/// the signature with the issuer's key (constant time; an unknown issuer or
/// one without a usable key is checked against a random key of this process,
/// so it takes the same path and fails the same way as a wrong signature),
/// then exp - iat <= max_lifetime ("token lifetime above the maximum"),
/// iat <= now + leeway, now < exp + leeway, and qsh.
ApiRole check_jwt(std::string_view authorization, std::string_view method, std::string_view path,
                  const JwtKeys& keys, int64_t now, int64_t max_lifetime = kDefaultMaxTokenLifetime,
                  int64_t leeway = 120);

/// Makes a token (for the CLI and tests): HS256 over the claims above with
/// `key`, iss = "admin" or "user", iat = now, exp = now + ttl (saturating).
/// The default ttl is within the default max_lifetime. Throws
/// std::invalid_argument when `key` is shorter than kMinJwtKeyBytes.
std::string make_jwt(ApiRole role, std::string_view key, std::string_view method,
                     std::string_view path, int64_t now, int64_t ttl = 300);

}  // namespace vigil::agent

#endif  // VIGIL_AGENT_API_JWT_H_
