// Secret parsing, key derivation and cluster id.
#include "crypto/key.h"

#include <algorithm>
#include <stdexcept>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace vigil::crypto {
namespace {

using ::testing::HasSubstr;

const std::string kHex = "000102030405060708090a0b0c0d0e0f101112131415161718191A1B1C1D1E1F";

Secret sample_secret() { return parse_secret_hex(kHex); }

std::string invalid_argument_message(const std::string& text) {
  try {
    parse_secret_hex(text);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "no exception";
}

TEST(Init, IsIdempotent) {
  EXPECT_NO_THROW(init());
  EXPECT_NO_THROW(init());
}

TEST(ParseSecretHex, DecodesSixtyFourHexCharactersInBothCases) {
  const Secret s = sample_secret();
  for (std::size_t i = 0; i < s.size(); ++i) EXPECT_EQ(s[i], i) << "byte " << i;
}

TEST(ParseSecretHex, IgnoresSurroundingWhitespace) {
  EXPECT_EQ(parse_secret_hex(" \t" + kHex + "\n"), sample_secret());
}

TEST(ParseSecretHex, RejectsShortInputNamingTheLength) {
  const std::string msg = invalid_argument_message(kHex.substr(0, 62));
  EXPECT_THAT(msg, HasSubstr("64 hexadecimal characters"));
  EXPECT_THAT(msg, HasSubstr("got 62"));
}

TEST(ParseSecretHex, RejectsLongInputNamingTheLength) {
  const std::string msg = invalid_argument_message(kHex + "00");
  EXPECT_THAT(msg, HasSubstr("got 66"));
}

TEST(ParseSecretHex, RejectsEmptyInput) {
  EXPECT_THAT(invalid_argument_message("   "), HasSubstr("got 0"));
}

TEST(ParseSecretHex, RejectsNonHexCharacterNamingThePosition) {
  std::string bad = kHex;
  bad[10] = 'g';
  const std::string msg = invalid_argument_message(bad);
  EXPECT_THAT(msg, HasSubstr("non-hexadecimal character at position 10"));
}

TEST(ParseSecretHex, RejectsInnerWhitespace) {
  std::string bad = kHex;
  bad[32] = ' ';
  EXPECT_THAT(invalid_argument_message(bad), HasSubstr("position 32"));
}

TEST(DeriveKey, IsDeterministic) {
  EXPECT_EQ(derive_key(sample_secret(), "prod", 1), derive_key(sample_secret(), "prod", 1));
}

TEST(DeriveKey, DiffersFromTheRawSecret) {
  const Key key = derive_key(sample_secret(), "prod", 1);
  const Secret secret = sample_secret();
  EXPECT_FALSE(std::equal(key.begin(), key.end(), secret.begin()));
}

TEST(DeriveKey, DifferentClusterNamesGiveDifferentKeys) {
  EXPECT_NE(derive_key(sample_secret(), "prod", 1), derive_key(sample_secret(), "staging", 1));
}

TEST(DeriveKey, DifferentVersionsGiveDifferentKeys) {
  EXPECT_NE(derive_key(sample_secret(), "prod", 1), derive_key(sample_secret(), "prod", 2));
}

TEST(DeriveKey, DifferentSecretsGiveDifferentKeys) {
  Secret other = sample_secret();
  other[0] ^= 1;
  EXPECT_NE(derive_key(sample_secret(), "prod", 1), derive_key(other, "prod", 1));
}

TEST(ClusterId, IsDeterministic) { EXPECT_EQ(cluster_id("prod"), cluster_id("prod")); }

TEST(ClusterId, DifferentClusterNamesGiveDifferentIds) {
  EXPECT_NE(cluster_id("prod"), cluster_id("staging"));
  EXPECT_NE(cluster_id(""), cluster_id("prod"));
}

}  // namespace
}  // namespace vigil::crypto
