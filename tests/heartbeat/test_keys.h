// Shared test fixtures for the heartbeat tests: keyrings derived from fixed
// secrets, the way the agent derives them from the cluster secret.
#ifndef VIGIL_TESTS_HEARTBEAT_TEST_KEYS_H_
#define VIGIL_TESTS_HEARTBEAT_TEST_KEYS_H_

#include <chrono>
#include <cstdint>
#include <string_view>

#include "crypto/key.h"
#include "crypto/keyring.h"

namespace vigil::heartbeat::testing {

inline constexpr std::string_view kCluster = "demo";

/// A secret whose 32 bytes all equal `fill`.
inline crypto::Secret secret_of(unsigned char fill) {
  crypto::Secret s;
  s.fill(fill);
  return s;
}

/// A keyring holding the key of `version` derived from secret_of(fill) for
/// `cluster`, current.
inline crypto::Keyring keyring_of(unsigned char fill, uint32_t version = 1,
                                  std::string_view cluster = kCluster) {
  crypto::init();
  crypto::Keyring ring;
  ring.add(version, crypto::derive_key(secret_of(fill), cluster, version));
  return ring;
}

/// Wall clock, ms since the epoch.
inline int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace vigil::heartbeat::testing

#endif  // VIGIL_TESTS_HEARTBEAT_TEST_KEYS_H_
