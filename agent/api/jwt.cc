#include "agent/api/jwt.h"

#include <sodium.h>

#include <limits>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "agent/api/jws.h"
#include "crypto/key.h"

namespace vigil::agent {
namespace {

using nlohmann::json;

constexpr std::string_view kBearer = "Bearer ";

[[noreturn]] void fail(const std::string& reason) { throw JwtError(reason); }

// Lowercase hex of SHA-256(method "&" path).
std::string query_hash(std::string_view method, std::string_view path) {
  std::string text(method);
  text.push_back('&');
  text.append(path);
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(text.data()), text.size());
  char hex[2 * sizeof digest + 1];
  sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
  return hex;
}

// The key of an issuer, or nullptr when it has none fit to verify with: an
// empty key would let anyone sign, a short one is refused by the config.
const std::string* usable_key(const std::optional<std::string>& key) {
  return key && key->size() >= kMinJwtKeyBytes ? &*key : nullptr;
}

// A random key made once per process. Tokens of an unknown issuer, or of an
// issuer without a key, are verified against it, so that they take the same
// path (HMAC, constant-time compare) as a token with a wrong signature.
const std::string& decoy_key() {
  static const std::string key = [] {
    std::string k(kMinJwtKeyBytes, '\0');
    randombytes_buf(k.data(), k.size());
    return k;
  }();
  return key;
}

}  // namespace

ApiRole check_jwt(std::string_view authorization, std::string_view method, std::string_view path,
                  const JwtKeys& keys, int64_t now, int64_t max_lifetime, int64_t leeway) {
  crypto::init();
  if (authorization.substr(0, kBearer.size()) != kBearer) fail("missing bearer token");
  const jws::Parsed token = jws::parse(authorization.substr(kBearer.size()));
  const std::string iss = jws::string_claim(token.claims, "iss");
  const int64_t iat = jws::integer_claim(token.claims, "iat");
  const int64_t exp = jws::integer_claim(token.claims, "exp");
  const std::string qsh = jws::string_claim(token.claims, "qsh");

  // Unknown issuers and issuers without a key fail exactly as a wrong
  // signature does, after the same work: a 401 must not tell which issuers
  // have keys.
  ApiRole role = ApiRole::kUser;
  const std::string* key = nullptr;
  if (iss == "admin") {
    role = ApiRole::kAdmin;
    key = usable_key(keys.admin);
  } else if (iss == "user") {
    key = usable_key(keys.user);
  }
  const bool signature_ok = jws::verify(token, key != nullptr ? *key : decoy_key());
  if (!signature_ok || key == nullptr) fail(std::string(kBadSignatureOrIssuer));

  if (jws::saturating_sub(exp, iat) > max_lifetime) fail("token lifetime above the maximum");
  if (iat > jws::saturating_add(now, leeway)) fail("token issued in the future");
  if (now >= jws::saturating_add(exp, leeway)) fail("token expired");
  if (qsh != query_hash(method, path)) {
    fail("qsh does not match " + jws::printable(method) + " " + jws::printable(path));
  }
  return role;
}

std::string make_jwt(ApiRole role, std::string_view key, std::string_view method,
                     std::string_view path, int64_t now, int64_t ttl) {
  if (key.size() < kMinJwtKeyBytes) {
    throw std::invalid_argument("JWT key too short: " + std::to_string(key.size()) +
                                " bytes, at least " + std::to_string(kMinJwtKeyBytes) + " needed");
  }
  return jws::sign({{"iss", role == ApiRole::kAdmin ? "admin" : "user"},
                    {"iat", now},
                    {"exp", jws::saturating_add(now, ttl)},
                    {"qsh", query_hash(method, path)}},
                   key);
}

}  // namespace vigil::agent
