// JSON Web Token checks for the TCP API, on the Heketi model (seed 003):
// HS256 signatures (RFC 7519, RFC 7515), the issuer naming the role, and a
// `qsh` claim that binds the token to one request.
//
//   header  {"alg": "HS256", "typ": "JWT"}        ("typ" optional)
//   claims  {"iss": "admin" | "user",              the role, and which key signs
//            "iat": <s since epoch>,               issued at; not in the future
//            "exp": <s since epoch>,               expiry; must be in the future
//            "qsh": hex(SHA-256(METHOD "&" PATH))} e.g. SHA-256("GET&/v1/status")
//
// The token travels as "Authorization: Bearer <token>". A new token is made
// for each request.
#ifndef VIGIL_AGENT_JWT_H_
#define VIGIL_AGENT_JWT_H_

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace vigil::agent {

enum class ApiRole { kUser, kAdmin };

/// The HS256 keys, one per issuer. A role without a key is refused.
struct JwtKeys {
  std::optional<std::string> admin;
  std::optional<std::string> user;
};

/// A token that does not authorize the request. what() says why, for the
/// 401 answer: "missing bearer token", "bad signature", "token expired",
/// "qsh does not match GET /v1/status", "unknown issuer 'root'"...
class JwtError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Checks an Authorization header value ("Bearer <token>") for a request of
/// `method` on `path` (without the query string) at `now` (seconds since
/// the epoch). `leeway`: clock skew tolerated on iat and exp, seconds.
/// Returns the issuer's role; throws JwtError otherwise. Checks, in order:
/// the "Bearer " prefix, three base64url parts (no padding), the header
/// (alg must be HS256), the claims (iss, iat, exp, qsh present and typed),
/// a key for the issuer, the signature (constant time), then iat <= now +
/// leeway, now < exp + leeway, and qsh.
ApiRole check_jwt(std::string_view authorization, std::string_view method, std::string_view path,
                  const JwtKeys& keys, int64_t now, int64_t leeway = 120);

/// Makes a token (for the CLI and tests): HS256 over the claims above with
/// `key`, iss = "admin" or "user", iat = now, exp = now + ttl.
std::string make_jwt(ApiRole role, std::string_view key, std::string_view method,
                     std::string_view path, int64_t now, int64_t ttl = 300);

}  // namespace vigil::agent

#endif  // VIGIL_AGENT_JWT_H_
