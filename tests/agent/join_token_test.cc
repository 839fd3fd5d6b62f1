#include "agent/api/join_token.h"

#include <gtest/gtest.h>

#include "agent/api/jwt.h"
#include "agent/api/tls_fingerprint.h"

namespace vigil::agent {
namespace {

crypto::Key key_for(unsigned char fill, std::string_view cluster = "prod") {
  crypto::Secret s;
  s.fill(fill);
  return crypto::derive_join_key(s, cluster);
}

JoinToken sample(int64_t now = 1000) {
  return {.issuer = "n1", .cluster = "prod", .iat = now, .exp = now + 600, .cert_sha256 = "abc"};
}

std::string error_of(std::string_view token, const crypto::Key& key, std::string_view cluster,
                     int64_t now) {
  try {
    check_join_token(token, std::span(&key, 1), cluster, now);
  } catch (const JwtError& e) {
    return e.what();
  }
  return "accepted";
}

TEST(JoinToken, MadeCheckedAndPeeked) {
  const std::string token = make_join_token(sample(), key_for(1));
  const JoinToken peeked = peek_join_token(token);  // no key needed
  EXPECT_EQ(peeked.issuer, "n1");
  EXPECT_EQ(peeked.cert_sha256, "abc");
  const crypto::Key keys[] = {key_for(9), key_for(1)};  // any held version verifies
  const JoinToken checked = check_join_token(token, keys, "prod", 1100);
  EXPECT_EQ(checked.cluster, "prod");
  EXPECT_EQ(checked.exp, 1600);
}

TEST(JoinToken, EveryBadTokenIsRefusedWithItsReason) {
  const std::string token = make_join_token(sample(), key_for(1));
  EXPECT_EQ(error_of(token, key_for(2), "prod", 1100),
            "bad signature: not made with this cluster's secret");
  EXPECT_EQ(error_of(token, key_for(1), "test", 1100), "token for cluster 'prod'");
  EXPECT_EQ(error_of(token, key_for(1), "prod", 1600 + 120), "token expired");
  EXPECT_EQ(error_of(token, key_for(1), "prod", 1000 - 121), "token issued in the future");
  // Tampered claims: a later exp with the old signature.
  std::string tampered = token;
  tampered[tampered.find('.') + 5] ^= 1;
  EXPECT_NE(error_of(tampered, key_for(1), "prod", 1100), "accepted");
  // The key of another cluster's name differs even with the same secret.
  EXPECT_NE(key_for(1, "prod"), key_for(1, "test"));
  EXPECT_EQ(error_of("a.b", key_for(1), "prod", 1100),
            "malformed token: expected three dot-separated parts");
}

TEST(JoinToken, ABadTokenIsNotMade) {
  JoinToken t = sample();
  t.exp = t.iat + kMaxJoinTokenLifetime + 1;
  EXPECT_THROW(make_join_token(t, key_for(1)), std::invalid_argument);
  t = sample();
  t.cert_sha256.clear();
  EXPECT_THROW(make_join_token(t, key_for(1)), std::invalid_argument);
}

TEST(TlsFingerprint, IsTheBase64urlSha256OfTheDer) {
  // Fingerprint computed with: openssl x509 -outform DER | openssl dgst
  // -sha256 -binary | basenc --base64url | tr -d =
  const char* pem = R"(-----BEGIN CERTIFICATE-----
MIIBhzCCAS2gAwIBAgIUaDT3hkaIW88lawS4hEDKxcrMzEswCgYIKoZIzj0EAwIw
GDEWMBQGA1UEAwwNdmlnaWwtZnAtdGVzdDAgFw0yNjExMzAxNDE1MDNaGA8yMTI2
MTEwNjE0MTUwM1owGDEWMBQGA1UEAwwNdmlnaWwtZnAtdGVzdDBZMBMGByqGSM49
AgEGCCqGSM49AwEHA0IABABsQI7Tc9bmMdA5u1Tw8n/geXmZj0rPugaLXEwVg2DW
vy8F9UnH5ppWWlhhSVcvmyzkKlPAciwEjT9BVafRfZujUzBRMB0GA1UdDgQWBBTR
Lutx913+0XtKWoPV3ul30n+s9jAfBgNVHSMEGDAWgBTRLutx913+0XtKWoPV3ul3
0n+s9jAPBgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0gAMEUCIBxxqrDlL2Qh
J/zu02WEvl6ajS2i1pMFlbBYygt3sTQuAiEA+TVxxQhHK6AD8mHcysq6oabo8r2M
FE/zoJgaafWwQx0=
-----END CERTIFICATE-----
)";
  EXPECT_EQ(certificate_sha256_pem(pem), "jgrbOkMGXXcw4jcu8zuPIdsiaA_JWmgmf9jJhm_cQzs");
  EXPECT_THROW(certificate_sha256_pem("not a certificate"), std::invalid_argument);
}

}  // namespace
}  // namespace vigil::agent
