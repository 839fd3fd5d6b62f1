#include "membership/webhook_set.h"

#include "membership/digest_sync.h"

#include <algorithm>
#include <stdexcept>
#include <tuple>

#include <nlohmann/json.hpp>

namespace vigil::membership {

using json = nlohmann::json;

namespace {

constexpr std::size_t kMaxWriterBytes = 255;

[[noreturn]] void bad(const std::string& field, const std::string& why) {
  throw std::invalid_argument("webhook " + field + ": " + why);
}

const std::string& string_field(const json& j, const char* key, std::size_t max_bytes) {
  const json& v = j.at(key);
  if (!v.is_string()) bad(key, "expected a string");
  if (v.get_ref<const std::string&>().size() > max_bytes)
    bad(key, "longer than " + std::to_string(max_bytes) + " bytes");
  return v.get_ref<const std::string&>();
}

}  // namespace

const char* to_string(WebhookEntry::Auth auth) {
  switch (auth) {
    case WebhookEntry::Auth::kBearer:
      return "bearer";
    case WebhookEntry::Auth::kJwt:
      return "jwt";
    default:
      return "none";
  }
}

bool newer(const WebhookEntry& a, const WebhookEntry& b) {
  return std::tie(a.ltime, a.state, a.writer) > std::tie(b.ltime, b.state, b.writer);
}

json to_json(const WebhookEntry& e) {
  json j = {{"url", e.url},
            {"state", e.state == WebhookEntry::State::kDeleted ? "deleted" : "active"},
            {"ltime", e.ltime},
            {"writer", e.writer},
            {"auth", to_string(e.auth)},
            {"filters", e.filters}};
  if (e.auth == WebhookEntry::Auth::kBearer) j["token"] = e.token;
  if (e.auth == WebhookEntry::Auth::kJwt) j["secret"] = e.secret;
  return j;
}

WebhookEntry webhook_from_json(const json& j) {
  if (!j.is_object()) bad("entry", "expected an object");
  for (const auto& [key, value] : j.items())
    if (key != "url" && key != "state" && key != "ltime" && key != "writer" && key != "auth" &&
        key != "token" && key != "secret" && key != "filters")
      bad(key, "unknown field");
  for (const char* key : {"url", "state", "ltime", "writer", "auth", "filters"})
    if (!j.contains(key)) bad(key, "missing");
  WebhookEntry e;
  e.url = string_field(j, "url", kMaxWebhookUrlBytes);
  if (e.url.rfind("http://", 0) != 0 && e.url.rfind("https://", 0) != 0)
    bad("url", "expected an http:// or https:// URL");
  const json& state = j.at("state");
  if (state == "active")
    e.state = WebhookEntry::State::kActive;
  else if (state == "deleted")
    e.state = WebhookEntry::State::kDeleted;
  else
    bad("state", "expected \"active\" or \"deleted\"");
  if (!j.at("ltime").is_number_unsigned()) bad("ltime", "expected an unsigned integer");
  e.ltime = j.at("ltime").get<uint64_t>();
  e.writer = string_field(j, "writer", kMaxWriterBytes);
  if (e.writer.empty()) bad("writer", "expected a node name");
  const json& auth = j.at("auth");
  if (auth == "none")
    e.auth = WebhookEntry::Auth::kNone;
  else if (auth == "bearer")
    e.auth = WebhookEntry::Auth::kBearer;
  else if (auth == "jwt")
    e.auth = WebhookEntry::Auth::kJwt;
  else
    bad("auth", "expected \"none\", \"bearer\" or \"jwt\"");
  if (j.contains("token")) e.token = string_field(j, "token", kMaxWebhookCredentialBytes);
  if (j.contains("secret")) e.secret = string_field(j, "secret", kMaxWebhookCredentialBytes);
  if (e.state == WebhookEntry::State::kActive) {
    if (e.auth == WebhookEntry::Auth::kBearer && e.token.empty()) bad("token", "missing");
    if (e.auth == WebhookEntry::Auth::kJwt && e.secret.empty()) bad("secret", "missing");
  }
  const json& filters = j.at("filters");
  if (!filters.is_array() || filters.size() > kMaxWebhookFilters)
    bad("filters", "expected an array of at most " + std::to_string(kMaxWebhookFilters));
  for (const auto& f : filters) {
    if (!f.is_string() || f.get_ref<const std::string&>().size() > kMaxWebhookFilterBytes)
      bad("filters",
          "expected strings of at most " + std::to_string(kMaxWebhookFilterBytes) + " bytes");
    e.filters.push_back(f.get<std::string>());
  }
  return e;
}

bool WebhookSet::merge(WebhookEntry e) {
  clock_ = std::max(clock_, e.ltime);
  auto it = entries_.find(e.url);
  if (it == entries_.end()) {
    if (entries_.size() >= kMaxWebhookEntries) return false;
    entries_.emplace(e.url, std::move(e));
    return true;
  }
  if (!newer(e, it->second)) return false;
  it->second = std::move(e);
  return true;
}

WebhookEntry WebhookSet::put(WebhookEntry e, const std::string& writer) {
  if (!entries_.contains(e.url) && entries_.size() >= kMaxWebhookEntries)
    throw std::length_error("the cluster holds " + std::to_string(kMaxWebhookEntries) +
                            " webhook entries, the most it can");
  e.state = WebhookEntry::State::kActive;
  e.ltime = clock_ + 1;
  e.writer = writer;
  WebhookSet next = *this;
  next.merge(e);
  if (next.entries_json().dump().size() > kMaxWebhookSetBytes)
    throw std::length_error("the cluster's webhooks would pass " +
                            std::to_string(kMaxWebhookSetBytes) + " bytes");
  *this = std::move(next);
  return e;
}

WebhookEntry WebhookSet::remove(const std::string& url, const std::string& writer) {
  WebhookEntry e{
      .url = url, .state = WebhookEntry::State::kDeleted, .ltime = clock_ + 1, .writer = writer};
  merge(e);
  return e;
}

WebhookSet::Merged WebhookSet::merge_all(const json& entries) {
  Merged out;
  if (!entries.is_array()) return out;
  for (const auto& j : entries) {
    try {
      WebhookEntry e = webhook_from_json(j);
      const std::string url = e.url;
      if (merge(std::move(e))) out.changed.push_back(url);
    } catch (const std::exception&) {
      ++out.refused;
    }
  }
  return out;
}

uint64_t WebhookSet::digest() const { return digest64(entries_json().dump()); }

json WebhookSet::entries_json() const {
  json out = json::array();
  for (const auto& [url, e] : entries_) out.push_back(membership::to_json(e));
  return out;
}

const WebhookEntry* WebhookSet::find(const std::string& url) const {
  auto it = entries_.find(url);
  return it == entries_.end() ? nullptr : &it->second;
}

std::vector<WebhookEntry> WebhookSet::active() const {
  std::vector<WebhookEntry> out;
  for (const auto& [url, e] : entries_)
    if (e.state == WebhookEntry::State::kActive) out.push_back(e);
  return out;
}

json WebhookSet::to_json() const { return {{"ltime", clock_}, {"webhooks", entries_json()}}; }

WebhookSet WebhookSet::from_json(const json& j) {
  if (!j.is_object() || !j.contains("webhooks") || !j.at("webhooks").is_array())
    throw std::invalid_argument("webhooks: expected {\"ltime\", \"webhooks\": [...]}");
  WebhookSet set;
  if (j.contains("ltime")) {
    if (!j.at("ltime").is_number_unsigned())
      throw std::invalid_argument("webhooks.ltime: expected an unsigned integer");
    set.clock_ = j.at("ltime").get<uint64_t>();
  }
  std::size_t i = 0;
  for (const auto& e : j.at("webhooks")) {
    try {
      set.merge(webhook_from_json(e));
    } catch (const std::invalid_argument& err) {
      throw std::invalid_argument("webhooks[" + std::to_string(i) + "]: " + err.what());
    }
    ++i;
  }
  return set;
}

}  // namespace vigil::membership
