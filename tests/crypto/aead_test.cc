// XChaCha20-Poly1305 seal/open.
#include "crypto/aead.h"

#include <cstdint>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "crypto/key.h"

namespace vigil::crypto {
namespace {

std::vector<uint8_t> bytes(std::string_view s) { return {s.begin(), s.end()}; }

class AeadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    init();
    key_ = derive_key(parse_secret_hex(std::string(64, 'a')), "prod", 1);
    nonce_ = random_nonce();
    seal(key_, nonce_, ad_, plaintext_, ciphertext_);
  }

  Key key_{};
  Nonce nonce_{};
  std::vector<uint8_t> ad_ = bytes("header: magic, cluster id, sender node1, key version 1");
  std::vector<uint8_t> plaintext_ = bytes("ping gen=7 boot=123 seq=42");
  std::vector<uint8_t> ciphertext_;
};

TEST_F(AeadTest, SealAppendsCiphertextOfPlaintextSizePlusTag) {
  EXPECT_EQ(ciphertext_.size(), plaintext_.size() + kTagBytes);
  std::vector<uint8_t> out = bytes("prefix");
  seal(key_, nonce_, ad_, plaintext_, out);
  ASSERT_EQ(out.size(), 6 + plaintext_.size() + kTagBytes);
  EXPECT_EQ(std::vector<uint8_t>(out.begin(), out.begin() + 6), bytes("prefix"));
  EXPECT_EQ(std::vector<uint8_t>(out.begin() + 6, out.end()), ciphertext_);
}

TEST_F(AeadTest, SealRoundTripsThroughOpen) {
  std::vector<uint8_t> out = bytes("stale content that open replaces");
  ASSERT_TRUE(open(key_, nonce_, ad_, ciphertext_, out));
  EXPECT_EQ(out, plaintext_);
}

TEST_F(AeadTest, EmptyPlaintextRoundTrips) {
  std::vector<uint8_t> sealed;
  seal(key_, nonce_, ad_, {}, sealed);
  EXPECT_EQ(sealed.size(), kTagBytes);
  std::vector<uint8_t> out = bytes("x");
  ASSERT_TRUE(open(key_, nonce_, ad_, sealed, out));
  EXPECT_TRUE(out.empty());
}

TEST_F(AeadTest, WrongKeyFailsOpen) {
  const Key other = derive_key(parse_secret_hex(std::string(64, 'a')), "staging", 1);
  std::vector<uint8_t> out;
  EXPECT_FALSE(open(other, nonce_, ad_, ciphertext_, out));
}

TEST_F(AeadTest, WrongNonceFailsOpen) {
  Nonce other = nonce_;
  other[0] ^= 0x01;
  std::vector<uint8_t> out;
  EXPECT_FALSE(open(key_, other, ad_, ciphertext_, out));
}

TEST_F(AeadTest, ModifiedAdditionalDataFailsOpen) {
  std::vector<uint8_t> ad = ad_;
  ad[20] ^= 0x01;
  std::vector<uint8_t> out;
  EXPECT_FALSE(open(key_, nonce_, ad, ciphertext_, out));
}

TEST_F(AeadTest, ModifiedCiphertextFailsOpen) {
  for (std::size_t i : {std::size_t{0}, ciphertext_.size() / 2, ciphertext_.size() - 1}) {
    std::vector<uint8_t> ct = ciphertext_;
    ct[i] ^= 0x80;
    std::vector<uint8_t> out;
    EXPECT_FALSE(open(key_, nonce_, ad_, ct, out)) << "flipped byte " << i;
  }
}

TEST_F(AeadTest, TruncatedCiphertextFailsOpen) {
  std::vector<uint8_t> out;
  const std::vector<uint8_t> minus_one(ciphertext_.begin(), ciphertext_.end() - 1);
  EXPECT_FALSE(open(key_, nonce_, ad_, minus_one, out));
  const std::vector<uint8_t> shorter_than_tag(ciphertext_.begin(),
                                              ciphertext_.begin() + kTagBytes - 1);
  EXPECT_FALSE(open(key_, nonce_, ad_, shorter_than_tag, out));
  EXPECT_FALSE(open(key_, nonce_, ad_, {}, out));
}

TEST(RandomNonce, TwoNoncesDiffer) { EXPECT_NE(random_nonce(), random_nonce()); }

}  // namespace
}  // namespace vigil::crypto
