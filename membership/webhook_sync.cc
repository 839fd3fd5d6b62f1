#include "membership/webhook_sync.h"

#include <nlohmann/json.hpp>

namespace vigil::membership {

void WebhookSync::prepare(heartbeat::Message& msg, const std::set<std::string>& alive,
                          Clock::time_point now) const {
  if (sync_.digest() != empty_digest_) msg.webhook_digest = sync_.digest();
  if (sync_.due(alive, now)) msg.webhooks = set_.entries_json();
}

WebhookSet::Merged WebhookSync::on_message(const std::string& sender, const heartbeat::Message& msg,
                                           Clock::time_point now) {
  WebhookSet::Merged out;
  sync_.heard(sender, msg.webhook_digest.value_or(empty_digest_));
  if (msg.webhooks.is_null()) return out;
  out = set_.merge_all(msg.webhooks);
  if (!out.changed.empty()) sync_.changed(set_.digest(), now);
  return out;
}

WebhookEntry WebhookSync::put(WebhookEntry e, const std::string& writer, Clock::time_point now) {
  WebhookEntry out = set_.put(std::move(e), writer);
  sync_.changed(set_.digest(), now);
  return out;
}

WebhookEntry WebhookSync::remove(const std::string& url, const std::string& writer,
                                 Clock::time_point now) {
  WebhookEntry out = set_.remove(url, writer);
  sync_.changed(set_.digest(), now);
  return out;
}

}  // namespace vigil::membership
