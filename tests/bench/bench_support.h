// Helpers shared by the microbenchmarks: the wall clock the receive path
// expects, and a keyring derived from a fixed secret.
#ifndef VIGIL_TESTS_BENCH_BENCH_SUPPORT_H_
#define VIGIL_TESTS_BENCH_BENCH_SUPPORT_H_

#include <chrono>
#include <cstdint>
#include <string>

#include "crypto/key.h"
#include "crypto/keyring.h"

namespace vigil::bench {

/// Wall time, ms since the epoch (the send timestamp and skew check unit).
inline int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// A keyring holding key version 1 derived from a secret of 32 bytes of
/// `fill`, for cluster `cluster_name`.
inline crypto::Keyring keyring(unsigned char fill = 0x5a,
                               const std::string& cluster_name = "bench") {
  crypto::init();
  crypto::Secret secret;
  secret.fill(fill);
  crypto::Keyring ring;
  ring.add(1, crypto::derive_key(secret, cluster_name, 1));
  return ring;
}

}  // namespace vigil::bench

#endif  // VIGIL_TESTS_BENCH_BENCH_SUPPORT_H_
