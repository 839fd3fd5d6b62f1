#include "membership/replicator.h"

#include <algorithm>
#include <limits>
#include <utility>

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

Replicator::Received Replicator::receive(const std::string& sender, uint64_t boot, Message& msg) {
  Received out;
  auto it = peers_.find(sender);
  if (it == peers_.end()) return out;
  Peer& p = it->second;
  if (boot != p.boot) reset(p, boot);
  if (auto ack = msg.gens.find(self_); ack != msg.gens.end()) p.acked = ack->second;
  out.behind = p.acked < doc_.gen();

  if (msg.kind == MessageKind::kFull) {
    // Never an older gen than the one held: a reordered full must not roll
    // the document back. After a gap (need_full) the gen held is taken again.
    if (msg.full_gen > p.applied || (p.need_full && msg.full_gen >= p.applied)) {
      auto why = check_ ? check_->refuse(msg.full) : std::nullopt;
      if (why && !p.refused) {
        p.shown = std::move(p.doc);
        p.refused = true;
      }
      p.doc = std::make_shared<nlohmann::json>(std::move(msg.full));
      p.applied = msg.full_gen;
      p.need_full = false;
      if (why) {
        out.refused = std::move(why);
      } else {
        p.refused = false;
        p.shown.reset();
        out.full = true;
      }
    }
    show(p, out);
    return out;
  }
  if (msg.kind != MessageKind::kPatch || p.need_full) return out;
  for (const auto& d : msg.deltas) {
    if (d.gen <= p.applied) continue;
    const Applied applied = d.gen == p.applied + 1 ? apply_delta(p, d.ops, out) : Applied::kNot;
    if (applied == Applied::kNot) {
      p.need_full = true;
      out.resync = true;
      break;
    }
    p.applied = d.gen;
    if (applied == Applied::kShown) out.applied.push_back({d.gen, &d.ops});
  }
  if (p.refused) recheck(p, out);
  show(p, out);
  return out;
}

Replicator::Received Replicator::receive(const std::string& sender, uint64_t boot, Message&& msg) {
  Received out = receive(sender, boot, msg);
  out.kept.reserve(out.applied.size());
  for (auto& a : out.applied) a.ops = &out.kept.emplace_back(*a.ops);
  return out;
}

Replicator::Applied Replicator::apply_delta(Peer& p, const nlohmann::json& ops, Received& out) {
  try {
    if (p.refused || !check_ || check_->keeps_valid(ops)) {
      // Atomic (json_patch.h): a delta that does not apply leaves it as it was.
      patch::apply_patch(writable(p.doc), ops);
      return p.refused ? Applied::kHidden : Applied::kShown;
    }
    auto trial = std::make_shared<nlohmann::json>(*p.doc);
    patch::apply_patch(*trial, ops);
    Applied applied = Applied::kShown;
    if (auto why = check_->refuse(*trial)) {
      p.shown = std::move(p.doc);
      p.refused = true;
      out.refused = std::move(why);
      applied = Applied::kHidden;
    }
    p.doc = std::move(trial);
    return applied;
  } catch (const patch::PatchError&) {
    return Applied::kNot;
  }
}

void Replicator::recheck(Peer& p, Received& out) {
  if (auto why = check_->refuse(*p.doc)) {
    out.refused = std::move(why);
    return;
  }
  p.refused = false;
  p.shown.reset();
  out.full = true;
  out.refused.reset();
}

nlohmann::json& Replicator::writable(Doc& d) {
  if (d.use_count() > 1) d = std::make_shared<nlohmann::json>(std::as_const(*d));
  return *d;
}

void Replicator::show(const Peer& p, Received& out) {
  if (!out.changed()) return;
  out.document = p.refused ? p.shown : p.doc;
  out.gen = p.applied;
}

void Replicator::reset(Peer& p, uint64_t boot) {
  p.boot = boot;
  p.need_full = true;
  p.applied = 0;
  p.acked = 0;
  p.held.clear();
}

// ---- gossip mode ----------------------------------------------------------------

Replicator::Received Replicator::relayed(const heartbeat::RelayedDelta& d) {
  Received out;
  auto it = peers_.find(d.writer);
  if (it == peers_.end()) return out;
  Peer& p = it->second;
  if (d.boot < p.boot) return out;
  if (d.boot > p.boot) reset(p, d.boot);
  if (d.gen <= p.applied && !p.need_full) return out;
  if (p.need_full || d.gen != p.applied + 1) {
    // A gap (or no document yet): hold it back for when the gap fills.
    if (p.held.contains(d.gen)) return out;
    if (p.held.size() >= kMaxHeldDeltas) p.held.erase(std::prev(p.held.end()));
    p.held.emplace(d.gen, d.ops);
    out.fresh = true;
    return out;
  }
  out.fresh = true;
  const Applied applied = apply_delta(p, d.ops, out);
  if (applied == Applied::kNot) {
    p.need_full = true;
    out.resync = true;
    return out;
  }
  p.applied = d.gen;
  if (applied == Applied::kShown) out.applied.push_back({d.gen, &d.ops});
  drain_held(p, out);
  if (p.refused) recheck(p, out);
  show(p, out);
  return out;
}

void Replicator::drain_held(Peer& p, Received& out) {
  // AppliedDelta points into `kept`: it must not grow past this capacity
  // (kept is empty here: only a drain fills it, once per Received).
  out.kept.reserve(out.kept.size() + p.held.size());
  while (!p.held.empty() && p.held.begin()->first <= p.applied + 1) {
    auto node = p.held.extract(p.held.begin());
    if (node.key() <= p.applied) continue;
    const Applied applied = apply_delta(p, node.mapped(), out);
    if (applied == Applied::kNot) {
      p.need_full = true;
      out.resync = true;
      p.held.clear();
      return;
    }
    p.applied = node.key();
    if (applied == Applied::kShown)
      out.applied.push_back({node.key(), &out.kept.emplace_back(std::move(node.mapped()))});
  }
}

Replicator::Received Replicator::relayed_full(const heartbeat::RelayedFull& f) {
  auto it = peers_.find(f.writer);
  if (it == peers_.end()) return {};
  Peer& p = it->second;
  if (f.boot < p.boot) return {};
  if (f.boot > p.boot) reset(p, f.boot);
  Received out = receive(f.writer, p.boot,
                         Message{.kind = MessageKind::kFull, .full_gen = f.gen, .full = f.doc});
  if (out.full || out.refused) {
    out.fresh = true;
    drain_held(p, out);
    if (p.refused) recheck(p, out);
    show(p, out);
  }
  return out;
}

heartbeat::VersionVector Replicator::versions(uint64_t self_boot) const {
  heartbeat::VersionVector v;
  v[self_] = {self_boot, doc_.gen()};
  for (const auto& [name, p] : peers_)
    if (p.boot != 0) v[name] = {p.boot, p.need_full ? 0 : p.applied};
  return v;
}

std::vector<std::string> Replicator::newer_than(const heartbeat::VersionVector& theirs,
                                                uint64_t self_boot) const {
  std::vector<std::string> out;
  for (const auto& [name, mine] : versions(self_boot)) {
    if (mine.gen == 0) continue;
    auto it = theirs.find(name);
    if (it == theirs.end() || mine.boot > it->second.boot ||
        (mine.boot == it->second.boot && mine.gen > it->second.gen))
      out.push_back(name);
  }
  return out;
}

bool Replicator::older_than(const heartbeat::VersionVector& theirs, uint64_t self_boot) const {
  const auto mine = versions(self_boot);
  for (const auto& [name, v] : theirs) {
    if (v.gen == 0 || name == self_ || !peers_.contains(name)) continue;
    auto it = mine.find(name);
    if (it == mine.end() || v.boot > it->second.boot ||
        (v.boot == it->second.boot && v.gen > it->second.gen))
      return true;
  }
  return false;
}

std::optional<heartbeat::RelayedFull> Replicator::full_of(const std::string& node,
                                                          uint64_t self_boot) const {
  if (node == self_) return heartbeat::RelayedFull{self_, self_boot, doc_.gen(), doc_.committed()};
  auto it = peers_.find(node);
  if (it == peers_.end() || it->second.doc->is_null() || it->second.applied == 0)
    return std::nullopt;
  return heartbeat::RelayedFull{node, it->second.boot, it->second.applied, *it->second.doc};
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

const nlohmann::json& Replicator::document(const std::string& peer) const {
  return shown(peer).document;
}

Replicator::Shown Replicator::shown(const std::string& peer) const {
  static const nlohmann::json kNull;
  auto it = peers_.find(peer);
  if (it == peers_.end()) return {kNull, false};
  const Peer& p = it->second;
  return {p.refused ? *p.shown : *p.doc, p.refused};
}

std::shared_ptr<const nlohmann::json> Replicator::snapshot(const std::string& peer) const {
  auto it = peers_.find(peer);
  if (it == peers_.end()) return nullptr;
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
