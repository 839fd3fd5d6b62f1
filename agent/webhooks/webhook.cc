#include "agent/webhooks/webhook.h"

#include <openssl/sha.h>

#include <algorithm>
#include <stdexcept>
#include <utility>

namespace vigil::agent {

Webhook make_webhook(std::string_view url, WebhookAuth auth, std::string credential,
                     const std::vector<std::string>& filters) {
  Webhook w;
  w.url = parse_webhook_url(url);
  w.auth = auth;
  switch (auth) {
    case WebhookAuth::kNone:
      if (!credential.empty()) {
        throw std::invalid_argument(
            "webhook: a credential was given without bearer token or secret");
      }
      break;
    case WebhookAuth::kBearer:
      if (credential.empty() || credential.size() > kMaxWebhookCredentialBytes ||
          !std::all_of(credential.begin(), credential.end(),
                       [](char c) { return c > 0x20 && c < 0x7f; })) {
        throw std::invalid_argument("webhook bearer token must be 1-" +
                                    std::to_string(kMaxWebhookCredentialBytes) +
                                    " bytes of printable ASCII without spaces");
      }
      break;
    case WebhookAuth::kSecret:
      if (credential.empty() || credential.size() > kMaxWebhookCredentialBytes ||
          credential.find('\0') != std::string::npos) {
        throw std::invalid_argument("webhook secret must be 1-" +
                                    std::to_string(kMaxWebhookCredentialBytes) +
                                    " bytes without NUL");
      }
      break;
  }
  w.credential = std::move(credential);
  w.filters = EventFilterSet::parse(filters);
  return w;
}

std::string webhook_id(std::string_view url) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(url.data()), url.size(), digest);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 8; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 0xf];
  }
  return out;
}

const char* to_string(WebhookAuth auth) {
  switch (auth) {
    case WebhookAuth::kNone:
      return "none";
    case WebhookAuth::kBearer:
      return "bearer_token";
    case WebhookAuth::kSecret:
      return "secret";
  }
  return "none";
}

}  // namespace vigil::agent
