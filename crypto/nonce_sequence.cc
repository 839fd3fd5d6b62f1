#include "crypto/nonce_sequence.h"

#include <limits>
#include <stdexcept>

#include <sodium.h>

#include "crypto/key.h"

namespace vigil::crypto {

namespace {
constexpr std::size_t kPrefixBytes = 16;
}

NonceSequence::NonceSequence() {
  init();
  randombytes_buf(base_.data(), kPrefixBytes);
}

Nonce NonceSequence::next() {
  if (counter_ == std::numeric_limits<uint64_t>::max())
    throw std::overflow_error("nonce counter exhausted");
  ++counter_;
  Nonce nonce = base_;
  for (std::size_t i = 0; i < 8; ++i)
    nonce[kPrefixBytes + i] = static_cast<unsigned char>(counter_ >> (8 * i));
  return nonce;
}

}  // namespace vigil::crypto
