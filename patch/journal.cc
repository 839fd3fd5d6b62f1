// The per-node journal of committed deltas, indexed by gen.
#include "patch/journal.h"

#include <utility>

namespace vigil::patch {

uint64_t Journal::append(nlohmann::json ops) {
  deltas_.push_back(std::move(ops));
  ++gen_;
  while (deltas_.size() > max_entries_) {
    deltas_.pop_front();
    ++base_;
  }
  return gen_;
}

std::optional<std::vector<Journal::Entry>> Journal::since(uint64_t after) const {
  if (after < base_) return std::nullopt;
  std::vector<Entry> out;
  if (after >= gen_) return out;
  out.reserve(static_cast<std::size_t>(gen_ - after));
  for (auto i = static_cast<std::size_t>(after - base_); i < deltas_.size(); ++i) {
    out.push_back(Entry{base_ + 1 + i, &deltas_[i]});
  }
  return out;
}

void Journal::trim(uint64_t acked) {
  while (!deltas_.empty() && base_ + 1 <= acked) {
    deltas_.pop_front();
    ++base_;
  }
}

}  // namespace vigil::patch
