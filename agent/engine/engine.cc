#include "agent/engine/engine.h"
#include "agent/engine/engine_impl.h"

#include <algorithm>
#include <chrono>
#include <set>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>

#include "agent/base/blocking_worker.h"
#include "agent/base/clock.h"
#include "agent/base/file.h"
#include "agent/base/version.h"
#include "agent/engine/auth_failures.h"
#include "agent/engine/dataset.h"
#include "agent/engine/document_saver.h"
#include "agent/engine/heartbeat_paths.h"
#include "agent/engine/local_document.h"
#include "agent/engine/node_file.h"
#include "agent/engine/node_schema.h"
#include "agent/engine/status_before.h"
#include "agent/keys/secret_rotation.h"
#include "crypto/key.h"
#include "crypto/keyring.h"
#include "heartbeat/codec.h"
#include "heartbeat/message.h"
#include "membership/member_sync.h"
#include "membership/peer_table.h"
#include "membership/replicator.h"
#include "membership/stall_detector.h"

namespace vigil::agent {

namespace asio = boost::asio;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

// The period of the liveness check and of the stall detector, ms.
constexpr milliseconds kCheckPeriod{100};
// Scheduling jitter that is not counted as a local stall, ms.
constexpr milliseconds kStallTolerance{150};
// Minimum spacing of heartbeats sent out of schedule (to answer a peer), ms.
constexpr milliseconds kEagerSendSpacing{20};
// A clean stop is announced twice, this far apart, against a lost datagram.
constexpr milliseconds kStopRepeat{20};

uint64_t new_boot_id() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

std::vector<membership::PeerTable::PathSpec> path_specs(const Config& c) {
  std::vector<membership::PeerTable::PathSpec> out;
  for (const auto& hb : c.hb) {
    membership::PeerTable::PathSpec spec{hb.id, hb.timeout, {}};
    for (const auto& [name, ep] : hb.peers) spec.peers.insert(name);
    out.push_back(std::move(spec));
  }
  return out;
}

std::vector<std::string> peer_names(const Config& c) {
  std::vector<std::string> out;
  for (const auto& n : c.nodes)
    if (n != c.node_name) out.push_back(n);
  return out;
}

// This node's document at start: the one saved in <var_dir>/node.json by
// the last run (labels, data, frozen, frozen_at), or an empty one, with this
// run's boot_at and version. Throws std::runtime_error for a file that
// cannot be used (engine/node_file.h).
json initial_document(const Config& c) {
  json doc = {{"labels", json::object()}, {"frozen", false},     {"frozen_at", nullptr},
              {"boot_at", now_rfc3339()}, {"version", kVersion}, {"data", json::object()}};
  const auto path = node_file_path(c.var_dir);
  if (auto saved = load_node_file(path)) {
    for (const char* field : {"labels", "frozen", "frozen_at", "data"})
      doc[field] = (*saved)[field];
    spdlog::info("node document restored from {}: {}, {} label(s)", path.string(),
                 doc["frozen"].get<bool>() ? "frozen" : "not frozen", doc["labels"].size());
  }
  return doc;
}

}  // namespace

std::vector<membership::PeerTable::PathSpec> path_specs_of(const Config& c,
                                                           const std::string& node) {
  std::vector<membership::PeerTable::PathSpec> out;
  for (const auto& hb : c.hb)
    if (hb.peers.contains(node)) out.push_back({hb.id, hb.timeout, {}});
  return out;
}

Engine::Impl::Impl(asio::io_context& io, const Config& config, ClusterFile cluster,
                   Callbacks callbacks)
    : io_(io),
      config_(config),
      cb_(std::move(callbacks)),
      boot_(new_boot_id()),
      keyring_([] {
        crypto::init();
        return crypto::Keyring();
      }()),
      disk_(io_),
      saver_(
          disk_,
          [path = node_file_path(config_.var_dir)](const json& doc) { save_node_file(path, doc); },
          node_file_path(config_.var_dir).string()),
      rotation_(config_, keyring_, disk_, [this](Event e) { cb_.publish(std::move(e)); }),
      sealer_(crypto::cluster_id(config_.cluster_name), config_.node_name, boot_, keyring_),
      opener_(crypto::cluster_id(config_.cluster_name), config_.node_name,
              std::set<std::string>(config_.nodes.begin(), config_.nodes.end()), keyring_,
              heartbeat::OpenerOptions{.max_skew_ms = config_.max_skew.count(), .reassembly = {}}),
      peers_(path_specs(config_)),
      stall_(kCheckPeriod, kStallTolerance),
      local_(io_, initial_document(config_), config_.commit_interval,
             [this](const json& before, const json& ops) { on_commit(before, ops); }),
      replicator_(config_.node_name, peer_names(config_), local_.document(), &schema_),
      paths_(
          io_, config_,
          [this](std::size_t index, const std::string& path, std::span<const uint8_t> bytes) {
            on_datagram(index, path, bytes);
          },
          [this](const std::string& path, bool up, const std::string& reason) {
            on_path_state(path, up, reason);
          },
          [this] { return heartbeat(); }),
      sync_(std::move(cluster.members)),
      webhooks_(std::move(cluster.webhooks)),
      settings_(std::move(cluster.settings)),
      cluster_saver_(
          disk_,
          [path = cluster_file_path(config_.var_dir)](const json& j) {
            write_file_atomically(path, j.dump() + "\n");
          },
          cluster_file_path(config_.var_dir).string()),
      check_timer_(io_),
      eager_timer_(io_),
      stop_timer_(io_) {
  update_mode();
}

void Engine::Impl::start() {
  saver_.save(local_.document().committed());  // this run's boot_at and version
  if (!standalone(config_)) save_cluster();    // seeded from the config at the first start
  paths_.start();
  started_ = true;
  if (gossip_) gossip_->start();
  check_tick();
}

void Engine::Impl::stop(std::function<void()> done) {
  if (stopping_) return;
  stopping_ = true;
  check_timer_.cancel();
  eager_timer_.cancel();
  if (gossip_) gossip_->stop();
  local_.stop();
  // Every heartbeat from now on carries the stop flag: peers mark this node
  // stopped, not stale. Sent now, and once more against a lost datagram.
  send_now();
  stop_timer_.expires_after(kStopRepeat);
  stop_timer_.async_wait([this, done = std::move(done)](boost::system::error_code) {
    send_now();
    // The last committed document reaches node.json before the exit.
    saver_.flush([this, done] {
      paths_.stop();
      done();
    });
  });
}

// ---- heartbeat transmit ----------------------------------------------------

HeartbeatPaths::Outgoing Engine::Impl::heartbeat() {
  const auto alive = peers_.alive();
  // Gossip mode: this goes to multicast paths only, as a ping (the deltas
  // travel by gossip), except the stop, which every member must hear, and
  // during a secret rotation, whose offers and acknowledgements must reach
  // the leader within an interval (a few seconds of mesh traffic).
  auto msg = gossip_ ? gossip_base() : replicator_.outgoing(alive);
  msg.stop = stopping_;
  rotation_.prepare(msg, alive, Clock::now());
  if (!standalone(config_)) {
    sync_.prepare(msg, alive, Clock::now());
    webhooks_.prepare(msg, alive, Clock::now());
    queries_.prepare(msg, Clock::now());
  }
  last_send_ = Clock::now();
  HeartbeatPaths::Outgoing out{
      .all = sealer_.seal(heartbeat::encode(msg), wall_ms()),
      .targeted = {},
      .multicast_only = gossip_ && !stopping_ && !rotation_.busy(Clock::now())};
  // Peers that lack the current key (down during a rotation) get a ping
  // sealed under a key they hold, offering the next version they lack.
  for (auto& c : rotation_.catch_up(alive)) {
    heartbeat::Message ping{.kind = heartbeat::MessageKind::kPing,
                            .gens = msg.gens,
                            .key_versions = msg.key_versions,
                            .key_ids = msg.key_ids,
                            .key_offer = std::move(c.offer),
                            .stop = stopping_};
    out.targeted.push_back(
        {std::move(c.peers), sealer_.seal(heartbeat::encode(ping), wall_ms(), c.version)});
  }
  return out;
}

void Engine::Impl::send_now() { paths_.send_all(heartbeat()); }

void Engine::Impl::send_soon() {
  if (eager_pending_) return;
  eager_pending_ = true;
  auto due = last_send_ + kEagerSendSpacing;
  eager_timer_.expires_at(std::max(due, Clock::now()));
  eager_timer_.async_wait([this](boost::system::error_code ec) {
    eager_pending_ = false;
    if (!ec) send_now();
  });
}

// ---- gossip mode -------------------------------------------------------------

void Engine::Impl::update_mode() {
  const bool want = !standalone(config_) && config_.gossip(config_.nodes.size());
  if (want == (gossip_ != nullptr)) return;
  if (!want) {
    gossip_->stop();
    gossip_.reset();
    peers_.drive_by_heartbeats(Clock::now());
    spdlog::info("dissemination: mesh ({} members)", config_.nodes.size());
    return;
  }
  // Gossip mode: SWIM paces itself on the first unicast path's interval and
  // timeout (a path's own timeout is what "stale" means on it).
  auto interval = milliseconds(500), timeout = milliseconds(2000);
  for (const auto& hb : config_.hb)
    if (hb.type == PathType::kUnicast) {
      interval = hb.interval;
      timeout = hb.timeout;
      break;
    }
  peers_.drive_externally();
  gossip_ = std::make_unique<GossipMode>(
      io_, config_.node_name, boot_, interval, timeout, config_.nodes, replicator_,
      GossipMode::Hooks{
          .base = [this] { return gossip_base(); },
          .send = [this](const std::string& peer,
                         const heartbeat::Message& msg) { return gossip_send(peer, msg); },
          .transitions =
              [this](const std::vector<membership::Transition>& ts) {
                using Kind = membership::Transition::Kind;
                for (const auto& t : ts) {
                  if (t.kind == Kind::kNodeAlive) apply(peers_.declare_alive(t.node));
                  if (t.kind == Kind::kNodeStale) apply(peers_.declare_stale(t.node));
                }
              },
          .document =
              [this](const std::string& writer, const StatusBefore& before,
                     const membership::Replicator::Received& r) {
                gossip_document(writer, before, r);
              }});
  spdlog::info("dissemination: gossip ({} members)", config_.nodes.size());
  if (started_) gossip_->start();
}

heartbeat::Message Engine::Impl::gossip_base() {
  const auto alive = peers_.alive();
  heartbeat::Message msg{.kind = heartbeat::MessageKind::kPing,
                         .gens = {{config_.node_name, local_.document().gen()}}};
  msg.stop = stopping_;
  rotation_.prepare(msg, alive, Clock::now());
  sync_.prepare(msg, alive, Clock::now());
  webhooks_.prepare(msg, alive, Clock::now());
  queries_.prepare(msg, Clock::now());
  return msg;
}

std::size_t Engine::Impl::gossip_send(const std::string& peer, const heartbeat::Message& msg) {
  try {
    return paths_.send_to(peer, sealer_.seal(heartbeat::encode(msg), wall_ms()));
  } catch (const std::exception& e) {
    spdlog::warn("gossip message to {} not sent: {}", peer, e.what());
    return 0;
  }
}

void Engine::Impl::gossip_receive(const std::string& sender, uint64_t boot,
                                  const heartbeat::Message& msg) {
  // A member that stopped cleanly is out of SWIM until a newer boot is
  // heard (the peer table says when: it is then unknown again).
  if (msg.stop) {
    apply(peers_.stopped(sender, boot));
    gossip_->remove(sender);
    return;
  }
  if (peers_.state(sender) == membership::PeerState::kStopped) return;
  gossip_->add(sender);
  gossip_->receive(sender, msg);
}

void Engine::Impl::gossip_document(const std::string& writer, const StatusBefore& before,
                                   const membership::Replicator::Received& r) {
  publish_received(writer, before, r);
  if (r.refused) {
    opener_.count_drop(heartbeat::DropReason::kBadDocument);
    spdlog::warn("node document of {} refused, the last accepted one is kept: {}", writer,
                 *r.refused);
  }
  if (r.changed()) cb_.dataset_changed();
}

// ---- heartbeat receive and liveness ----------------------------------------

void Engine::Impl::on_datagram(std::size_t index, const std::string& path,
                               std::span<const uint8_t> bytes) {
  if (stopping_) return;
  auto now = Clock::now();
  auto result = opener_.open(bytes, now, wall_ms(), index);
  if (result.drop) paths_.count_drop(index, *result.drop);
  if (!result.claimed_sender.empty())
    auth_failures_.failed(result.claimed_sender, *result.drop, result.key_version, now);
  if (!result) return;
  auth_failures_.authenticated(result->sender);
  paths_.count_received(path, result->sender, bytes.size());
  // Only a (boot, seq) new on this path proves the sender alive on it: a
  // replayed capture must not keep a dead node alive.
  if (result->heard) apply(peers_.heard(result->sender, path, now, result->boot));
  if (!result->payload) return;
  heartbeat::Message& msg = received_;
  try {
    heartbeat::decode(*result->payload, msg);
  } catch (const heartbeat::DecodeError& e) {
    opener_.count_drop(heartbeat::DropReason::kMalformed);
    paths_.count_drop(index, heartbeat::DropReason::kMalformed);
    spdlog::debug("message from {} dropped: {}", result->sender, e.what());
    return;
  }
  const std::string& sender = result->sender;
  rotation_.on_message(sender, msg, now);
  if (msg.member_digest || !msg.members.is_null()) {
    auto merged = sync_.on_message(sender, msg, now);
    if (merged.refused)
      spdlog::warn("{} member list entries from {} refused (malformed)", merged.refused, sender);
    if (!merged.changed.empty()) members_merged(merged.changed);
    if (leaving_) check_leave(now);  // this digest may be the last acknowledgement
    if (removed_) return;
    if (std::find(config_.nodes.begin(), config_.nodes.end(), sender) == config_.nodes.end())
      return;  // `sender` was just removed
  }
  webhooks_received(sender, msg, now);
  queries_received(sender, msg, now);
  if (gossip_ && msg.kind == heartbeat::MessageKind::kPing) {
    gossip_receive(sender, result->boot, msg);
    return;
  }
  // Keep what the events compare of the previous document (its labels and
  // frozen state), only as far as the message may change them.
  // A ping changes nothing: it looks nothing up.
  StatusBefore before;
  if (msg.kind == heartbeat::MessageKind::kFull || !msg.deltas.empty()) {
    const auto current = replicator_.shown(sender);
    if (msg.kind == heartbeat::MessageKind::kFull || current.refused)
      before.full(current.document);  // a refused one may show as a full
    else
      for (const auto& d : msg.deltas) before.delta(current.document, d.ops);
  }
  auto received = replicator_.receive(sender, result->boot, msg);
  publish_received(sender, before, received);
  if (received.resync) spdlog::info("gap or bad delta from {}: full resync requested", sender);
  if (received.refused) {
    opener_.count_drop(heartbeat::DropReason::kBadDocument);
    paths_.count_drop(index, heartbeat::DropReason::kBadDocument);
    spdlog::warn("node document of {} refused, the last accepted one is kept: {}", sender,
                 *received.refused);
  }
  if (received.changed()) cb_.dataset_changed();
  // A stop counts for the boot that sent it, and only for the newest boot
  // heard from that sender (peer_table.h): a replayed stop of an older boot
  // changes nothing.
  if (msg.stop) {
    apply(peers_.stopped(sender, result->boot));
    return;
  }
  if (received.resync || received.behind) send_soon();
}

// The path logged the change itself (heartbeat/path.cc), with its address
// and retry delay: this publishes the event only, so each fact is logged once.
void Engine::Impl::on_path_state(const std::string& path, bool up, const std::string& reason) {
  Event e{.kind = "DaemonHeartbeatUpdated",
          .labels = {{"hb", path}},
          .data = {{"hb", path}, {"state", up ? "up" : "down"}}};
  if (!up) e.data["reason"] = reason;
  cb_.publish(std::move(e));
}

void Engine::Impl::check_tick() {
  auto now = Clock::now();
  auto stall = stall_.on_tick(now);
  if (stall > milliseconds::zero()) {
    spdlog::warn("local loop stalled for {} ms: peer deadlines extended", stall.count());
    peers_.credit(stall, now);
    if (gossip_) gossip_->credit(stall);
  }
  apply(peers_.check(now));
  opener_.expire(now);
  if (leaving_) check_leave(now);
  if (!farewell_.empty() && now >= farewell_until_) expire_farewells(now);
  check_timer_.expires_after(kCheckPeriod);
  check_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) check_tick();
  });
}

void Engine::Impl::apply(const std::vector<membership::Transition>& transitions) {
  using Kind = membership::Transition::Kind;
  for (const auto& t : transitions) {
    Event e{.kind = std::string(membership::event_kind(t.kind)),
            .labels = {{"node", t.node}},
            .data = {{"node", t.node}}};
    if (!t.path.empty()) {
      e.labels["hb"] = t.path;
      e.data["hb"] = t.path;
    }
    if (t.kind == Kind::kNodeStopped) {
      // A clean stop: no NodeStale, no ForgetPeer, no split analysis. Its
      // acknowledgement stops holding back the journal, as for a stale peer.
      spdlog::info("{} stopped cleanly", t.node);
      e.data["state"] = "stopped";
      cb_.publish(std::move(e));
      replicator_.forget(t.node);
      continue;
    }
    if (t.kind == Kind::kNodeStale || t.kind == Kind::kHeartbeatStale)
      spdlog::warn("{} {}{}", e.kind, t.node, t.path.empty() ? "" : " on " + t.path);
    else
      spdlog::info("{} {}{}", e.kind, t.node, t.path.empty() ? "" : " on " + t.path);
    cb_.publish(std::move(e));
    if (t.kind == Kind::kNodeStale) {
      replicator_.forget(t.node);
      cb_.publish(
          Event{.kind = "ForgetPeer", .labels = {{"node", t.node}}, .data = {{"node", t.node}}});
      cb_.peer_lost(t.node);
    }
    if (t.kind == Kind::kNodeAlive) {
      cb_.peer_back(t.node);
      send_soon();
    }
  }
  if (!transitions.empty()) cb_.dataset_changed();
}

void Engine::Impl::reconfigure_paths() {
  paths_.set_intervals(config_);
  for (const auto& name : config_.nodes)
    if (name != config_.node_name) peers_.add(name, path_specs_of(config_, name));
  paths_.set_peers(config_, farewell_);
  cb_.dataset_changed();
}

// ---- rotation and status ------------------------------------------------------

void Engine::Impl::rotate(std::optional<crypto::Secret> secret, RotateDone done) {
  // The offer goes out with the heartbeats that follow its save (a worker
  // thread); a node alone switches on its next heartbeat.
  rotation_.request(secret, peers_.alive(), std::move(done));
}

json Engine::Impl::hb_status() const {
  json drops = json::object();
  for (std::size_t i = 0; i < static_cast<std::size_t>(heartbeat::DropReason::kCount); ++i) {
    auto r = static_cast<heartbeat::DropReason>(i);
    drops[std::string(heartbeat::to_string(r))] = opener_.drops().get(r);
  }
  json paths = paths_.status(peers_);
  uint64_t kernel_drops = 0;
  for (const auto& p : paths) kernel_drops += p.value("kernel_drops", uint64_t{0});
  return {{"node", config_.node_name},
          {"boot", boot_},
          {"paths", std::move(paths)},
          {"dropped", std::move(drops)},
          {"kernel_drops", kernel_drops},
          {"key", rotation_.status()},
          {"auth_failures", auth_failures_.status(Clock::now())},
          {"dissemination", gossip_ ? gossip_->status() : json{{"mode", "mesh"}}}};
}

// ---- the public face -----------------------------------------------------------

Engine::Engine(asio::io_context& io, const Config& config, ClusterFile cluster, Callbacks callbacks)
    : impl_(std::make_unique<Impl>(io, config, std::move(cluster), std::move(callbacks))) {}
Engine::~Engine() = default;
void Engine::start() { impl_->start(); }
void Engine::stop(std::function<void()> done) { impl_->stop(std::move(done)); }
json Engine::dataset(const json& quorum) const { return impl_->dataset(quorum); }
json Engine::hb_status() const { return impl_->hb_status(); }
std::set<std::string> Engine::alive_peers() const { return impl_->alive_peers(); }
void Engine::change(const NodeChange& change, std::function<void(uint64_t)> committed) {
  impl_->change(change, std::move(committed));
}
void Engine::rotate(std::optional<crypto::Secret> secret, RotateDone done) {
  impl_->rotate(std::move(secret), std::move(done));
}
uint64_t Engine::boot() const { return impl_->boot(); }
json Engine::members() const { return impl_->members(); }
void Engine::reconfigure_paths() { impl_->reconfigure_paths(); }
ClusterFile Engine::cluster() const { return impl_->cluster(); }

const membership::WebhookSet& Engine::webhooks() const { return impl_->webhooks(); }

membership::WebhookEntry Engine::put_webhook(membership::WebhookEntry e) {
  return impl_->put_webhook(std::move(e));
}

membership::WebhookEntry Engine::remove_webhook(const std::string& url) {
  return impl_->remove_webhook(url);
}

json Engine::webhook_sync() const { return impl_->webhook_sync(); }

std::string Engine::ask(const std::string& kind, json args) {
  return impl_->ask(kind, std::move(args));
}

void Engine::answer_query(const std::string& id, json answer) {
  impl_->answer_query(id, std::move(answer));
}

std::map<std::string, json> Engine::answers(const std::string& id) const {
  return impl_->answers(id);
}
std::pair<int, json> Engine::admit(const std::string& name,
                                   const std::map<std::string, std::string>& paths) {
  return impl_->admit(name, paths);
}
std::pair<int, json> Engine::forget(const std::string& name) { return impl_->forget(name); }
void Engine::leave(milliseconds timeout, RotateDone done) {
  impl_->leave(timeout, std::move(done));
}
std::vector<crypto::Key> Engine::join_keys() const { return impl_->join_keys(); }
std::size_t Engine::path_count() const { return impl_->path_count(); }

}  // namespace vigil::agent
