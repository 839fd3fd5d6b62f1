// One webhook as the delivery engine sees it (seed 000, `webhook-add`): where
// events go, how the receiver knows they come from the cluster, and which
// events it wants. The replicated webhook set holds the same fields as text
// and makes each one with make_webhook(), which checks them all.
#ifndef VIGIL_AGENT_WEBHOOKS_WEBHOOK_H_
#define VIGIL_AGENT_WEBHOOKS_WEBHOOK_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "agent/events/event_filter.h"
#include "agent/webhooks/webhook_url.h"

namespace vigil::agent {

/// How requests prove where they come from.
enum class WebhookAuth {
  kNone,    // no Authorization header
  kBearer,  // "Authorization: Bearer <token>", the token as given
  kSecret,  // "Authorization: Bearer <JWT>", a fresh HS256 JWT per attempt
            // keyed with the secret's bytes (RFC 7519; webhook_delivery.h)
};

/// The longest bearer token or secret accepted, bytes.
inline constexpr std::size_t kMaxWebhookCredentialBytes = 4096;

/// A checked webhook definition.
struct Webhook {
  WebhookUrl url;
  WebhookAuth auth = WebhookAuth::kNone;
  /// The bearer token (kBearer) or the JWT secret (kSecret); "" for kNone.
  /// Never logged.
  std::string credential;
  /// Event filter expressions (event_filter.h grammar); an event is
  /// delivered when any matches; none: every event.
  EventFilterSet filters;
};

/// Builds a Webhook from its text fields: the URL (parse_webhook_url), the
/// auth and its credential, and the filter expressions. The credential is
/// required for kBearer and kSecret and must be empty for kNone; it is
/// 1-kMaxWebhookCredentialBytes bytes of printable ASCII without spaces for
/// a bearer token (it goes into a header), any bytes but NUL for a secret.
/// Throws std::invalid_argument: WebhookUrlError, FilterError, or
/// "webhook bearer token must be printable ASCII without spaces" and the
/// like.
Webhook make_webhook(std::string_view url, WebhookAuth auth, std::string credential,
                     const std::vector<std::string>& filters);

/// The webhook's id: the first 16 hex digits of the SHA-256 of the URL text
/// (64 bits): the name of its queue directory, `<var_dir>/webhooks/<id>/`.
std::string webhook_id(std::string_view url);

/// "none", "bearer_token" or "secret".
const char* to_string(WebhookAuth auth);

}  // namespace vigil::agent

#endif  // VIGIL_AGENT_WEBHOOKS_WEBHOOK_H_
