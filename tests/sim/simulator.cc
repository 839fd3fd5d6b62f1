#include "tests/sim/simulator.h"

#include <algorithm>

namespace vigil::sim {

using membership::Swim;
using membership::SwimMessage;
using membership::Transition;

std::size_t estimated_bytes(const SwimMessage& msg, const std::string& sender) {
  // Envelope: msgpack header (magic, version, cluster id, sender, key
  // version, boot, seq, send time, msg id, fragment index and count, 24-byte
  // nonce) ~ 86 bytes plus the name, and the 16-byte tag; the message map.
  std::size_t n = 86 + sender.size() + 16 + 8;
  if (msg.ping) n += 8;
  if (msg.ack) n += 8;
  if (msg.nack) n += 8;
  if (msg.ping_req) n += 12 + msg.ping_req->target.size();
  if (!msg.updates.empty()) n += 4;
  for (const auto& u : msg.updates) n += Swim::encode(u).size() + 3;
  if (msg.heard) n += 12 + msg.heard->bits.size();
  return n;
}

Simulator::Simulator(Options options) : options_(options), rng_(options.seed) {
  for (std::size_t i = 0; i < options_.nodes; ++i) {
    names_.push_back("n" + std::to_string(i + 1));
    index_[names_.back()] = i;
  }
  for (std::size_t i = 0; i < options_.nodes; ++i) {
    nodes_.emplace_back(names_[i], options_.swim, options_.seed * 7919 + i, 1);
    for (const auto& other : names_) nodes_.back().add(other, now_);
  }
  dead_.assign(options_.nodes, false);
  heard_.assign(options_.nodes, std::vector<bool>(options_.nodes, false));
  due_.assign(options_.nodes, Clock::time_point::max());
  // Nodes start within one probe interval of each other, not in lockstep.
  std::uniform_int_distribution<int64_t> jitter(0, options_.swim.probe_interval.count());
  for (std::size_t i = 0; i < options_.nodes; ++i) {
    due_[i] = now_ + Duration(jitter(rng_));
    timers_.push({due_[i], i});
  }
  if (options_.gossip_interval > Duration::zero()) {
    std::uniform_int_distribution<int64_t> start(0, options_.gossip_interval.count() - 1);
    for (std::size_t i = 0; i < options_.nodes; ++i)
      gossips_.push({now_ + Duration(start(rng_)), i});
  }
}

Duration Simulator::now() const { return std::chrono::duration_cast<Duration>(now_ - start_); }

bool Simulator::cut(std::size_t a, std::size_t b) const {
  if (side_.empty()) return false;
  return side_.count(names_[a]) != side_.count(names_[b]);
}

void Simulator::send(std::size_t from, std::vector<Swim::Out> outs) {
  std::uniform_int_distribution<int64_t> latency(options_.latency_min.count(),
                                                 options_.latency_max.count());
  std::uniform_real_distribution<double> chance(0, 1);
  for (auto& o : outs) {
    const std::size_t bytes = estimated_bytes(o.msg, names_[from]);
    ++stats_.messages;
    stats_.bytes += bytes;
    ++traffic_messages_;
    traffic_bytes_ += bytes;
    auto to = index_.find(o.to);
    if (to == index_.end()) continue;
    if (options_.loss > 0 && chance(rng_) < options_.loss) continue;
    deliveries_.push(
        {now_ + Duration(latency(rng_)), order_++, from, to->second, std::move(o.msg)});
  }
}

void Simulator::collect(std::size_t i) {
  for (const auto& t : nodes_[i].take_transitions()) {
    if (t.kind == Transition::Kind::kNodeAlive) {
      auto j = index_.find(t.node);
      if (j != index_.end() && !heard_[i][j->second]) {
        heard_[i][j->second] = true;
        const auto n = static_cast<uint64_t>(options_.nodes);
        if (++stats_.heard_pairs == n * (n - 1)) stats_.all_heard = now();
      }
    }
    if (t.kind != Transition::Kind::kNodeStale) continue;
    auto k = killed_at_.find(t.node);
    if (k == killed_at_.end()) {
      ++stats_.false_stale;
    } else {
      stats_.detections[t.node].push_back(std::chrono::duration_cast<Duration>(now_ - k->second));
    }
  }
}

void Simulator::schedule(std::size_t i) {
  // Never in the past: a node's deadline at `now` ran already.
  const auto at = std::max(nodes_[i].next_deadline(), now_ + Duration(1));
  if (at < due_[i]) {
    due_[i] = at;
    timers_.push({at, i});
  }
}

void Simulator::run_node(std::size_t i) {
  due_[i] = Clock::time_point::max();
  send(i, nodes_[i].tick(now_));
  collect(i);
  schedule(i);
}

void Simulator::run_until(Duration elapsed) {
  const auto end = start_ + elapsed;
  for (;;) {
    const auto next_delivery =
        deliveries_.empty() ? Clock::time_point::max() : deliveries_.top().at;
    while (!timers_.empty() &&
           (dead_[timers_.top().second] || timers_.top().first != due_[timers_.top().second]))
      timers_.pop();  // stale entries
    const auto next_timer = timers_.empty() ? Clock::time_point::max() : timers_.top().first;
    while (!gossips_.empty() && dead_[gossips_.top().second]) gossips_.pop();
    const auto next_gossip = gossips_.empty() ? Clock::time_point::max() : gossips_.top().first;
    const auto next = std::min({next_delivery, next_timer, next_gossip});
    if (next > end) break;
    now_ = std::max(now_, next);
    if (next_delivery <= next_timer && next_delivery <= next_gossip) {
      // top() is const: the message is moved out just before pop().
      Delivery d = std::move(const_cast<Delivery&>(deliveries_.top()));
      deliveries_.pop();
      if (dead_[d.to] || dead_[d.from] || cut(d.from, d.to)) continue;
      send(d.to, nodes_[d.to].receive(names_[d.from], d.msg, now_));
      collect(d.to);
      schedule(d.to);
    } else if (next_gossip < next_timer) {
      const std::size_t i = gossips_.top().second;
      gossips_.pop();
      gossips_.push({now_ + options_.gossip_interval, i});
      send(i, nodes_[i].gossip());
      schedule(i);
    } else {
      const std::size_t i = timers_.top().second;
      timers_.pop();
      run_node(i);
    }
  }
  now_ = end;
}

void Simulator::kill(const std::string& node) {
  const std::size_t i = index_.at(node);
  dead_[i] = true;
  killed_at_[node] = now_;
}

Simulator::Stats Simulator::stats() const {
  Stats s = stats_;
  for (const auto& [node, at] : killed_at_) {
    const std::size_t survivors =
        static_cast<std::size_t>(std::count(dead_.begin(), dead_.end(), false));
    const std::size_t seen = s.detections.count(node) ? s.detections.at(node).size() : 0;
    s.undetected[node] = survivors > seen ? survivors - seen : 0;
  }
  return s;
}

void Simulator::reset_traffic() {
  traffic_messages_ = traffic_bytes_ = 0;
  traffic_since_ = now_;
}

double Simulator::messages_per_node_second() const {
  const double s = std::chrono::duration<double>(now_ - traffic_since_).count();
  const auto alive = static_cast<double>(std::count(dead_.begin(), dead_.end(), false));
  return s > 0 && alive > 0 ? static_cast<double>(traffic_messages_) / alive / s : 0;
}

double Simulator::bytes_per_node_second() const {
  const double s = std::chrono::duration<double>(now_ - traffic_since_).count();
  const auto alive = static_cast<double>(std::count(dead_.begin(), dead_.end(), false));
  return s > 0 && alive > 0 ? static_cast<double>(traffic_bytes_) / alive / s : 0;
}

}  // namespace vigil::sim
