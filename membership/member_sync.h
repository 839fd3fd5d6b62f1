// Anti-entropy of the member list (membership/member_list.h) through the
// heartbeats. Every heartbeat carries the sender's list digest ("md"); a
// heartbeat also carries every entry ("m") while
//   - the list changed here less than kPushFor ago (a join, leave or forget
//     made here, or entries merged from a peer): the change is pushed to
//     every peer several times, against lost datagrams; or
//   - an alive peer's last digest differs from this node's: the two lists
//     differ, and each side sends its own until both merged the other's.
// Since the merge is a join-semilattice, two nodes that exchanged their
// lists hold the same one, and the digests agree again. This is the
// push-pull of Demers et al., "Epidemic algorithms for replicated database
// maintenance" (PODC 1987), with the digest comparison that memberlist and
// Cassandra's gossip use to avoid sending state that is already there.
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
#include "membership/member_list.h"

namespace vigil::membership {

class MemberSync {
 public:
  using Clock = std::chrono::steady_clock;
  /// How long a change is pushed in every heartbeat, ms.
  static constexpr std::chrono::milliseconds kPushFor{3000};

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
  void drop_peer(const std::string& peer) { digests_.erase(peer); }
  /// True when each of `peers` sent a digest equal to this node's since
  /// this node's list last changed (a leave waits for it).
  bool agreed(const std::set<std::string>& peers) const;

  const MemberList& list() const { return list_; }

 private:
  void changed(Clock::time_point now);

  MemberList list_;
  uint64_t digest_ = list_.digest();
  std::map<std::string, uint64_t> digests_;  // peer -> last digest it sent
  Clock::time_point push_until_{};
};

}  // namespace vigil::membership

#endif  // VIGIL_MEMBERSHIP_MEMBER_SYNC_H_
