#include "heartbeat/codec.h"

#include <algorithm>
#include <limits>
#include <stdexcept>

#include "crypto/aead.h"
#include "heartbeat/datagram.h"

namespace vigil::heartbeat {

Sealer::Sealer(uint64_t cluster_id, std::string sender, uint64_t boot,
               const crypto::Keyring& keyring, std::size_t budget)
    : cluster_id_(cluster_id),
      sender_(std::move(sender)),
      boot_(boot),
      keyring_(keyring),
      budget_(budget) {
  if (sender_.empty() || sender_.size() > kMaxSenderBytes) {
    throw std::invalid_argument("sender name must be 1.." + std::to_string(kMaxSenderBytes) +
                                " bytes");
  }
  constexpr std::size_t kMaxBudget = kMaxDatagramBytes - kMaxHeaderBytes - crypto::kTagBytes;
  if (budget_ == 0 || budget_ > kMaxBudget) {
    throw std::invalid_argument("fragment budget must be 1.." + std::to_string(kMaxBudget) +
                                " bytes");
  }
}

std::vector<std::vector<uint8_t>> Sealer::seal(std::span<const uint8_t> payload, int64_t now_ms) {
  if (keyring_.empty()) {
    throw std::logic_error("cannot seal: the keyring holds no key");
  }
  return seal(payload, now_ms, keyring_.current_version());
}

std::vector<std::vector<uint8_t>> Sealer::seal(std::span<const uint8_t> payload, int64_t now_ms,
                                               uint32_t key_version) {
  const std::size_t count = std::max<std::size_t>(1, (payload.size() + budget_ - 1) / budget_);
  if (count > std::numeric_limits<uint16_t>::max()) {
    throw std::length_error("payload of " + std::to_string(payload.size()) + " bytes needs " +
                            std::to_string(count) + " fragments, above 65535");
  }
  const crypto::Key* key = keyring_.find(key_version);
  if (key == nullptr) {
    throw std::logic_error("cannot seal: the keyring holds no key version " +
                           std::to_string(key_version));
  }
  Header h;
  h.cluster_id = cluster_id_;
  h.sender = sender_;
  h.key_version = key_version;
  h.boot = boot_;
  h.sent_ms = now_ms;
  h.msg_id = ++msg_id_;
  h.frag_count = static_cast<uint16_t>(count);

  std::vector<std::vector<uint8_t>> datagrams;
  datagrams.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    const std::size_t begin = i * budget_;
    const std::size_t size = std::min(budget_, payload.size() - std::min(begin, payload.size()));
    h.seq = ++seq_;
    h.frag_index = static_cast<uint16_t>(i);
    h.nonce = nonces_.next();
    datagrams.push_back(
        seal_datagram(h, *key, payload.subspan(std::min(begin, payload.size()), size)));
  }
  return datagrams;
}

Opener::Opener(uint64_t cluster_id, std::string self, const std::set<std::string>& members,
               const crypto::Keyring& keyring, OpenerOptions options)
    : cluster_id_(cluster_id),
      self_(std::move(self)),
      members_(members.begin(), members.end()),
      keyring_(keyring),
      options_(options),
      reassembler_(options.reassembly) {
  scratch_.reserve(kMaxDatagramBytes);  // the plaintext of any datagram, without regrowth
}

Opener::Opened Opener::drop(DropReason why) {
  drops_.add(why);
  return {std::nullopt, why};
}

Opener::Opened Opener::open(std::span<const uint8_t> datagram, Clock::time_point now,
                            int64_t now_wall_ms, std::size_t path) {
  DropReason why = DropReason::kMalformed;
  std::optional<ParsedDatagram> parsed = parse_datagram(datagram, why);
  if (!parsed) {
    return drop(why);
  }
  const Header& h = parsed->header;
  if (h.cluster_id != cluster_id_) {
    return drop(DropReason::kBadCluster);
  }
  if (h.sender == self_ || !members_.contains(h.sender)) {
    return drop(DropReason::kUnknownSender);
  }
  const crypto::Key* key = keyring_.find(h.key_version);
  if (key == nullptr || !open_datagram(*parsed, *key, scratch_)) {
    Opened failed = drop(key == nullptr ? DropReason::kUnknownKey : DropReason::kBadTag);
    failed.claimed_sender = h.sender;
    failed.key_version = h.key_version;
    return failed;
  }

  // Authentic from here on: the sender holds the cluster key.
  auto it = windows_.find(h.sender);
  if (it == windows_.end()) it = windows_.try_emplace(h.sender, options_.max_skew_ms).first;
  crypto::ReplayWindow& window = it->second.all;
  crypto::ReplayWindow& on_path = it->second.on_path(path, options_.max_skew_ms);
  Result result;
  result.sender = h.sender;
  result.boot = h.boot;
  switch (window.check(h.boot, h.seq, h.sent_ms, now_wall_ms)) {
    case crypto::ReplayVerdict::kFresh:
      break;
    case crypto::ReplayVerdict::kReplay:
      drops_.add(DropReason::kReplay);
      result.duplicate = true;
      // A copy that came by another path first still proves this one.
      if (on_path.check(h.boot, h.seq, h.sent_ms, now_wall_ms) == crypto::ReplayVerdict::kFresh) {
        on_path.record(h.boot, h.seq);
        result.heard = true;
      }
      return {std::move(result), DropReason::kReplay};
    case crypto::ReplayVerdict::kOldBoot:
      return drop(DropReason::kOldBoot);
    case crypto::ReplayVerdict::kSkew:
      return drop(DropReason::kSkew);
  }
  result.new_boot = window.record(h.boot, h.seq);
  if (on_path.check(h.boot, h.seq, h.sent_ms, now_wall_ms) == crypto::ReplayVerdict::kFresh)
    on_path.record(h.boot, h.seq);
  result.heard = true;
  if (result.new_boot) {
    reassembler_.forget(h.sender);
  }
  std::optional<DropReason> dropped;
  result.payload = reassembler_.add(h.sender, h.boot, h.msg_id, h.frag_index, h.frag_count,
                                    scratch_, now, dropped);
  if (dropped) {
    drops_.add(*dropped);
  }
  return {std::move(result), dropped};
}

crypto::ReplayWindow& Opener::SenderWindows::on_path(std::size_t path, int64_t max_skew_ms) {
  for (auto& [p, w] : paths)
    if (p == path) return w;
  return paths.emplace_back(path, crypto::ReplayWindow(max_skew_ms)).second;
}

void Opener::expire(Clock::time_point now) {
  drops_.add(DropReason::kReassemblyTimeout, reassembler_.expire(now));
}

}  // namespace vigil::heartbeat
