#include "membership/member_sync.h"

#include <nlohmann/json.hpp>

namespace vigil::membership {

void MemberSync::prepare(heartbeat::Message& msg, const std::set<std::string>& alive,
                         Clock::time_point now) const {
  msg.member_digest = sync_.digest();
  if (sync_.due(alive, now)) msg.members = list_.entries_json();
}

MemberList::Merged MemberSync::on_message(const std::string& sender, const heartbeat::Message& msg,
                                          Clock::time_point now) {
  MemberList::Merged out;
  if (msg.member_digest) sync_.heard(sender, *msg.member_digest);
  if (msg.members.is_null()) return out;
  out = list_.merge_all(msg.members);
  if (!out.changed.empty()) sync_.changed(list_.digest(), now);
  return out;
}

Member MemberSync::join(const std::string& name, std::map<std::string, std::string> paths,
                        Clock::time_point now) {
  Member m = list_.join(name, std::move(paths));
  sync_.changed(list_.digest(), now);
  return m;
}

Member MemberSync::leave(const std::string& name, Clock::time_point now) {
  Member m = list_.leave(name);
  sync_.changed(list_.digest(), now);
  return m;
}

}  // namespace vigil::membership
