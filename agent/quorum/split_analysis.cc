#include "agent/quorum/split_analysis.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "agent/quorum/arbitrator_probe.h"

namespace vigil::agent {

using json = nlohmann::json;

namespace {

// "n2,n3", or "-" for none.
std::string joined(const std::set<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ",") + n;
  return out.empty() ? "-" : out;
}

}  // namespace

std::optional<std::string> run_split_action(SplitAction action) {
  if (action == SplitAction::kDisabled) return std::nullopt;
  const char key = action == SplitAction::kCrash ? 'c' : 'b';
  std::ofstream trigger("/proc/sysrq-trigger");
  if (!trigger) return std::string("open /proc/sysrq-trigger: ") + std::strerror(errno);
  trigger << key << std::flush;
  if (!trigger) return std::string("write /proc/sysrq-trigger: ") + std::strerror(errno);
  return std::nullopt;  // not reached for crash and reboot when they work
}

struct SplitAnalysis::Arbitrator {
  ArbitratorConfig config;  // a copy: a reload replaces the config's tables
  ArbitratorProbe probe;
  std::optional<bool> reachable;  // unknown before the first check
  std::string error;
};

SplitAnalysis::SplitAnalysis(boost::asio::io_context& io, const Config& config, AliveNodes alive,
                             Publish publish, Action action, Changed changed)
    : io_(io),
      config_(config),
      alive_(std::move(alive)),
      publish_(std::move(publish)),
      action_(std::move(action)),
      changed_(changed ? std::move(changed) : [] {}),
      refresh_timer_(io),
      grace_timer_(io) {
  for (const auto& a : config_.arbitrators)
    arbitrators_.emplace_back(new Arbitrator{a, ArbitratorProbe(io_, a.uri, a.timeout), {}, {}});
}

SplitAnalysis::~SplitAnalysis() = default;

void SplitAnalysis::start() {
  started_ = true;
  std::set<std::string> peers(config_.nodes.begin(), config_.nodes.end());
  peers.erase(config_.node_name);
  grace_.emplace(std::move(peers), config_.rejoin_grace, std::chrono::steady_clock::now());
  if (grace_->running()) {
    spdlog::info("rejoin grace: split analysis waits up to {} ms for every member to be heard",
                 grace_->grace().count());
    grace_timer_.expires_at(grace_->deadline());
    grace_timer_.async_wait([this](boost::system::error_code ec) {
      if (!ec) grace_expired();
    });
  }
  if (!arbitrators_.empty()) refresh();
}

void SplitAnalysis::reconfigure(const std::vector<ArbitratorConfig>& arbitrators) {
  auto same = [](const ArbitratorConfig& a, const ArbitratorConfig& b) {
    return a.name == b.name && a.uri.text() == b.uri.text() && a.weight == b.weight &&
           a.timeout == b.timeout;
  };
  bool unchanged = arbitrators.size() == arbitrators_.size();
  for (std::size_t i = 0; unchanged && i < arbitrators.size(); ++i)
    unchanged = same(arbitrators[i], arbitrators_[i]->config);
  if (unchanged) return;
  // Checks in flight hold pointers to the old entries: their callbacks are
  // dropped, and the kept entries only keep their last state.
  std::vector<std::unique_ptr<Arbitrator>> next;
  for (const auto& a : arbitrators) {
    std::unique_ptr<Arbitrator> entry(
        new Arbitrator{a, ArbitratorProbe(io_, a.uri, a.timeout), {}, {}});
    for (const auto& old : arbitrators_)
      if (same(old->config, a)) {
        entry->reachable = old->reachable;
        entry->error = old->error;
      }
    next.push_back(std::move(entry));
  }
  alive_token_ = std::make_shared<char>(0);
  arbitrators_ = std::move(next);
  refresh_timer_.cancel();
  const bool was_analysing = analysing_;
  analysing_ = false;
  if (started_ && !arbitrators_.empty()) refresh();
  if (was_analysing && config_.quorum) analyse();
  if (!config_.quorum) lost_while_analysing_.clear();
}

void SplitAnalysis::stop() {
  started_ = false;
  held_.clear();
  refresh_timer_.cancel();
  grace_timer_.cancel();
  alive_token_ = std::make_shared<char>(0);  // drops the callbacks of checks in flight
  analysing_ = false;
  lost_while_analysing_.clear();
}

void SplitAnalysis::refresh() {
  check_all([] {});
  refresh_timer_.expires_after(kArbitratorRefresh);
  refresh_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) refresh();
  });
}

void SplitAnalysis::check_all(std::function<void()> then) {
  if (arbitrators_.empty()) {
    then();
    return;
  }
  auto left = std::make_shared<std::size_t>(arbitrators_.size());
  auto done = std::make_shared<std::function<void()>>(std::move(then));
  for (auto& a : arbitrators_) {
    a->probe.check([this, token = std::weak_ptr<char>(alive_token_), arb = a.get(), left,
                    done](const ArbitratorCheck& r) {
      if (token.expired()) return;
      on_checked(*arb, r.reachable, r.error);
      if (--*left == 0) (*done)();
    });
  }
}

void SplitAnalysis::on_checked(Arbitrator& a, bool reachable, const std::string& error) {
  const std::optional<bool> before = a.reachable;
  a.reachable = reachable;
  a.error = reachable ? std::string() : error;
  if (before == a.reachable) return;
  if (reachable) {
    spdlog::info("arbitrator {} ({}) is reachable", a.config.name, a.config.uri.text());
  } else {
    spdlog::warn("arbitrator {} ({}) is not reachable: {}", a.config.name, a.config.uri.text(),
                 error);
    publish_(Event{
        .kind = "ArbitratorError",
        .labels = {{"arbitrator", a.config.name}},
        .data = {{"arbitrator", a.config.name}, {"uri", a.config.uri.text()}, {"error", error}}});
  }
  json reach = json::object();
  for (const auto& x : arbitrators_)
    reach[x->config.name] = x->reachable ? json(*x->reachable) : json();
  publish_(Event{.kind = "NodeStatusArbitratorsUpdated", .data = {{"arbitrators", reach}}});
}

void SplitAnalysis::peer_lost(const std::string& node) {
  if (!config_.quorum) return;
  if (grace_ && grace_->running()) {
    if (std::find(held_.begin(), held_.end(), node) == held_.end()) held_.push_back(node);
    spdlog::info("split analysis after losing {} held: rejoin grace, {} ms left, not heard yet: {}",
                 node, grace_->remaining(std::chrono::steady_clock::now()).count(),
                 joined(grace_->unheard()));
    changed_();
    return;
  }
  analyse({node});
}

void SplitAnalysis::grace_ended_early() {
  grace_timer_.cancel();
  const auto waited = grace_->elapsed(std::chrono::steady_clock::now());
  spdlog::info("rejoin grace over: every member heard after {} ms", waited.count());
  publish_(Event{.kind = "NodeRejoin",
                 .data = {{"grace_ms", grace_->grace().count()},
                          {"waited_ms", std::max<int64_t>(0, waited.count())},
                          {"held", held_}}});
  changed_();
  auto held = std::move(held_);
  held_.clear();
  if (config_.quorum && !held.empty()) analyse(held);
}

void SplitAnalysis::grace_expired() {
  if (!grace_ || !grace_->expire(std::chrono::steady_clock::now())) return;
  spdlog::warn("rejoin grace of {} ms ran out; not heard: {}", grace_->grace().count(),
               joined(grace_->unheard()));
  changed_();
  // The losses held are counted now. A member never heard since the start
  // was never lost from here: it starts no split action, so that a node
  // booted alone does not crash and reboot in a loop (its quorum line shows
  // the missing votes all the same).
  std::vector<std::string> lost = std::move(held_);
  held_.clear();
  if (config_.quorum && !lost.empty()) analyse(lost);
}

void SplitAnalysis::analyse(const std::vector<std::string>& nodes) {
  for (const auto& n : nodes) lost_while_analysing_.push_back(n);
  if (analysing_) return;  // the analysis in flight counts this loss too
  analyse();
}

void SplitAnalysis::analyse() {
  analysing_ = true;
  check_all([this] {
    analysing_ = false;
    std::string lost;
    for (const auto& n : lost_while_analysing_) lost += (lost.empty() ? "" : ",") + n;
    lost_while_analysing_.clear();
    if (config_.quorum) count_and_act(lost);  // a reload may have turned quorum off
  });
}

membership::QuorumCount SplitAnalysis::count(std::size_t alive_nodes) const {
  std::vector<membership::ArbitratorVote> votes;
  for (const auto& a : arbitrators_)
    votes.push_back({a->config.name, a->config.weight, a->reachable.value_or(false)});
  return membership::count_votes(config_.nodes.size(), alive_nodes, votes);
}

void SplitAnalysis::member_removed(const std::string& node) {
  held_.erase(std::remove(held_.begin(), held_.end(), node), held_.end());
  if (grace_ && grace_->heard(node)) grace_ended_early();
}

void SplitAnalysis::peer_back(const std::string& node) {
  held_.erase(std::remove(held_.begin(), held_.end(), node), held_.end());
  if (grace_ && grace_->heard(node)) grace_ended_early();
  if (!config_.quorum || armed_) return;
  const auto c = count(alive_().size());
  if (!c.has_quorum()) return;
  armed_ = true;
  spdlog::info("quorum regained: {} of {} votes (needed {})", c.present, c.total, c.needed);
}

void SplitAnalysis::count_and_act(const std::string& lost) {
  json reach = json::object();
  for (const auto& a : arbitrators_) reach[a->config.name] = a->reachable.value_or(false);
  const auto alive = alive_();
  const auto c = count(alive.size());
  if (c.has_quorum()) {
    spdlog::info("split analysis after losing {}: quorum held, {} of {} votes (needed {})", lost,
                 c.present, c.total, c.needed);
    armed_ = true;
    return;
  }
  if (!armed_) {
    spdlog::warn("split analysis after losing {}: still no quorum, {} of {} votes (needed {})",
                 lost, c.present, c.total, c.needed);
    return;
  }
  armed_ = false;
  const SplitAction action = config_.split_action;
  spdlog::critical(
      "split analysis after losing {}: NO QUORUM, {} of {} votes (needed {}); split action: {}",
      lost, c.present, c.total, c.needed, to_string(action));
  publish_(
      Event{.kind = "NodeSplitAction",
            .data = {{"action", to_string(action)},
                     {"lost", lost},
                     {"votes", {{"total", c.total}, {"present", c.present}, {"needed", c.needed}}},
                     {"alive", alive},
                     {"arbitrators", reach}}});
  if (action == SplitAction::kDisabled) return;
  spdlog::default_logger()->flush();
  if (auto failure = action_(action))
    spdlog::error("split action {} failed: {}", to_string(action), *failure);
}

json SplitAnalysis::rejoin_status() const {
  if (!grace_)
    return {{"state", "disabled"},
            {"grace_ms", config_.rejoin_grace.count()},
            {"remaining_ms", 0},
            {"unheard", json::array()},
            {"held", json::array()}};
  return {{"state", to_string(grace_->state())},
          {"grace_ms", grace_->grace().count()},
          {"remaining_ms", grace_->remaining(std::chrono::steady_clock::now()).count()},
          {"unheard", grace_->unheard()},
          {"held", held_}};
}

json SplitAnalysis::status() const {
  json arbitrators = json::object();
  for (const auto& a : arbitrators_) {
    arbitrators[a->config.name] = {
        {"uri", a->config.uri.text()},
        {"weight", a->config.weight},
        {"reachable", a->reachable ? json(*a->reachable) : json()},
        {"error", a->reachable.value_or(true) ? json() : json(a->error)}};
  }
  const auto c = count(alive_().size());
  return {{"enabled", config_.quorum},
          {"split_action", to_string(config_.split_action)},
          {"has_quorum", c.has_quorum()},
          {"votes", {{"total", c.total}, {"present", c.present}, {"needed", c.needed}}},
          {"arbitrators", std::move(arbitrators)}};
}

}  // namespace vigil::agent
