#include "agent/engine/gossip_mode.h"

#include <algorithm>
#include <utility>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "agent/engine/status_before.h"

namespace vigil::agent {

namespace asio = boost::asio;
using json = nlohmann::json;
using membership::Swim;
using membership::SwimMessage;
using membership::SwimUpdate;

namespace {

heartbeat::SwimPart to_wire(const SwimMessage& m) {
  heartbeat::SwimPart p{
      .ping = m.ping, .ack = m.ack, .nack = m.nack, .ping_req = {}, .updates = {}};
  if (m.ping_req) p.ping_req = heartbeat::SwimPart::PingReq{m.ping_req->seq, m.ping_req->target};
  if (m.heard) p.heard = heartbeat::SwimPart::Heard{m.heard->list, m.heard->bits};
  for (const auto& u : m.updates)
    p.updates.push_back({static_cast<uint8_t>(u.kind), u.node, u.incarnation, u.from});
  return p;
}

SwimMessage from_wire(const heartbeat::SwimPart& p) {
  SwimMessage m{.ping = p.ping, .ack = p.ack, .nack = p.nack, .ping_req = {}, .updates = {}};
  if (p.ping_req) m.ping_req = SwimMessage::PingReq{p.ping_req->seq, p.ping_req->target};
  if (p.heard) m.heard = SwimMessage::Heard{p.heard->list, p.heard->bits};
  for (const auto& u : p.updates)
    m.updates.push_back({static_cast<SwimUpdate::Kind>(u.kind), u.node, u.incarnation, u.from});
  return m;
}

// Relayed deltas wait in the broadcast queue as encoded messages.
std::string pack_delta(const heartbeat::RelayedDelta& d) {
  heartbeat::Message m;
  m.relayed.push_back(d);
  auto bytes = heartbeat::encode(m);
  return std::string(bytes.begin(), bytes.end());
}

std::optional<heartbeat::RelayedDelta> unpack_delta(const std::string& s) {
  try {
    auto m = heartbeat::decode(std::span(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
    if (m.relayed.size() == 1) return std::move(m.relayed[0]);
  } catch (const heartbeat::DecodeError&) {
  }
  return std::nullopt;
}

std::string delta_key(const heartbeat::RelayedDelta& d) {
  return d.writer + "/" + std::to_string(d.boot) + "/" + std::to_string(d.gen);
}

}  // namespace

GossipMode::GossipMode(asio::io_context& io, std::string self, uint64_t boot, milliseconds interval,
                       milliseconds timeout, const std::vector<std::string>& members,
                       membership::Replicator& replicator, Hooks hooks)
    : io_(io),
      self_(std::move(self)),
      boot_(boot),
      replicator_(replicator),
      hooks_(std::move(hooks)),
      swim_(self_, Swim::options_for(interval, timeout, members.size()), boot, boot),
      fanout_(Swim::options_for(interval, timeout, members.size()).gossip_fanout),
      rng_(boot),
      timer_(io),
      interval_(interval) {
  const auto now = Clock::now();
  for (const auto& m : members)
    if (m != self_) {
      swim_.add(m, now);
      members_.push_back(m);
    }
}

GossipMode::~GossipMode() { stop(); }

void GossipMode::start() {
  running_ = true;
  const auto now = Clock::now();
  next_gossip_ = now;
  next_anti_entropy_ = now;
  next_reconnect_ = now + kReconnectInterval;
  run();
}

void GossipMode::stop() {
  running_ = false;
  timer_.cancel();
}

void GossipMode::add(const std::string& member) {
  if (member == self_ || std::find(members_.begin(), members_.end(), member) != members_.end())
    return;
  swim_.add(member, Clock::now());
  members_.push_back(member);
}

void GossipMode::remove(const std::string& member) {
  swim_.remove(member);
  std::erase(members_, member);
}

void GossipMode::credit(milliseconds stall) { swim_.credit(stall); }

void GossipMode::committed(uint64_t gen, const json& ops) {
  heartbeat::RelayedDelta d{.writer = self_, .boot = boot_, .gen = gen, .ops = ops};
  deltas_.queue(delta_key(d), pack_delta(d), true);
  replicator_.trim_journal();
  send_swim(swim_.gossip(true));
}

void GossipMode::receive(const std::string& sender, const heartbeat::Message& msg) {
  if (std::find(members_.begin(), members_.end(), sender) == members_.end()) return;
  bool fresh = false;
  for (const auto& d : msg.relayed) {
    StatusBefore before;
    if (const auto current = replicator_.shown(d.writer); current.refused)
      before.full(current.document);  // it may show as a full
    else
      before.delta(current.document, d.ops);
    auto r = replicator_.relayed(d);
    if (r.fresh) {
      deltas_.queue(delta_key(d), pack_delta(d), true);  // relayed on, unchanged
      fresh = true;
    }
    if (r.changed() || r.refused) hooks_.document(d.writer, before, r);
  }
  // A change new here goes on at once, not at the next gossip round: each
  // hop then costs a network latency, not up to a gossip interval.
  if (fresh && Clock::now() >= next_relay_) {
    next_relay_ = Clock::now() + kRelaySpacing;
    send_swim(swim_.gossip(true));
  }
  for (const auto& f : msg.relayed_full) {
    StatusBefore before;
    before.full(replicator_.document(f.writer));
    auto r = replicator_.relayed_full(f);
    if (r.changed() || r.refused) hooks_.document(f.writer, before, r);
  }
  if (msg.versions) {
    answer_versions(sender, msg);
  } else if (msg.versions_digest && Clock::now() >= next_pull_ &&
             *msg.versions_digest != heartbeat::digest(replicator_.versions(boot_))) {
    pull(sender);  // it holds other versions: push-pull with it
  }
  send_swim(swim_.receive(sender, msg.swim ? from_wire(*msg.swim) : SwimMessage{}, Clock::now()));
  // The sender holds this node suspect or dead: answer it with this node's
  // alive at once (SWIM refuted it, or had already, with a higher
  // incarnation that the sender has not heard of: a member that came back
  // after being declared dead is never probed by those who declared it).
  if (msg.swim && std::any_of(msg.swim->updates.begin(), msg.swim->updates.end(),
                              [&](const auto& u) { return u.node == self_ && u.kind != 0; })) {
    heartbeat::Message alive = hooks_.base();
    alive.swim = heartbeat::SwimPart{};
    // Sent as a refutation (`from` set): a receiver that knew this node
    // only by digest must not take it for a first announcement, or a later
    // accusation of "any incarnation" (0) would be pinned on this one, which
    // no alive of the same incarnation can refute (a false NodeStale under
    // loss, docs/BENCHMARKS.md).
    alive.swim->updates.push_back({0, self_, swim_.incarnation(), self_});
    send(sender, std::move(alive));
  }
  take_transitions();
  arm();
}

void GossipMode::answer_versions(const std::string& sender, const heartbeat::Message& msg) {
  heartbeat::Message answer = hooks_.base();
  std::size_t used = 0;
  for (const auto& node : replicator_.newer_than(*msg.versions, boot_)) {
    if (node == sender) continue;  // it knows its own document best
    auto full = replicator_.full_of(node, boot_);
    if (!full) continue;
    const std::size_t size = full->doc.dump().size();
    if (used > 0 && used + size > kFullBudget) break;
    used += size;
    answer.relayed_full.push_back(std::move(*full));
  }
  // A request also pulls: when the sender holds newer documents, send our
  // versions back so that it answers with them.
  if (msg.versions_request && replicator_.older_than(*msg.versions, boot_))
    answer.versions = replicator_.versions(boot_);
  if (!answer.relayed_full.empty() || answer.versions) send(sender, std::move(answer));
}

void GossipMode::anti_entropy() {
  std::vector<std::string> alive;
  for (const auto& m : members_)
    if (swim_.state(m) == membership::PeerState::kAlive) alive.push_back(m);
  if (alive.empty()) return;
  pull(alive[std::uniform_int_distribution<std::size_t>(0, alive.size() - 1)(rng_)]);
}

void GossipMode::pull(const std::string& peer) {
  heartbeat::Message msg = hooks_.base();
  msg.versions = replicator_.versions(boot_);
  msg.versions_request = true;
  next_pull_ = Clock::now() + kAntiEntropyFast;
  send(peer, std::move(msg));
}

void GossipMode::reconnect() {
  std::vector<std::string> dead;
  for (const auto& m : members_)
    if (swim_.state(m) == membership::PeerState::kStale) dead.push_back(m);
  if (dead.empty()) return;
  const auto& peer = dead[std::uniform_int_distribution<std::size_t>(0, dead.size() - 1)(rng_)];
  heartbeat::Message msg = hooks_.base();
  msg.swim = heartbeat::SwimPart{};
  msg.swim->updates.push_back({0, self_, swim_.incarnation(), ""});
  send(peer, std::move(msg));
}

void GossipMode::send(const std::string& to, heartbeat::Message msg) {
  if (!msg.versions) msg.versions_digest = heartbeat::digest(replicator_.versions(boot_));
  for (const auto& text : deltas_.take(kDeltaBudget, members_.size() + 1))
    if (auto d = unpack_delta(text)) msg.relayed.push_back(std::move(*d));
  ++messages_;
  bytes_ += hooks_.send(to, msg);
}

void GossipMode::send_swim(std::vector<Swim::Out> outs) {
  for (auto& o : outs) {
    heartbeat::Message msg = hooks_.base();
    msg.swim = to_wire(o.msg);
    send(o.to, std::move(msg));
  }
}

void GossipMode::take_transitions() {
  auto t = swim_.take_transitions();
  if (!t.empty()) hooks_.transitions(t);
}

void GossipMode::run() {
  if (!running_) return;
  const auto now = Clock::now();
  send_swim(swim_.tick(now));
  if (now >= next_gossip_) {
    send_swim(swim_.gossip(deltas_.pending() > 0));
    next_gossip_ = now + kGossipInterval;
  }
  if (now >= next_anti_entropy_) {
    // Pull while a member not declared dead has no document here; otherwise
    // the digest on every message finds what differs (receive()).
    const auto versions = replicator_.versions(boot_);
    for (const auto& m : members_)
      if (swim_.state(m) != membership::PeerState::kStale &&
          (!versions.contains(m) || versions.at(m).gen == 0)) {
        anti_entropy();
        break;
      }
    next_anti_entropy_ = now + kAntiEntropyFast;
  }
  if (now >= next_reconnect_) {
    reconnect();
    next_reconnect_ = now + kReconnectInterval;
  }
  take_transitions();
  if (window_.empty() || now - window_.back().at >= std::chrono::seconds(1)) {
    window_.push_back({now, messages_, bytes_});
    if (window_.size() > 11) window_.erase(window_.begin());
  }
  armed_at_ = Clock::time_point::max();
  arm();
}

void GossipMode::arm() {
  if (!running_) return;
  const auto at =
      std::min({swim_.next_deadline(), next_gossip_, next_anti_entropy_, next_reconnect_});
  if (at >= armed_at_) return;
  armed_at_ = at;
  timer_.expires_at(at);
  timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) run();
  });
}

json GossipMode::status() const {
  double messages_per_s = 0, bytes_per_s = 0;
  if (window_.size() >= 2) {
    const auto& a = window_.front();
    const auto& b = window_.back();
    const double s = std::chrono::duration<double>(b.at - a.at).count();
    if (s > 0) {
      messages_per_s = static_cast<double>(b.messages - a.messages) / s;
      bytes_per_s = static_cast<double>(b.bytes - a.bytes) / s;
    }
  }
  return {{"mode", "gossip"},
          {"fanout", fanout_},
          {"probe_interval_ms", interval_.count()},
          {"sent", {{"messages", messages_}, {"bytes", bytes_}}},
          {"rate", {{"messages_per_s", messages_per_s}, {"bytes_per_s", bytes_per_s}}},
          {"pending_retransmits", swim_.pending_updates() + deltas_.pending()},
          {"awareness", swim_.awareness().score()},
          {"incarnation", swim_.incarnation()},
          {"alive", swim_.alive_count()}};
}

}  // namespace vigil::agent
