#include "membership/probe_schedule.h"

#include <algorithm>

namespace vigil::membership {

void ProbeSchedule::add(const std::string& member) {
  if (!index_.emplace(member, members_.size()).second) return;
  members_.push_back(member);
  // At a random place of the pass (the inside-out Fisher-Yates step: a
  // random order stays a random order), in O(1).
  std::uniform_int_distribution<std::size_t> at(0, pass_.size());
  pass_.push_back(member);
  std::swap(pass_[at(rng_)], pass_.back());
}

void ProbeSchedule::remove(const std::string& member) {
  auto it = index_.find(member);
  if (it == index_.end()) return;
  // Swap with the last one: O(1) in members_.
  const std::size_t at = it->second;
  index_.erase(it);
  if (at + 1 != members_.size()) {
    members_[at] = std::move(members_.back());
    index_[members_[at]] = at;
  }
  members_.pop_back();
  pass_.erase(std::remove(pass_.begin(), pass_.end(), member), pass_.end());
}

void ProbeSchedule::probe_next(const std::string& member) {
  if (!index_.count(member)) return;
  auto it = std::find(pass_.begin(), pass_.end(), member);
  if (it == pass_.end()) {
    pass_.push_back(member);
  } else {
    std::iter_swap(it, pass_.end() - 1);
  }
}

std::optional<std::string> ProbeSchedule::next() {
  if (members_.empty()) return std::nullopt;
  if (pass_.empty()) {
    pass_ = members_;
    std::shuffle(pass_.begin(), pass_.end(), rng_);
  }
  std::string m = std::move(pass_.back());
  pass_.pop_back();
  return m;
}

std::vector<std::string> ProbeSchedule::pick(std::size_t k, const std::set<std::string>& exclude) {
  return pick_if_not(k, [&exclude](const std::string& m) { return exclude.count(m) > 0; });
}

std::vector<std::string> ProbeSchedule::pick_if_not(
    std::size_t k, const std::function<bool(const std::string&)>& excluded) {
  std::vector<std::string> out;
  if (k == 0 || members_.empty()) return out;
  if (members_.size() > 4 * k + 16) {
    // Rejection sampling: uniform among the members not excluded, distinct.
    std::uniform_int_distribution<std::size_t> any(0, members_.size() - 1);
    std::vector<std::size_t> taken;
    for (std::size_t tries = 0; tries < 8 * k + 32 && out.size() < k; ++tries) {
      const std::size_t i = any(rng_);
      if (std::find(taken.begin(), taken.end(), i) != taken.end()) continue;
      if (excluded(members_[i])) continue;
      taken.push_back(i);
      out.push_back(members_[i]);
    }
    if (out.size() == k) return out;
    out.clear();  // most are excluded: scan them all
  }
  std::vector<std::size_t> candidates;
  for (std::size_t i = 0; i < members_.size(); ++i)
    if (!excluded(members_[i])) candidates.push_back(i);
  // A partial Fisher-Yates: the first k are a uniform sample.
  const std::size_t n = std::min(k, candidates.size());
  for (std::size_t i = 0; i < n; ++i) {
    std::uniform_int_distribution<std::size_t> j(i, candidates.size() - 1);
    std::swap(candidates[i], candidates[j(rng_)]);
    out.push_back(members_[candidates[i]]);
  }
  return out;
}

}  // namespace vigil::membership
