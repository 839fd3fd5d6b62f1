// Key material: secret parsing (hex), key derivation and the cluster id.
#include "crypto/key.h"

#include <sodium.h>

#include <optional>

#include <stdexcept>
#include <string>

namespace vigil::crypto {
namespace {

constexpr std::string_view kKeyContext = "vigil/hb-key/v1";
constexpr std::string_view kClusterIdContext = "vigil/cluster-id/v1";
constexpr std::string_view kKeyIdContext = "vigil/key-id/v1";
constexpr std::string_view kJoinContext = "vigil/join-token/v1";

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

void put_u32le(unsigned char out[4], uint32_t v) {
  for (int i = 0; i < 4; ++i) out[i] = static_cast<unsigned char>(v >> (8 * i));
}

void hash_update(crypto_generichash_state& st, std::string_view s) {
  crypto_generichash_update(&st, reinterpret_cast<const unsigned char*>(s.data()), s.size());
}

}  // namespace

void init() {
  // sodium_init() is itself thread-safe; the static makes repeated calls free.
  static const int rc = sodium_init();
  if (rc < 0) throw std::runtime_error("libsodium initialization failed");
}

Secret parse_secret_hex(std::string_view hex) {
  while (!hex.empty() && is_space(hex.front())) hex.remove_prefix(1);
  while (!hex.empty() && is_space(hex.back())) hex.remove_suffix(1);
  if (hex.size() != 2 * kSecretBytes) {
    throw std::invalid_argument("cluster secret must be " + std::to_string(2 * kSecretBytes) +
                                " hexadecimal characters (" + std::to_string(kSecretBytes) +
                                " bytes), got " + std::to_string(hex.size()));
  }
  for (std::size_t i = 0; i < hex.size(); ++i) {
    if (!is_hex(hex[i])) {
      throw std::invalid_argument("cluster secret has a non-hexadecimal character at position " +
                                  std::to_string(i));
    }
  }
  Secret secret{};
  std::size_t len = 0;
  if (sodium_hex2bin(secret.data(), secret.size(), hex.data(), hex.size(), nullptr, &len,
                     nullptr) != 0 ||
      len != kSecretBytes) {
    throw std::invalid_argument("cluster secret is not valid hexadecimal");
  }
  return secret;
}

std::string generate_secret_hex() {
  init();
  Secret secret{};
  randombytes_buf(secret.data(), secret.size());
  char hex[2 * kSecretBytes + 1];
  sodium_bin2hex(hex, sizeof hex, secret.data(), secret.size());
  sodium_memzero(secret.data(), secret.size());
  std::string out(hex);
  sodium_memzero(hex, sizeof hex);
  return out;
}

namespace {

// BLAKE2b-256 keyed with `secret` over `context`, the cluster name length
// (u32 little endian), the cluster name and, when given, the version (u32
// little endian).
Key keyed_derivation(const Secret& secret, std::string_view context, std::string_view cluster_name,
                     std::optional<uint32_t> version) {
  init();
  crypto_generichash_state st;
  crypto_generichash_init(&st, secret.data(), secret.size(), kKeyBytes);
  hash_update(st, context);
  unsigned char len_le[4];
  put_u32le(len_le, static_cast<uint32_t>(cluster_name.size()));
  crypto_generichash_update(&st, len_le, sizeof len_le);
  hash_update(st, cluster_name);
  if (version) {
    unsigned char version_le[4];
    put_u32le(version_le, *version);
    crypto_generichash_update(&st, version_le, sizeof version_le);
  }
  Key key{};
  crypto_generichash_final(&st, key.data(), key.size());
  sodium_memzero(&st, sizeof st);
  return key;
}

}  // namespace

Key derive_key(const Secret& secret, std::string_view cluster_name, uint32_t version) {
  return keyed_derivation(secret, kKeyContext, cluster_name, version);
}

Key derive_join_key(const Secret& secret, std::string_view cluster_name) {
  return keyed_derivation(secret, kJoinContext, cluster_name, std::nullopt);
}

uint64_t cluster_id(std::string_view cluster_name) {
  init();
  crypto_generichash_state st;
  crypto_generichash_init(&st, nullptr, 0, crypto_generichash_BYTES);
  hash_update(st, kClusterIdContext);
  hash_update(st, cluster_name);
  unsigned char digest[crypto_generichash_BYTES];
  crypto_generichash_final(&st, digest, sizeof digest);
  uint64_t id = 0;
  for (int i = 7; i >= 0; --i) id = (id << 8) | digest[i];
  return id;
}

uint64_t key_id(const Key& key) {
  init();
  crypto_generichash_state st;
  crypto_generichash_init(&st, key.data(), key.size(), crypto_generichash_BYTES);
  hash_update(st, kKeyIdContext);
  unsigned char digest[crypto_generichash_BYTES];
  crypto_generichash_final(&st, digest, sizeof digest);
  sodium_memzero(&st, sizeof st);
  uint64_t id = 0;
  for (int i = 7; i >= 0; --i) id = (id << 8) | digest[i];
  return id;
}

}  // namespace vigil::crypto
