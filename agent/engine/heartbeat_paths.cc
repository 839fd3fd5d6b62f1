#include "agent/engine/heartbeat_paths.h"

#include <algorithm>
#include <set>

#include <boost/asio/ip/address.hpp>
#include <nlohmann/json.hpp>

#include "heartbeat/multicast_path.h"
#include "heartbeat/unicast_path.h"
#include "membership/peer_table.h"

namespace vigil::agent {

namespace asio = boost::asio;
using json = nlohmann::json;
using std::chrono::milliseconds;

namespace {

heartbeat::Path::Endpoint to_endpoint(const Endpoint& e) {
  return {asio::ip::make_address(e.host), e.port};
}

std::unique_ptr<heartbeat::Path> make_path(asio::io_context& io, const HeartbeatPathConfig& hb,
                                           heartbeat::Path::Handler handler) {
  if (hb.type == PathType::kMulticast) {
    heartbeat::MulticastOptions opts;
    opts.group = asio::ip::make_address_v4(hb.addr);
    opts.port = hb.port;
    opts.intf = hb.intf;
    opts.ttl = hb.ttl;
    std::set<std::string> peers;
    for (const auto& [name, ep] : hb.peers) peers.insert(name);
    return std::make_unique<heartbeat::MulticastPath>(io, hb.id, opts, std::move(peers),
                                                      std::move(handler));
  }
  std::map<std::string, heartbeat::Path::Endpoint> peers;
  for (const auto& [name, ep] : hb.peers) peers[name] = to_endpoint(ep);
  return std::make_unique<heartbeat::UnicastPath>(io, hb.id, to_endpoint(hb.listen),
                                                  std::move(peers), std::move(handler));
}

}  // namespace

void HeartbeatPaths::set_peers(
    const Config& config, const std::map<std::string, std::map<std::string, Endpoint>>& extra) {
  for (std::size_t i = 0; i < paths_.size() && i < config.hb.size(); ++i) {
    auto peers = config.hb[i].peers;
    if (auto it = extra.find(config.hb[i].id); it != extra.end())
      for (const auto& [name, ep] : it->second) peers.emplace(name, ep);
    if (auto* unicast = dynamic_cast<heartbeat::UnicastPath*>(paths_[i].get())) {
      std::map<std::string, heartbeat::Path::Endpoint> eps;
      for (const auto& [name, ep] : peers) eps[name] = to_endpoint(ep);
      unicast->set_peers(std::move(eps));
    } else if (auto* multicast = dynamic_cast<heartbeat::MulticastPath*>(paths_[i].get())) {
      std::set<std::string> names;
      for (const auto& [name, ep] : peers) names.insert(name);
      multicast->set_peers(std::move(names));
    }
  }
}

HeartbeatPaths::HeartbeatPaths(asio::io_context& io, const Config& config, Receive on_receive,
                               StateChange on_state, Heartbeat heartbeat)
    : io_(io), heartbeat_(std::move(heartbeat)) {
  for (const auto& hb : config.hb) {
    const std::size_t index = paths_.size();
    auto path = make_path(
        io, hb,
        [on_receive, index](const std::string& id, std::span<const uint8_t> bytes,
                            const heartbeat::Path::Endpoint&) { on_receive(index, id, bytes); });
    path->on_state(on_state);
    drops_.emplace_back();
    paths_.push_back(std::move(path));
  }
  group(config);
}

void HeartbeatPaths::group(const Config& config) {
  groups_.clear();  // destroying a timer cancels its wait: the handler sees the error
  for (std::size_t i = 0; i < paths_.size() && i < config.hb.size(); ++i) {
    const auto interval = config.hb[i].interval;
    auto group = std::find_if(groups_.begin(), groups_.end(),
                              [&](const Group& g) { return g.interval == interval; });
    if (group == groups_.end()) {
      groups_.push_back({interval, {}, std::make_unique<asio::steady_timer>(io_)});
      group = std::prev(groups_.end());
    }
    group->paths.push_back(paths_[i].get());
  }
}

void HeartbeatPaths::set_intervals(const Config& config) {
  group(config);
  if (started_)
    for (auto& g : groups_) tick(g);
}

HeartbeatPaths::~HeartbeatPaths() { stop(); }

void HeartbeatPaths::start() {
  started_ = true;
  for (auto& p : paths_) p->start();
  for (auto& g : groups_) tick(g);
}

void HeartbeatPaths::stop() {
  started_ = false;
  for (auto& g : groups_) g.timer->cancel();
  for (auto& p : paths_) p->stop();
}

void HeartbeatPaths::tick(Group& group) {
  const Outgoing out = heartbeat_();
  for (auto* p : group.paths) send(*p, out);
  group.timer->expires_after(group.interval);
  group.timer->async_wait([this, &group](boost::system::error_code ec) {
    if (!ec) tick(group);
  });
}

void HeartbeatPaths::count_sent(const heartbeat::Path& path, const std::string& peer,
                                const Datagrams& datagrams) {
  auto& c = sent_[{path.id(), peer}];
  c.datagrams += datagrams.size();
  for (const auto& d : datagrams) c.bytes += d.size();
}

void HeartbeatPaths::send(heartbeat::Path& path, const Outgoing& out) {
  const bool multicast = path.type() == "multicast";
  if (!out.multicast_only || multicast) {
    path.send_all(out.all);
    if (multicast)
      count_sent(path, "*", out.all);
    else
      for (const auto& [peer, ep] : path.peers()) count_sent(path, peer, out.all);
  }
  for (const auto& t : out.targeted) {
    path.send_to_peers(t.peers, t.datagrams);
    if (multicast)
      count_sent(path, "*", t.datagrams);
    else
      for (const auto& peer : t.peers) count_sent(path, peer, t.datagrams);
  }
}

void HeartbeatPaths::send_all(const Outgoing& out) {
  for (auto& p : paths_) send(*p, out);
}

std::size_t HeartbeatPaths::send_to(const std::string& peer, const Datagrams& datagrams) {
  std::size_t bytes = 0;
  for (auto& p : paths_) {
    if (p->type() != "unicast" || !p->peers().contains(peer)) continue;
    p->send_to_peers({peer}, datagrams);
    count_sent(*p, peer, datagrams);
    for (const auto& d : datagrams) bytes += d.size();
  }
  return bytes;
}

void HeartbeatPaths::count_received(const std::string& path, const std::string& peer,
                                    std::size_t bytes) {
  auto on_path = received_.find(path);
  if (on_path == received_.end()) on_path = received_.try_emplace(path).first;
  auto& c = on_path->second[peer];
  ++c.datagrams;
  c.bytes += bytes;
}

void HeartbeatPaths::count_drop(std::size_t index, heartbeat::DropReason reason) {
  drops_[index].add(reason);
}

json HeartbeatPaths::status(const membership::PeerTable& table) const {
  json out = json::array();
  auto now = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < paths_.size(); ++i) {
    const auto& p = paths_[i];
    const auto& c = p->counters();
    json peers = json::object();
    for (const auto& [name, ep] : p->peers()) {
      json peer = {{"address", heartbeat::to_text(ep)},
                   {"state", "unknown"},
                   {"last_heard_ms", nullptr},
                   {"received_datagrams", 0},
                   {"received_bytes", 0}};
      if (const auto* w = table.watcher(name, p->id())) {
        peer["state"] = std::string(to_string(w->state()));
        if (auto last = w->last_heard())
          peer["last_heard_ms"] = std::chrono::duration_cast<milliseconds>(now - *last).count();
      }
      if (auto on_path = received_.find(p->id()); on_path != received_.end()) {
        if (auto it = on_path->second.find(name); it != on_path->second.end()) {
          peer["received_datagrams"] = it->second.datagrams;
          peer["received_bytes"] = it->second.bytes;
        }
      }
      peers[name] = std::move(peer);
    }
    json sent = json::object();
    for (auto it = sent_.lower_bound({p->id(), ""});
         it != sent_.end() && it->first.first == p->id(); ++it)
      sent[it->first.second] = {{"datagrams", it->second.datagrams}, {"bytes", it->second.bytes}};
    json drops = json::object();
    const auto& d = drops_[i];
    for (std::size_t i = 0; i < d.by_reason.size(); ++i)
      drops[std::string(heartbeat::to_string(static_cast<heartbeat::DropReason>(i)))] =
          d.by_reason[i];
    out.push_back({{"id", p->id()},
                   {"type", std::string(p->type())},
                   {"describe", p->describe()},
                   {"up", p->up()},
                   {"sent_datagrams", c.sent_datagrams},
                   {"sent_bytes", c.sent_bytes},
                   {"received_datagrams", c.received_datagrams},
                   {"received_bytes", c.received_bytes},
                   {"send_errors", c.send_errors},
                   {"restarts", c.restarts},
                   {"kernel_drops", c.kernel_drops},
                   {"dropped", std::move(drops)},
                   {"peers", std::move(peers)},
                   {"sent", std::move(sent)}});
  }
  return out;
}

}  // namespace vigil::agent
