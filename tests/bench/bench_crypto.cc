// Seal/open cost of a typical heartbeat datagram: 200-byte plaintext, 60-byte
// additional data (the clear header).
#include <cstdint>
#include <vector>

#include <benchmark/benchmark.h>

#include "crypto/aead.h"
#include "crypto/key.h"

namespace {

using namespace vigil::crypto;

constexpr std::size_t kPlaintextBytes = 200;
constexpr std::size_t kAdBytes = 60;

struct Fixture {
  Fixture() {
    init();
    Secret secret{};
    for (std::size_t i = 0; i < secret.size(); ++i) secret[i] = static_cast<unsigned char>(i);
    key = derive_key(secret, "bench", 1);
    nonce = random_nonce();
    for (std::size_t i = 0; i < ad.size(); ++i) ad[i] = static_cast<uint8_t>(i * 7);
    for (std::size_t i = 0; i < plaintext.size(); ++i) plaintext[i] = static_cast<uint8_t>(i * 3);
  }
  Key key{};
  Nonce nonce{};
  std::vector<uint8_t> ad = std::vector<uint8_t>(kAdBytes);
  std::vector<uint8_t> plaintext = std::vector<uint8_t>(kPlaintextBytes);
};

void BM_Seal(benchmark::State& state) {
  Fixture f;
  std::vector<uint8_t> out;
  out.reserve(kPlaintextBytes + kTagBytes);
  for (auto _ : state) {
    out.clear();
    seal(f.key, f.nonce, f.ad, f.plaintext, out);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kPlaintextBytes));
}
BENCHMARK(BM_Seal);

void BM_Open(benchmark::State& state) {
  Fixture f;
  std::vector<uint8_t> ciphertext;
  seal(f.key, f.nonce, f.ad, f.plaintext, ciphertext);
  std::vector<uint8_t> out;
  out.reserve(kPlaintextBytes);
  for (auto _ : state) {
    const bool ok = open(f.key, f.nonce, f.ad, ciphertext, out);
    if (!ok) {
      state.SkipWithError("open failed");
      break;
    }
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kPlaintextBytes));
}
BENCHMARK(BM_Open);

}  // namespace
