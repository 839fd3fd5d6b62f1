// The node's heartbeat secrets after a rotation: <var_dir>/keyring.json.
//
//   {"current": 2, "secrets": {"1": "<64 hex digits>", "2": "<64 hex digits>"}}
//
// The config's cluster.secret (or secret_file) bootstraps the keyring as
// version 1. Once a rotation has staged a new secret, this file holds every
// version the node keeps, and it rules over the config at the next start. It
// is written with mode 0600, atomically: a failed write (a full disk) leaves
// the previous file as it was.
#ifndef VIGIL_AGENT_KEYS_KEYRING_FILE_H_
#define VIGIL_AGENT_KEYS_KEYRING_FILE_H_

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>

#include <nlohmann/json_fwd.hpp>

#include "crypto/key.h"

namespace vigil::agent {

struct StoredKeyring {
  uint32_t current = 0;                        // a key of `secrets`
  std::map<uint32_t, crypto::Secret> secrets;  // version (>= 1) -> secret
};

/// The file's JSON shape, as a seed's join answer also carries it. The
/// parse throws std::runtime_error naming the problem ("'current' is
/// missing", "secret version 2: ..."), as load does.
StoredKeyring keyring_from_json(const nlohmann::json& doc);
nlohmann::json keyring_to_json(const StoredKeyring& keyring);

/// Reads `path`. std::nullopt when it does not exist. Throws
/// std::runtime_error("<path>: <reason>") when it cannot be read, is not a
/// regular file of at most 1 MiB (agent/base/file.h), or is not the shape above (bad JSON, a
/// version that is not a number >= 1, a secret that is not 64 hex digits, `current` missing from
/// `secrets`, no secrets).
std::optional<StoredKeyring> load_keyring_file(const std::filesystem::path& path);

/// Writes `keyring` to `path`: a temporary file in the same directory, mode
/// 0600, fsync, rename over `path`, fsync of the directory. Throws
/// std::runtime_error("<path>: <operation>: <strerror>") on any failure
/// (ENOSPC, EACCES...), after removing the temporary file; `path` is then
/// unchanged, except when only the last step (the directory fsync) failed:
/// the new file is in place but may not survive a power loss. Throws
/// std::invalid_argument when `keyring` is not valid (as for load).
void save_keyring_file(const std::filesystem::path& path, const StoredKeyring& keyring);

}  // namespace vigil::agent

#endif  // VIGIL_AGENT_KEYS_KEYRING_FILE_H_
