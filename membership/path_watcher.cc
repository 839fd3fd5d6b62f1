#include "membership/path_watcher.h"

#include <algorithm>

namespace vigil::membership {

bool PathWatcher::heard(Clock::time_point now) {
  if (!last_ || now > *last_) last_ = now;
  if (state_ == PeerState::kAlive) return false;
  state_ = PeerState::kAlive;
  return true;
}

bool PathWatcher::check(Clock::time_point now) {
  if (state_ != PeerState::kAlive || !last_) return false;
  if (now - *last_ <= timeout_) return false;
  state_ = PeerState::kStale;
  return true;
}

void PathWatcher::credit(Duration d, Clock::time_point now) {
  if (!last_ || d <= Duration::zero()) return;
  last_ = std::min<Clock::time_point>(*last_ + d, now);
}

}  // namespace vigil::membership
