#include "heartbeat/receive_moderation.h"

#include <stdexcept>

namespace vigil::heartbeat {

ReceiveModeration::ReceiveModeration(std::chrono::microseconds poll_interval)
    : poll_interval_(poll_interval) {
  if (poll_interval <= std::chrono::microseconds::zero())
    throw std::invalid_argument("receive moderation: the poll interval must be > 0");
}

ReceiveModeration::Next ReceiveModeration::after_read(Clock::time_point now, std::size_t datagrams,
                                                      bool capped) {
  if (capped) {
    polling_ = true;
    return Next::kPollNow;
  }
  if (datagrams == 0) {
    polling_ = false;
    return Next::kWaitReadable;
  }
  if (polling_) return Next::kPollLater;
  const bool busy = last_wake_ != Clock::time_point{} && now - last_wake_ < poll_interval_;
  last_wake_ = now;
  if (!busy) return Next::kWaitReadable;
  polling_ = true;
  return Next::kPollLater;
}

void ReceiveModeration::reset() {
  polling_ = false;
  last_wake_ = {};
}

}  // namespace vigil::heartbeat
