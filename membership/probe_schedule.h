// Which member to probe next: SWIM's round-robin probe target selection
// (Das, Gupta, Motivala, "SWIM: Scalable Weakly-consistent Infection-style
// Process Group Membership Protocol", DSN 2002, section 4.3). The members
// are probed in a random order, each once per pass; the order is shuffled
// again at the end of every pass. So a failed member is probed within at
// most 2N - 1 protocol periods (not just in expectation, as with uniform
// random choice), and within e/(e-1) periods on average over the members
// probing it. A member that joins is inserted at a random position of the
// pass in progress; one that leaves is dropped from it.
//
// The same schedule picks the k members asked to probe indirectly and the
// fanout targets of a gossip round (pick()): uniform without replacement,
// by rejection sampling over an array of the members, so O(k) expected work
// per pick however large the cluster (a full scan only when most members
// are excluded).
//
// Pure logic with the caller's random engine. Not thread-safe.
#ifndef VIGIL_MEMBERSHIP_PROBE_SCHEDULE_H_
#define VIGIL_MEMBERSHIP_PROBE_SCHEDULE_H_

#include <cstddef>
#include <functional>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

namespace vigil::membership {

class ProbeSchedule {
 public:
  explicit ProbeSchedule(uint64_t seed) : rng_(seed) {}

  /// A member joined (ignored when known): inserted at a random position
  /// of the remaining pass.
  void add(const std::string& member);
  /// A member left or was forgotten: dropped.
  void remove(const std::string& member);

  /// The next member to probe; nullopt when there is none. Starts a new,
  /// reshuffled pass when the current one is over.
  std::optional<std::string> next();

  /// Probes `member` next (before the rest of the pass; again in this pass
  /// if it was probed already). Unknown members are ignored.
  void probe_next(const std::string& member);

  /// Up to `k` distinct members chosen uniformly, none of `exclude`.
  std::vector<std::string> pick(std::size_t k, const std::set<std::string>& exclude);
  /// Up to `k` distinct members chosen uniformly among those for which
  /// `excluded` is false; O(k) expected calls of `excluded` when few are.
  std::vector<std::string> pick_if_not(std::size_t k,
                                       const std::function<bool(const std::string&)>& excluded);

  std::size_t size() const { return members_.size(); }
  bool contains(const std::string& member) const { return index_.count(member) > 0; }

 private:
  std::mt19937_64 rng_;
  std::vector<std::string> members_;                    // in no particular order
  std::unordered_map<std::string, std::size_t> index_;  // member -> its place in members_
  std::vector<std::string> pass_;                       // the current pass, probed from the back
};

}  // namespace vigil::membership

#endif  // VIGIL_MEMBERSHIP_PROBE_SCHEDULE_H_
