// XChaCha20-Poly1305-IETF authenticated encryption (libsodium
// crypto_aead_xchacha20poly1305_ietf_*). Random 24-byte nonces are safe with
// this construction.
#ifndef VIGIL_CRYPTO_AEAD_H_
#define VIGIL_CRYPTO_AEAD_H_

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "crypto/key.h"

namespace vigil::crypto {

inline constexpr std::size_t kNonceBytes = 24;
inline constexpr std::size_t kTagBytes = 16;

using Nonce = std::array<unsigned char, kNonceBytes>;

/// A fresh random nonce (randombytes_buf).
Nonce random_nonce();

/// Encrypts `plaintext` with `ad` as additional data and appends the
/// ciphertext (plaintext.size() + kTagBytes bytes) to `out`.
void seal(const Key& key, const Nonce& nonce, std::span<const uint8_t> ad,
          std::span<const uint8_t> plaintext, std::vector<uint8_t>& out);

/// Authenticates and decrypts `ciphertext`. On success replaces `out` with the
/// plaintext and returns true; returns false (and leaves `out` unspecified)
/// when the tag does not verify or the ciphertext is shorter than the tag.
bool open(const Key& key, const Nonce& nonce, std::span<const uint8_t> ad,
          std::span<const uint8_t> ciphertext, std::vector<uint8_t>& out);

}  // namespace vigil::crypto

#endif  // VIGIL_CRYPTO_AEAD_H_
