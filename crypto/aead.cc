// XChaCha20-Poly1305-IETF seal/open over libsodium.
#include "crypto/aead.h"

#include <sodium.h>

static_assert(vigil::crypto::kNonceBytes == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
static_assert(vigil::crypto::kTagBytes == crypto_aead_xchacha20poly1305_ietf_ABYTES);
static_assert(vigil::crypto::kKeyBytes == crypto_aead_xchacha20poly1305_ietf_KEYBYTES);

namespace vigil::crypto {

Nonce random_nonce() {
  init();
  Nonce nonce;
  randombytes_buf(nonce.data(), nonce.size());
  return nonce;
}

void seal(const Key& key, const Nonce& nonce, std::span<const uint8_t> ad,
          std::span<const uint8_t> plaintext, std::vector<uint8_t>& out) {
  init();
  const std::size_t offset = out.size();
  out.resize(offset + plaintext.size() + kTagBytes);
  unsigned long long written = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(out.data() + offset, &written, plaintext.data(),
                                             plaintext.size(), ad.data(), ad.size(), nullptr,
                                             nonce.data(), key.data());
  out.resize(offset + static_cast<std::size_t>(written));
}

bool open(const Key& key, const Nonce& nonce, std::span<const uint8_t> ad,
          std::span<const uint8_t> ciphertext, std::vector<uint8_t>& out) {
  if (ciphertext.size() < kTagBytes) return false;
  init();
  out.resize(ciphertext.size() - kTagBytes);
  unsigned long long written = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(out.data(), &written, nullptr, ciphertext.data(),
                                                 ciphertext.size(), ad.data(), ad.size(),
                                                 nonce.data(), key.data()) != 0) {
    out.clear();
    return false;
  }
  out.resize(static_cast<std::size_t>(written));
  return true;
}

}  // namespace vigil::crypto
