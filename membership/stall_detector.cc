#include "membership/stall_detector.h"

namespace vigil::membership {

StallDetector::Duration StallDetector::on_tick(Clock::time_point now) {
  Duration stall{0};
  if (last_) {
    auto elapsed = std::chrono::duration_cast<Duration>(now - *last_);
    if (elapsed > period_ + tolerance_) stall = elapsed - period_;
  }
  last_ = now;
  total_ += stall;
  return stall;
}

}  // namespace vigil::membership
