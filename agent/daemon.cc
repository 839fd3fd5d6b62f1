#include "agent/daemon.h"

#include <csignal>

#include <algorithm>
#include <exception>
#include <memory>
#include <string_view>

#include <spdlog/spdlog.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <nlohmann/json.hpp>

#include "agent/api/backend.h"
#include "agent/api/service.h"
#include "agent/base/blocking_worker.h"
#include "agent/config/config_diff.h"
#include "agent/engine/engine.h"
#include "agent/events/event_bus.h"
#include "agent/hooks/hook_runner.h"
#include "agent/quorum/split_analysis.h"

namespace vigil::agent {

namespace asio = boost::asio;
using json = nlohmann::json;

// The parts, built on one io_context, and the callbacks that connect them:
//   engine --publish--> bus --listen--> hooks; bus --subscribe--> API streams
//   engine --peer_lost/peer_back--> split analysis --publish--> bus
//   engine, split analysis --dataset_changed--> API waits
//   API --ApiBackend--> engine (dataset, change, rotate), split (quorum), bus
//   API reload, SIGHUP --> config read on reload_worker_, applied here (reload())
class Daemon::Impl : public ApiBackend {
 public:
  explicit Impl(Config config)
      : config_(std::move(config)),
        bus_(EventBus::Options{.node = config_.node_name}),
        hooks_(io_, bus_, config_.hooks),
        engine_(io_, config_,
                {.publish = [this](Event e) { bus_.publish(std::move(e)); },
                 .dataset_changed = [this] { api_.dataset_changed(); },
                 .peer_lost = [this](const std::string& node) { split_.peer_lost(node); },
                 .peer_back = [this](const std::string& node) { split_.peer_back(node); }}),
        split_(
            io_, config_,
            [this] {
              std::vector<std::string> alive = {config_.node_name};
              for (const auto& n : engine_.alive_peers()) alive.push_back(n);
              return alive;
            },
            [this](Event e) {
              bus_.publish(std::move(e));
              api_.dataset_changed();  // .cluster.quorum changed
            },
            run_split_action, [this] { api_.dataset_changed(); }),
        api_(io_, config_, *this),
        signals_(io_, SIGINT, SIGTERM),
        hup_(io_, SIGHUP),
        reload_worker_(io_) {
    bus_.listen([this](const Event& e) { hooks_.on_event(e); });
  }

  int run() {
    api_.start();
    engine_.start();
    split_.start();
    spdlog::info("node {} of cluster {} started: boot {}, {} heartbeat path(s), api {}",
                 config_.node_name, config_.cluster_name, engine_.boot(), engine_.path_count(),
                 config_.api_socket().string());
    signals_.async_wait([this](boost::system::error_code ec, int sig) {
      if (ec) return;
      spdlog::info("signal {}: stopping", sig);
      stop();
    });
    wait_hup();
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
    json ds = engine_.dataset(split_.status());
    ds["cluster"]["rejoin_grace"] = split_.rejoin_status();
    return ds;
  }
  json hb_status() const override { return engine_.hb_status(); }
  void change(const NodeChange& change, std::function<void(uint64_t)> committed) override {
    engine_.change(change, std::move(committed));
  }
  void rotate(std::optional<crypto::Secret> secret, Done done) override {
    engine_.rotate(secret, std::move(done));
  }
  std::vector<crypto::Key> join_keys() const override { return engine_.join_keys(); }
  EventBus& bus() override { return bus_; }

  // A config reload (config/config_diff.h): the file is read on the worker,
  // then compared and applied here, on the io_context thread, all or
  // nothing. Reloads complete in the order asked.
  void reload(const std::string& caller, Done done) override {
    auto next = std::make_shared<Config>();
    reload_worker_.submit(
        [next, file = config_.source] {
          *next = load_config(file);
          check_hook_commands(*next);
        },
        [this, next, caller, done = std::move(done)](const std::string& error) {
          std::string why = error;
          ConfigDiff diff;
          if (why.empty()) try {
              diff = diff_configs(config_, *next);
              throw_if_refused(diff, config_.source);
              apply(*next, diff.changed);
            } catch (const std::exception& e) {
              why = e.what();
            }
          if (!why.empty()) {
            spdlog::error("config reload by {} refused, the running config is kept: {}", caller,
                          why);
            return done(400, {{"error", why}});
          }
          std::string keys;
          for (const auto& k : diff.changed) keys += (keys.empty() ? "" : ", ") + k;
          // The line is logged under the more verbose of the two levels.
          const auto level = spdlog::level::from_str(std::string(to_string(next->log_level)));
          auto logger = spdlog::default_logger();
          logger->set_level(std::min(level, logger->level()));
          spdlog::info("config reload by {}: {}", caller, keys.empty() ? "no change" : keys);
          logger->set_level(level);
          config_.log_level = next->log_level;
          if (!diff.changed.empty())
            bus_.publish(Event{.kind = "NodeConfigUpdated", .data = {{"changed", diff.changed}}});
          done(200, {{"changed", diff.changed}});
        });
  }

 private:
  // SIGHUP reloads the config; it never stops the daemon.
  void wait_hup() {
    hup_.async_wait([this](boost::system::error_code ec, int) {
      if (ec) return;
      reload("SIGHUP", [](int, const json&) {});  // reload() logs the outcome
      wait_hup();
    });
  }

  // Applies the `changed` keys of `next` (diff_configs()) to the parts, then
  // to config_. Only those fields of config_ are assigned: the engine, the
  // API and split analysis keep references into it.
  void apply(const Config& next, const std::vector<std::string>& changed) {
    auto any = [&](std::string_view prefix) {
      return std::any_of(changed.begin(), changed.end(),
                         [&](const std::string& k) { return k.starts_with(prefix); });
    };
    if (any("hook.")) {
      hooks_.reconfigure(next.hooks);
      config_.hooks = next.hooks;
    }
    if (any("api.")) {
      config_.api.admin_key = next.api.admin_key;
      config_.api.user_key = next.api.user_key;
      config_.api.limits = next.api.limits;
      api_.reconfigure(config_.api);
    }
    config_.quorum = next.quorum;  // read by split analysis at each use
    config_.split_action = next.split_action;
    if (any("arbitrator.")) {
      split_.reconfigure(next.arbitrators);
      config_.arbitrators = next.arbitrators;
    }
    if (any("arbitrator.") || any("cluster.quorum") || any("node.split_action"))
      api_.dataset_changed();  // .cluster.quorum
  }

  // A clean stop: no split action from here on, no more clients or hooks;
  // the engine announces the stop to the peers (so that they mark this node
  // stopped, not stale) and saves the document, then the loop ends.
  void stop() {
    boost::system::error_code ignore;
    signals_.cancel(ignore);
    hup_.cancel(ignore);
    split_.stop();
    api_.stop();
    hooks_.kill_all();
    engine_.stop([this] { io_.stop(); });
  }

  asio::io_context io_;
  Config config_;
  EventBus bus_;
  HookRunner hooks_;
  Engine engine_;
  SplitAnalysis split_;
  ApiService api_;
  asio::signal_set signals_;
  asio::signal_set hup_;          // SIGHUP: reload
  BlockingWorker reload_worker_;  // reads the config file for reload()
};

Daemon::Daemon(Config config) : impl_(std::make_unique<Impl>(std::move(config))) {}
Daemon::~Daemon() = default;
int Daemon::run() { return impl_->run(); }

}  // namespace vigil::agent
