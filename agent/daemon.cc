#include "agent/daemon.h"

#include <csignal>

#include <chrono>
#include <map>
#include <set>

#include <spdlog/spdlog.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>

#include "agent/api_server.h"
#include "agent/dataset.h"
#include "agent/dotted_path.h"
#include "agent/event.h"
#include "agent/event_bus.h"
#include "agent/event_filter.h"
#include "agent/heartbeat_paths.h"
#include "agent/hook_runner.h"
#include "agent/json_condition.h"
#include "agent/jwt.h"
#include "agent/secret_rotation.h"
#include "agent/split_analysis.h"
#include "agent/version.h"
#include "crypto/key.h"
#include "crypto/keyring.h"
#include "heartbeat/codec.h"
#include "heartbeat/message.h"
#include "membership/peer_table.h"
#include "membership/replicator.h"
#include "membership/stall_detector.h"
#include "patch/json_patch.h"
#include "patch/node_document.h"

namespace vigil::agent {

namespace asio = boost::asio;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

int64_t wall_ms() {
  return std::chrono::duration_cast<milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

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

json initial_document() {
  return {{"labels", json::object()}, {"frozen", false},     {"frozen_at", nullptr},
          {"boot_at", now_rfc3339()}, {"version", kVersion}, {"data", json::object()}};
}

// The period of the liveness check and of the stall detector, ms.
constexpr milliseconds kCheckPeriod{100};
// Scheduling jitter that is not counted as a local stall, ms.
constexpr milliseconds kStallTolerance{150};
// Minimum spacing of heartbeats sent out of schedule (to answer a peer), ms.
constexpr milliseconds kEagerSendSpacing{20};
// Limits on the local node document, so a full always fits one message
// (heartbeat/message.h nests at most 64 levels; reassembly takes 1 MiB).
constexpr int kMaxDocumentDepth = 48;
constexpr std::size_t kMaxDocumentBytes = 512 * 1024;

int json_depth(const json& j) {
  int deepest = 0;
  if (j.is_structured())
    for (const auto& child : j) deepest = std::max(deepest, json_depth(child));
  return j.is_structured() ? deepest + 1 : 0;
}

// Throws std::invalid_argument when `doc` exceeds the limits above.
void check_document_limits(const json& doc) {
  if (json_depth(doc) > kMaxDocumentDepth)
    throw std::invalid_argument("node document would nest deeper than " +
                                std::to_string(kMaxDocumentDepth) + " levels");
  if (auto size = doc.dump().size(); size > kMaxDocumentBytes)
    throw std::invalid_argument("node document would be " + std::to_string(size) +
                                " bytes, above the " + std::to_string(kMaxDocumentBytes) +
                                "-byte limit");
}

// An SSE client with more than this many bytes unwritten is not fed more;
// its bus queue then fills and the bus drops it (SubscriptionError).
constexpr std::size_t kStreamBacklogBytes = 256 * 1024;

}  // namespace

class Daemon::Impl {
 public:
  explicit Impl(Config config);
  int run();

 private:
  // Heartbeat transmit.
  HeartbeatPaths::Datagrams heartbeat();
  void send_now();
  void send_soon();
  // Heartbeat receive and liveness.
  void on_datagram(std::size_t index, const std::string& path, std::span<const uint8_t> bytes);
  void on_path_state(const std::string& path, bool up, const std::string& reason);
  void check_tick();
  void apply(const std::vector<membership::Transition>& transitions);
  // The local document.
  void schedule_commit(std::function<void(uint64_t)> done);
  void commit();
  void publish_document_change(const std::string& node, const json& before, const json& after,
                               uint64_t gen, const json* ops, bool from_peer);
  // Dataset and waits.
  void dataset_changed();
  void evaluate_waits();
  // API.
  void handle(const std::shared_ptr<ApiExchange>& ex);
  void handle_events(const std::shared_ptr<ApiExchange>& ex, const json& body);
  void handle_wait(const std::shared_ptr<ApiExchange>& ex, const json& body);
  void handle_local_change(const std::shared_ptr<ApiExchange>& ex, const std::string& what,
                           const json& body);
  void handle_rotate(const std::shared_ptr<ApiExchange>& ex, const json& body);
  /// For a request from the TCP listener: checks its JWT and its role;
  /// answers 401 or 403 and returns false when it may not go on.
  bool authorized(const std::shared_ptr<ApiExchange>& ex);
  json hb_status() const;
  void stop();

  asio::io_context io_;
  Config config_;
  uint64_t boot_;
  crypto::Keyring keyring_;
  SecretRotation rotation_;
  heartbeat::Sealer sealer_;
  heartbeat::Opener opener_;
  membership::PeerTable peers_;
  membership::StallDetector stall_;
  patch::NodeDocument doc_;
  membership::Replicator replicator_;
  EventBus bus_;
  HookRunner hooks_;
  ApiServer api_;
  HeartbeatPaths paths_;
  SplitAnalysis split_;
  asio::steady_timer check_timer_, commit_timer_, eager_timer_;
  asio::signal_set signals_;
  bool commit_pending_ = false, eager_pending_ = false, waits_pending_ = false;
  Clock::time_point last_send_{};
  std::vector<std::function<void(uint64_t)>> commit_waiters_;

  struct Wait {
    JsonCondition condition;
    std::shared_ptr<ApiExchange> exchange;
    std::unique_ptr<asio::steady_timer> timer;
  };
  std::map<uint64_t, Wait> waits_;  // by wait id
  uint64_t waits_seq_ = 0;
  uint64_t subscribers_seq_ = 0;
};

Daemon::Impl::Impl(Config config)
    : config_(std::move(config)),
      boot_(new_boot_id()),
      keyring_([] {
        crypto::init();
        return crypto::Keyring();
      }()),
      rotation_(config_, keyring_, [this](Event e) { bus_.publish(std::move(e)); }),
      sealer_(crypto::cluster_id(config_.cluster_name), config_.node_name, boot_, keyring_),
      opener_(crypto::cluster_id(config_.cluster_name), config_.node_name,
              std::set<std::string>(config_.nodes.begin(), config_.nodes.end()), keyring_,
              heartbeat::OpenerOptions{.max_skew_ms = config_.max_skew.count(), .reassembly = {}}),
      peers_(path_specs(config_)),
      stall_(kCheckPeriod, kStallTolerance),
      doc_(initial_document()),
      replicator_(config_.node_name, peer_names(config_), doc_),
      bus_(EventBus::Options{.node = config_.node_name}),
      hooks_(io_, bus_, config_.hooks),
      api_(io_, config_.api_socket(), [this](std::shared_ptr<ApiExchange> ex) { handle(ex); }),
      paths_(
          io_, config_,
          [this](std::size_t index, const std::string& path, std::span<const uint8_t> bytes) {
            on_datagram(index, path, bytes);
          },
          [this](const std::string& path, bool up, const std::string& reason) {
            on_path_state(path, up, reason);
          },
          [this] { return heartbeat(); }),
      split_(
          io_, config_,
          [this] {
            std::vector<std::string> alive = {config_.node_name};
            for (const auto& n : peers_.alive()) alive.push_back(n);
            return alive;
          },
          [this](Event e) {
            bus_.publish(std::move(e));
            dataset_changed();  // .cluster.quorum changed
          }),
      check_timer_(io_),
      commit_timer_(io_),
      eager_timer_(io_),
      signals_(io_, SIGINT, SIGTERM) {
  bus_.listen([this](const Event& e) { hooks_.on_event(e); });
}

int Daemon::Impl::run() {
  api_.start();
  if (config_.api.listen) {
    const auto& l = *config_.api.listen;
    api_.start_tls(
        {{asio::ip::make_address(l.host), l.port}, config_.api.tls_cert, config_.api.tls_key});
    spdlog::info("API also on TCP {} (TLS, JWT)", l.text());
  }
  paths_.start();
  split_.start();
  spdlog::info("node {} of cluster {} started: boot {}, {} heartbeat path(s), api {}",
               config_.node_name, config_.cluster_name, boot_, paths_.size(),
               config_.api_socket().string());
  signals_.async_wait([this](boost::system::error_code ec, int sig) {
    if (ec) return;
    spdlog::info("signal {}: stopping", sig);
    stop();
  });
  check_tick();
  io_.run();
  spdlog::info("node {} stopped", config_.node_name);
  return 0;
}

void Daemon::Impl::stop() {
  boost::system::error_code ignore;
  check_timer_.cancel();
  commit_timer_.cancel();
  eager_timer_.cancel();
  signals_.cancel(ignore);
  split_.stop();
  paths_.stop();
  api_.stop();
  hooks_.kill_all();
  io_.stop();
}

// ---- heartbeat transmit ----------------------------------------------------

HeartbeatPaths::Datagrams Daemon::Impl::heartbeat() {
  const auto alive = peers_.alive();
  auto msg = replicator_.outgoing(alive);
  rotation_.prepare(msg, Clock::now());
  last_send_ = Clock::now();
  return sealer_.seal(heartbeat::encode(msg), wall_ms());
}

void Daemon::Impl::send_now() { paths_.send_all(heartbeat()); }

void Daemon::Impl::send_soon() {
  if (eager_pending_) return;
  eager_pending_ = true;
  auto due = last_send_ + kEagerSendSpacing;
  eager_timer_.expires_at(std::max(due, Clock::now()));
  eager_timer_.async_wait([this](boost::system::error_code ec) {
    eager_pending_ = false;
    if (!ec) send_now();
  });
}

// ---- heartbeat receive and liveness ----------------------------------------

void Daemon::Impl::on_datagram(std::size_t index, const std::string& path,
                               std::span<const uint8_t> bytes) {
  auto now = Clock::now();
  const heartbeat::DropCounters drops_before = opener_.drops();
  auto result = opener_.open(bytes, now, wall_ms());
  paths_.count_drops(index, drops_before, opener_.drops());
  if (!result) return;
  paths_.count_received(path, result->sender, bytes.size());
  apply(peers_.heard(result->sender, path, now));
  if (!result->payload) return;
  heartbeat::Message msg;
  try {
    msg = heartbeat::decode(*result->payload);
  } catch (const heartbeat::DecodeError& e) {
    const heartbeat::DropCounters undecoded = opener_.drops();
    opener_.count_drop(heartbeat::DropReason::kMalformed);
    paths_.count_drops(index, undecoded, opener_.drops());
    spdlog::debug("message from {} dropped: {}", result->sender, e.what());
    return;
  }
  const std::string& sender = result->sender;
  rotation_.on_message(sender, msg, now);
  // Pings change nothing: copy the previous document only when it may change.
  json before = msg.kind == heartbeat::MessageKind::kPing ? json() : replicator_.document(sender);
  auto received = replicator_.receive(sender, result->boot, msg);
  if (received.full) {
    publish_document_change(sender, before, replicator_.document(sender),
                            replicator_.applied_gen(sender), nullptr, true);
  } else if (!received.applied.empty()) {
    json ops = json::array();
    for (const auto& d : received.applied)
      for (const auto& op : d.ops) ops.push_back(op);
    publish_document_change(sender, before, replicator_.document(sender),
                            replicator_.applied_gen(sender), &ops, true);
  }
  if (received.resync) spdlog::info("gap or bad delta from {}: full resync requested", sender);
  if (received.changed()) dataset_changed();
  if (received.resync || replicator_.behind(sender)) send_soon();
}

void Daemon::Impl::on_path_state(const std::string& path, bool up, const std::string& reason) {
  if (up)
    spdlog::info("heartbeat path {} is up", path);
  else
    spdlog::error("heartbeat path {} is down: {} (retrying)", path, reason);
  Event e{.kind = "DaemonHeartbeatUpdated",
          .labels = {{"hb", path}},
          .data = {{"hb", path}, {"state", up ? "up" : "down"}}};
  if (!up) e.data["reason"] = reason;
  bus_.publish(std::move(e));
}

void Daemon::Impl::check_tick() {
  auto now = Clock::now();
  auto stall = stall_.on_tick(now);
  if (stall > milliseconds::zero()) {
    spdlog::warn("local loop stalled for {} ms: peer deadlines extended", stall.count());
    peers_.credit(stall, now);
  }
  apply(peers_.check(now));
  opener_.expire(now);
  check_timer_.expires_after(kCheckPeriod);
  check_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) check_tick();
  });
}

void Daemon::Impl::apply(const std::vector<membership::Transition>& transitions) {
  using Kind = membership::Transition::Kind;
  for (const auto& t : transitions) {
    Event e{.kind = std::string(membership::event_kind(t.kind)),
            .labels = {{"node", t.node}},
            .data = {{"node", t.node}}};
    if (!t.path.empty()) {
      e.labels["hb"] = t.path;
      e.data["hb"] = t.path;
    }
    if (t.kind == Kind::kNodeStale || t.kind == Kind::kHeartbeatStale)
      spdlog::warn("{} {}{}", e.kind, t.node, t.path.empty() ? "" : " on " + t.path);
    else
      spdlog::info("{} {}{}", e.kind, t.node, t.path.empty() ? "" : " on " + t.path);
    bus_.publish(std::move(e));
    if (t.kind == Kind::kNodeStale) {
      replicator_.forget(t.node);
      bus_.publish(
          Event{.kind = "ForgetPeer", .labels = {{"node", t.node}}, .data = {{"node", t.node}}});
      split_.peer_lost(t.node);
    }
    if (t.kind == Kind::kNodeAlive) {
      split_.peer_back(t.node);
      send_soon();
    }
  }
  if (!transitions.empty()) dataset_changed();
}

// ---- the local document -----------------------------------------------------

void Daemon::Impl::schedule_commit(std::function<void(uint64_t)> done) {
  if (done) commit_waiters_.push_back(std::move(done));
  if (commit_pending_) return;
  commit_pending_ = true;
  commit_timer_.expires_after(config_.commit_interval);
  commit_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) commit();
  });
}

void Daemon::Impl::commit() {
  commit_pending_ = false;
  json before = doc_.committed();
  if (auto ops = doc_.commit()) {
    publish_document_change(config_.node_name, before, doc_.committed(), doc_.gen(), &*ops, false);
    dataset_changed();
    send_now();
  }
  auto waiters = std::move(commit_waiters_);
  commit_waiters_.clear();
  for (auto& w : waiters) w(doc_.gen());
}

void Daemon::Impl::publish_document_change(const std::string& node, const json& before,
                                           const json& after, uint64_t gen, const json* ops,
                                           bool from_peer) {
  auto event = [&](std::string kind, json data) {
    Event e{.kind = std::move(kind), .labels = {{"node", node}}, .data = std::move(data)};
    if (from_peer) e.labels["from"] = "peer";
    bus_.publish(std::move(e));
  };
  json data = {{"node", node}, {"gen", gen}, {"value", after}};
  if (ops)
    data["patch"] = *ops;
  else
    data["full"] = true;
  event("NodeDataUpdated", std::move(data));
  auto field = [](const json& doc, const char* key) {
    return doc.is_object() && doc.contains(key) ? doc.at(key) : json();
  };
  if (field(before, "labels") != field(after, "labels"))
    event("NodeStatusLabelsUpdated", {{"node", node}, {"labels", field(after, "labels")}});
  if (field(before, "frozen") != field(after, "frozen"))
    event("NodeFrozen", {{"node", node},
                         {"frozen", field(after, "frozen")},
                         {"frozen_at", field(after, "frozen_at")}});
}

// ---- dataset and waits ------------------------------------------------------

void Daemon::Impl::dataset_changed() {
  if (waits_.empty() || waits_pending_) return;
  waits_pending_ = true;
  asio::post(io_, [this] {
    waits_pending_ = false;
    evaluate_waits();
  });
}

void Daemon::Impl::evaluate_waits() {
  if (waits_.empty()) return;
  json ds = build_dataset(config_, doc_, peers_, replicator_, split_.status());
  for (auto it = waits_.begin(); it != waits_.end();) {
    if (it->second.condition.evaluate(ds)) {
      auto ex = it->second.exchange;
      it->second.timer->cancel();
      it = waits_.erase(it);
      ex->reply(200, {{"ok", true}});
    } else {
      ++it;
    }
  }
}

// ---- API --------------------------------------------------------------------

void Daemon::Impl::handle(const std::shared_ptr<ApiExchange>& ex) {
  const auto& req = ex->request();
  if (req.remote && !authorized(ex)) return;
  json body;
  if (!req.body.empty()) {
    body = json::parse(req.body, nullptr, false);
    if (body.is_discarded()) return ex->reply(400, {{"error", "request body is not JSON"}});
  }
  const auto& t = req.target;
  if (t == "/v1/status" && req.method == "GET")
    return ex->reply(200, build_dataset(config_, doc_, peers_, replicator_, split_.status()));
  if (t == "/v1/hb" && req.method == "GET") return ex->reply(200, hb_status());
  if (t == "/v1/hb/rotate" && req.method == "POST") return handle_rotate(ex, body);
  if (t == "/v1/events") return handle_events(ex, body);
  if (t == "/v1/wait" && req.method == "POST") return handle_wait(ex, body);
  if (t.rfind("/v1/node/", 0) == 0 && req.method == "POST")
    return handle_local_change(ex, t.substr(9), body);
  ex->reply(404, {{"error", "no route " + req.method + " " + t}});
}

bool Daemon::Impl::authorized(const std::shared_ptr<ApiExchange>& ex) {
  const auto& req = ex->request();
  const std::string path = req.target.substr(0, req.target.find('?'));
  ApiRole role;
  try {
    role = check_jwt(req.authorization, req.method, path,
                     JwtKeys{config_.api.admin_key, config_.api.user_key}, wall_ms() / 1000);
  } catch (const JwtError& e) {
    spdlog::info("API {} {} refused: {}", req.method, path, e.what());
    ex->reply(401, {{"error", e.what()}});
    return false;
  }
  const bool reads = (req.method == "GET" && (path == "/v1/status" || path == "/v1/hb")) ||
                     path == "/v1/events" || (req.method == "POST" && path == "/v1/wait");
  if (role == ApiRole::kUser && !reads) {
    ex->reply(403, {{"error",
                     "the user role may only read: GET /v1/status, GET /v1/hb, "
                     "/v1/events and POST /v1/wait"}});
    return false;
  }
  return true;
}

void Daemon::Impl::handle_events(const std::shared_ptr<ApiExchange>& ex, const json& body) {
  EventFilterSet filters;
  std::vector<std::string> texts;
  try {
    if (body.is_object() && body.contains("filters"))
      for (const auto& f : body.at("filters")) {
        texts.push_back(f.get<std::string>());
        filters.add(EventFilter::parse(texts.back()));
      }
  } catch (const std::exception& e) {
    return ex->reply(400, {{"error", e.what()}});
  }
  std::string name = "api#" + std::to_string(++subscribers_seq_);
  auto id = std::make_shared<EventBus::SubscriberId>(0);
  auto retry = std::make_shared<asio::steady_timer>(io_);
  std::weak_ptr<ApiExchange> weak = ex;
  auto drain = std::make_shared<std::function<void()>>();
  *drain = [this, weak, id, retry, drain_weak = std::weak_ptr(drain)] {
    auto ex = weak.lock();
    if (!ex || ex->closed()) return;
    if (ex->queued_bytes() > kStreamBacklogBytes) {
      retry->expires_after(milliseconds(50));
      retry->async_wait([drain_weak](boost::system::error_code ec) {
        if (auto d = drain_weak.lock(); d && !ec) (*d)();
      });
      return;
    }
    for (auto& e : bus_.drain(*id)) ex->send_event(e.kind, to_json(e).dump());
  };
  ex->start_stream();
  *id = bus_.subscribe(
      name, std::move(filters), [this, drain] { asio::post(io_, [drain] { (*drain)(); }); },
      [this, weak] {
        // Dropped by the bus for a full queue: close outside the bus's delivery.
        asio::post(io_, [weak] {
          if (auto ex = weak.lock()) ex->close();
        });
      });
  ex->on_close([this, id, retry, drain] {
    retry->cancel();
    bus_.unsubscribe(*id);
  });
}

void Daemon::Impl::handle_wait(const std::shared_ptr<ApiExchange>& ex, const json& body) {
  if (!body.is_object() || !body.contains("filter") || !body["filter"].is_string())
    return ex->reply(400,
                     {{"error", "expected {\"filter\": \"PATH OP VALUE\", \"duration_ms\": N}"}});
  std::optional<JsonCondition> cond;
  try {
    cond = JsonCondition::parse(body["filter"].get<std::string>());
  } catch (const std::exception& e) {
    return ex->reply(400, {{"error", e.what()}});
  }
  json ds = build_dataset(config_, doc_, peers_, replicator_, split_.status());
  if (cond->evaluate(ds)) return ex->reply(200, {{"ok", true}});
  int64_t duration_ms = body.value("duration_ms", int64_t{0});
  uint64_t id = ++waits_seq_;
  auto& wait =
      waits_.emplace(id, Wait{std::move(*cond), ex, std::make_unique<asio::steady_timer>(io_)})
          .first->second;
  if (duration_ms > 0) {
    wait.timer->expires_after(milliseconds(duration_ms));
    wait.timer->async_wait([this, id](boost::system::error_code ec) {
      auto it = waits_.find(id);
      if (ec || it == waits_.end()) return;
      auto ex = it->second.exchange;
      waits_.erase(it);
      ex->reply(408, {{"error", "timeout"}});
    });
  }
  // A client that goes away before the answer drops its wait.
  ex->on_close([this, id] {
    auto it = waits_.find(id);
    if (it == waits_.end()) return;
    it->second.timer->cancel();
    waits_.erase(it);
  });
}

void Daemon::Impl::handle_local_change(const std::shared_ptr<ApiExchange>& ex,
                                       const std::string& what, const json& body) {
  try {
    // Every change is tried on a copy first: a change that fails, or breaks
    // the document limits, leaves the staging document untouched.
    patch::NodeDocument trial(doc_.staging(), 1);
    json ops;
    if (what == "patch") {
      if (!body.is_array()) return ex->reply(400, {{"error", "expected an RFC 6902 patch array"}});
      ops = body;
    } else if (what == "set") {
      if (!body.is_object() || !body.contains("path") || !body["path"].is_string() ||
          !body.contains("value"))
        return ex->reply(400, {{"error", "expected {\"path\": \".a.b\", \"value\": V}"}});
      auto ptr = dotted_to_pointer(body["path"].get<std::string>());
      if (ptr.empty()) return ex->reply(400, {{"error", "path must name a key below the node"}});
      trial.set(ptr, body["value"]);
      ops = patch::diff(doc_.staging(), trial.staging());
    } else if (what == "freeze" || what == "unfreeze") {
      bool frozen = what == "freeze";
      if (doc_.staging().value("frozen", false) != frozen)
        ops = {{{"op", "replace"}, {"path", "/frozen"}, {"value", frozen}},
               {{"op", "replace"},
                {"path", "/frozen_at"},
                {"value", frozen ? json(now_rfc3339()) : json()}}};
    } else {
      return ex->reply(404, {{"error", "no route POST /v1/node/" + what}});
    }
    if (ops.is_array() && !ops.empty()) {
      if (what != "set") trial.apply(ops);
      check_document_limits(trial.staging());
      doc_.apply(ops);
    }
  } catch (const std::exception& e) {
    return ex->reply(400, {{"error", e.what()}});
  }
  schedule_commit([ex](uint64_t gen) { ex->reply(200, {{"ok", true}, {"gen", gen}}); });
}

void Daemon::Impl::handle_rotate(const std::shared_ptr<ApiExchange>& ex, const json& body) {
  std::optional<crypto::Secret> secret;
  if (body.is_object() && body.contains("secret")) {
    try {
      secret = crypto::parse_secret_hex(body["secret"].get<std::string>());
    } catch (const std::exception& e) {
      return ex->reply(400, {{"error", std::string("secret: ") + e.what()}});
    }
  } else if (!body.is_null() && !(body.is_object() && body.empty())) {
    return ex->reply(400, {{"error", "expected {} or {\"secret\": \"<64 hex digits>\"}"}});
  }
  rotation_.request(secret, peers_.alive(),
                    [ex](int status, const json& answer) { ex->reply(status, answer); });
  send_now();  // the offer goes out now; alone, this also completes the switch
}

json Daemon::Impl::hb_status() const {
  json drops = json::object();
  for (std::size_t i = 0; i < static_cast<std::size_t>(heartbeat::DropReason::kCount); ++i) {
    auto r = static_cast<heartbeat::DropReason>(i);
    drops[std::string(heartbeat::to_string(r))] = opener_.drops().get(r);
  }
  json paths = paths_.status(peers_);
  uint64_t kernel_drops = 0;
  for (const auto& p : paths) kernel_drops += p.value("kernel_drops", uint64_t{0});
  return {{"node", config_.node_name},    {"boot", boot_},
          {"paths", std::move(paths)},    {"dropped", std::move(drops)},
          {"kernel_drops", kernel_drops}, {"key", rotation_.status()}};
}

namespace {

// A hook command given as a relative path with a '/' is relative to the
// config file's directory, so configs can ship their hooks beside them.
Config resolve_hook_commands(Config config) {
  auto base = config.source.parent_path();
  for (auto& hook : config.hooks) {
    auto& exe = hook.command.front();
    if (exe.find('/') != std::string::npos && exe.front() != '/')
      exe = std::filesystem::absolute(base / exe).lexically_normal().string();
  }
  return config;
}

}  // namespace

Daemon::Daemon(Config config)
    : impl_(std::make_unique<Impl>(resolve_hook_commands(std::move(config)))) {}
Daemon::~Daemon() = default;
int Daemon::run() { return impl_->run(); }

}  // namespace vigil::agent
