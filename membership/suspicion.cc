#include "membership/suspicion.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace vigil::membership {

Suspicion::Suspicion(std::string from, std::size_t expected, Duration min, Duration max,
                     Clock::time_point now)
    : from_(std::move(from)), expected_(expected), min_(min), max_(max), start_(now) {
  if (min > max) throw std::invalid_argument("suspicion: min timeout above max");
}

Suspicion::Duration Suspicion::timeout_for(std::size_t confirmations, std::size_t expected,
                                           Duration min, Duration max) {
  if (expected == 0) return min;
  const double fraction = std::log(static_cast<double>(confirmations) + 1.0) /
                          std::log(static_cast<double>(expected) + 1.0);
  const double ms = static_cast<double>(max.count()) -
                    static_cast<double>((max - min).count()) * std::min(1.0, fraction);
  return std::max(min, Duration(static_cast<Duration::rep>(std::floor(ms))));
}

bool Suspicion::confirm(const std::string& from) {
  if (from == from_ || confirmed_.size() >= expected_) return false;
  return confirmed_.insert(from).second;
}

Suspicion::Duration Suspicion::timeout() const {
  return timeout_for(confirmed_.size(), expected_, min_, max_);
}

Suspicion::Clock::time_point Suspicion::deadline() const { return start_ + timeout(); }

}  // namespace vigil::membership
