#include "agent/config/toml_reader.h"

#include <algorithm>
#include <stdexcept>

#include "agent/config/duration.h"

namespace vigil::agent {

namespace {

bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// TOML bare keys print as is; others are quoted so the dotted key stays readable.
std::string key_part(std::string_view k) {
  const bool bare = !k.empty() && std::all_of(k.begin(), k.end(), [](char c) {
    return is_alnum(c) || c == '_' || c == '-';
  });
  if (bare) return std::string(k);
  std::string out = "\"";
  for (char c : k) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

}  // namespace

std::filesystem::path resolve(const std::filesystem::path& base_dir,
                              const std::filesystem::path& p) {
  return (p.is_absolute() ? p : base_dir / p).lexically_normal();
}

std::string join(std::string_view prefix, std::string_view k) {
  return prefix.empty() ? key_part(k) : std::string(prefix) + "." + key_part(k);
}

void TomlReader::fail(std::string key, std::string reason) const {
  throw ConfigError(source_, std::move(key), std::move(reason));
}

void TomlReader::check_keys(const toml::table& t, std::string_view prefix,
                            std::initializer_list<std::string_view> allowed) const {
  for (auto&& [k, v] : t) {
    if (std::find(allowed.begin(), allowed.end(), k.str()) == allowed.end()) {
      fail(join(prefix, k.str()), "unknown key");
    }
  }
}

const toml::table* TomlReader::table_at(const toml::table& t, std::string_view k,
                                        const std::string& key, bool required) const {
  const toml::node* n = t.get(k);
  if (n == nullptr) {
    if (required) fail(key, "required table missing");
    return nullptr;
  }
  if (!n->is_table()) fail(key, "expected a table");
  return n->as_table();
}

std::optional<std::string> TomlReader::string_at(const toml::table& t, std::string_view k,
                                                 const std::string& key, bool required) const {
  const toml::node* n = t.get(k);
  if (n == nullptr) {
    if (required) fail(key, "required key missing");
    return std::nullopt;
  }
  if (!n->is_string()) fail(key, "expected a string");
  std::string s = n->as_string()->get();
  if (s.empty()) fail(key, "must not be empty");
  return s;
}

std::optional<std::vector<std::string>> TomlReader::strings_at(const toml::table& t,
                                                               std::string_view k,
                                                               const std::string& key,
                                                               bool required) const {
  const toml::node* n = t.get(k);
  if (n == nullptr) {
    if (required) fail(key, "required key missing");
    return std::nullopt;
  }
  if (!n->is_array()) fail(key, "expected an array of strings");
  std::vector<std::string> out;
  for (const toml::node& item : *n->as_array()) {
    if (!item.is_string()) fail(key, "expected an array of strings");
    out.push_back(item.as_string()->get());
  }
  if (out.empty()) fail(key, "must not be empty");
  return out;
}

void TomlReader::duration_at(const toml::table& t, std::string_view k, const std::string& key,
                             std::chrono::milliseconds& out) const {
  const toml::node* n = t.get(k);
  if (n == nullptr) return;
  if (!n->is_string()) fail(key, "expected a duration string such as \"500ms\" or \"2s\"");
  try {
    out = parse_duration(n->as_string()->get());
  } catch (const std::invalid_argument& e) {
    fail(key, e.what());
  }
  if (out.count() <= 0) fail(key, "must be greater than 0");
}

void TomlReader::bounded_duration_at(const toml::table& t, std::string_view k,
                                     const std::string& key, std::chrono::milliseconds min,
                                     std::chrono::milliseconds max,
                                     std::chrono::milliseconds& out) const {
  std::chrono::milliseconds value = out;
  duration_at(t, k, key, value);
  if (value < min || value > max) {
    fail(key, format_duration(value) + " is out of range " + format_duration(min) + "-" +
                  format_duration(max));
  }
  out = value;
}

int64_t TomlReader::integer_at(const toml::table& t, std::string_view k, const std::string& key,
                               int64_t min, int64_t max, int64_t fallback) const {
  const toml::node* n = t.get(k);
  if (n == nullptr) return fallback;
  if (!n->is_integer()) fail(key, "expected an integer");
  const int64_t v = n->as_integer()->get();
  if (v < min || v > max)
    fail(key,
         std::to_string(v) + " is out of range " + std::to_string(min) + "-" + std::to_string(max));
  return v;
}

Endpoint TomlReader::endpoint_at(const toml::node& n, const std::string& key) const {
  if (!n.is_string()) fail(key, "expected an address string such as \"127.0.0.1:10001\"");
  try {
    return parse_endpoint(n.as_string()->get());
  } catch (const std::invalid_argument& e) {
    fail(key, e.what());
  }
}

}  // namespace vigil::agent
