#include "membership/peer_table.h"

namespace vigil::membership {

PeerTable::PeerTable(const std::vector<PathSpec>& paths) {
  for (const auto& p : paths)
    for (const auto& node : p.peers) peers_[node].paths.emplace(p.id, PathWatcher(p.timeout));
}

std::vector<Transition> PeerTable::heard(const std::string& node, const std::string& path,
                                         Clock::time_point now, uint64_t boot) {
  std::vector<Transition> out;
  auto it = peers_.find(node);
  if (it == peers_.end()) return out;
  auto w = it->second.paths.find(path);
  if (w == it->second.paths.end()) return out;
  // The last words of a stopped incarnation (the stop sent twice, a copy
  // over another path, a late reordered datagram) prove nothing.
  if (it->second.state == PeerState::kStopped && boot <= it->second.stopped_boot) return out;
  if (boot > it->second.boot) it->second.boot = boot;
  if (w->second.heard(now)) out.push_back({Transition::Kind::kHeartbeatAlive, node, path});
  if (external_) {
    if (it->second.state == PeerState::kStopped) it->second.state = PeerState::kUnknown;
    return out;
  }
  if (it->second.state != PeerState::kAlive) {
    it->second.state = PeerState::kAlive;
    out.push_back({Transition::Kind::kNodeAlive, node, ""});
  }
  return out;
}

std::vector<Transition> PeerTable::stopped(const std::string& node, uint64_t boot) {
  auto it = peers_.find(node);
  if (it == peers_.end()) return {};
  Peer& peer = it->second;
  if (boot < peer.boot) return {};
  if (peer.state == PeerState::kStopped && boot <= peer.stopped_boot) return {};
  peer.boot = boot;
  peer.stopped_boot = boot;
  peer.state = PeerState::kStopped;
  for (auto& [path, w] : peer.paths) w.stop();
  return {{Transition::Kind::kNodeStopped, node, ""}};
}

void PeerTable::drive_by_heartbeats(Clock::time_point now) {
  external_ = false;
  for (auto& [node, peer] : peers_)
    if (peer.state == PeerState::kAlive)
      for (auto& [path, w] : peer.paths) w.heard(now);
}

std::vector<Transition> PeerTable::declare_alive(const std::string& node) {
  auto it = peers_.find(node);
  if (it == peers_.end() || it->second.state == PeerState::kAlive ||
      it->second.state == PeerState::kStopped)
    return {};
  it->second.state = PeerState::kAlive;
  return {{Transition::Kind::kNodeAlive, node, ""}};
}

std::vector<Transition> PeerTable::declare_stale(const std::string& node) {
  auto it = peers_.find(node);
  if (it == peers_.end() || it->second.state != PeerState::kAlive) return {};
  std::vector<Transition> out;
  for (auto& [path, w] : it->second.paths)
    if (w.mark_stale()) out.push_back({Transition::Kind::kHeartbeatStale, node, path});
  it->second.state = PeerState::kStale;
  out.push_back({Transition::Kind::kNodeStale, node, ""});
  return out;
}

std::vector<Transition> PeerTable::check(Clock::time_point now) {
  std::vector<Transition> out;
  if (external_) return out;
  std::vector<Transition> nodes;
  for (auto& [node, peer] : peers_) {
    bool any_alive = false;
    for (auto& [path, w] : peer.paths) {
      if (w.check(now)) out.push_back({Transition::Kind::kHeartbeatStale, node, path});
      if (w.state() == PeerState::kAlive) any_alive = true;
    }
    if (peer.state == PeerState::kAlive && !any_alive) {
      peer.state = PeerState::kStale;
      nodes.push_back({Transition::Kind::kNodeStale, node, ""});
    }
  }
  out.insert(out.end(), nodes.begin(), nodes.end());
  return out;
}

void PeerTable::add(const std::string& node, const std::vector<PathSpec>& paths) {
  Peer& peer = peers_[node];
  std::map<std::string, PathWatcher> kept;
  for (const auto& p : paths) {
    auto it = peer.paths.find(p.id);
    auto& w = kept.emplace(p.id, it != peer.paths.end() ? it->second : PathWatcher(p.timeout))
                  .first->second;
    w.set_timeout(p.timeout);
  }
  peer.paths = std::move(kept);
}

void PeerTable::remove(const std::string& node) { peers_.erase(node); }

void PeerTable::credit(Duration stall, Clock::time_point now) {
  for (auto& [node, peer] : peers_)
    for (auto& [path, w] : peer.paths) w.credit(stall, now);
}

PeerState PeerTable::state(const std::string& node) const {
  auto it = peers_.find(node);
  return it == peers_.end() ? PeerState::kUnknown : it->second.state;
}

const PathWatcher* PeerTable::watcher(const std::string& node, const std::string& path) const {
  auto it = peers_.find(node);
  if (it == peers_.end()) return nullptr;
  auto w = it->second.paths.find(path);
  return w == it->second.paths.end() ? nullptr : &w->second;
}

std::optional<PeerState> PeerTable::path_state(const std::string& node,
                                               const std::string& path) const {
  const PathWatcher* w = watcher(node, path);
  if (!w) return std::nullopt;
  return w->state();
}

std::vector<std::string> PeerTable::peers() const {
  std::vector<std::string> out;
  for (const auto& [node, peer] : peers_) out.push_back(node);
  return out;
}

std::vector<std::string> PeerTable::paths_of(const std::string& node) const {
  std::vector<std::string> out;
  auto it = peers_.find(node);
  if (it != peers_.end())
    for (const auto& [path, w] : it->second.paths) out.push_back(path);
  return out;
}

std::set<std::string> PeerTable::alive() const {
  std::set<std::string> out;
  for (const auto& [node, peer] : peers_)
    if (peer.state == PeerState::kAlive) out.insert(node);
  return out;
}

}  // namespace vigil::membership
