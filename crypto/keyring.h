// Versioned heartbeat keys. Senders seal with the current version; receivers
// accept any version the ring holds (the current and the next during a
// secret rotation).
#ifndef VIGIL_CRYPTO_KEYRING_H_
#define VIGIL_CRYPTO_KEYRING_H_

#include <cstdint>
#include <map>

#include "crypto/key.h"

namespace vigil::crypto {

class Keyring {
 public:
  Keyring() = default;
  Keyring(const Keyring&) = default;
  Keyring& operator=(const Keyring&) = default;
  Keyring(Keyring&&) = default;
  Keyring& operator=(Keyring&&) = default;
  /// Wipes the held keys (sodium_memzero).
  ~Keyring();

  /// Adds or replaces the key of `version`. The first key added becomes current.
  void add(uint32_t version, const Key& key);
  /// Removes and wipes the key of `version`. Returns true when it was removed;
  /// false when `version` is current (refused) or not held.
  bool retire(uint32_t version);
  /// Key of `version`, or nullptr when the ring does not hold it.
  const Key* find(uint32_t version) const;
  /// Makes `version` current. Returns false when the ring does not hold it.
  bool set_current(uint32_t version);
  uint32_t current_version() const { return current_; }
  /// Current key. Precondition: at least one key was added; throws
  /// std::logic_error otherwise.
  const Key& current() const;
  bool empty() const { return keys_.empty(); }

 private:
  std::map<uint32_t, Key> keys_;
  uint32_t current_ = 0;
};

}  // namespace vigil::crypto

#endif  // VIGIL_CRYPTO_KEYRING_H_
