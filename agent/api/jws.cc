#include "agent/api/jws.h"

#include <sodium.h>

#include <limits>
#include <optional>
#include <vector>

#include "agent/api/jwt.h"
#include "crypto/key.h"

namespace vigil::agent::jws {

using nlohmann::json;

namespace {

constexpr std::size_t kMacBytes = crypto_auth_hmacsha256_BYTES;

[[noreturn]] void fail(const std::string& reason) { throw JwtError(reason); }

// Untrusted text made fit for an error message: printable ASCII only, at

// most 64 characters, so a forged token cannot fill the 401 answer.

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

// a + b, clamped to the int64_t range.

// a - b, clamped to the int64_t range.

}  // namespace

std::string printable(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size() && i < 64; ++i) {
    const char c = text[i];
    out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  }
  if (text.size() > 64) out.append("...");
  return out;
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

int64_t saturating_add(int64_t a, int64_t b) {
  int64_t sum = 0;
  if (!__builtin_add_overflow(a, b, &sum)) return sum;
  return b > 0 ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
}

int64_t saturating_sub(int64_t a, int64_t b) {
  int64_t diff = 0;
  if (!__builtin_sub_overflow(a, b, &diff)) return diff;
  return b < 0 ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
}

Parsed parse(std::string_view token) {
  crypto::init();
  const std::vector<std::string_view> parts = split_dots(token);
  if (parts.size() != 3) fail("malformed token: expected three dot-separated parts");
  const std::optional<std::string> header_text = unbase64url(parts[0]);
  const std::optional<std::string> claims_text = unbase64url(parts[1]);
  std::optional<std::string> signature = unbase64url(parts[2]);
  if (!header_text || !claims_text || !signature) fail("malformed token: bad base64url");
  Parsed p;
  p.header = parse_object(*header_text, "header");
  const auto alg = p.header.find("alg");
  if (alg == p.header.end() || !alg->is_string()) fail("malformed token: header has no alg");
  if (*alg != "HS256") fail("unsupported alg '" + printable(alg->get<std::string>()) + "'");
  p.claims = parse_object(*claims_text, "claims");
  p.signing_input = token.substr(0, parts[0].size() + 1 + parts[1].size());
  p.signature = std::move(*signature);
  return p;
}

bool verify(const Parsed& p, std::string_view key) {
  const std::string expected = hmac_sha256(key, p.signing_input);
  return p.signature.size() == kMacBytes &&
         sodium_memcmp(p.signature.data(), expected.data(), kMacBytes) == 0;
}

std::string sign(const json& claims, std::string_view key) {
  crypto::init();
  const json header = {{"alg", "HS256"}, {"typ", "JWT"}};
  std::string token = base64url(header.dump());
  token.push_back('.');
  token.append(base64url(claims.dump()));
  const std::string mac = hmac_sha256(key, token);
  token.push_back('.');
  token.append(base64url(mac));
  return token;
}

}  // namespace vigil::agent::jws
