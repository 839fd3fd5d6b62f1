// Anti-entropy of the webhooks (membership/webhook_set.h) through the
// heartbeats, by the push-pull rule of digest_sync.h: a heartbeat carries
// the sender's set digest ("wd") when its set is not empty (a heartbeat
// without one stands for the empty set's), and the whole set ("w") while a
// change made here is being pushed or an alive peer's digest differs. The
// digest is also the version of the set a node applied: a change is in sync
// at a peer once that peer's digest equals this node's (agreed()).
//
// Pure logic on the caller's clock. Not thread-safe.
#ifndef VIGIL_MEMBERSHIP_WEBHOOK_SYNC_H_
#define VIGIL_MEMBERSHIP_WEBHOOK_SYNC_H_

#include <chrono>
#include <set>
#include <string>

#include "heartbeat/message.h"
#include "membership/digest_sync.h"
#include "membership/webhook_set.h"

namespace vigil::membership {

class WebhookSync {
 public:
  using Clock = std::chrono::steady_clock;
  explicit WebhookSync(WebhookSet set = {}) : set_(std::move(set)) {}

  /// Before sealing a heartbeat for `alive` peers: sets msg.webhook_digest
  /// (when the set is not empty) and msg.webhooks when a push or a pull is
  /// due.
  void prepare(heartbeat::Message& msg, const std::set<std::string>& alive,
               Clock::time_point now) const;
  /// A decoded heartbeat from `sender`: records its digest and merges its
  /// entries, if any (a malformed entry is counted in `refused`, never
  /// thrown). A change starts a push.
  WebhookSet::Merged on_message(const std::string& sender, const heartbeat::Message& msg,
                                Clock::time_point now);

  /// Local operations (WebhookSet::put, remove), which start a push.
  WebhookEntry put(WebhookEntry e, const std::string& writer, Clock::time_point now);
  WebhookEntry remove(const std::string& url, const std::string& writer, Clock::time_point now);

  /// True when `peer` sent this node's digest since the set last changed.
  bool agreed(const std::string& peer) const { return sync_.agreed({peer}); }
  void drop_peer(const std::string& peer) { sync_.drop_peer(peer); }
  uint64_t digest() const { return sync_.digest(); }
  const WebhookSet& set() const { return set_; }

 private:
  WebhookSet set_;
  uint64_t empty_digest_ = WebhookSet{}.digest();
  DigestSync sync_{set_.digest()};
};

}  // namespace vigil::membership

#endif  // VIGIL_MEMBERSHIP_WEBHOOK_SYNC_H_
