#include "membership/swim.h"

#include <algorithm>
#include <cmath>
#include <set>

namespace vigil::membership {

namespace {

char kind_char(SwimUpdate::Kind k) {
  return k == SwimUpdate::Kind::kAlive ? 'a' : k == SwimUpdate::Kind::kSuspect ? 's' : 'd';
}

}  // namespace

std::string Swim::encode(const SwimUpdate& u) {
  return std::string(1, kind_char(u.kind)) + std::to_string(u.incarnation) + "\n" + u.node + "\n" +
         u.from;
}

std::optional<SwimUpdate> Swim::decode(const std::string& text) {
  const auto a = text.find('\n');
  if (text.empty() || a == std::string::npos) return std::nullopt;
  const auto b = text.find('\n', a + 1);
  if (b == std::string::npos || a < 2 || a > 21) return std::nullopt;
  SwimUpdate u;
  switch (text[0]) {
    case 'a':
      u.kind = SwimUpdate::Kind::kAlive;
      break;
    case 's':
      u.kind = SwimUpdate::Kind::kSuspect;
      break;
    case 'd':
      u.kind = SwimUpdate::Kind::kDead;
      break;
    default:
      return std::nullopt;
  }
  uint64_t inc = 0;
  for (std::size_t i = 1; i < a; ++i) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
    if (inc > (UINT64_MAX - 9) / 10) return std::nullopt;
    inc = inc * 10 + static_cast<uint64_t>(text[i] - '0');
  }
  u.incarnation = inc;
  u.node = text.substr(a + 1, b - a - 1);
  u.from = text.substr(b + 1);
  if (u.node.empty()) return std::nullopt;
  return u;
}

Swim::Options Swim::options_for(Duration interval, Duration timeout, std::size_t members) {
  Options o;
  o.probe_interval = std::max(Duration(1), interval);
  o.probe_timeout = std::max(Duration(1), o.probe_interval / 2);
  // The mapping and its reasons: swim.h.
  const double n = static_cast<double>(std::max<std::size_t>(members, 10));
  const double min_ms = static_cast<double>(timeout.count()) * std::log10(n) / 4;
  o.suspicion_min = std::max(
      {2 * o.probe_interval, timeout - o.probe_interval, Duration(static_cast<int64_t>(min_ms))});
  o.suspicion_max = 6 * o.suspicion_min;
  o.indirect_checks = 3;
  o.gossip_fanout = 3;
  o.retransmit_mult = 4;
  o.heard_digests = true;
  return o;
}

Swim::Swim(std::string self, Options options, uint64_t seed, uint64_t incarnation)
    : self_(std::move(self)),
      options_(options),
      incarnation_(incarnation),
      first_incarnation_(incarnation),
      schedule_(seed),
      rng_(seed ^ 0x9e3779b97f4a7c15ull),
      awareness_(options.awareness_max),
      broadcasts_(options.retransmit_mult) {
  spread({SwimUpdate::Kind::kAlive, self_, incarnation_, ""}, false);
}

void Swim::add(const std::string& member, Clock::time_point now) {
  if (member == self_ || members_.count(member)) return;
  members_.emplace(member, Member{});
  ++unheard_;
  order_dirty_ = true;
  digest_skip_ = digest_wait_ = 0;
  schedule_.add(member);
  if (members_.size() == 1) next_probe_ = now;
}

void Swim::remove(const std::string& member) {
  auto it = members_.find(member);
  if (it == members_.end()) return;
  if (!it->second.heard) --unheard_;
  members_.erase(it);
  order_dirty_ = true;
  suspicions_.erase(member);
  schedule_.remove(member);
  broadcasts_.drop(member);
  if (probe_ && probe_->target == member) probe_.reset();
}

PeerState Swim::state(const std::string& member) const {
  auto it = members_.find(member);
  if (it == members_.end() || !it->second.heard) return PeerState::kUnknown;
  switch (it->second.state) {
    case State::kAlive:
    case State::kSuspect:  // suspected is still alive until the suspicion times out
      return PeerState::kAlive;
    case State::kDead:
      return PeerState::kStale;
  }
  return PeerState::kUnknown;
}

std::size_t Swim::alive_count() const {
  return static_cast<std::size_t>(std::count_if(
      members_.begin(), members_.end(),
      [](const auto& m) { return m.second.heard && m.second.state == State::kAlive; }));
}

std::vector<Transition> Swim::take_transitions() {
  std::vector<Transition> out;
  out.swap(transitions_);
  return out;
}

std::size_t Swim::expected_confirmations() const {
  // Lifeguard: K is the number of indirect checks, bounded by who could
  // confirm at all (every member but this one and the suspect).
  const std::size_t others = members_.size() > 1 ? members_.size() - 1 : 0;
  return std::min(options_.indirect_checks, others);
}

void Swim::spread(SwimUpdate u, bool urgent) {
  const std::string key = u.node;
  // A refutation missed by one member that suspects makes a false
  // NodeStale there: it goes out twice as many times (refutations are rare).
  const bool refutation = u.kind == SwimUpdate::Kind::kAlive && !u.from.empty();
  broadcasts_.queue(key, encode(u), urgent, refutation ? 2 : 1);
}

void Swim::heard(const std::string& member) {
  auto it = members_.find(member);
  if (it == members_.end()) return;
  mark_heard(member, it->second);
}

void Swim::mark_heard(const std::string& name, Member& m) {
  if (m.heard) return;
  m.heard = true;
  --unheard_;
  transitions_.push_back({Transition::Kind::kNodeAlive, name, ""});
  // Dead before this node heard of it (its death came first): it was alive
  // and is not any more.
  if (m.state == State::kDead) transitions_.push_back({Transition::Kind::kNodeStale, name, ""});
}

void Swim::declare_dead(const std::string& name, Member& m) {
  m.state = State::kDead;
  suspicions_.erase(name);
  schedule_.remove(name);
  if (m.heard) transitions_.push_back({Transition::Kind::kNodeStale, name, ""});
}

void Swim::suspect(const std::string& member, Clock::time_point now) {
  Member& m = members_.at(member);
  if (!m.heard || m.state == State::kDead) return;  // never heard: never suspected here
  if (m.state == State::kSuspect) {
    // Suspected already (by another member): this failed probe confirms it
    // (as memberlist does), which shortens the timeout everywhere.
    auto s = suspicions_.find(member);
    if (s != suspicions_.end() && s->second.confirm(self_))
      spread({SwimUpdate::Kind::kSuspect, member, m.incarnation, self_}, true);
    return;
  }
  m.state = State::kSuspect;
  suspicions_.insert_or_assign(member,
                               Suspicion(self_, expected_confirmations(), options_.suspicion_min,
                                         options_.suspicion_max, now));
  spread({SwimUpdate::Kind::kSuspect, member, m.incarnation, self_}, true);
}

void Swim::confirm_soon(const std::string& name, const Member& m) {
  // A real failure is confirmed by the next K members that probe it; in
  // the round-robin order that is about one per protocol period in the
  // whole cluster, so K confirmations take K periods or more (the slow
  // tail of detection). About 2K of the members that learn of a suspicion
  // probe the suspect next instead: K confirmations within about a period,
  // and a suspect (maybe alive) gets some 2K extra pings, not N.
  if (!m.heard || (probe_ && probe_->target == name)) return;
  const double k = static_cast<double>(2 * std::max<std::size_t>(1, options_.indirect_checks));
  const double p =
      std::min(1.0, k / static_cast<double>(std::max<std::size_t>(1, members_.size())));
  if (std::bernoulli_distribution(p)(rng_)) schedule_.probe_next(name);
}

void Swim::refute(uint64_t accused) {
  // Incarnation 0: the accuser knew none of this node's; it means the first.
  if (accused == 0 && incarnation_ == first_incarnation_) accused = incarnation_;
  if (accused < incarnation_) {
    // An accusation of an older incarnation (its accuser never heard the
    // current one, or heard of this node only by digest): the current alive
    // refutes it; no need for a new incarnation.
    spread({SwimUpdate::Kind::kAlive, self_, incarnation_, self_}, true);
    return;
  }
  incarnation_ = accused + 1;
  awareness_.apply(1);  // being suspected hints at a local problem (Lifeguard IV-A)
  spread({SwimUpdate::Kind::kAlive, self_, incarnation_, self_}, true);
}

void Swim::apply(const SwimUpdate& u, Clock::time_point now) {
  if (u.node == self_) {
    if (u.kind != SwimUpdate::Kind::kAlive) refute(u.incarnation);
    return;
  }
  auto it = members_.find(u.node);
  if (it == members_.end()) return;  // not a member here (yet)
  Member& m = it->second;
  // A suspicion or death at incarnation 0 comes from a member that heard of
  // this one only by digest: it accuses the first incarnation, whichever.
  const uint64_t inc = u.incarnation == 0 && m.first && u.kind != SwimUpdate::Kind::kAlive
                           ? m.incarnation
                           : u.incarnation;
  const bool newer = inc > m.incarnation;
  const bool same = inc == m.incarnation;
  switch (u.kind) {
    case SwimUpdate::Kind::kAlive:
      if (!newer) {
        // Its own alive, at an incarnation already known here: it is heard
        // now (a suspicion or death that came first keeps its state).
        if (same) mark_heard(u.node, m);
        return;
      }
      {
        // An alive that ends a suspicion or a death is as urgent as they
        // were; a refutation (`from` set) or one that replaces a known
        // incarnation (a restart) is news. A member's first announcement is
        // not spread on with heard digests: in a cold start every node
        // would relay every other's (N^2 log N updates); digests do that
        // job (swim.h).
        const bool urgent = m.state == State::kSuspect || m.state == State::kDead;
        const bool news = urgent || m.incarnation != 0 || !u.from.empty();
        if (news) m.first = false;
        if (news || !options_.heard_digests) spread(u, urgent);
      }
      m.incarnation = u.incarnation;
      suspicions_.erase(u.node);
      if (m.state == State::kDead) {
        schedule_.add(u.node);
        if (m.heard) transitions_.push_back({Transition::Kind::kNodeAlive, u.node, ""});
      }
      m.state = State::kAlive;
      mark_heard(u.node, m);
      return;
    case SwimUpdate::Kind::kSuspect:
      // A member not heard here yet is suspected all the same (silently):
      // if its alive comes later, the suspicion is already under way.
      if (m.state == State::kDead) return;
      if (m.state == State::kSuspect && same) {
        auto s = suspicions_.find(u.node);
        if (s != suspicions_.end() && s->second.confirm(u.from)) spread(u, true);
        return;
      }
      if (!newer && !(same && m.state == State::kAlive)) return;
      m.incarnation = inc;
      m.state = State::kSuspect;
      confirm_soon(u.node, m);
      suspicions_.insert_or_assign(
          u.node, Suspicion(u.from, expected_confirmations(), options_.suspicion_min,
                            options_.suspicion_max, now));
      spread(u, true);
      return;
    case SwimUpdate::Kind::kDead:
      if (m.state == State::kDead || inc < m.incarnation) return;
      // Never heard here: dead all the same, but no NodeStale until its own
      // alive (at this incarnation) or a message from it is heard.
      m.incarnation = inc;
      declare_dead(u.node, m);
      spread(u, true);
      return;
  }
}

std::vector<Swim::Out> Swim::with_updates(std::vector<Out> out) {
  for (auto& o : out) {
    for (const auto& text : broadcasts_.take(options_.update_budget, members_.size() + 1))
      if (auto u = decode(text)) o.msg.updates.push_back(std::move(*u));
  }
  return out;
}

std::vector<Swim::Out> Swim::tick(Clock::time_point now) {
  std::vector<Out> out;
  // The end of the probe period.
  if (probe_ && now >= probe_->start + awareness_.scale(options_.probe_interval)) {
    if (probe_->acked) {
      awareness_.apply(-1);
    } else {
      // Nacks expected but not received: the fault may be ours (Lifeguard).
      if (probe_->nacks < probe_->nacks_expected)
        awareness_.apply(static_cast<int>(probe_->nacks_expected - probe_->nacks));
      if (members_.count(probe_->target)) suspect(probe_->target, now);
    }
    probe_.reset();
  }
  // Indirect checks.
  if (probe_ && !probe_->acked && !probe_->indirect_sent &&
      now >= probe_->start + awareness_.scale(options_.probe_timeout)) {
    probe_->indirect_sent = true;
    const std::string& target = probe_->target;
    auto excluded = [this, &target](const std::string& name) {
      if (name == target) return true;
      auto it = members_.find(name);
      return it == members_.end() || !it->second.heard || it->second.state != State::kAlive;
    };
    for (const auto& helper : schedule_.pick_if_not(options_.indirect_checks, excluded)) {
      SwimMessage msg;
      msg.ping_req = SwimMessage::PingReq{probe_->seq, probe_->target};
      out.push_back({helper, std::move(msg)});
      ++probe_->nacks_expected;
    }
  }
  // The next probe.
  if (!probe_ && now >= next_probe_) {
    if (auto target = schedule_.next()) {
      probe_ = Probe{.target = *target, .seq = ++seq_, .start = now};
      SwimMessage msg;
      msg.ping = probe_->seq;
      // Lifeguard's buddy system (IV-C; memberlist does it too): a suspect
      // learns of its suspicion from the ping itself, and refutes at once
      // (its ack carries the refutation: urgent updates go first).
      if (auto m = members_.find(*target);
          m != members_.end() && m->second.state == State::kSuspect)
        msg.updates.push_back({SwimUpdate::Kind::kSuspect, *target, m->second.incarnation, self_});
      // Members not heard yet: ask for the target's digest with ours.
      if (options_.heard_digests && unheard_ > 0 && digest_wait_-- == 0) {
        msg.heard = digest();
        digest_wait_ = digest_skip_;
      }
      out.push_back({*target, std::move(msg)});
    }
    next_probe_ = now + awareness_.scale(options_.probe_interval);
  }
  // Relayed probes that got no ack: nack to the requester.
  for (auto it = relays_.begin(); it != relays_.end();) {
    if (now < it->second.deadline) {
      ++it;
      continue;
    }
    SwimMessage msg;
    msg.nack = it->second.seq;
    out.push_back({it->second.requester, std::move(msg)});
    it = relays_.erase(it);
  }
  // Suspicions that timed out.
  for (auto it = suspicions_.begin(); it != suspicions_.end();) {
    if (now < it->second.deadline()) {
      ++it;
      continue;
    }
    const std::string name = it->first;
    it = suspicions_.erase(it);
    Member& m = members_.at(name);
    declare_dead(name, m);
    spread({SwimUpdate::Kind::kDead, name, m.incarnation, self_}, true);
  }
  return with_updates(std::move(out));
}

std::vector<Swim::Out> Swim::gossip(bool force) {
  std::vector<Out> out;
  if (!force && broadcasts_.pending() == 0) return out;
  for (auto& target :
       schedule_.pick_if_not(options_.gossip_fanout, [](const std::string&) { return false; }))
    out.push_back({std::move(target), SwimMessage{}});
  out = with_updates(std::move(out));
  if (!force) std::erase_if(out, [](const Out& o) { return o.msg.updates.empty(); });
  return out;
}

std::vector<Swim::Out> Swim::receive(const std::string& from, const SwimMessage& msg,
                                     Clock::time_point now) {
  std::vector<Out> out;
  auto sender = members_.find(from);
  if (sender == members_.end()) return out;
  if (sender->second.state == State::kDead) {
    // It is dead here but talks: tell it, so that it refutes (its update
    // may have left every broadcast queue by now).
    SwimMessage tell;
    tell.updates.push_back({SwimUpdate::Kind::kDead, from, sender->second.incarnation, self_});
    out.push_back({from, std::move(tell)});
  }
  heard(from);
  for (const auto& u : msg.updates) apply(u, now);
  bool lacks = false;
  if (msg.heard) {
    // Learning nothing new doubles the probes between two digests (up to
    // 64): a member that never runs costs little; learning resets it.
    if (merge(*msg.heard, lacks))
      digest_skip_ = digest_wait_ = 0;
    else if (msg.ack)
      digest_skip_ = std::min(2 * digest_skip_ + 1, 63u);
  }
  if (msg.ping) {
    SwimMessage ack;
    ack.ack = *msg.ping;
    // Suspected here but probing: tell it, as the buddy system does.
    if (sender->second.state == State::kSuspect)
      ack.updates.push_back({SwimUpdate::Kind::kSuspect, from, sender->second.incarnation, self_});
    if (lacks) ack.heard = digest();
    out.push_back({from, std::move(ack)});
  }
  if (msg.ping_req) {
    if (msg.ping_req->target == self_) {
      SwimMessage ack;
      ack.ack = msg.ping_req->seq;
      out.push_back({from, std::move(ack)});
    } else if (members_.count(msg.ping_req->target)) {
      const uint32_t seq = ++seq_;
      // Nack at 4/5 of the probe timeout: the requester sent this at its
      // probe timeout and ends its period one more probe timeout later (at
      // options_for's ratio), so a nack at the full timeout would come
      // after it, and count as missing (raising its awareness score).
      relays_[seq] = Relay{from, msg.ping_req->seq, now + options_.probe_timeout * 4 / 5};
      SwimMessage ping;
      ping.ping = seq;
      out.push_back({msg.ping_req->target, std::move(ping)});
    }
  }
  if (msg.ack) {
    if (auto r = relays_.find(*msg.ack); r != relays_.end()) {
      SwimMessage ack;
      ack.ack = r->second.seq;
      out.push_back({r->second.requester, std::move(ack)});
      relays_.erase(r);
    } else if (probe_ && probe_->seq == *msg.ack) {
      probe_->acked = true;
      heard(probe_->target);
    }
  }
  if (msg.nack && probe_ && probe_->seq == *msg.nack) ++probe_->nacks;
  return with_updates(std::move(out));
}

void Swim::order() {
  if (!order_dirty_) return;
  order_dirty_ = false;
  order_.clear();
  order_.reserve(members_.size() + 1);
  for (auto& entry : members_) order_.push_back(&entry);
  order_.push_back(nullptr);
  auto name = [this](const MemberEntry* e) -> const std::string& { return e ? e->first : self_; };
  std::sort(order_.begin(), order_.end(),
            [&name](const MemberEntry* a, const MemberEntry* b) { return name(a) < name(b); });
  uint64_t h = 14695981039346656037ull;  // FNV-1a 64
  auto mix = [&h](unsigned char c) {
    h ^= c;
    h *= 1099511628211ull;
  };
  for (std::size_t i = 0; i < order_.size(); ++i) {
    if (order_[i])
      order_[i]->second.bit = static_cast<uint32_t>(i);
    else
      self_bit_ = i;
    for (unsigned char c : name(order_[i])) mix(c);
    mix('\n');
  }
  list_hash_ = h;
}

SwimMessage::Heard Swim::digest() {
  order();
  SwimMessage::Heard d;
  d.list = list_hash_;
  d.bits.assign((order_.size() + 7) / 8, '\0');
  for (std::size_t i = 0; i < order_.size(); ++i)
    if (!order_[i] || order_[i]->second.heard) d.bits[i / 8] |= static_cast<char>(1u << (i % 8));
  return d;
}

bool Swim::merge(const SwimMessage::Heard& h, bool& lacks) {
  order();
  if (h.list != list_hash_ || h.bits.size() != (order_.size() + 7) / 8) return false;
  bool learned = false;
  for (std::size_t i = 0; i < order_.size(); ++i) {
    const bool theirs = (static_cast<unsigned char>(h.bits[i / 8]) >> (i % 8)) & 1u;
    MemberEntry* e = order_[i];
    if (!e) continue;
    if (theirs && !e->second.heard) {
      mark_heard(e->first, e->second);
      learned = true;
    } else if (!theirs && e->second.heard) {
      lacks = true;
    }
  }
  return learned;
}

Swim::Clock::time_point Swim::next_deadline() const {
  auto at = next_probe_;
  if (probe_) {
    at = std::min(at, probe_->start + awareness_.scale(options_.probe_interval));
    if (!probe_->acked && !probe_->indirect_sent)
      at = std::min(at, probe_->start + awareness_.scale(options_.probe_timeout));
  }
  for (const auto& [seq, r] : relays_) at = std::min(at, r.deadline);
  for (const auto& [name, s] : suspicions_) at = std::min(at, s.deadline());
  return at;
}

void Swim::credit(Duration stall) {
  if (stall <= Duration::zero()) return;
  if (probe_) probe_->start += stall;
  next_probe_ += stall;
  for (auto& [seq, r] : relays_) r.deadline += stall;
  for (auto& [name, s] : suspicions_) s.extend(stall);
}

}  // namespace vigil::membership
