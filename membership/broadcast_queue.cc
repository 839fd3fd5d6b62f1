#include "membership/broadcast_queue.h"

#include <cmath>

namespace vigil::membership {

void BroadcastQueue::queue(const std::string& key, std::string payload, bool urgent) {
  drop(key);
  Item item{.payload = std::move(payload), .sent = 0, .seq = next_seq_++, .urgent = urgent};
  order_.insert(rank(key, item));
  items_.emplace(key, std::move(item));
}

void BroadcastQueue::drop(const std::string& key) {
  auto it = items_.find(key);
  if (it == items_.end()) return;
  order_.erase(rank(key, it->second));
  items_.erase(it);
}

std::size_t BroadcastQueue::limit(std::size_t members) const {
  const double rounds = std::ceil(std::log10(static_cast<double>(members) + 1.0));
  const auto n = static_cast<std::size_t>(std::max(1.0, mult_ * rounds));
  return n;
}

std::vector<std::string> BroadcastQueue::take(std::size_t budget, std::size_t members) {
  std::vector<std::string> out;
  std::vector<std::string> sent;
  std::size_t used = 0;
  std::size_t misses = 0;
  constexpr std::size_t kMaxMisses = 8;
  for (const auto& [not_urgent, count, inverse_seq, key] : order_) {
    const Item& item = items_.at(key);
    if (used + item.payload.size() > budget) {
      // A smaller one may still fit; a few misses in a row end the search,
      // so that a long queue costs no more than a short one.
      if (++misses == kMaxMisses) break;
      continue;
    }
    misses = 0;
    used += item.payload.size();
    out.push_back(item.payload);
    sent.push_back(key);
  }
  const std::size_t max = limit(members);
  for (const auto& key : sent) {
    Item& item = items_.at(key);
    order_.erase(rank(key, item));
    if (++item.sent >= max) {
      items_.erase(key);
    } else {
      order_.insert(rank(key, item));
    }
  }
  return out;
}

}  // namespace vigil::membership
