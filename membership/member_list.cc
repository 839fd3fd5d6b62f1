#include "membership/member_list.h"

#include "membership/digest_sync.h"

#include <algorithm>
#include <stdexcept>
#include <tuple>

#include <nlohmann/json.hpp>

namespace vigil::membership {

using json = nlohmann::json;

namespace {

constexpr std::size_t kMaxNameBytes = 255;
constexpr std::size_t kMaxPaths = 16;
constexpr std::size_t kMaxAddressBytes = 300;

[[noreturn]] void bad(const std::string& field, const std::string& why) {
  throw std::invalid_argument(field + ": " + why);
}

}  // namespace

const char* to_string(Member::State state) {
  return state == Member::State::kLeft ? "left" : "member";
}

bool newer(const Member& a, const Member& b) {
  return std::tie(a.ltime, a.state, a.paths) > std::tie(b.ltime, b.state, b.paths);
}

json to_json(const Member& m) {
  return {{"name", m.name}, {"paths", m.paths}, {"state", to_string(m.state)}, {"ltime", m.ltime}};
}

Member member_from_json(const json& j) {
  if (!j.is_object()) bad("member", "expected an object");
  for (const char* key : {"name", "paths", "state", "ltime"})
    if (!j.contains(key)) bad(key, "missing");
  if (j.size() != 4) bad("member", "unknown field");
  Member m;
  const json& name = j.at("name");
  if (!name.is_string() || name.get_ref<const std::string&>().empty() ||
      name.get_ref<const std::string&>().size() > kMaxNameBytes)
    bad("name", "expected a name of 1 to 255 bytes");
  m.name = name.get<std::string>();
  const json& paths = j.at("paths");
  if (!paths.is_object() || paths.size() > kMaxPaths)
    bad("paths", "expected an object of at most 16 addresses");
  for (const auto& [id, addr] : paths.items()) {
    if (id.empty() || !addr.is_string() ||
        addr.get_ref<const std::string&>().size() > kMaxAddressBytes)
      bad("paths." + id, "expected a \"host:port\" string");
    m.paths[id] = addr.get<std::string>();
  }
  const json& state = j.at("state");
  if (state == "member")
    m.state = Member::State::kMember;
  else if (state == "left")
    m.state = Member::State::kLeft;
  else
    bad("state", "expected \"member\" or \"left\"");
  const json& ltime = j.at("ltime");
  if (!ltime.is_number_unsigned()) bad("ltime", "expected an unsigned integer");
  m.ltime = ltime.get<uint64_t>();
  return m;
}

bool MemberList::merge(const Member& m) {
  clock_ = std::max(clock_, m.ltime);
  auto it = entries_.find(m.name);
  if (it != entries_.end() && !newer(m, it->second)) return false;
  entries_[m.name] = m;
  return true;
}

Member MemberList::join(const std::string& name, std::map<std::string, std::string> paths) {
  Member m{.name = name,
           .paths = std::move(paths),
           .state = Member::State::kMember,
           .ltime = clock_ + 1};
  merge(m);
  return m;
}

Member MemberList::leave(const std::string& name) {
  Member m{.name = name, .state = Member::State::kLeft, .ltime = clock_ + 1};
  if (const Member* held = find(name)) m.paths = held->paths;
  merge(m);
  return m;
}

MemberList::Merged MemberList::merge_all(const json& entries) {
  Merged out;
  if (!entries.is_array()) {
    ++out.refused;
    return out;
  }
  for (const auto& e : entries) {
    try {
      Member m = member_from_json(e);
      if (merge(m)) out.changed.push_back(m.name);
    } catch (const std::invalid_argument&) {
      ++out.refused;
    }
  }
  return out;
}

json MemberList::entries_json() const {
  json out = json::array();
  for (const auto& [name, m] : entries_) out.push_back(membership::to_json(m));
  return out;
}

uint64_t MemberList::digest() const { return digest64(entries_json().dump()); }

const Member* MemberList::find(const std::string& name) const {
  auto it = entries_.find(name);
  return it == entries_.end() ? nullptr : &it->second;
}

std::vector<std::string> MemberList::members() const {
  std::vector<std::string> out;
  for (const auto& [name, m] : entries_)
    if (m.state == Member::State::kMember) out.push_back(name);
  return out;
}

json MemberList::to_json() const { return {{"ltime", clock_}, {"members", entries_json()}}; }

MemberList MemberList::from_json(const json& j) {
  if (!j.is_object() || !j.contains("members") || !j.at("members").is_array())
    bad("members", "expected an array");
  MemberList list;
  const json& members = j.at("members");
  for (std::size_t i = 0; i < members.size(); ++i) {
    try {
      list.merge(member_from_json(members[i]));
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument("members[" + std::to_string(i) + "]." + e.what());
    }
  }
  if (j.contains("ltime")) {
    if (!j.at("ltime").is_number_unsigned()) bad("ltime", "expected an unsigned integer");
    list.clock_ = std::max(list.clock_, j.at("ltime").get<uint64_t>());
  }
  return list;
}

}  // namespace vigil::membership
