#include "agent/engine/auth_failures.h"

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

namespace vigil::agent {

namespace {

const char* describe(heartbeat::DropReason reason) {
  return reason == heartbeat::DropReason::kUnknownKey ? "unknown key version" : "key mismatch";
}

}  // namespace

void AuthFailures::failed(const std::string& sender, heartbeat::DropReason reason,
                          uint32_t key_version, Clock::time_point now) {
  Sender& s = senders_[sender];
  ++s.count;
  ++s.unlogged;
  s.reason = reason;
  s.key_version = key_version;
  s.last = now;
  const bool first = !s.failing;
  s.failing = true;
  if (!first && now - s.logged < kLogEvery) return;
  s.logged = now;
  const char* why = reason == heartbeat::DropReason::kUnknownKey
                        ? "sealed with a key version this node does not hold"
                        : "sealed with another key than this node holds for that version";
  spdlog::warn(
      "datagrams claiming to be from {} fail authentication: {} on key version {} ({}; "
      "{} since the last report)",
      sender, describe(reason), key_version, why, s.unlogged);
  s.unlogged = 0;
}

void AuthFailures::recovered(const std::string& sender) {
  auto it = senders_.find(sender);
  if (it == senders_.end() || !it->second.failing) return;
  it->second.failing = false;
  spdlog::info("datagrams from {} authenticate again", sender);
}

nlohmann::json AuthFailures::status(Clock::time_point now) const {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [sender, s] : senders_) {
    out[sender] = {
        {"count", s.count},
        {"reason", describe(s.reason)},
        {"key_version", s.key_version},
        {"last_ms", std::chrono::duration_cast<std::chrono::milliseconds>(now - s.last).count()}};
  }
  return out;
}

}  // namespace vigil::agent
