// Key material for heartbeat encryption: secret parsing, key derivation and
// the cluster id. The raw cluster secret is never used as a key.
#ifndef VIGIL_CRYPTO_KEY_H_
#define VIGIL_CRYPTO_KEY_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace vigil::crypto {

/// Size in bytes of a cluster secret and of a derived AEAD key.
inline constexpr std::size_t kSecretBytes = 32;
inline constexpr std::size_t kKeyBytes = 32;

using Secret = std::array<unsigned char, kSecretBytes>;
using Key = std::array<unsigned char, kKeyBytes>;

/// Initializes libsodium. Idempotent and thread-safe.
/// Throws std::runtime_error when libsodium cannot initialize.
void init();

/// Parses a cluster secret written as exactly 64 hexadecimal characters
/// (32 bytes), surrounding whitespace ignored.
/// Throws std::invalid_argument naming the reason (length, bad character).
Secret parse_secret_hex(std::string_view hex);

/// A new cluster secret: 32 bytes from libsodium's randombytes_buf, written
/// as 64 lowercase hexadecimal characters (what parse_secret_hex reads).
std::string generate_secret_hex();

/// Derives the heartbeat AEAD key for key version `version` of `secret`:
/// BLAKE2b-256 (crypto_generichash) keyed with the secret over the fixed
/// context "vigil/hb-key/v1", the cluster name length (u32 little endian),
/// the cluster name and the version (u32 little endian). Two clusters
/// sharing a secret therefore still get different keys, and so do two
/// versions of one secret.
Key derive_key(const Secret& secret, std::string_view cluster_name, uint32_t version);

/// The HS256 key of the cluster's join tokens: BLAKE2b-256 keyed with the
/// secret over the context "vigil/join-token/v1", the cluster name length
/// (u32 little endian) and the cluster name. A context of its own, so a
/// join token key is never a heartbeat key.
Key derive_join_key(const Secret& secret, std::string_view cluster_name);

/// 64-bit cluster id carried in clear in every datagram header: the first
/// 8 bytes (little endian) of unkeyed BLAKE2b-256 over
/// "vigil/cluster-id/v1" + name.
/// Not secret; used to drop other clusters' datagrams before decryption.
uint64_t cluster_id(std::string_view cluster_name);

/// 64-bit id of a derived key, so that peers can tell whether they hold the
/// same key for a version without revealing it (a key check value): the
/// first 8 bytes (little endian) of BLAKE2b-256 keyed with `key` over
/// "vigil/key-id/v1". Two secrets offered for one version by concurrent
/// rotations get different ids.
uint64_t key_id(const Key& key);

}  // namespace vigil::crypto

#endif  // VIGIL_CRYPTO_KEY_H_
