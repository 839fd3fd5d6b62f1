#include "heartbeat/reassembly.h"

namespace vigil::heartbeat {

std::optional<std::span<const uint8_t>> Reassembler::add(
    const std::string& sender, uint64_t boot, uint32_t msg_id, uint16_t index, uint16_t count,
    std::span<const uint8_t> data, Clock::time_point now, std::optional<DropReason>& dropped) {
  dropped.reset();
  if (count == 0 || index >= count) {
    dropped = DropReason::kMalformed;
    return std::nullopt;
  }
  if (count > limits_.max_fragments || data.size() > limits_.max_message_bytes) {
    dropped = DropReason::kOversize;
    return std::nullopt;
  }
  // Nothing pending: a single fragment is the whole message (the usual case).
  if (count == 1 && partial_.empty()) return data;
  Key key{sender, boot, msg_id};
  auto it = partial_.find(key);
  if (it == partial_.end()) {
    if (count == 1) return data;
    // Starting a new message: make room among this sender's partials.
    auto first = partial_.lower_bound(Key{sender, 0, 0});
    std::size_t held = 0;
    auto oldest = partial_.end();
    for (auto p = first; p != partial_.end() && p->first.sender == sender; ++p) {
      ++held;
      if (oldest == partial_.end() || p->second.first < oldest->second.first) oldest = p;
    }
    if (held >= limits_.max_pending_per_sender) {
      dropped = DropReason::kReassemblyOverflow;
      if (oldest == partial_.end()) return std::nullopt;  // max_pending_per_sender == 0
      partial_.erase(oldest);
    }
    Partial fresh;
    fresh.count = count;
    fresh.first = now;
    fresh.parts.resize(count);
    fresh.have.assign(count, false);
    it = partial_.emplace(std::move(key), std::move(fresh)).first;
  }

  Partial& p = it->second;
  if (p.count != count) {
    partial_.erase(it);
    dropped = DropReason::kMalformed;
    return std::nullopt;
  }
  if (p.have[index]) return std::nullopt;
  if (p.bytes + data.size() > limits_.max_message_bytes) {
    partial_.erase(it);
    dropped = DropReason::kOversize;
    return std::nullopt;
  }
  p.parts[index].assign(data.begin(), data.end());
  p.have[index] = true;
  p.bytes += data.size();
  ++p.received;
  if (p.received < p.count) return std::nullopt;

  whole_.clear();
  whole_.reserve(p.bytes);
  for (const auto& part : p.parts) whole_.insert(whole_.end(), part.begin(), part.end());
  partial_.erase(it);
  return std::span<const uint8_t>(whole_);
}

std::size_t Reassembler::expire(Clock::time_point now) {
  std::size_t expired = 0;
  for (auto it = partial_.begin(); it != partial_.end();) {
    if (now - it->second.first > limits_.timeout) {
      it = partial_.erase(it);
      ++expired;
    } else {
      ++it;
    }
  }
  return expired;
}

void Reassembler::forget(const std::string& sender) {
  auto first = partial_.lower_bound(Key{sender, 0, 0});
  auto last = first;
  while (last != partial_.end() && last->first.sender == sender) ++last;
  partial_.erase(first, last);
}

std::size_t Reassembler::pending() const { return partial_.size(); }

std::size_t Reassembler::pending_bytes() const {
  std::size_t bytes = 0;
  for (const auto& [key, p] : partial_) bytes += p.bytes;
  return bytes;
}

}  // namespace vigil::heartbeat
