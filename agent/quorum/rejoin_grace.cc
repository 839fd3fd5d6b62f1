#include "agent/quorum/rejoin_grace.h"

#include <utility>

namespace vigil::agent {

RejoinGrace::RejoinGrace(std::set<std::string> peers, std::chrono::milliseconds grace,
                         Clock::time_point start)
    : unheard_(std::move(peers)),
      grace_(grace),
      deadline_(start + grace),
      state_(grace.count() <= 0 || unheard_.empty() ? State::kDisabled : State::kRunning) {}

bool RejoinGrace::heard(const std::string& node) {
  if (unheard_.erase(node) == 0 || state_ != State::kRunning || !unheard_.empty()) return false;
  state_ = State::kAllHeard;
  return true;
}

bool RejoinGrace::expire(Clock::time_point now) {
  if (state_ != State::kRunning || now < deadline_) return false;
  state_ = State::kExpired;
  return true;
}

std::chrono::milliseconds RejoinGrace::remaining(Clock::time_point now) const {
  if (state_ != State::kRunning || now >= deadline_) return std::chrono::milliseconds(0);
  // Rounded up: a grace with 0.4 ms left is still running.
  return std::chrono::ceil<std::chrono::milliseconds>(deadline_ - now);
}

const char* to_string(RejoinGrace::State state) {
  switch (state) {
    case RejoinGrace::State::kRunning:
      return "running";
    case RejoinGrace::State::kAllHeard:
      return "all_heard";
    case RejoinGrace::State::kExpired:
      return "expired";
    case RejoinGrace::State::kDisabled:
      break;
  }
  return "disabled";
}

}  // namespace vigil::agent
