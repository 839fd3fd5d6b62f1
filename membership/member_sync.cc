#include "membership/member_sync.h"

#include <nlohmann/json.hpp>

namespace vigil::membership {

void MemberSync::prepare(heartbeat::Message& msg, const std::set<std::string>& alive,
                         Clock::time_point now) const {
  msg.member_digest = digest_;
  bool send = now < push_until_;
  for (const auto& peer : alive) {
    if (send) break;
    auto it = digests_.find(peer);
    send = it != digests_.end() && it->second != digest_;
  }
  if (send) msg.members = list_.entries_json();
}

MemberList::Merged MemberSync::on_message(const std::string& sender, const heartbeat::Message& msg,
                                          Clock::time_point now) {
  MemberList::Merged out;
  if (msg.member_digest) digests_[sender] = *msg.member_digest;
  if (msg.members.is_null()) return out;
  out = list_.merge_all(msg.members);
  if (!out.changed.empty()) changed(now);
  return out;
}

Member MemberSync::join(const std::string& name, std::map<std::string, std::string> paths,
                        Clock::time_point now) {
  Member m = list_.join(name, std::move(paths));
  changed(now);
  return m;
}

Member MemberSync::leave(const std::string& name, Clock::time_point now) {
  Member m = list_.leave(name);
  changed(now);
  return m;
}

bool MemberSync::agreed(const std::set<std::string>& peers) const {
  for (const auto& p : peers) {
    auto it = digests_.find(p);
    if (it == digests_.end() || it->second != digest_) return false;
  }
  return true;
}

void MemberSync::changed(Clock::time_point now) {
  digest_ = list_.digest();
  push_until_ = now + kPushFor;
}

}  // namespace vigil::membership
