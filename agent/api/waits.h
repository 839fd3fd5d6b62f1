// `vigil node wait` served in the daemon (seed 002 "node wait"; DESIGN.md
// "Events, hooks, wait"): conditions on the cluster dataset, all of which
// must hold, tested at once, then after every change of the dataset (batched:
// one test per pass of the io_context), until they hold (200 {"ok": true}) or
// the duration runs out (408 {"error": "timeout", "failed": "<why>"}, where
// `failed` is JsonCondition::why_not of the first condition that does not
// hold then). A client that goes away drops its wait.
// Runs on the daemon's io_context thread.
#ifndef VIGIL_AGENT_API_WAITS_H_
#define VIGIL_AGENT_API_WAITS_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json_fwd.hpp>

#include "agent/api/api_server.h"
#include "agent/events/json_condition.h"

namespace vigil::agent {

class Waits {
 public:
  /// The longest wait, ms (24 h).
  static constexpr int64_t kMaxDurationMs = 24LL * 3600 * 1000;

  /// `dataset` builds the dataset the conditions are tested on; at most
  /// `max_waits` waits are held at once.
  Waits(boost::asio::io_context& io, std::size_t max_waits,
        std::function<nlohmann::json()> dataset);
  ~Waits();

  /// A config reload: at most `max_waits` waits from now on; waits held
  /// beyond it run to their end.
  void set_max(std::size_t max_waits) { max_ = max_waits; }

  /// Starts a wait answered on `ex` for `conditions` (at least one, all must
  /// hold); `duration` must be positive. Answers 200 at once when they
  /// already hold, and 503 when `max_waits` are held.
  void start(const std::shared_ptr<ApiExchange>& ex, std::vector<JsonCondition> conditions,
             std::chrono::milliseconds duration);

  /// Why `conditions` do not all hold on `dataset`: the why_not() of the
  /// first that fails; nullopt when all hold.
  static std::optional<std::string> why_not(const std::vector<JsonCondition>& conditions,
                                            const nlohmann::json& dataset);

  /// The dataset may have changed: tests every wait, once, soon.
  void dataset_changed();

 private:
  struct Wait {
    std::vector<JsonCondition> conditions;
    std::shared_ptr<ApiExchange> exchange;
    std::unique_ptr<boost::asio::steady_timer> timer;
  };
  void evaluate();

  boost::asio::io_context& io_;
  std::size_t max_;
  std::function<nlohmann::json()> dataset_;
  std::map<uint64_t, Wait> waits_;  // by wait id
  uint64_t seq_ = 0;
  bool pending_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace vigil::agent

#endif  // VIGIL_AGENT_API_WAITS_H_
