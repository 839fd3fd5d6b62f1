// JSON Web Signature with HS256, compact serialization only (RFC 7515
// sections 3.1 and 7.1, RFC 7518 section 3.2): the mechanics shared by the
// API's request tokens (jwt.h) and the cluster's join tokens
// (join_token.h). What the claims mean is theirs.
//
//   token = base64url(header) "." base64url(claims) "." base64url(HMAC-SHA-256)
//
// base64url is unpadded and strict (RFC 4648 section 5 alphabet only), so
// one token has one spelling. Errors are JwtError (jwt.h) with a reason fit
// for a client: untrusted text in it is cut and made printable.
#ifndef VIGIL_AGENT_API_JWS_H_
#define VIGIL_AGENT_API_JWS_H_

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace vigil::agent::jws {

struct Parsed {
  nlohmann::json header;           // a JSON object with "alg": "HS256"
  nlohmann::json claims;           // a JSON object
  std::string_view signing_input;  // "<header>.<claims>", a view into the token
  std::string signature;           // the decoded MAC bytes
};

/// Splits and decodes `token`. Throws JwtError: not three dot-separated
/// parts, bad base64url, a header or claims that are not JSON objects, a
/// header without "alg" or with another alg than HS256. The signature is
/// not checked; see verify().
Parsed parse(std::string_view token);

/// True when `p.signature` is the HMAC-SHA-256 of its signing input under
/// `key` (constant-time compare).
bool verify(const Parsed& p, std::string_view key);

/// A compact token: header {"alg": "HS256", "typ": "JWT"}, `claims`, and
/// the HMAC-SHA-256 under `key`.
std::string sign(const nlohmann::json& claims, std::string_view key);

/// Claim `name` as a string, or as an int64; JwtError("claim 'name'
/// missing or not a ...") otherwise.
std::string string_claim(const nlohmann::json& claims, const char* name);
int64_t integer_claim(const nlohmann::json& claims, const char* name);

/// Untrusted text made fit for an error message: printable ASCII only, at
/// most 64 characters then "...".
std::string printable(std::string_view text);

/// a + b and a - b, clamped to the int64_t range.
int64_t saturating_add(int64_t a, int64_t b);
int64_t saturating_sub(int64_t a, int64_t b);

}  // namespace vigil::agent::jws

#endif  // VIGIL_AGENT_API_JWS_H_
