#include "agent/daemon.h"

#include <csignal>

#include <exception>
#include <filesystem>
#include <memory>

#include <sodium.h>

#include <spdlog/spdlog.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>

#include "agent/api/backend.h"
#include "agent/api/join_client.h"
#include "agent/api/join_token.h"
#include "agent/api/jwt.h"
#include "agent/api/service.h"
#include "agent/base/blocking_worker.h"
#include "agent/base/clock.h"
#include "agent/base/version.h"
#include "agent/daemon/cluster_webhooks.h"
#include "agent/daemon/config_reload.h"
#include "agent/daemon/quorum_line.h"
#include "agent/daemon/systemd_notify.h"
#include "agent/engine/cluster_file.h"
#include "agent/engine/engine.h"
#include "agent/events/event_bus.h"
#include "agent/hooks/hook_runner.h"
#include "agent/keys/keyring_file.h"
#include "agent/metrics/metrics.h"
#include "agent/nats/nats_export.h"
#include "agent/quorum/split_analysis.h"

namespace vigil::agent {

namespace asio = boost::asio;
using json = nlohmann::json;

namespace {

// The cluster this run starts from, and the running config made from it:
// <var_dir>/cluster.json when it exists (it rules over cluster.nodes and the
// peers), else the config's [cluster] table, else standalone. Throws
// std::runtime_error("<path>: <reason>").
ClusterFile starting_cluster(Config& config) {
  const auto path = cluster_file_path(config.var_dir);
  auto file = load_cluster_file(path);
  if (file) {
    if (config.has_cluster && file->cluster != config.cluster_name)
      throw std::runtime_error(path.string() + ": holds cluster '" + file->cluster +
                               "', the config names '" + config.cluster_name +
                               "': remove the file to start over from cluster.nodes");
    if (config.has_cluster) file->settings.reset();  // the config's own settings rule
  } else if (config.has_cluster) {
    file = seed_cluster_file(config);
  } else {
    file = ClusterFile{};
  }
  apply_cluster_file(config, *file);
  if (standalone(config)) {
    // Heartbeats of a standalone node reach nobody: sealed with a random key.
    crypto::init();
    randombytes_buf(config.secret.data(), config.secret.size());
    spdlog::info("node {} is standalone: join a cluster with `vigil cluster join`",
                 config.node_name);
  }
  return *file;
}

std::string text_of(const std::exception& e) { return e.what(); }

}  // namespace

// The parts, built on one io_context, and the callbacks that connect them:
//   engine --publish--> bus --listen--> hooks; bus --subscribe--> API streams
//   engine --peer_lost/peer_back--> split analysis --publish--> bus
//   engine --members_changed--> config_ (apply_cluster_file), split analysis
//   engine, split analysis --dataset_changed--> API waits
//   API --ApiBackend--> engine (dataset, change, rotate, membership), split (quorum), bus
//   API reload, SIGHUP --> ConfigReload (daemon/config_reload.h) --> hooks, API, split
// A join (standalone to member) and the end of a leave (member to
// standalone) replace the engine: the old one stops and closes its paths,
// a new one starts from the new running config. The process, its API
// socket, hooks and event streams stay.
class Daemon::Impl : public ApiBackend {
  using Clock = std::chrono::steady_clock;

 public:
  explicit Impl(Config config)
      : systemd_(io_, [this] { return systemd_status(); }),
        config_(std::move(config)),
        cluster_(starting_cluster(config_)),
        bus_(EventBus::Options{.node = config_.node_name}),
        hooks_(io_, bus_, config_.hooks),
        disk_(io_),
        engine_(make_engine()),
        split_(
            io_, config_,
            [this] {
              std::vector<std::string> alive = {config_.node_name};
              for (const auto& n : engine_->alive_peers()) alive.push_back(n);
              return alive;
            },
            [this](Event e) {
              bus_.publish(std::move(e));
              api_.dataset_changed();  // .cluster.quorum changed
              systemd_.status_changed();
            },
            run_split_action,
            [this] {
              api_.dataset_changed();
              systemd_.status_changed();
            }),
        webhooks_(
            io_, config_, [this]() -> Engine& { return *engine_; },
            [this](Event e) { bus_.publish(std::move(e)); }),
        api_(io_, config_, *this),
        signals_(io_, SIGINT, SIGTERM),
        hup_(io_, SIGHUP),
        reload_(io_, {config_, hooks_, api_, split_, bus_, [this](Config& next) { overlay(next); },
                      [this] { engine_->reconfigure_paths(); }}),
        join_timer_(io_) {
    // Each consumer says which kinds it takes, so that an event no one
    // takes is only counted (EventBus::skip_unwanted).
    bus_.count([this](std::string_view kind) { metrics_.count_event(kind); });
    bus_.listen(
        [this](const Event& e) { metrics_.hook_run(e); },
        [](std::string_view kind) { return kind == "ExecSuccess" || kind == "ExecFailed"; });
    bus_.listen([this](const Event& e) { hooks_.on_event(e); },
                [this](std::string_view kind) { return hooks_.wants(kind); });
    bus_.listen([this](const Event& e) { webhooks_.offer(e); },
                [this](std::string_view kind) { return webhooks_.wants(kind); });
    webhooks_.set_changed(engine_->webhooks());
    if (config_.nats) {
      nats_ = std::make_unique<nats::Exporter>(io_, *config_.nats, config_.node_name,
                                               config_.cluster_name,
                                               [this](Event e) { bus_.publish(std::move(e)); });
      bus_.listen([this](const Event& e) { nats_->offer(e); },
                  [this](std::string_view kind) { return nats_ && nats_->wants(kind); });
    }
  }

  int run() {
    api_.start();
    engine_->start();
    split_.start();
    spdlog::info("node {} of cluster {} started: boot {}, {} heartbeat path(s), api {}",
                 config_.node_name, standalone(config_) ? "(standalone)" : config_.cluster_name,
                 engine_->boot(), engine_->path_count(), config_.api_socket().string());
    signals_.async_wait([this](boost::system::error_code ec, int sig) {
      if (ec) return;
      spdlog::info("signal {}: stopping", sig);
      stop();
    });
    wait_hup();
    // The paths are bound (or reported down, and retrying) and the API
    // listens: READY=1 for a unit of Type=notify.
    systemd_.ready();
    // Handlers catch what they expect; this is the last line, so that a
    // missed exception costs one completion handler, never the daemon.
    for (;;) {
      try {
        io_.run();
        break;
      } catch (const std::exception& e) {
        spdlog::error("unexpected exception in a completion handler: {}", e.what());
      }
    }
    spdlog::info("node {} stopped", config_.node_name);
    return 0;
  }

  // ApiBackend.
  json dataset() const override {
    json ds = engine_->dataset(split_.status());
    ds["cluster"]["rejoin_grace"] = split_.rejoin_status();
    return ds;
  }
  json hb_status() const override { return engine_->hb_status(); }
  void change(const NodeChange& change, std::function<void(uint64_t)> committed) override {
    engine_->change(change, std::move(committed));
  }
  void rotate(std::optional<crypto::Secret> secret, Done done) override {
    if (standalone(config_))
      return done(409, {{"error", "this node is standalone: it is no member of a cluster"}});
    engine_->rotate(secret, std::move(done));
  }
  std::vector<crypto::Key> join_keys() const override { return engine_->join_keys(); }
  EventBus& bus() override { return bus_; }

  void reload(const std::string& caller, Done done) override {
    reload_.reload(caller, std::move(done));
  }

  json members() const override { return engine_->members(); }
  void webhooks(Done done) override { webhooks_.list(std::move(done)); }
  void put_webhook(const json& body, Done done) override { webhooks_.put(body, std::move(done)); }
  void delete_webhook(const std::string& url, Done done) override {
    webhooks_.remove(url, std::move(done));
  }
  void test_webhook(const json& body, Done done) override { webhooks_.test(body, std::move(done)); }
  json export_status() const override {
    return {{"nats", nats_ ? nats_->status() : json(nullptr)}};
  }
  std::string metrics() const override {
    const json hb = engine_->hb_status(), ds = dataset(), hooks = webhooks_.delivery_status();
    const json nats = nats_ ? nats_->status() : json(nullptr);
    return metrics_.expose({.hb = &hb,
                            .dataset = &ds,
                            .self = config_.node_name,
                            .webhooks = &hooks,
                            .nats = nats_ ? &nats : nullptr});
  }
  void api_request(const std::string& route, int status) override {
    metrics_.api_request(route, status);
  }
  void forget(const std::string& node, Done done) override {
    auto [status, body] = engine_->forget(node);
    done(status, body);
  }
  void leave(std::chrono::milliseconds timeout, Done done) override {
    if (replacing_) return done(409, {{"error", "a join or a leave is in progress"}});
    // Answered once this node runs standalone (go_standalone()), so that a
    // `cluster join` right after it is not refused.
    engine_->leave(timeout, [this, done = std::move(done)](int status, const json& answer) {
      if (status != 200 && status != 504) return done(status, answer);
      left_ = [done, status, answer] { done(status, answer); };
    });
  }
  void admit(const std::string& token, const std::string& name,
             const std::map<std::string, std::string>& paths, Done done) override;
  void join(const std::string& token, const std::string& seed, std::chrono::milliseconds timeout,
            Done done) override;

 private:
  std::unique_ptr<Engine> make_engine() {
    return std::make_unique<Engine>(
        io_, config_, cluster_,
        Engine::Callbacks{
            .publish = [this](Event e) { bus_.publish(std::move(e)); },
            .skip_unwanted = [this](std::string_view kind) { return bus_.skip_unwanted(kind); },
            .dataset_changed =
                [this] {
                  api_.dataset_changed();
                  systemd_.status_changed();  // alive peers are votes
                },
            .peer_lost = [this](const std::string& node) { split_.peer_lost(node); },
            .peer_back = [this](const std::string& node) { split_.peer_back(node); },
            .members_changed =
                [this](const ClusterFile& file, const std::vector<std::string>& removed) {
                  cluster_ = file;
                  apply_cluster_file(config_, file);
                  for (const auto& n : removed) split_.member_removed(n);
                },
            .removed = [this] { asio::post(io_, [this] { go_standalone(); }); },
            .webhooks_changed =
                [this](const membership::WebhookSet& set) { webhooks_.set_changed(set); },
            .query = [this](const membership::Query& q) { webhooks_.run_query(q); }});
  }

  // A config read again from the file, as the running config sees it.
  void overlay(Config& next) const {
    if (standalone(config_)) {
      // A node that left keeps what it ran with; none of it is in use alone.
      make_standalone(next);
      next.max_skew = config_.max_skew;
      next.rejoin_grace = config_.rejoin_grace;
    } else {
      ClusterFile file = engine_->cluster();
      if (next.has_cluster) file.settings.reset();
      apply_cluster_file(next, file);
    }
    next.secret = config_.secret;  // the keyring rules once a node runs
  }

  // Stops the engine, then builds a new one from the running config that
  // `reconfigure` makes; `then` runs once the new one started.
  void replace_engine(std::function<void()> reconfigure, std::function<void()> then) {
    replacing_ = true;
    split_.stop();
    engine_->stop([this, reconfigure = std::move(reconfigure), then = std::move(then)] {
      // Not from inside the old engine's own handler: post the swap.
      asio::post(io_, [this, reconfigure, then] {
        if (stopping_) {  // SIGTERM during the swap: the old engine's stop was the clean stop
          webhooks_.stop([this] { stop_nats([this] { io_.stop(); }); });
          return;
        }
        engine_.reset();
        reconfigure();
        try {
          engine_ = make_engine();
        } catch (const std::exception& e) {
          // A keyring just written cannot be read back: nothing to run on.
          spdlog::critical("cannot start the heartbeat engine: {}", e.what());
          std::_Exit(1);
        }
        engine_->start();
        webhooks_.set_changed(engine_->webhooks());
        if (nats_) nats_->set_cluster(config_.cluster_name);
        split_.reconfigure(config_.arbitrators);
        split_.start();
        replacing_ = false;
        api_.dataset_changed();
        systemd_.status_changed();
        if (then) then();
      });
    });
  }

  // The end of a leave, or this node forgotten by another: standalone.
  void go_standalone() {
    if (replacing_ || standalone(config_)) {
      answer_leave();
      return;
    }
    spdlog::info("node {} left cluster {}: standalone now", config_.node_name,
                 config_.cluster_name);
    const auto keyring = config_.var_dir / "keyring.json";
    replace_engine(
        [this] {
          make_standalone(config_);
          cluster_ = ClusterFile{};
          randombytes_buf(config_.secret.data(), config_.secret.size());
        },
        [this, keyring] {
          answer_leave();
          // The cluster's secrets are no business of a node that left.
          disk_.submit([keyring] { std::filesystem::remove(keyring); },
                       [keyring](const std::string& error) {
                         if (!error.empty())
                           spdlog::warn("{}: cannot remove: {}", keyring.string(), error);
                       });
        });
  }

  void answer_leave() {
    if (!left_) return;
    auto left = std::move(left_);
    left_ = nullptr;
    left();
  }

  void joined(const std::string& seed, Clock::time_point deadline, Done done);

  // SIGHUP reloads the config; it never stops the daemon.
  void wait_hup() {
    hup_.async_wait([this](boost::system::error_code ec, int) {
      if (ec) return;
      reload("SIGHUP", [](int, const json&) {});  // reload() logs the outcome
      wait_hup();
    });
  }

  // A clean stop: no split action from here on, no more clients or hooks;
  // the engine announces the stop to the peers (so that they mark this node
  // stopped, not stale) and saves the document, then the loop ends.
  void stop() {
    stopping_ = true;
    systemd_.stopping();
    boost::system::error_code ignore;
    signals_.cancel(ignore);
    hup_.cancel(ignore);
    join_timer_.cancel();
    split_.stop();
    api_.stop();
    hooks_.kill_all();
    answer_leave();
    // During a replacement the old engine is stopping already; the swap
    // then ends the loop instead of starting a new one.
    // Then the webhook queues are written out, then the NATS export gets a
    // moment to publish its buffer.
    if (!replacing_)
      engine_->stop([this] { webhooks_.stop([this] { stop_nats([this] { io_.stop(); }); }); });
  }

  // systemd's STATUS=: the quorum line of `vigil daemon status`.
  std::string systemd_status() const {
    if (standalone(config_)) return "standalone: no member of a cluster";
    return quorum_line(split_.status());
  }

  // The NATS exporter's clean stop (nats/nats_export.h), or `then` at once.
  void stop_nats(std::function<void()> then) {
    if (!nats_) return then();
    nats_->stop(std::move(then));
  }

  asio::io_context io_;
  // READY=1, STATUS=, WATCHDOG=1, STOPPING=1 (Type=notify). Before the parts
  // whose callbacks it serves.
  SystemdNotify systemd_;
  Config config_;
  ClusterFile cluster_;  // what the engine was built from, kept in step with its list
  EventBus bus_;
  Metrics metrics_{kVersion};
  HookRunner hooks_;
  BlockingWorker disk_;  // cluster.json and keyring.json of a join
  std::unique_ptr<Engine> engine_;
  SplitAnalysis split_;
  ClusterWebhooks webhooks_;
  std::unique_ptr<nats::Exporter> nats_;  // [export.nats]
  ApiService api_;
  asio::signal_set signals_;
  asio::signal_set hup_;  // SIGHUP: reload
  ConfigReload reload_;
  asio::steady_timer join_timer_;
  bool replacing_ = false;  // a join or the end of a leave replaces the engine
  bool joining_ = false;
  bool stopping_ = false;       // SIGTERM or SIGINT
  std::function<void()> left_;  // the answer to `cluster leave`, once standalone
};

// ---- a seed admits a joiner ---------------------------------------------------

void Daemon::Impl::admit(const std::string& token, const std::string& name,
                         const std::map<std::string, std::string>& paths, Done done) {
  auto refuse = [&](int status, const std::string& why) {
    spdlog::warn("join of {} refused: {}", name, why);
    bus_.publish(Event{.kind = "JoinError",
                       .labels = {{"node", name}},
                       .data = {{"node", name}, {"reason", why}}});
    done(status, {{"error", why}});
  };
  if (standalone(config_) || replacing_)
    return refuse(409, "this node is standalone: it is no member of a cluster");
  try {
    check_join_token(token, engine_->join_keys(), config_.cluster_name, wall_ms() / 1000);
  } catch (const JwtError& e) {
    return refuse(401, std::string("join token refused: ") + e.what());
  }
  if (config_.quorum) {
    const json q = split_.status();
    if (!q.value("has_quorum", false))
      return refuse(503, "the seed " + config_.node_name + " lacks quorum (" +
                             q["votes"]["present"].dump() + " of " + q["votes"]["total"].dump() +
                             " votes, " + q["votes"]["needed"].dump() + " needed)");
  }
  bool common = false;
  std::string ours;
  for (const auto& hb : config_.hb) {
    common = common || paths.count(hb.id);
    ours += (ours.empty() ? "" : ", ") + hb.id;
  }
  if (!common) return refuse(409, "no heartbeat path in common: the cluster's paths are " + ours);
  auto [status, body] = engine_->admit(name, paths);
  done(status, body);
}

// ---- this node joins through a seed -------------------------------------------

void Daemon::Impl::join(const std::string& token, const std::string& seed,
                        std::chrono::milliseconds timeout, Done done) {
  if (!standalone(config_))
    return done(409, {{"error", "this node is a member of cluster " + config_.cluster_name +
                                    " already: run `vigil cluster leave` first"}});
  if (joining_ || replacing_) return done(409, {{"error", "a join is in progress"}});
  JoinToken claims;
  Endpoint seed_ep;
  try {
    claims = peek_join_token(token);
  } catch (const std::exception& e) {
    return done(400, {{"error", "token: " + text_of(e)}, {"field", "token"}});
  }
  try {
    seed_ep = parse_endpoint(seed);
  } catch (const std::exception& e) {
    return done(400, {{"error", "seed: " + text_of(e)}, {"field", "seed"}});
  }
  joining_ = true;
  const auto deadline = Clock::now() + timeout;
  const json body = {{"name", config_.node_name}, {"paths", own_paths(config_)}};
  bus_.publish(Event{.kind = "JoinRequest",
                     .labels = {{"node", config_.node_name}},
                     .data = {{"node", config_.node_name}, {"seed", seed_ep.text()}}});
  auto fail = [this](Done& done, int status, const std::string& why) {
    joining_ = false;
    spdlog::warn("join failed: {}", why);
    bus_.publish(Event{.kind = "JoinError",
                       .labels = {{"node", config_.node_name}},
                       .data = {{"node", config_.node_name}, {"reason", why}}});
    done(status, {{"error", why}});
  };
  auto answered = [this, claims, deadline, fail, done](JoinReply reply) mutable {
    using Outcome = JoinReply::Outcome;
    if (reply.outcome == Outcome::kTimeout) return fail(done, 504, reply.error);
    if (reply.outcome == Outcome::kPinMismatch) return fail(done, 409, reply.error);
    if (reply.outcome != Outcome::kAnswered) return fail(done, 502, reply.error);
    if (reply.status != 200) {
      std::string why = "status " + std::to_string(reply.status);
      if (reply.body.is_object() && reply.body.contains("error") && reply.body["error"].is_string())
        why = reply.body["error"].get<std::string>();
      return fail(done, 409, "the seed refused: " + why);
    }
    ClusterFile file;
    StoredKeyring keyring;
    try {
      file = cluster_file_from_json(reply.body);
      if (!reply.body.contains("keyring")) throw std::invalid_argument("keyring: missing");
      keyring = keyring_from_json(reply.body.at("keyring"));
    } catch (const std::exception& e) {
      return fail(done, 502, "the seed's answer is not usable: " + text_of(e));
    }
    const auto* self = file.members.find(config_.node_name);
    if (file.cluster != claims.cluster || !self ||
        self->state != membership::Member::State::kMember)
      return fail(done, 502,
                  "the seed's answer does not make this node a member of " + claims.cluster);
    if (!file.settings) file.settings = ClusterSettings{};
    // The keyring first: a crash between the two writes leaves a node
    // that is still standalone, never a member without its secret.
    const auto var = config_.var_dir;
    disk_.submit(
        [var, file, keyring] {
          save_keyring_file(var / "keyring.json", keyring);
          save_cluster_file(cluster_file_path(var), file);
        },
        [this, file, seed = claims.issuer, deadline, fail,
         done = std::move(done)](const std::string& error) mutable {
          if (!error.empty()) return fail(done, 500, "cannot save the cluster: " + error);
          spdlog::info("joined cluster {} through {}: {} member(s)", file.cluster, seed,
                       file.members.members().size());
          replace_engine(
              [this, file] {
                cluster_ = file;
                apply_cluster_file(config_, file);
              },
              [this, seed, deadline, done = std::move(done)]() mutable {
                joined(seed, deadline, std::move(done));
              });
        });
  };
  try {
    post_join(io_, seed_ep, token, claims.cert_sha256, body, timeout, std::move(answered));
  } catch (const std::exception& e) {  // a token unfit for a header
    joining_ = false;
    done(400, {{"error", "token: " + text_of(e)}, {"field", "token"}});
  }
}

// After a join: waits until the seed is heard alive, or the deadline.
void Daemon::Impl::joined(const std::string& seed, Clock::time_point deadline, Done done) {
  const auto alive = engine_->alive_peers();
  if (alive.count(seed)) {
    joining_ = false;
    bus_.publish(Event{.kind = "JoinSuccess",
                       .labels = {{"node", config_.node_name}},
                       .data = {{"node", config_.node_name}, {"seed", seed}}});
    return done(200, {{"cluster", config_.cluster_name}, {"seed", seed}, {"nodes", config_.nodes}});
  }
  if (Clock::now() >= deadline) {
    joining_ = false;
    return done(504, {{"error", "joined cluster " + config_.cluster_name + ", but the seed " +
                                    seed + " was not heard alive in time"}});
  }
  join_timer_.expires_after(std::chrono::milliseconds(20));
  join_timer_.async_wait(
      [this, seed, deadline, done = std::move(done)](boost::system::error_code ec) mutable {
        if (!ec) joined(seed, deadline, std::move(done));
      });
}

Daemon::Daemon(Config config) : impl_(std::make_unique<Impl>(std::move(config))) {}
Daemon::~Daemon() = default;
int Daemon::run() { return impl_->run(); }

}  // namespace vigil::agent
