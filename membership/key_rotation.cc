#include "membership/key_rotation.h"

#include <algorithm>
#include <stdexcept>

namespace vigil::membership {

KeyRotation::KeyRotation(crypto::Keyring& ring, std::string cluster_name,
                         std::map<uint32_t, crypto::Secret> secrets, uint32_t current,
                         Options options)
    : ring_(ring), cluster_(std::move(cluster_name)), options_(options) {
  if (secrets.empty()) throw std::invalid_argument("key rotation: no secret");
  if (!secrets.count(current))
    throw std::invalid_argument("key rotation: current version " + std::to_string(current) +
                                " is not held");
  for (const auto& [version, secret] : secrets) add(version, secret);
  ring_.set_current(current);
}

void KeyRotation::add(uint32_t version, const crypto::Secret& secret) {
  secrets_[version] = secret;
  ring_.add(version, crypto::derive_key(secret, cluster_, version));
}

uint32_t KeyRotation::next_version() const { return secrets_.rbegin()->first + 1; }

uint32_t KeyRotation::start(const crypto::Secret& secret, Clock::time_point now) {
  if (offer_) throw std::logic_error("a secret rotation led by this node is in progress");
  const uint32_t version = next_version();
  add(version, secret);
  offer_ = heartbeat::KeyOffer{.version = version, .secret = secret};
  offer_deadline_ = now + options_.timeout;
  return version;
}

std::vector<uint32_t> KeyRotation::versions() const {
  std::vector<uint32_t> out;
  for (const auto& [version, secret] : secrets_) out.push_back(version);
  // The newest ones matter for a switch; older ones are on their way out.
  if (out.size() > heartbeat::kMaxKeyVersions)
    out.erase(out.begin(), out.end() - heartbeat::kMaxKeyVersions);
  return out;
}

void KeyRotation::heard(const std::string& peer, const std::vector<uint32_t>& versions) {
  peers_[peer] = versions;
}

KeyRotation::OfferCheck KeyRotation::check_offer(const heartbeat::KeyOffer& offer) const {
  auto it = secrets_.find(offer.version);
  if (it == secrets_.end()) return OfferCheck::kNew;
  return it->second == offer.secret ? OfferCheck::kHeld : OfferCheck::kConflict;
}

void KeyRotation::stage(const heartbeat::KeyOffer& offer) { add(offer.version, offer.secret); }

KeyRotation::Selection KeyRotation::select(const std::set<std::string>& peers,
                                           Clock::time_point now) {
  Selection out;
  std::optional<uint32_t> best;
  for (auto it = secrets_.rbegin(); it != secrets_.rend() && !best; ++it) {
    const uint32_t v = it->first;
    const bool everyone = std::all_of(peers.begin(), peers.end(), [&](const std::string& p) {
      auto held = peers_.find(p);
      return held != peers_.end() &&
             std::find(held->second.begin(), held->second.end(), v) != held->second.end();
    });
    if (everyone) best = v;
  }
  // No version common to every peer (one not heard with a list yet):
  // keep sealing as before.
  if (best && *best != ring_.current_version()) {
    ring_.set_current(*best);
    switched_at_ = now;
    out.switched_to = *best;
  }
  // Older versions loaded at start wait one grace period from here.
  if (!switched_at_ && secrets_.begin()->first < ring_.current_version()) switched_at_ = now;
  if (offer_) {
    if (ring_.current_version() == offer_->version) {
      out.succeeded = offer_->version;
      offer_.reset();
    } else if (now >= offer_deadline_) {
      out.failed = offer_->version;
      offer_.reset();
    }
  }
  return out;
}

std::vector<uint32_t> KeyRotation::retire_expired(Clock::time_point now) {
  std::vector<uint32_t> out;
  if (!switched_at_ || now - *switched_at_ < options_.grace) return out;
  const uint32_t current = ring_.current_version();
  for (auto it = secrets_.begin(); it != secrets_.end() && it->first < current;) {
    ring_.retire(it->first);
    out.push_back(it->first);
    it = secrets_.erase(it);
  }
  return out;
}

}  // namespace vigil::membership
