#include "membership/broadcast_queue.h"

#include <algorithm>
#include <cmath>

namespace vigil::membership {

void BroadcastQueue::queue(const std::string& key, std::string payload, bool urgent,
                           std::size_t times) {
  drop(key);
  const Rank rank{.not_urgent = !urgent, .sent = 0, .inverse_seq = ~next_seq_++};
  order_.emplace(rank, Entry{key, std::move(payload), std::max<std::size_t>(1, times)});
  ranks_[key] = rank;
}

void BroadcastQueue::drop(const std::string& key) {
  auto it = ranks_.find(key);
  if (it == ranks_.end()) return;
  order_.erase(it->second);
  ranks_.erase(it);
}

std::size_t BroadcastQueue::limit(std::size_t members) const {
  const double rounds = std::ceil(std::log10(static_cast<double>(members) + 1.0));
  return static_cast<std::size_t>(std::max(1.0, mult_ * rounds));
}

std::vector<std::string> BroadcastQueue::take(std::size_t budget, std::size_t members) {
  std::vector<std::string> out;
  std::vector<std::map<Rank, Entry>::iterator> sent;
  std::size_t used = 0;
  std::size_t misses = 0;
  constexpr std::size_t kMaxMisses = 8;
  for (auto it = order_.begin(); it != order_.end(); ++it) {
    const std::string& payload = it->second.payload;
    if (used + payload.size() > budget) {
      // A smaller one may still fit; a few misses in a row end the search,
      // so that a long queue costs no more than a short one.
      if (++misses == kMaxMisses) break;
      continue;
    }
    misses = 0;
    used += payload.size();
    out.push_back(payload);
    sent.push_back(it);
  }
  const std::size_t max = limit(members);
  for (auto it : sent) {
    auto node = order_.extract(it);
    if (++node.key().sent >= max * node.mapped().times) {
      ranks_.erase(node.mapped().key);
      continue;
    }
    ranks_[node.mapped().key] = node.key();
    order_.insert(std::move(node));
  }
  return out;
}

}  // namespace vigil::membership
