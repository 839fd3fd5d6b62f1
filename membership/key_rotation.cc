#include "membership/key_rotation.h"

#include <algorithm>
#include <stdexcept>
#include <tuple>

namespace vigil::membership {

KeyRotation::KeyRotation(crypto::Keyring& ring, std::string cluster_name, std::string self,
                         std::map<uint32_t, crypto::Secret> secrets, uint32_t current,
                         Options options)
    : ring_(ring), cluster_(std::move(cluster_name)), self_(std::move(self)), options_(options) {
  if (secrets.empty()) throw std::invalid_argument("key rotation: no secret");
  if (!secrets.count(current))
    throw std::invalid_argument("key rotation: current version " + std::to_string(current) +
                                " is not held");
  for (const auto& [version, secret] : secrets) add(version, secret, "", version <= current);
  ring_.set_current(current);
}

void KeyRotation::add(uint32_t version, const crypto::Secret& secret, std::string leader,
                      bool settled) {
  const crypto::Key key = crypto::derive_key(secret, cluster_, version);
  secrets_[version] = secret;
  held_[version] = Held{.id = crypto::key_id(key), .leader = std::move(leader), .settled = settled};
  ring_.add(version, key);
}

uint32_t KeyRotation::next_version() const { return secrets_.rbegin()->first + 1; }

uint32_t KeyRotation::start(const crypto::Secret& secret, Clock::time_point now) {
  if (offer_) throw std::logic_error("a secret rotation led by this node is in progress");
  const uint32_t version = next_version();
  add(version, secret, self_, false);
  offer_ = heartbeat::KeyOffer{.version = version, .secret = secret, .leader = self_};
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

std::vector<uint64_t> KeyRotation::key_ids() const {
  std::vector<uint64_t> out;
  for (uint32_t v : versions()) out.push_back(held_.at(v).id);
  return out;
}

void KeyRotation::heard(const std::string& peer, const std::vector<uint32_t>& versions,
                        const std::vector<uint64_t>& ids) {
  // Assigned in place: one message per peer per interval reuses its vectors.
  PeerList& p = peers_[peer];
  p.versions.assign(versions.begin(), versions.end());
  p.ids.assign(ids.begin(), ids.end());
}

bool KeyRotation::holds(const PeerList& peer, uint32_t version) const {
  auto it = std::find(peer.versions.begin(), peer.versions.end(), version);
  if (it == peer.versions.end()) return false;
  if (peer.ids.size() != peer.versions.size()) return true;  // an older peer: by number alone
  auto mine = held_.find(version);
  return mine != held_.end() && peer.ids[it - peer.versions.begin()] == mine->second.id;
}

uint32_t KeyRotation::newest_shared(const PeerList& peer) const {
  for (auto it = peer.versions.rbegin(); it != peer.versions.rend(); ++it)
    if (held_.count(*it) && holds(peer, *it)) return *it;
  return 0;
}

KeyRotation::OfferCheck KeyRotation::check_offer(const heartbeat::KeyOffer& offer) const {
  auto it = held_.find(offer.version);
  if (it == held_.end()) return OfferCheck::kNew;
  if (secrets_.at(offer.version) == offer.secret) return OfferCheck::kHeld;
  const Held& mine = it->second;
  if (mine.settled) return offer.settled ? OfferCheck::kConflict : OfferCheck::kLoses;
  if (offer.settled) return OfferCheck::kReplace;
  // Two rotations at once: the same order on every node. The key ids break
  // a tie between two secrets of one leader (a leader that lost its keyring).
  const uint64_t offered_id =
      crypto::key_id(crypto::derive_key(offer.secret, cluster_, offer.version));
  return std::tie(offer.leader, offered_id) > std::tie(mine.leader, mine.id) ? OfferCheck::kReplace
                                                                             : OfferCheck::kLoses;
}

std::optional<uint32_t> KeyRotation::stage(const heartbeat::KeyOffer& offer) {
  add(offer.version, offer.secret, offer.leader, offer.settled);
  if (offer_ && offer_->version == offer.version && offer_->secret != offer.secret) {
    offer_.reset();
    return offer.version;
  }
  return std::nullopt;
}

std::vector<KeyRotation::CatchUp> KeyRotation::catch_up(const std::set<std::string>& alive) const {
  std::map<uint32_t, CatchUp> by_version;
  const uint32_t current = ring_.current_version();
  for (const auto& name : alive) {
    auto peer = peers_.find(name);
    if (peer == peers_.end()) continue;
    const uint32_t shared = newest_shared(peer->second);
    if (shared == 0 || shared >= current) continue;
    // The oldest settled version above what it shares that it lacks.
    for (auto it = held_.upper_bound(shared); it != held_.end(); ++it) {
      if (!it->second.settled || holds(peer->second, it->first)) continue;
      CatchUp& c = by_version[shared];
      if (c.peers.empty() || it->first < c.offer.version) {
        c.version = shared;
        c.offer =
            heartbeat::KeyOffer{.version = it->first,
                                .secret = secrets_.at(it->first),
                                .leader = it->second.leader.empty() ? self_ : it->second.leader,
                                .settled = true};
      }
      c.peers.push_back(name);
      break;
    }
  }
  std::vector<CatchUp> out;
  for (auto& [version, c] : by_version) out.push_back(std::move(c));
  return out;
}

uint32_t KeyRotation::retire_bound() const {
  uint32_t bound = ring_.current_version();
  for (const auto& [name, list] : peers_) {
    const uint32_t shared = newest_shared(list);
    if (shared != 0) bound = std::min(bound, shared);
  }
  return bound;
}

KeyRotation::Selection KeyRotation::select(const std::set<std::string>& alive,
                                           Clock::time_point now) {
  Selection out;
  std::optional<uint32_t> best;
  for (auto it = secrets_.rbegin(); it != secrets_.rend() && !best; ++it) {
    const uint32_t v = it->first;
    if (v <= ring_.current_version()) break;
    const bool everyone = std::all_of(alive.begin(), alive.end(), [&](const std::string& p) {
      auto list = peers_.find(p);
      return list != peers_.end() && holds(list->second, v);
    });
    // With no peer alive, only this node's own rotation switches (a node
    // alone, or the last one up): a version staged from an offer waits for
    // its peers, so that a restart never jumps to a leftover.
    if (everyone && (!alive.empty() || (offer_ && offer_->version == v))) best = v;
  }
  // No version common to every alive peer (one not heard with a list yet),
  // or a lagging peer: keep sealing as before; catch_up() serves laggards.
  if (best && *best > ring_.current_version()) {
    ring_.set_current(*best);
    held_[*best].settled = true;
    out.switched_to = *best;
  }
  if (offer_) {
    const uint32_t current = ring_.current_version();
    if (current == offer_->version) {
      out.succeeded = offer_->version;
      offer_.reset();
    } else if (current > offer_->version) {
      out.lost = offer_->version;
      offer_.reset();
    } else if (now >= offer_deadline_) {
      out.failed = offer_->version;
      offer_.reset();
    }
  }
  update_bound(now);
  return out;
}

void KeyRotation::update_bound(Clock::time_point now) {
  const uint32_t bound = retire_bound();
  if (bound > bound_ || !bound_at_) bound_at_ = now;
  bound_ = bound;
}

std::vector<uint32_t> KeyRotation::retire_expired(Clock::time_point now) {
  update_bound(now);
  std::vector<uint32_t> out;
  if (now - *bound_at_ < options_.grace) return out;
  for (auto it = secrets_.begin(); it != secrets_.end() && it->first < bound_;) {
    ring_.retire(it->first);
    held_.erase(it->first);
    out.push_back(it->first);
    it = secrets_.erase(it);
  }
  return out;
}

}  // namespace vigil::membership
