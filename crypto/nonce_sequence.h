// Nonces for one sealer: a 16-byte random prefix drawn once, then a 64-bit
// counter. XChaCha20-Poly1305 needs a nonce never repeated under one key;
// random 24-byte nonces meet that too (libsodium's AEAD documentation), but
// drawing each one costs a getrandom(2) system call per datagram, as much as
// the sealing itself. With the prefix fixed per sealer (a daemon start) and
// the counter never going back, two sealers share a nonce only if their
// prefixes collide: probability 2^-128 per pair, as for random nonces.
#ifndef VIGIL_CRYPTO_NONCE_SEQUENCE_H_
#define VIGIL_CRYPTO_NONCE_SEQUENCE_H_

#include <cstdint>

#include "crypto/aead.h"

namespace vigil::crypto {

class NonceSequence {
 public:
  /// Draws the random prefix (randombytes_buf).
  NonceSequence();
  // A copy would hand out the same nonces again: neither copied nor moved.
  NonceSequence(const NonceSequence&) = delete;
  NonceSequence& operator=(const NonceSequence&) = delete;

  /// The next nonce: the prefix, then the counter (from 1) as 8 bytes,
  /// little endian. Throws std::overflow_error after 2^64 - 1 nonces.
  Nonce next();

 private:
  Nonce base_{};  // prefix in bytes 0..15, counter slot in 16..23
  uint64_t counter_ = 0;
};

}  // namespace vigil::crypto

#endif  // VIGIL_CRYPTO_NONCE_SEQUENCE_H_
