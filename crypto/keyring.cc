// Versioned heartbeat keys.
#include "crypto/keyring.h"

#include <sodium.h>

#include <stdexcept>

namespace vigil::crypto {

Keyring::~Keyring() {
  for (auto& [version, key] : keys_) sodium_memzero(key.data(), key.size());
}

void Keyring::add(uint32_t version, const Key& key) {
  if (keys_.empty()) current_ = version;
  keys_[version] = key;
}

bool Keyring::retire(uint32_t version) {
  if (version == current_) return false;
  auto it = keys_.find(version);
  if (it == keys_.end()) return false;
  sodium_memzero(it->second.data(), it->second.size());
  keys_.erase(it);
  return true;
}

const Key* Keyring::find(uint32_t version) const {
  auto it = keys_.find(version);
  return it == keys_.end() ? nullptr : &it->second;
}

bool Keyring::set_current(uint32_t version) {
  if (!keys_.contains(version)) return false;
  current_ = version;
  return true;
}

const Key& Keyring::current() const {
  auto it = keys_.find(current_);
  if (it == keys_.end()) throw std::logic_error("keyring is empty");
  return it->second;
}

}  // namespace vigil::crypto
