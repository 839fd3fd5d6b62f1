// Typed reads of TOML values for the config loader (toml++): each getter
// checks the value's type and bounds and throws ConfigError naming the
// dotted key ("hb.lan.timeout") and the reason. Internal to agent/config.
#ifndef VIGIL_AGENT_CONFIG_TOML_READER_H_
#define VIGIL_AGENT_CONFIG_TOML_READER_H_

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <toml++/toml.h>

#include "agent/config/config.h"

namespace vigil::agent {

/// The dotted key of `k` below `prefix`: bare TOML keys as is, others quoted
/// (`hook."my hook"`).
std::string join(std::string_view prefix, std::string_view k);

/// `p` taken from `base_dir` when relative, normalized: how the config
/// resolves secret_file, var_dir, tls_cert and tls_key.
std::filesystem::path resolve(const std::filesystem::path& base_dir,
                              const std::filesystem::path& p);

class TomlReader {
 public:
  /// `source`: the file named in every error.
  explicit TomlReader(std::filesystem::path source) : source_(std::move(source)) {}

  /// Throws ConfigError(source, key, reason).
  [[noreturn]] void fail(std::string key, std::string reason) const;
  /// Fails on the first key of `t` not in `allowed` ("unknown key").
  void check_keys(const toml::table& t, std::string_view prefix,
                  std::initializer_list<std::string_view> allowed) const;
  /// The table at `k`; nullptr when absent and not `required`.
  const toml::table* table_at(const toml::table& t, std::string_view k, const std::string& key,
                              bool required) const;
  /// A non-empty string; nothing when absent and not `required`.
  std::optional<std::string> string_at(const toml::table& t, std::string_view k,
                                       const std::string& key, bool required) const;
  /// A non-empty array of strings; nothing when absent and not `required`.
  std::optional<std::vector<std::string>> strings_at(const toml::table& t, std::string_view k,
                                                     const std::string& key, bool required) const;
  /// A positive duration string ("500ms", config/duration.h) into `out`;
  /// `out` is left as is when absent.
  void duration_at(const toml::table& t, std::string_view k, const std::string& key,
                   std::chrono::milliseconds& out) const;
  /// duration_at, then min <= out <= max.
  void bounded_duration_at(const toml::table& t, std::string_view k, const std::string& key,
                           std::chrono::milliseconds min, std::chrono::milliseconds max,
                           std::chrono::milliseconds& out) const;
  /// An integer in [min, max]; `fallback` when absent.
  int64_t integer_at(const toml::table& t, std::string_view k, const std::string& key, int64_t min,
                     int64_t max, int64_t fallback) const;
  /// An address string (config/endpoint.h).
  Endpoint endpoint_at(const toml::node& n, const std::string& key) const;

 protected:
  std::filesystem::path source_;
};

}  // namespace vigil::agent

#endif  // VIGIL_AGENT_CONFIG_TOML_READER_H_
