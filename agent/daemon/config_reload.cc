#include "agent/daemon/config_reload.h"

#include <algorithm>
#include <memory>
#include <string_view>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "agent/config/config_diff.h"

namespace vigil::agent {

using json = nlohmann::json;

ConfigReload::ConfigReload(boost::asio::io_context& io, Parts parts) : parts_(parts), worker_(io) {}

void ConfigReload::reload(const std::string& caller, Done done) {
  auto next = std::make_shared<Config>();
  worker_.submit(
      [next, file = parts_.config.source] {
        *next = load_config(file);
        check_hook_commands(*next);
      },
      [this, next, caller, done = std::move(done)](const std::string& error) {
        std::string why = error;
        ConfigDiff diff;
        if (why.empty()) try {
            if (parts_.overlay) parts_.overlay(*next);
            diff = diff_configs(parts_.config, *next);
            throw_if_refused(diff, parts_.config.source);
            apply(*next, diff.changed);
          } catch (const std::exception& e) {
            why = e.what();
          }
        if (!why.empty()) {
          spdlog::error("config reload by {} refused, the running config is kept: {}", caller, why);
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
        parts_.config.log_level = next->log_level;
        if (!diff.changed.empty())
          parts_.bus.publish(
              Event{.kind = "NodeConfigUpdated", .data = {{"changed", diff.changed}}});
        done(200, {{"changed", diff.changed}});
      });
}

// Applies the `changed` keys of `next` (diff_configs()) to the parts, then to
// the running config, field by field.
void ConfigReload::apply(const Config& next, const std::vector<std::string>& changed) {
  auto any = [&](std::string_view prefix) {
    return std::any_of(changed.begin(), changed.end(),
                       [&](const std::string& k) { return k.starts_with(prefix); });
  };
  if (any("hook.")) {
    parts_.hooks.reconfigure(next.hooks);
    parts_.config.hooks = next.hooks;
  }
  if (any("api.")) {
    parts_.config.api.admin_key = next.api.admin_key;
    parts_.config.api.user_key = next.api.user_key;
    parts_.config.api.limits = next.api.limits;
    parts_.api.reconfigure(parts_.config.api);
  }
  parts_.config.quorum = next.quorum;  // read by split analysis at each use
  parts_.config.split_action = next.split_action;
  if (any("arbitrator.")) {
    parts_.split.reconfigure(next.arbitrators);
    parts_.config.arbitrators = next.arbitrators;
  }
  if (any("arbitrator.") || any("cluster.quorum") || any("node.split_action"))
    parts_.api.dataset_changed();  // .cluster.quorum
  if (any("hb.")) {
    // Only interval, timeout and peers reach here (config_diff.h); the
    // paths are in the same order in both (an added or removed one is
    // refused).
    for (std::size_t i = 0; i < parts_.config.hb.size() && i < next.hb.size(); ++i) {
      auto& hb = parts_.config.hb[i];
      hb.interval = next.hb[i].interval;
      hb.timeout = next.hb[i].timeout;
      hb.peers = next.hb[i].peers;
      hb.not_reached = next.hb[i].not_reached;
    }
    if (parts_.paths_changed) parts_.paths_changed();
  }
}

}  // namespace vigil::agent
