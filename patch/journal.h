// The journal of one node's own committed deltas, indexed by gen. Deltas are
// kept until every live peer acknowledged them (trim), bounded in count.
#ifndef VIGIL_PATCH_JOURNAL_H_
#define VIGIL_PATCH_JOURNAL_H_

#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

namespace vigil::patch {

class Journal {
 public:
  /// `max_entries`: deltas kept at most; older ones are dropped and peers
  /// that still need them get a full document instead.
  explicit Journal(std::size_t max_entries = 4096) : max_entries_(max_entries) {}

  /// Current gen. The initial document is gen 1 and has no delta.
  uint64_t gen() const { return gen_; }
  /// Deltas with gen in (base(), gen()] are held.
  uint64_t base() const { return base_; }
  std::size_t size() const { return deltas_.size(); }

  /// Records `ops` as the delta to gen()+1 and returns the new gen.
  uint64_t append(nlohmann::json ops);

  /// One held delta.
  struct Entry {
    uint64_t gen;
    const nlohmann::json* ops;
  };
  /// Deltas with gen > `after`, ascending. nullopt when `after` < base()
  /// (some are no longer held: the peer needs a full document). Empty when
  /// `after` >= gen().
  std::optional<std::vector<Entry>> since(uint64_t after) const;

  /// Drops deltas with gen <= `acked`.
  void trim(uint64_t acked);

 private:
  std::size_t max_entries_;
  uint64_t gen_ = 1;
  uint64_t base_ = 1;
  std::deque<nlohmann::json> deltas_;  // deltas_[i] has gen base_ + 1 + i
};

}  // namespace vigil::patch

#endif  // VIGIL_PATCH_JOURNAL_H_
