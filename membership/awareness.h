// Local health awareness (Lifeguard, arXiv 1707.00788, section IV-A, "Local
// Health Aware Probe"): a node that is itself slow (CPU starved, paused,
// losing datagrams) sees its probes fail and would accuse healthy peers. It
// keeps a health score instead: raised by signs that the fault is local (a
// probe with no ack while no nack came back either, having to refute a
// suspicion of itself), lowered by each probe that succeeds. Its probe
// interval and probe timeout are scaled by (score + 1), so a node under
// pressure backs off rather than accusing its peers.
//
// Pure logic. Not thread-safe.
#ifndef VIGIL_MEMBERSHIP_AWARENESS_H_
#define VIGIL_MEMBERSHIP_AWARENESS_H_

#include <algorithm>
#include <chrono>

namespace vigil::membership {

class Awareness {
 public:
  /// Scores run from 0 (healthy) to max - 1; memberlist uses max = 8.
  explicit Awareness(int max = 8) : max_(std::max(1, max)) {}

  /// Adds `delta` (positive: worse), clamped to [0, max - 1].
  void apply(int delta) { score_ = std::clamp(score_ + delta, 0, max_ - 1); }
  int score() const { return score_; }
  /// `d` scaled by the score: d * (score + 1).
  std::chrono::milliseconds scale(std::chrono::milliseconds d) const { return d * (score_ + 1); }

 private:
  int max_;
  int score_ = 0;
};

}  // namespace vigil::membership

#endif  // VIGIL_MEMBERSHIP_AWARENESS_H_
