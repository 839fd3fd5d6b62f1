#include "membership/probe_schedule.h"

#include <algorithm>

namespace vigil::membership {

void ProbeSchedule::add(const std::string& member) {
  if (!members_.insert(member).second) return;
  std::uniform_int_distribution<std::size_t> at(0, pass_.size());
  pass_.insert(pass_.begin() + static_cast<std::ptrdiff_t>(at(rng_)), member);
}

void ProbeSchedule::remove(const std::string& member) {
  if (!members_.erase(member)) return;
  pass_.erase(std::remove(pass_.begin(), pass_.end(), member), pass_.end());
}

std::optional<std::string> ProbeSchedule::next() {
  if (members_.empty()) return std::nullopt;
  if (pass_.empty()) {
    pass_.assign(members_.begin(), members_.end());
    std::shuffle(pass_.begin(), pass_.end(), rng_);
  }
  std::string m = std::move(pass_.back());
  pass_.pop_back();
  return m;
}

std::vector<std::string> ProbeSchedule::pick(std::size_t k, const std::set<std::string>& exclude) {
  std::vector<std::string> candidates;
  for (const auto& m : members_)
    if (!exclude.count(m)) candidates.push_back(m);
  if (candidates.size() > k) {
    // A partial Fisher-Yates: the first k are a uniform sample.
    for (std::size_t i = 0; i < k; ++i) {
      std::uniform_int_distribution<std::size_t> j(i, candidates.size() - 1);
      std::swap(candidates[i], candidates[j(rng_)]);
    }
    candidates.resize(k);
  }
  return candidates;
}

}  // namespace vigil::membership
