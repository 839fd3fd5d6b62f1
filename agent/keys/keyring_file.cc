// The keyring file: JSON parsing and validation, and the atomic 0600 write.
#include "agent/keys/keyring_file.h"

#include <sodium.h>

#include <cerrno>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>

#include "agent/base/file.h"

namespace vigil::agent {
namespace {

namespace fs = std::filesystem;

using nlohmann::json;

// The largest keyring file read, in bytes: a few versions of 64 hex digits
// take a few hundred.
constexpr std::size_t kMaxKeyringFileBytes = 1 << 20;

// Wipes the bytes of a string that held secret material (hex or JSON text).
void wipe(std::string& s) { sodium_memzero(s.data(), s.size()); }

// Wipes the hex strings under "secrets" of a parsed or built keyring document.
void wipe_secrets(json& doc) {
  if (!doc.is_object()) return;
  const auto secrets = doc.find("secrets");
  if (secrets == doc.end() || !secrets->is_object()) return;
  for (auto& value : *secrets) {
    if (value.is_string()) wipe(value.get_ref<std::string&>());
  }
}

// Runs `f` when the scope ends, on return or on exception.
template <typename F>
class OnScopeExit {
 public:
  explicit OnScopeExit(F f) : f_(std::move(f)) {}
  ~OnScopeExit() { f_(); }
  OnScopeExit(const OnScopeExit&) = delete;
  OnScopeExit& operator=(const OnScopeExit&) = delete;

 private:
  F f_;
};

// What is wrong with `keyring`, or std::nullopt when it is valid.
std::optional<std::string> keyring_problem(const StoredKeyring& keyring) {
  if (keyring.secrets.empty()) return "no secrets";
  if (keyring.secrets.begin()->first == 0) return "secret version 0 (versions start at 1)";
  if (keyring.secrets.count(keyring.current) == 0) {
    return "current version " + std::to_string(keyring.current) + " is not among the secrets";
  }
  return std::nullopt;
}

// A version written in canonical decimal (no sign, no leading zero), 1 to 2^32-1.
std::optional<uint32_t> parse_version(std::string_view s) {
  if (s.empty() || s.size() > 10 || s.front() == '0') return std::nullopt;
  uint64_t v = 0;
  for (const char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (v > std::numeric_limits<uint32_t>::max()) return std::nullopt;
  return static_cast<uint32_t>(v);
}

}  // namespace

// Builds the keyring from a parsed document; throws std::runtime_error(reason).
StoredKeyring keyring_from_json(const json& doc) {
  if (!doc.is_object()) throw std::runtime_error("not a JSON object");
  for (const auto& [key, value] : doc.items()) {
    if (key != "current" && key != "secrets") {
      throw std::runtime_error("unexpected key '" + key + "'");
    }
  }
  StoredKeyring keyring;
  const auto current = doc.find("current");
  if (current == doc.end()) throw std::runtime_error("'current' is missing");
  if (!current->is_number_unsigned() || current->get<uint64_t>() == 0 ||
      current->get<uint64_t>() > std::numeric_limits<uint32_t>::max()) {
    throw std::runtime_error("'current' must be a version number >= 1");
  }
  keyring.current = current->get<uint32_t>();
  const auto secrets = doc.find("secrets");
  if (secrets == doc.end()) throw std::runtime_error("'secrets' is missing");
  if (!secrets->is_object()) throw std::runtime_error("'secrets' must be an object");
  for (const auto& [key, value] : secrets->items()) {
    const auto version = parse_version(key);
    if (!version) throw std::runtime_error("secret version '" + key + "' is not a number >= 1");
    const std::string where = "secret version " + key + ": ";
    if (!value.is_string()) throw std::runtime_error(where + "must be a string");
    try {
      keyring.secrets[*version] = crypto::parse_secret_hex(value.get_ref<const std::string&>());
    } catch (const std::invalid_argument& e) {
      throw std::runtime_error(where + e.what());
    }
  }
  if (const auto problem = keyring_problem(keyring)) throw std::runtime_error(*problem);
  return keyring;
}

json keyring_to_json(const StoredKeyring& keyring) {
  json doc = {{"current", keyring.current}, {"secrets", json::object()}};
  for (const auto& [version, secret] : keyring.secrets) {
    char hex[2 * crypto::kSecretBytes + 1];
    sodium_bin2hex(hex, sizeof hex, secret.data(), secret.size());
    doc["secrets"][std::to_string(version)] = std::string(hex);
    sodium_memzero(hex, sizeof hex);
  }
  return doc;
}

namespace {

// The file's text: the JSON document and a newline. (The buffers nlohmann::json
// grows while dumping are freed without a wipe; only the result is wiped.)
std::string to_text(const StoredKeyring& keyring) {
  json doc = keyring_to_json(keyring);
  OnScopeExit wipe_doc([&doc] { wipe_secrets(doc); });
  std::string text = doc.dump();
  text.push_back('\n');
  return text;
}

}  // namespace

std::optional<StoredKeyring> load_keyring_file(const fs::path& path) {
  FileContents file;
  try {
    file = read_regular_file(path, kMaxKeyringFileBytes);
  } catch (const FileError& e) {
    if (e.error_code() == ENOENT) return std::nullopt;
    throw;
  }
  std::string& text = file.text;
  OnScopeExit wipe_text([&text] { wipe(text); });
  json doc;
  OnScopeExit wipe_doc([&doc] { wipe_secrets(doc); });
  try {
    doc = json::parse(text);
  } catch (const json::parse_error& e) {
    // e.what() quotes the last token read, which may be secret: give the position only.
    throw std::runtime_error(path.string() + ": not valid JSON (at byte " + std::to_string(e.byte) +
                             ")");
  }
  try {
    return keyring_from_json(doc);
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(path.string() + ": " + e.what());
  }
}

void save_keyring_file(const fs::path& path, const StoredKeyring& keyring) {
  if (const auto problem = keyring_problem(keyring)) {
    throw std::invalid_argument(path.string() + ": " + *problem);
  }
  std::string text = to_text(keyring);
  OnScopeExit wipe_text([&text] { wipe(text); });

  write_file_atomically(path, text);
}

}  // namespace vigil::agent
