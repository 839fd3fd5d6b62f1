#include "membership/digest_sync.h"

#include <sodium.h>

namespace vigil::membership {

uint64_t digest64(std::string_view text) {
  unsigned char hash[crypto_generichash_BYTES];
  crypto_generichash(hash, sizeof hash, reinterpret_cast<const unsigned char*>(text.data()),
                     text.size(), nullptr, 0);
  uint64_t d = 0;
  for (int i = 7; i >= 0; --i) d = (d << 8) | hash[i];
  return d;
}

bool DigestSync::due(const std::set<std::string>& alive, Clock::time_point now) const {
  if (now < push_until_) return true;
  for (const auto& peer : alive) {
    auto it = digests_.find(peer);
    if (it != digests_.end() && it->second != digest_) return true;
  }
  return false;
}

void DigestSync::changed(uint64_t digest, Clock::time_point now) {
  digest_ = digest;
  push_until_ = now + kPushFor;
}

bool DigestSync::agreed(const std::set<std::string>& peers) const {
  for (const auto& p : peers) {
    auto it = digests_.find(p);
    if (it == digests_.end() || it->second != digest_) return false;
  }
  return true;
}

}  // namespace vigil::membership
