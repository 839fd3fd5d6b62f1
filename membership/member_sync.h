// Anti-entropy of the member list (membership/member_list.h) through the
// heartbeats, by the push-pull rule of digest_sync.h: every heartbeat
// carries the sender's list digest ("md"), and the whole list ("m") while a
// change made here is being pushed, or while an alive peer's digest differs.
//
// Pure logic on the caller's clock. Not thread-safe.
#ifndef VIGIL_MEMBERSHIP_MEMBER_SYNC_H_
#define VIGIL_MEMBERSHIP_MEMBER_SYNC_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <string>

#include "heartbeat/message.h"
#include "membership/digest_sync.h"
#include "membership/member_list.h"

namespace vigil::membership {

class MemberSync {
 public:
  using Clock = std::chrono::steady_clock;
  explicit MemberSync(MemberList list) : list_(std::move(list)) {}

  /// Before sealing a heartbeat for `alive` peers: sets msg.member_digest,
  /// and msg.members when a push or a pull is due (rules above).
  void prepare(heartbeat::Message& msg, const std::set<std::string>& alive,
               Clock::time_point now) const;
  /// A decoded heartbeat from `sender`: records its digest and merges its
  /// entries, if any (a malformed entry is counted in `refused`, never
  /// thrown). A change starts a push.
  MemberList::Merged on_message(const std::string& sender, const heartbeat::Message& msg,
                                Clock::time_point now);

  /// Local operations (MemberList::join, leave, forget), which start a push.
  Member join(const std::string& name, std::map<std::string, std::string> paths,
              Clock::time_point now);
  Member leave(const std::string& name, Clock::time_point now);
  Member forget(const std::string& name, Clock::time_point now) { return leave(name, now); }

  /// A peer no longer in the list: its digest is no longer compared.
  void drop_peer(const std::string& peer) { sync_.drop_peer(peer); }
  /// True when each of `peers` sent a digest equal to this node's since
  /// this node's list last changed (a leave waits for it).
  bool agreed(const std::set<std::string>& peers) const { return sync_.agreed(peers); }

  const MemberList& list() const { return list_; }

 private:
  MemberList list_;
  DigestSync sync_{list_.digest()};
};

}  // namespace vigil::membership

#endif  // VIGIL_MEMBERSHIP_MEMBER_SYNC_H_
