// The engine's side of the member list (engine.h: admit, forget, leave,
// members): merged changes applied to every part that knows the members
// (opener, peer table, replicator, key rotation, paths), the Join*, Leave*
// and ClusterConfigUpdated events, the farewell heartbeats to a member that
// left, and this node's own leave. The list itself and its anti-entropy are
// membership/member_list.h and member_sync.h.
#include "agent/engine/engine_impl.h"

#include <algorithm>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "agent/keys/keyring_file.h"

namespace vigil::agent {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

// A member that left is still sent heartbeats this long, so that it sees
// its leave acknowledged (MemberSync::agreed()).
constexpr milliseconds kFarewell{3000};

}  // namespace

void Engine::Impl::members_merged(const std::vector<std::string>& changed) {
  using State = membership::Member::State;
  save_cluster();
  const membership::Member* self = sync_.list().find(config_.node_name);
  if (!self || self->state != State::kMember) {
    // This node left: leave() ends when the peers agree. Otherwise another
    // node forgot it (it was thought dead): it goes standalone.
    if (!leaving_ && !removed_) {
      spdlog::warn("this node was removed from the member list by another node");
      removed_ = true;
      cb_.removed();
    }
    return;
  }
  const std::set<std::string> before(config_.nodes.begin(), config_.nodes.end());
  const auto before_hb = config_.hb;
  std::vector<std::string> removed;
  for (const auto& name : changed) {
    const auto* m = sync_.list().find(name);
    if (before.count(name) && m && m->state == State::kLeft) removed.push_back(name);
  }
  cb_.members_changed(cluster(), removed);  // config_ is the new member set from here on
  const std::set<std::string> after(config_.nodes.begin(), config_.nodes.end());
  std::vector<std::string> added;
  for (const auto& name : after)
    if (!before.count(name)) added.push_back(name);

  auto now = Clock::now();
  opener_.set_members(after);
  for (const auto& name : removed) {
    const bool was_alive = peers_.state(name) == membership::PeerState::kAlive;
    peers_.remove(name);
    replicator_.remove(name);
    sync_.drop_peer(name);
    webhooks_.drop_peer(name);
    if (gossip_) gossip_->remove(name);
    auto event = [&](const char* kind) {
      cb_.publish(Event{.kind = kind, .labels = {{"node", name}}, .data = {{"node", name}}});
    };
    if (was_alive) {
      // A leave: the node is alive and waits for our acknowledgement.
      spdlog::info("{} left the cluster", name);
      event("LeaveRequest");
      event("LeaveSuccess");
      for (const auto& hb : before_hb)
        if (auto it = hb.peers.find(name); it != hb.peers.end())
          farewell_[hb.id][name] = it->second;
      farewell_until_ = now + kFarewell;
    } else {
      spdlog::info("{} was removed from the member list", name);
    }
  }
  for (const auto& name : after) {
    if (name == config_.node_name) continue;
    peers_.add(name, path_specs_of(config_, name));  // new paths, or changed ones
    replicator_.add(name);
    if (gossip_) gossip_->add(name);
  }
  for (const auto& name : added) {
    spdlog::info("{} joined the cluster", name);
    cb_.publish(Event{.kind = "JoinSuccess", .labels = {{"node", name}}, .data = {{"node", name}}});
  }
  rotation_.set_peers(after);
  paths_.set_peers(config_, farewell_);
  update_mode();  // auto: mesh up to 32 members, gossip above
  // Gossip mode: a leaver waits for every member's new digest, and hears
  // from each only now and then: this node acknowledges at once.
  if (gossip_)
    for (const auto& name : removed)
      if (farewell_until_ > now) gossip_send(name, gossip_base());
  if (!added.empty() || !removed.empty())
    cb_.publish(Event{
        .kind = "ClusterConfigUpdated",
        .labels = {},
        .data = {{"nodes_added", added}, {"nodes_removed", removed}, {"nodes", config_.nodes}}});
  cb_.dataset_changed();
  send_soon();
}

void Engine::Impl::expire_farewells(Clock::time_point) {
  farewell_.clear();
  paths_.set_peers(config_);
}

void Engine::Impl::check_leave(Clock::time_point now) {
  const auto alive = peers_.alive();
  const bool agreed = sync_.agreed(alive);
  if (!agreed && now < leaving_->deadline) return;
  auto done = std::move(leaving_->done);
  const auto timeout = leaving_->timeout;
  leaving_.reset();
  Event e{.kind = agreed ? "LeaveSuccess" : "LeaveError",
          .labels = {{"node", config_.node_name}},
          .data = {{"node", config_.node_name}}};
  json answer;
  int status = 200;
  if (agreed) {
    answer = {{"acknowledged_by", alive}};
    spdlog::info("left the cluster: acknowledged by {} peer(s)", alive.size());
  } else {
    std::vector<std::string> missing;
    for (const auto& n : alive)
      if (!sync_.agreed({n})) missing.push_back(n);
    std::string names;
    for (const auto& n : missing) names += (names.empty() ? "" : ", ") + n;
    status = 504;
    answer = {{"error", "left, but the leave was not acknowledged by " + names + " within " +
                            std::to_string(timeout.count()) + " ms"}};
    e.data["reason"] = answer["error"];
    spdlog::warn("{}", answer["error"].get<std::string>());
  }
  cb_.publish(std::move(e));
  done(status, answer);
  if (!removed_) {
    removed_ = true;
    cb_.removed();
  }
}

void Engine::Impl::leave(milliseconds timeout, RotateDone done) {
  if (standalone(config_))
    return done(409, {{"error", "this node is standalone: it is no member of a cluster"}});
  if (leaving_) return done(409, {{"error", "a leave is in progress"}});
  const auto now = Clock::now();
  leaving_ = Leaving{.deadline = now + timeout, .timeout = timeout, .done = std::move(done)};
  spdlog::info("leaving the cluster (waiting up to {} ms for the alive peers)", timeout.count());
  cb_.publish(Event{.kind = "LeaveRequest",
                    .labels = {{"node", config_.node_name}},
                    .data = {{"node", config_.node_name}}});
  sync_.leave(config_.node_name, now);
  save_cluster();
  send_now();
}

std::pair<int, json> Engine::Impl::forget(const std::string& name) {
  using State = membership::Member::State;
  if (standalone(config_))
    return {409, {{"error", "this node is standalone: it is no member of a cluster"}}};
  if (name == config_.node_name)
    return {409, {{"error", "a node cannot forget itself: run `vigil cluster leave` on it"}}};
  const auto* m = sync_.list().find(name);
  if (!m || m->state != State::kMember) return {404, {{"error", "no member named " + name}}};
  for (const auto& path : peers_.paths_of(name))
    if (peers_.path_state(name, path) == membership::PeerState::kAlive)
      return {409,
              {{"error", name + " is alive on " + path +
                             ": stop it first, or run `vigil cluster leave` on it"}}};
  spdlog::info("forgetting {}", name);
  sync_.forget(name, Clock::now());
  members_merged({name});
  return {200, {{"node", name}, {"nodes", config_.nodes}}};
}

std::pair<int, json> Engine::Impl::admit(const std::string& name,
                                         const std::map<std::string, std::string>& paths) {
  using State = membership::Member::State;
  auto event = [&](const char* kind, const std::string& reason) {
    Event e{.kind = kind, .labels = {{"node", name}}, .data = {{"node", name}}};
    if (!reason.empty()) e.data["reason"] = reason;
    cb_.publish(std::move(e));
  };
  auto refuse = [&](const std::string& reason) -> std::pair<int, json> {
    spdlog::warn("join of {} refused: {}", name, reason);
    event("JoinError", reason);
    return {409, {{"error", reason}}};
  };
  event("JoinRequest", "");
  if (standalone(config_)) return refuse("this node is standalone: it is no member of a cluster");
  if (name == config_.node_name) return refuse("the name " + name + " is the seed's own");
  const auto* held = sync_.list().find(name);
  const bool member = held && held->state == State::kMember;
  if (member && held->paths == paths) {
    event("JoinIgnored", name + " is a member already, with these addresses");
  } else {
    if (member && peers_.state(name) == membership::PeerState::kAlive)
      return refuse("the name " + name + " is held by a live member with other addresses");
    spdlog::info("{} joins through this node", name);
    sync_.join(name, paths, Clock::now());
    members_merged({name});
  }
  json answer = to_json(ClusterFile{.cluster = config_.cluster_name,
                                    .members = sync_.list(),
                                    .settings = settings_of(config_),
                                    .webhooks = webhooks_.set()});
  answer["keyring"] = keyring_to_json(rotation_.stored());
  answer["seed"] = config_.node_name;
  return {200, std::move(answer)};
}

json Engine::Impl::members() const {
  json out = json::object();
  for (const auto& [name, m] : sync_.list().entries()) {
    std::string state = "left";
    if (m.state == membership::Member::State::kMember)
      state = name == config_.node_name ? "alive" : std::string(to_string(peers_.state(name)));
    out[name] = {{"paths", m.paths}, {"state", state}, {"ltime", m.ltime}};
  }
  return out;
}

}  // namespace vigil::agent
