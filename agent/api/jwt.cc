#include "agent/api/jwt.h"

#include <sodium.h>

#include <limits>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "crypto/key.h"

namespace vigil::agent {
namespace {

using nlohmann::json;

constexpr std::string_view kBearer = "Bearer ";
constexpr std::size_t kMacBytes = crypto_auth_hmacsha256_BYTES;

[[noreturn]] void fail(const std::string& reason) { throw JwtError(reason); }

// Untrusted text made fit for an error message: printable ASCII only, at
// most 64 characters, so a forged token cannot fill the 401 answer.
std::string printable(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size() && i < 64; ++i) {
    const char c = text[i];
    out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  }
  if (text.size() > 64) out.append("...");
  return out;
}

std::string single_quoted(std::string_view text) { return "'" + printable(text) + "'"; }

const unsigned char* bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

std::string base64url(std::string_view bin) {
  const std::size_t cap =
      sodium_base64_ENCODED_LEN(bin.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  std::string out(cap, '\0');
  sodium_bin2base64(out.data(), cap, bytes(bin), bin.size(),
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  out.resize(cap - 1);  // cap counts the terminating NUL
  return out;
}

bool is_base64url_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

// Decodes unpadded base64url; the whole input must be consumed. Only the
// RFC 4648 section 5 alphabet is accepted: libsodium 1.0.18 decodes every
// byte from 0x80 up as '_', which would let one token have many spellings.
std::optional<std::string> unbase64url(std::string_view b64) {
  for (const char c : b64) {
    if (!is_base64url_char(c)) return std::nullopt;
  }
  std::string out(b64.size() * 3 / 4 + 1, '\0');
  std::size_t len = 0;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), b64.data(),
                        b64.size(), nullptr, &len, nullptr,
                        sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0) {
    return std::nullopt;
  }
  out.resize(len);
  return out;
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, bytes(key), key.size());
  crypto_auth_hmacsha256_update(&st, bytes(data), data.size());
  std::string mac(kMacBytes, '\0');
  crypto_auth_hmacsha256_final(&st, reinterpret_cast<unsigned char*>(mac.data()));
  sodium_memzero(&st, sizeof st);
  return mac;
}

// Lowercase hex of SHA-256(method "&" path).
std::string query_hash(std::string_view method, std::string_view path) {
  std::string text(method);
  text.push_back('&');
  text.append(path);
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, bytes(text), text.size());
  char hex[2 * sizeof digest + 1];
  sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
  return hex;
}

std::vector<std::string_view> split_dots(std::string_view token) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  for (;;) {
    const std::size_t dot = token.find('.', start);
    parts.push_back(token.substr(start, dot - start));
    if (dot == std::string_view::npos) return parts;
    start = dot + 1;
  }
}

json parse_object(const std::string& text, const char* what) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) fail(std::string("malformed token: ") + what + " is not a JSON object");
  return j;
}

std::string string_claim(const json& claims, const char* name) {
  const auto it = claims.find(name);
  if (it == claims.end() || !it->is_string()) {
    fail(std::string("claim '") + name + "' missing or not a string");
  }
  return it->get<std::string>();
}

int64_t integer_claim(const json& claims, const char* name) {
  const auto it = claims.find(name);
  const bool ok = it != claims.end() && it->is_number_integer() &&
                  !(it->is_number_unsigned() &&
                    it->get<uint64_t>() > uint64_t{std::numeric_limits<int64_t>::max()});
  if (!ok) fail(std::string("claim '") + name + "' missing or not an integer");
  return it->get<int64_t>();
}

// a + b, clamped to the int64_t range.
int64_t saturating_add(int64_t a, int64_t b) {
  int64_t sum = 0;
  if (!__builtin_add_overflow(a, b, &sum)) return sum;
  return b > 0 ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
}

// a - b, clamped to the int64_t range.
int64_t saturating_sub(int64_t a, int64_t b) {
  int64_t diff = 0;
  if (!__builtin_sub_overflow(a, b, &diff)) return diff;
  return b < 0 ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
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
  const std::string_view token = authorization.substr(kBearer.size());

  const std::vector<std::string_view> parts = split_dots(token);
  if (parts.size() != 3) fail("malformed token: expected three dot-separated parts");
  const std::optional<std::string> header_text = unbase64url(parts[0]);
  const std::optional<std::string> claims_text = unbase64url(parts[1]);
  const std::optional<std::string> signature = unbase64url(parts[2]);
  if (!header_text || !claims_text || !signature) fail("malformed token: bad base64url");

  const json header = parse_object(*header_text, "header");
  const auto alg = header.find("alg");
  if (alg == header.end() || !alg->is_string()) fail("malformed token: header has no alg");
  if (*alg != "HS256") fail("unsupported alg " + single_quoted(alg->get<std::string>()));

  const json claims = parse_object(*claims_text, "claims");
  const std::string iss = string_claim(claims, "iss");
  const int64_t iat = integer_claim(claims, "iat");
  const int64_t exp = integer_claim(claims, "exp");
  const std::string qsh = string_claim(claims, "qsh");

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
  const std::size_t signed_len = parts[0].size() + 1 + parts[1].size();
  const std::string expected =
      hmac_sha256(key != nullptr ? *key : decoy_key(), token.substr(0, signed_len));
  const bool signature_ok = signature->size() == kMacBytes &&
                            sodium_memcmp(signature->data(), expected.data(), kMacBytes) == 0;
  if (!signature_ok || key == nullptr) fail(std::string(kBadSignatureOrIssuer));

  if (saturating_sub(exp, iat) > max_lifetime) fail("token lifetime above the maximum");
  if (iat > saturating_add(now, leeway)) fail("token issued in the future");
  if (now >= saturating_add(exp, leeway)) fail("token expired");
  if (qsh != query_hash(method, path)) {
    fail("qsh does not match " + printable(method) + " " + printable(path));
  }
  return role;
}

std::string make_jwt(ApiRole role, std::string_view key, std::string_view method,
                     std::string_view path, int64_t now, int64_t ttl) {
  if (key.size() < kMinJwtKeyBytes) {
    throw std::invalid_argument("JWT key too short: " + std::to_string(key.size()) +
                                " bytes, at least " + std::to_string(kMinJwtKeyBytes) + " needed");
  }
  crypto::init();
  const json header = {{"alg", "HS256"}, {"typ", "JWT"}};
  const json claims = {{"iss", role == ApiRole::kAdmin ? "admin" : "user"},
                       {"iat", now},
                       {"exp", saturating_add(now, ttl)},
                       {"qsh", query_hash(method, path)}};
  std::string token = base64url(header.dump());
  token.push_back('.');
  token.append(base64url(claims.dump()));
  const std::string mac = hmac_sha256(key, token);
  token.push_back('.');
  token.append(base64url(mac));
  return token;
}

}  // namespace vigil::agent
