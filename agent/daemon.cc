#include "agent/daemon.h"

#include <csignal>

#include <exception>

#include <spdlog/spdlog.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <nlohmann/json.hpp>

#include "agent/api/backend.h"
#include "agent/api/service.h"
#include "agent/daemon/config_reload.h"
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
//   API reload, SIGHUP --> ConfigReload (daemon/config_reload.h) --> hooks, API, split
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
        reload_(io_, {config_, hooks_, api_, split_, bus_}) {
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

  void reload(const std::string& caller, Done done) override {
    reload_.reload(caller, std::move(done));
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
  asio::signal_set hup_;  // SIGHUP: reload
  ConfigReload reload_;
};

Daemon::Daemon(Config config) : impl_(std::make_unique<Impl>(std::move(config))) {}
Daemon::~Daemon() = default;
int Daemon::run() { return impl_->run(); }

}  // namespace vigil::agent
