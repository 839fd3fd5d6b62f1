#include "membership/replicator.h"

#include <algorithm>
#include <limits>

#include "patch/json_patch.h"

namespace vigil::membership {

using heartbeat::Message;
using heartbeat::MessageKind;

Replicator::Replicator(std::string self, std::vector<std::string> peers, patch::NodeDocument& doc,
                       const DocumentCheck* check)
    : self_(std::move(self)), doc_(doc), check_(check) {
  for (auto& p : peers)
    if (p != self_) peers_.emplace(std::move(p), Peer{});
}

heartbeat::GenVector Replicator::gens() const {
  heartbeat::GenVector g;
  g[self_] = doc_.gen();
  for (const auto& [name, p] : peers_) g[name] = p.need_full ? 0 : p.applied;
  return g;
}

Message Replicator::outgoing(const std::set<std::string>& alive) {
  Message msg;
  msg.gens = gens();
  const uint64_t gen = doc_.gen();
  uint64_t min_acked = std::numeric_limits<uint64_t>::max();
  for (const auto& name : alive) {
    auto it = peers_.find(name);
    if (it != peers_.end()) min_acked = std::min(min_acked, it->second.acked);
  }
  if (min_acked == std::numeric_limits<uint64_t>::max() || min_acked >= gen) {
    if (min_acked != std::numeric_limits<uint64_t>::max()) doc_.journal().trim(min_acked);
    return msg;  // ping: nobody alive is behind
  }
  doc_.journal().trim(min_acked);
  auto deltas = min_acked == 0 ? std::nullopt : doc_.journal().since(min_acked);
  if (!deltas || deltas->size() > kMaxDeltasPerMessage) {
    msg.kind = MessageKind::kFull;
    msg.full_gen = gen;
    msg.full = doc_.committed();
    return msg;
  }
  msg.kind = MessageKind::kPatch;
  msg.deltas.reserve(deltas->size());
  for (const auto& e : *deltas) msg.deltas.push_back({e.gen, *e.ops});
  return msg;
}

Replicator::Received Replicator::receive(const std::string& sender, uint64_t boot,
                                         const Message& msg) {
  Received out;
  auto it = peers_.find(sender);
  if (it == peers_.end()) return out;
  Peer& p = it->second;
  if (boot != p.boot) {
    p.boot = boot;
    p.need_full = true;
    p.applied = 0;
    p.acked = 0;
  }
  if (auto ack = msg.gens.find(self_); ack != msg.gens.end()) p.acked = ack->second;

  if (msg.kind == MessageKind::kFull) {
    // Never an older gen than the one held: a reordered full must not roll
    // the document back. After a gap (need_full) the gen held is taken again.
    if (msg.full_gen > p.applied || (p.need_full && msg.full_gen >= p.applied)) {
      auto why = check_ ? check_->refuse(msg.full) : std::nullopt;
      if (why && !p.refused) {
        p.shown = std::move(p.doc);
        p.refused = true;
      }
      p.doc = msg.full;
      p.applied = msg.full_gen;
      p.need_full = false;
      if (why) {
        out.refused = std::move(why);
      } else {
        p.refused = false;
        p.shown = nullptr;
        out.full = true;
      }
    }
    return out;
  }
  if (msg.kind != MessageKind::kPatch || p.need_full) return out;
  for (const auto& d : msg.deltas) {
    if (d.gen <= p.applied) continue;
    if (d.gen != p.applied + 1) {
      p.need_full = true;
      out.resync = true;
      break;
    }
    if (!apply_delta(p, d, out)) {
      p.need_full = true;
      out.resync = true;
      break;
    }
    p.applied = d.gen;
  }
  if (p.refused) recheck(p, out);
  return out;
}

bool Replicator::apply_delta(Peer& p, const heartbeat::Delta& d, Received& out) {
  try {
    if (p.refused || !check_ || check_->keeps_valid(d.ops)) {
      patch::apply_patch(p.doc, d.ops);
      if (!p.refused) out.applied.push_back(d);
      return true;
    }
    nlohmann::json trial = p.doc;
    patch::apply_patch(trial, d.ops);
    if (auto why = check_->refuse(trial)) {
      p.shown = std::move(p.doc);
      p.refused = true;
      out.refused = std::move(why);
    } else {
      out.applied.push_back(d);
    }
    p.doc = std::move(trial);
    return true;
  } catch (const patch::PatchError&) {
    return false;
  }
}

void Replicator::recheck(Peer& p, Received& out) {
  if (auto why = check_->refuse(p.doc)) {
    out.refused = std::move(why);
    return;
  }
  p.refused = false;
  p.shown = nullptr;
  out.full = true;
  out.refused.reset();
}

void Replicator::add(const std::string& peer) {
  if (peer != self_) peers_.try_emplace(peer);
}

void Replicator::forget(const std::string& peer) {
  auto it = peers_.find(peer);
  if (it == peers_.end()) return;
  it->second.need_full = true;
  it->second.acked = 0;
}

bool Replicator::behind(const std::string& peer) const {
  auto it = peers_.find(peer);
  return it != peers_.end() && it->second.acked < doc_.gen();
}

const nlohmann::json& Replicator::document(const std::string& peer) const {
  static const nlohmann::json kNull;
  auto it = peers_.find(peer);
  if (it == peers_.end()) return kNull;
  return it->second.refused ? it->second.shown : it->second.doc;
}

uint64_t Replicator::applied_gen(const std::string& peer) const {
  auto it = peers_.find(peer);
  return it == peers_.end() ? 0 : it->second.applied;
}

uint64_t Replicator::acked_gen(const std::string& peer) const {
  auto it = peers_.find(peer);
  return it == peers_.end() ? 0 : it->second.acked;
}

}  // namespace vigil::membership
