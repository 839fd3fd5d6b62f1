#include "agent/api/jwt.h"

#include <sodium.h>

#include <limits>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

namespace vigil::agent {
namespace {

using nlohmann::json;

// The helpers below call libsodium directly.
[[maybe_unused]] const bool kSodiumReady = sodium_init() >= 0;

constexpr int64_t kNow = 1'700'000'000;
// HS256 keys are at least 32 bytes (RFC 7518 section 3.2).
constexpr std::string_view kAdminKey = "admin-key-for-tests-0123456789abcdef";
constexpr std::string_view kUserKey = "user-key-for-tests-0123456789abcdef";
static_assert(kAdminKey.size() >= kMinJwtKeyBytes && kUserKey.size() >= kMinJwtKeyBytes);

JwtKeys both_keys() { return {std::string(kAdminKey), std::string(kUserKey)}; }

// Independent helpers, straight on libsodium: they do not share code with
// agent/api/jwt.cc.
const unsigned char* bytes(const std::string& s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

std::string b64url(const std::string& bin) {
  char buf[1024];
  sodium_bin2base64(buf, sizeof buf, bytes(bin), bin.size(),
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  return buf;
}

std::string unb64url(const std::string& text) {
  unsigned char buf[1024];
  size_t len = 0;
  EXPECT_EQ(sodium_base642bin(buf, sizeof buf, text.data(), text.size(), nullptr, &len, nullptr,
                              sodium_base64_VARIANT_URLSAFE_NO_PADDING),
            0);
  return std::string(reinterpret_cast<char*>(buf), len);
}

std::string hmac(const std::string& key, const std::string& data) {
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, bytes(key), key.size());
  crypto_auth_hmacsha256_update(&st, bytes(data), data.size());
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_final(&st, mac);
  return std::string(reinterpret_cast<char*>(mac), sizeof mac);
}

std::string hex(const std::string& bin) {
  char buf[256];
  sodium_bin2hex(buf, sizeof buf, bytes(bin), bin.size());
  return buf;
}

std::string qsh(const std::string& method, const std::string& path) {
  const std::string text = method + "&" + path;
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, bytes(text), text.size());
  return hex(std::string(reinterpret_cast<char*>(digest), sizeof digest));
}

// "Bearer " + a token signed with `key` over the given JSON texts.
std::string bearer(const std::string& header_text, const std::string& claims_text,
                   const std::string& key) {
  const std::string signing_input = b64url(header_text) + "." + b64url(claims_text);
  return "Bearer " + signing_input + "." + b64url(hmac(key, signing_input));
}

const std::string kHeader = R"({"alg":"HS256","typ":"JWT"})";

json good_claims() {
  return {{"iss", "user"}, {"iat", kNow}, {"exp", kNow + 300}, {"qsh", qsh("GET", "/v1/status")}};
}

std::string bearer(const json& claims, const std::string& key = std::string(kUserKey)) {
  return bearer(kHeader, claims.dump(), key);
}

// The JwtError message of check_jwt for GET /v1/status at kNow, or "" if it
// passed (or threw something else, which fails the test).
std::string error_of(const std::string& authorization, const JwtKeys& keys = both_keys(),
                     int64_t now = kNow, int64_t leeway = 120, int64_t max_lifetime = 600) {
  try {
    check_jwt(authorization, "GET", "/v1/status", keys, now, max_lifetime, leeway);
  } catch (const JwtError& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not a JwtError: " << e.what();
  }
  return "";
}

#define EXPECT_JWT_ERROR(expr, substring)                                     \
  do {                                                                        \
    const std::string err_ = (expr);                                          \
    EXPECT_NE(err_.find(substring), std::string::npos)                        \
        << "error '" << err_ << "' does not contain '" << (substring) << "'"; \
  } while (0)

TEST(Jwt, MadeTokenPassesForEachRole) {
  const std::string admin = make_jwt(ApiRole::kAdmin, kAdminKey, "GET", "/v1/status", kNow);
  const std::string user = make_jwt(ApiRole::kUser, kUserKey, "GET", "/v1/status", kNow);
  EXPECT_EQ(check_jwt("Bearer " + admin, "GET", "/v1/status", both_keys(), kNow), ApiRole::kAdmin);
  EXPECT_EQ(check_jwt("Bearer " + user, "GET", "/v1/status", both_keys(), kNow), ApiRole::kUser);
  // Each role's token is signed with that role's key only.
  EXPECT_JWT_ERROR(
      error_of("Bearer " + make_jwt(ApiRole::kAdmin, kUserKey, "GET", "/v1/status", kNow)),
      "bad signature or unknown issuer");
}

TEST(Jwt, MadeTokenHasTheDocumentedShape) {
  const std::string key(kAdminKey);
  const std::string token = make_jwt(ApiRole::kAdmin, key, "PUT", "/v1/x", kNow, 60);
  const size_t dot1 = token.find('.');
  const size_t dot2 = token.find('.', dot1 + 1);
  ASSERT_NE(dot2, std::string::npos);
  EXPECT_EQ(token.find('.', dot2 + 1), std::string::npos);
  EXPECT_EQ(token.find('='), std::string::npos);  // no padding

  EXPECT_EQ(json::parse(unb64url(token.substr(0, dot1))), json::parse(kHeader));
  const json expected = {
      {"iss", "admin"}, {"iat", kNow}, {"exp", kNow + 60}, {"qsh", qsh("PUT", "/v1/x")}};
  EXPECT_EQ(json::parse(unb64url(token.substr(dot1 + 1, dot2 - dot1 - 1))), expected);
  EXPECT_EQ(unb64url(token.substr(dot2 + 1)), hmac(key, token.substr(0, dot2)));
  // The default ttl is within the default maximum lifetime.
  const std::string made = make_jwt(ApiRole::kAdmin, key, "GET", "/v1/status", kNow);
  const json claims =
      json::parse(unb64url(made.substr(made.find('.') + 1, made.rfind('.') - made.find('.') - 1)));
  EXPECT_GT(claims["exp"].get<int64_t>(), kNow);
  EXPECT_LE(claims["exp"].get<int64_t>() - kNow, kDefaultMaxTokenLifetime);
}

TEST(Jwt, IndependentlyBuiltTokenPasses) {
  json claims = good_claims();
  claims["sub"] = "ops-cli";  // unknown claims are allowed
  EXPECT_EQ(check_jwt(bearer(claims), "GET", "/v1/status", both_keys(), kNow), ApiRole::kUser);
  // "typ" is optional.
  EXPECT_EQ(check_jwt(bearer(R"({"alg":"HS256"})", claims.dump(), std::string(kUserKey)), "GET",
                      "/v1/status", both_keys(), kNow),
            ApiRole::kUser);
}

TEST(Jwt, KnownVector) {
  // Reference values computed outside this code base (openssl dgst -sha256
  // -hmac known-vector-hs256-key-32-bytes!; sha256sum; Python's hmac).
  const std::string key = "known-vector-hs256-key-32-bytes!";
  ASSERT_EQ(key.size(), 32u);
  const std::string claims_text =
      R"({"iss":"admin","iat":1700000000,"exp":1700000300,)"
      R"("qsh":"509e0c07622257318fc1594dfff2d9cf722849a75e9eb89cfc0e3dddbfd652b3"})";
  EXPECT_EQ(qsh("GET", "/v1/status"),
            "509e0c07622257318fc1594dfff2d9cf722849a75e9eb89cfc0e3dddbfd652b3");
  const std::string signing_input = b64url(kHeader) + "." + b64url(claims_text);
  EXPECT_EQ(hex(hmac(key, signing_input)),
            "2e975ad6ec4cb5eabded6ce497b448d3a8c23a662579fb1560895b1f269db953");
  const std::string token =
      "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
      "eyJpc3MiOiJhZG1pbiIsImlhdCI6MTcwMDAwMDAwMCwiZXhwIjoxNzAwMDAwMzAwLCJxc2giOiI1MDllMGMwNzYyMj"
      "I1NzMxOGZjMTU5NGRmZmYyZDljZjcyMjg0OWE3NWU5ZWI4OWNmYzBlM2RkZGJmZDY1MmIzIn0."
      "Lpda1uxMteq97Wzkl7RI06jCOmYlefsVYIlbHyaduVM";
  EXPECT_EQ(bearer(kHeader, claims_text, key), "Bearer " + token);
  EXPECT_EQ(check_jwt("Bearer " + token, "GET", "/v1/status", {key, std::nullopt}, 1'700'000'100),
            ApiRole::kAdmin);
}

TEST(Jwt, RefusesMissingBearerPrefix) {
  const std::string token = make_jwt(ApiRole::kUser, kUserKey, "GET", "/v1/status", kNow);
  EXPECT_JWT_ERROR(error_of(token), "missing bearer token");
  EXPECT_JWT_ERROR(error_of(""), "missing bearer token");
  EXPECT_JWT_ERROR(error_of("Basic dXNlcjpwdw=="), "missing bearer token");
  EXPECT_JWT_ERROR(error_of("Bearer"), "missing bearer token");
}

TEST(Jwt, RefusesWrongNumberOfParts) {
  const std::string token = bearer(good_claims());
  EXPECT_JWT_ERROR(error_of(token.substr(0, token.rfind('.'))), "three");
  EXPECT_JWT_ERROR(error_of(token + ".e30"), "three");
  EXPECT_JWT_ERROR(error_of("Bearer "), "three");
}

TEST(Jwt, RefusesBadBase64) {
  const std::string token = bearer(good_claims());
  const size_t dot = token.find('.');
  EXPECT_JWT_ERROR(error_of("Bearer e!30" + token.substr(dot)), "base64url");
  EXPECT_JWT_ERROR(error_of(token + "="), "base64url");  // padding
  // Standard-alphabet characters in the claims part.
  std::string plus = token;
  plus[dot + 1] = '+';
  EXPECT_JWT_ERROR(error_of(plus), "base64url");
  // Non-canonical: "AB" leaves non-zero trailing bits.
  EXPECT_JWT_ERROR(error_of("Bearer e30.e30.AB"), "base64url");
}

TEST(Jwt, RefusesBytesOutsideTheBase64urlAlphabet) {
  // libsodium 1.0.18 decodes any byte from 0x80 up as '_'; a valid token with
  // its '_' so replaced must still be refused (found by fuzz_jwt).
  std::string token;
  for (int i = 0; token.empty() || token.find('_', token.rfind('.')) == std::string::npos; ++i) {
    ASSERT_LT(i, 1000);
    token = make_jwt(ApiRole::kUser, kUserKey, "GET", "/v1/status", kNow + i);
  }
  ASSERT_EQ(check_jwt("Bearer " + token, "GET", "/v1/status", both_keys(), kNow), ApiRole::kUser);
  const size_t underscore = token.find('_', token.rfind('.'));
  for (const char c : {'\x80', '\xc5', '\xff', '+', '/', '=', ' ', '\0'}) {
    SCOPED_TRACE(static_cast<int>(static_cast<unsigned char>(c)));
    std::string edited = token;
    edited[underscore] = c;
    EXPECT_JWT_ERROR(error_of("Bearer " + edited), "bad base64url");
  }
  // In the header and claims parts too.
  const std::string good = bearer(good_claims());
  for (const size_t at : {size_t{7}, good.find('.') + 1}) {
    std::string edited = good;
    edited[at] = '\xfe';
    EXPECT_JWT_ERROR(error_of(edited), "bad base64url");
  }
}

TEST(Jwt, RefusesBadHeader) {
  EXPECT_JWT_ERROR(error_of(bearer("not json", good_claims().dump(), std::string(kUserKey))),
                   "header is not a JSON object");
  EXPECT_JWT_ERROR(error_of(bearer("[1]", good_claims().dump(), std::string(kUserKey))),
                   "header is not a JSON object");
  EXPECT_JWT_ERROR(
      error_of(bearer(R"({"typ":"JWT"})", good_claims().dump(), std::string(kUserKey))), "no alg");
}

TEST(Jwt, RefusesOtherAlgorithms) {
  // alg none with an empty signature, the classic forgery.
  const std::string none = "Bearer " + b64url(R"({"alg":"none","typ":"JWT"})") + "." +
                           b64url(good_claims().dump()) + ".";
  EXPECT_JWT_ERROR(error_of(none), "unsupported alg 'none'");
  EXPECT_JWT_ERROR(error_of(bearer(R"({"alg":"HS512","typ":"JWT"})", good_claims().dump(),
                                   std::string(kUserKey))),
                   "unsupported alg 'HS512'");
}

TEST(Jwt, RefusesMissingOrMistypedClaims) {
  EXPECT_JWT_ERROR(error_of(bearer(kHeader, "[]", std::string(kUserKey))),
                   "claims is not a JSON object");
  for (const char* name : {"iss", "iat", "exp", "qsh"}) {
    SCOPED_TRACE(name);
    const bool is_string = std::string(name) == "iss" || std::string(name) == "qsh";
    const std::string want = std::string("claim '") + name + "' missing or not " +
                             (is_string ? "a string" : "an integer");
    json missing = good_claims();
    missing.erase(name);
    EXPECT_JWT_ERROR(error_of(bearer(missing)), want);
    const json wrong_values = is_string ? json::array({5, nullptr, json::array({"user"})})
                                        : json::array({std::to_string(kNow), 1.7e9, true, nullptr});
    for (const json& wrong : wrong_values) {
      json claims = good_claims();
      claims[name] = wrong;
      EXPECT_JWT_ERROR(error_of(bearer(claims)), want);
    }
  }
  // Beyond int64_t.
  json huge = good_claims();
  huge["exp"] = uint64_t{1} << 63;
  EXPECT_JWT_ERROR(error_of(bearer(huge)), "claim 'exp' missing or not an integer");
}

TEST(Jwt, UnknownIssuerAndIssuerWithoutKeyLookLikeABadSignature) {
  // A 401 must not tell which issuers have keys: an unknown issuer, an
  // issuer without a key (or with an empty or short one) and a wrong
  // signature all give the same text.
  const std::string same(kBadSignatureOrIssuer);
  json claims = good_claims();
  claims["iss"] = "root";
  EXPECT_EQ(error_of(bearer(claims)), same);
  EXPECT_EQ(error_of(bearer(claims), {std::nullopt, std::nullopt}), same);

  const std::string user = bearer(good_claims());
  EXPECT_EQ(error_of(user, {std::string(kAdminKey), std::nullopt}), same);
  EXPECT_EQ(error_of(user, {std::string(kAdminKey), std::string()}), same);
  EXPECT_EQ(error_of(user, {std::string(kAdminKey), std::string(kUserKey.substr(0, 31))}), same);
  claims["iss"] = "admin";
  const std::string admin = bearer(claims, std::string(kAdminKey));
  EXPECT_EQ(error_of(admin), "");
  EXPECT_EQ(error_of(admin, {std::nullopt, std::string(kUserKey)}), same);
  EXPECT_EQ(error_of(bearer(claims, "wrong-key-wrong-key-wrong-key-wrong")), same);
  // The issuer's name is not echoed either.
  claims["iss"] = "secret-issuer";
  EXPECT_EQ(error_of(bearer(claims)), same);
}

TEST(Jwt, KeysShorterThan32BytesAreNotUsed) {
  // RFC 7518 section 3.2: an HS256 key is at least as long as the hash.
  const std::string short_key(31, 'k');
  const std::string long_key(32, 'k');
  EXPECT_EQ(error_of(bearer(good_claims(), short_key), {std::nullopt, short_key}),
            std::string(kBadSignatureOrIssuer));
  EXPECT_EQ(error_of(bearer(good_claims(), long_key), {std::nullopt, long_key}), "");
  EXPECT_THROW(make_jwt(ApiRole::kUser, short_key, "GET", "/v1/status", kNow),
               std::invalid_argument);
  EXPECT_THROW(make_jwt(ApiRole::kAdmin, "", "GET", "/v1/status", kNow), std::invalid_argument);
  EXPECT_NO_THROW(make_jwt(ApiRole::kUser, long_key, "GET", "/v1/status", kNow));
}

TEST(Jwt, RefusesLifetimeAboveTheMaximum) {
  const std::string want = "token lifetime above the maximum";
  json claims = good_claims();
  claims["iat"] = kNow;
  claims["exp"] = kNow + 600;  // the default maximum: accepted
  EXPECT_EQ(error_of(bearer(claims)), "");
  claims["exp"] = kNow + 601;
  EXPECT_EQ(error_of(bearer(claims)), want);
  claims["exp"] = kNow + 86400 * 365;
  EXPECT_EQ(error_of(bearer(claims)), want);

  // The bound comes from the caller ([api] max_token_lifetime).
  claims["exp"] = kNow + 60;
  EXPECT_EQ(error_of(bearer(claims), both_keys(), kNow, 120, 60), "");
  claims["exp"] = kNow + 61;
  EXPECT_EQ(error_of(bearer(claims), both_keys(), kNow, 120, 60), want);
  claims["exp"] = kNow + 3600;
  EXPECT_EQ(error_of(bearer(claims), both_keys(), kNow, 120, 3600), "");

  // An old iat does not stretch the window, even when exp is still ahead.
  claims["iat"] = kNow - 3000;
  claims["exp"] = kNow + 300;
  EXPECT_EQ(error_of(bearer(claims)), want);

  // exp - iat beyond int64_t does not wrap around.
  claims["iat"] = std::numeric_limits<int64_t>::min();
  claims["exp"] = std::numeric_limits<int64_t>::max();
  EXPECT_EQ(error_of(bearer(claims)), want);

  // Only a token with a good signature learns about its lifetime.
  claims["iat"] = kNow;
  claims["exp"] = kNow + 3600;
  EXPECT_EQ(error_of(bearer(claims, "wrong-key-wrong-key-wrong-key-wrong")),
            std::string(kBadSignatureOrIssuer));

  // make_jwt with a ttl above the maximum makes a token check_jwt refuses.
  const std::string made = make_jwt(ApiRole::kUser, kUserKey, "GET", "/v1/status", kNow, 601);
  EXPECT_EQ(error_of("Bearer " + made), want);
}

TEST(Jwt, RefusesBadSignatures) {
  const std::string wrong_key = bearer(good_claims(), "not-the-user-key-0123456789abcdef");
  const std::string err = error_of(wrong_key);
  EXPECT_EQ(err, kBadSignatureOrIssuer);
  EXPECT_EQ(err.find(kUserKey), std::string::npos);
  EXPECT_EQ(err.find(wrong_key.substr(wrong_key.rfind('.') + 1)), std::string::npos);

  // Claims raised to admin, old signature kept.
  const std::string token = bearer(good_claims());
  json raised = good_claims();
  raised["iss"] = "admin";
  const size_t dot1 = token.find('.');
  const size_t dot2 = token.rfind('.');
  const std::string tampered =
      token.substr(0, dot1 + 1) + b64url(raised.dump()) + token.substr(dot2);
  EXPECT_JWT_ERROR(error_of(tampered), "bad signature");

  // Truncated (to 24 bytes, whole base64 quads) and empty signatures.
  EXPECT_JWT_ERROR(error_of(token.substr(0, token.size() - 11)), "bad signature");
  EXPECT_JWT_ERROR(error_of(token.substr(0, dot2 + 1)), "bad signature");
}

TEST(Jwt, HonoursExpiryWithLeeway) {
  // Valid while now < exp + leeway.
  json claims = good_claims();
  claims["iat"] = kNow - 500;
  claims["exp"] = kNow - 120;
  EXPECT_JWT_ERROR(error_of(bearer(claims)), "token expired");
  claims["exp"] = kNow - 119;
  EXPECT_EQ(error_of(bearer(claims)), "");
  claims["iat"] = kNow - 3900;
  claims["exp"] = kNow - 3600;
  EXPECT_JWT_ERROR(error_of(bearer(claims)), "token expired");

  claims["iat"] = kNow - 300;
  claims["exp"] = kNow;
  EXPECT_JWT_ERROR(error_of(bearer(claims), both_keys(), kNow, 0), "token expired");
  claims["exp"] = kNow + 1;
  EXPECT_EQ(error_of(bearer(claims), both_keys(), kNow, 0), "");

  // make_jwt's ttl sets exp.
  const std::string made = make_jwt(ApiRole::kUser, kUserKey, "GET", "/v1/status", kNow, 10);
  EXPECT_EQ(error_of("Bearer " + made, both_keys(), kNow + 10 + 119), "");
  EXPECT_JWT_ERROR(error_of("Bearer " + made, both_keys(), kNow + 10 + 120), "token expired");
}

TEST(Jwt, HonoursIssuedAtWithLeeway) {
  // Valid while iat <= now + leeway.
  json claims = good_claims();
  claims["exp"] = kNow + 600;
  claims["iat"] = kNow + 120;
  EXPECT_EQ(error_of(bearer(claims)), "");
  claims["iat"] = kNow + 121;
  EXPECT_JWT_ERROR(error_of(bearer(claims)), "token issued in the future");
  EXPECT_EQ(error_of(bearer(claims), both_keys(), kNow, 121), "");
  claims["iat"] = kNow + 1;
  EXPECT_JWT_ERROR(error_of(bearer(claims), both_keys(), kNow, 0), "token issued in the future");
}

TEST(Jwt, RefusesTokenForAnotherRequest) {
  const std::string token =
      "Bearer " + make_jwt(ApiRole::kAdmin, kAdminKey, "GET", "/v1/status", kNow);
  const auto check = [&](std::string_view method, std::string_view path) -> std::string {
    try {
      check_jwt(token, method, path, both_keys(), kNow);
    } catch (const JwtError& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_EQ(check("GET", "/v1/status"), "");
  EXPECT_JWT_ERROR(check("POST", "/v1/status"), "qsh does not match POST /v1/status");
  EXPECT_JWT_ERROR(check("GET", "/v1/members"), "qsh does not match GET /v1/members");
  EXPECT_JWT_ERROR(check("GET", "/v1/status/"), "qsh does not match");
}

}  // namespace
}  // namespace vigil::agent
